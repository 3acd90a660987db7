package agent_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent"
)

// Two agents on one tracker: Alice publishes a dataset and seeds it, Bob
// finds it, downloads it (signing a receipt for every verified piece) and
// sees his standing change. The stack (Postgres, anvil, the tracker and
// the receipts service) is started for the example; a program gives its
// own addresses.
func Example() {
	st := startExampleStack()
	defer st.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	open := func(name string) *agent.Agent {
		key, err := crypto.GenerateKey() // a real agent loads it: keystore.Load
		if err != nil {
			log.Fatal(err)
		}
		a, err := agent.Open(ctx, agent.Config{
			Home: filepath.Join(st.dir, name), Key: key, Tracker: st.Tracker, Receipts: st.Receipts,
			Domain: st.Domain, Listen: "127.0.0.1:0",
		})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := a.Register(ctx); err != nil {
			log.Fatal(err)
		}
		return a
	}
	alice, bob := open("alice"), open("bob")
	defer alice.Close()
	defer bob.Close()

	// Alice publishes a 1 MiB recording and seeds it.
	data := make([]byte, 1<<20)
	rand.Read(data)
	src := filepath.Join(st.dir, "street-sounds.wav")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		log.Fatal(err)
	}
	pub, err := alice.Publish(ctx, agent.PublishRequest{Path: src, Name: "street sounds", Modality: "audio",
		Tags: []string{"city", "field"}, License: "CC0-1.0", PieceLength: 256 << 10})
	if err != nil {
		log.Fatal(err)
	}
	seedCtx, stopSeeding := context.WithCancel(ctx)
	seeded := make(chan *agent.SeedStats)
	go func() {
		stats, err := alice.Seed(seedCtx, agent.SeedOptions{Items: []agent.SeedItem{pub.Seed}})
		if err != nil {
			log.Print(err)
		}
		seeded <- stats
	}()

	// Bob searches the catalog; once the tracker lists Alice as a seeder, he downloads.
	var found []agent.Dataset
	for len(found) == 0 || found[0].Seeders == 0 {
		if found, err = bob.Search(ctx, agent.SearchQuery{Text: "street", Modality: "audio"}); err != nil {
			log.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("found %q (%s, %d pieces)\n", found[0].Name, found[0].Modality, found[0].PieceCount)

	got, err := bob.Get(ctx, found[0].InfoHash, agent.GetOptions{Out: filepath.Join(st.dir, "bob-data"), SubmitWait: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("downloaded %d bytes, verified %v, %d receipts accepted\n", got.Bytes, got.Verified, got.ReceiptsAccepted)

	// The receipts count as pending until the chainwriter settles them; the
	// tracker's view of them follows within seconds.
	var s *agent.Standing
	for s == nil || s.SettledDownloadBytes+s.PendingDownloadBytes < uint64(got.Bytes) {
		if s, err = bob.Status(ctx, common.Address{}); err != nil {
			log.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("Bob: %d bytes downloaded, may download more: %v\n", s.SettledDownloadBytes+s.PendingDownloadBytes, s.CanLeech)

	stopSeeding()
	stats := <-seeded
	fmt.Printf("Alice: %d receipts handed to her over BitTorrent, %d pieces sent and not paid for\n", stats.HandedReceipts, stats.UnpaidPieces)
	// Output:
	// found "street sounds" (audio, 4 pieces)
	// downloaded 1048576 bytes, verified true, 4 receipts accepted
	// Bob: 1048576 bytes downloaded, may download more: true
	// Alice: 4 receipts handed to her over BitTorrent, 0 pieces sent and not paid for
}
