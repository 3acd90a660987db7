package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gethcommon "github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/chain"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// TestThreeAgentSwarm: A publishes (and so seeds), B downloads by name and
// keeps seeding (`get --seed`), C joins and downloads from both. Every
// verified piece of C's is receipted once per agent that supplied bytes of
// it, the receipts add up to the file, and after settlement the contract
// shows each agent's share.
func TestThreeAgentSwarm(t *testing.T) {
	s := newStack(t, 256*MiB)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cliA, cliB, cliC := newCLI(t, s), newCLI(t, s), newCLI(t, s)
	addrA, addrB, addrC := cliAgent(t, cliA), cliAgent(t, cliB), cliAgent(t, cliC)

	const size = 40*MiB + 777
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(11, 12))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	src := filepath.Join(t.TempDir(), "lecture.wav")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A: publish starts seeding and keeps running.
	pubOut := cliA.background("publish", src, "--name", "three agent lecture", "--modality", "audio",
		"--piece-length", "262144", "--listen", "127.0.0.1:0", "--json")
	var ih string
	waitUntil(t, ctx, "A publishing and seeding", func() bool {
		for _, line := range strings.Split(pubOut.String(), "\n") {
			var p struct {
				InfoHash string `json:"info_hash"`
				Source   string `json:"source"`
				Complete bool   `json:"complete"`
			}
			if json.Unmarshal([]byte(line), &p) == nil && p.Source == "published" && p.Complete {
				ih = p.InfoHash
				return true
			}
		}
		return false
	})
	swarmSeeders := func(n uint32) func() bool {
		return func() bool {
			d, err := s.Datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: ih})
			return err == nil && d.Dataset.Seeders >= n
		}
	}
	waitUntil(t, ctx, "A in the swarm", swarmSeeders(1))

	// B: by name, then keeps seeding.
	outB := t.TempDir()
	getB := cliB.background("get", "three agent lecture", "--out", outB, "--listen", "127.0.0.1:0", "--seed", "--json")
	waitUntil(t, ctx, "B's download", func() bool { return strings.Contains(getB.String(), `"verified": true`) })
	waitUntil(t, ctx, "B seeding in the swarm", swarmSeeders(2))

	// C: downloads from A and B.
	outC := t.TempDir()
	code, out, errs := cliC.run("", "get", ih, "--out", outC, "--listen", "127.0.0.1:0", "--json")
	if code != 0 {
		t.Fatalf("C's get: exit %d\n%s\n%s", code, out, errs)
	}
	for _, dir := range []string{outB, outC} {
		got, err := os.ReadFile(filepath.Join(dir, "lecture.wav"))
		if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
			t.Fatalf("%s: downloaded file differs: %v", dir, err)
		}
	}
	var sum struct {
		Pieces            int `json:"pieces"`
		ReceiptsSigned    int `json:"receipts_signed"`
		ReceiptsAccepted  int `json:"receipts_accepted"`
		ReceiptsDuplicate int `json:"receipts_duplicate"`
		ReceiptsRefused   int `json:"receipts_refused"`
	}
	if i := strings.Index(out, "{"); i < 0 || json.Unmarshal([]byte(out[i:]), &sum) != nil {
		t.Fatalf("no summary in C's output:\n%s", out)
	}

	// C's receipts, from the service: per piece, one per sender, summing to
	// the piece; all of them accepted.
	infoHash32 := ih + strings.Repeat("0", 24)
	perSender := map[string]uint64{}
	perPiece := map[uint32]uint64{}
	pairs := map[string]bool{}
	req := &pbtsv1.ListReceiptsRequest{Agent: addrC, InfoHash: infoHash32, PageSize: 1000}
	for {
		lr, err := s.ReceiptsC.ListReceipts(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range lr.Records {
			rc := rec.Receipt
			if rc.Receiver != addrC || (rc.Sender != addrA && rc.Sender != addrB) {
				t.Fatalf("unexpected receipt %+v", rc)
			}
			key := fmt.Sprint(rc.Sender, rc.PieceIndex)
			if pairs[key] {
				t.Fatalf("two receipts from %s for piece %d", rc.Sender, rc.PieceIndex)
			}
			pairs[key] = true
			perSender[rc.Sender] += uint64(rc.PieceSize)
			perPiece[rc.PieceIndex] += uint64(rc.PieceSize)
		}
		if lr.NextPageToken == "" {
			break
		}
		req.PageToken = lr.NextPageToken
	}
	t.Logf("C got %d bytes from A and %d from B in %d receipts (%d pieces); summary %+v",
		perSender[addrA], perSender[addrB], len(pairs), len(perPiece), sum)
	if len(perPiece) != sum.Pieces || perSender[addrA]+perSender[addrB] != size {
		t.Fatalf("receipts cover %d pieces and %d bytes; want %d pieces, %d bytes", len(perPiece), perSender[addrA]+perSender[addrB], sum.Pieces, size)
	}
	for idx, n := range perPiece {
		want := uint64(256 * KiB)
		if int(idx) == sum.Pieces-1 {
			want = size - uint64(sum.Pieces-1)*256*KiB
		}
		if n != want {
			t.Fatalf("piece %d: receipts credit %d bytes, want %d", idx, n, want)
		}
	}
	// The seeders forward the receipts C hands them, so some of C's own
	// submissions find them already there (duplicates).
	if sum.ReceiptsSigned != len(pairs) || sum.ReceiptsAccepted+sum.ReceiptsDuplicate != len(pairs) || sum.ReceiptsRefused != 0 {
		t.Fatalf("C signed %d, %d accepted + %d duplicate, %d refused; the service holds %d",
			sum.ReceiptsSigned, sum.ReceiptsAccepted, sum.ReceiptsDuplicate, sum.ReceiptsRefused, len(pairs))
	}
	if perSender[addrA] == 0 || perSender[addrB] == 0 {
		t.Fatalf("C should have downloaded from both seeders: A %d, B %d bytes", perSender[addrA], perSender[addrB])
	}

	// Settlement: the contract shows each share.
	type want struct{ up, down uint64 }
	wants := map[string]want{
		addrA: {256*MiB + size + perSender[addrA], 0},
		addrB: {256*MiB + perSender[addrB], size},
		addrC: {256 * MiB, size},
	}
	waitUntil(t, ctx, "settlement of every receipt on chain", func() bool {
		for addr, w := range wants {
			rep, err := chain.ReadReputation(ctx, s.Chain.Client, s.Deploy.Tracker, gethcommon.HexToAddress(addr))
			if err != nil || rep.Upload != w.up || rep.Download != w.down {
				return false
			}
		}
		return true
	})
}

// TestSeedAnnouncesWithCurrentPasskey: `pbts seed` announces with the
// passkey the agent holds now, whatever URL its stored .torrent carries (a
// rotated passkey, a new tracker), and skips what the catalog lacks.
func TestSeedAnnouncesWithCurrentPasskey(t *testing.T) {
	s := newStack(t, 64*MiB)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cli := newCLI(t, s)
	cliAgent(t, cli)
	src := filepath.Join(t.TempDir(), "tone.wav")
	if err := os.WriteFile(src, make([]byte, 3*MiB), 0o644); err != nil {
		t.Fatal(err)
	}
	var pub struct {
		InfoHash    string `json:"info_hash"`
		TorrentFile string `json:"torrent_file"`
	}
	cli.json(&pub, "publish", src, "--name", "stale passkey tone", "--modality", "audio", "--no-seed")
	// The stored torrent names a passkey the tracker does not know.
	b, err := os.ReadFile(pub.TorrentFile)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "/announce/")
	if i < 0 {
		t.Fatalf("no announce URL in %s", pub.TorrentFile)
	}
	stale := []byte(string(b[:i+len("/announce/")]) + strings.Repeat("0", 32) + string(b[i+len("/announce/")+32:]))
	if err := os.WriteFile(pub.TorrentFile, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	out := cli.background("seed", "--listen", "127.0.0.1:0")
	waitUntil(t, ctx, "the seeder in the swarm under its current passkey", func() bool {
		d, err := s.Datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: pub.InfoHash})
		return err == nil && d.Dataset.Seeders == 1
	})
	if !strings.Contains(out.String(), "seeding "+pub.InfoHash) {
		t.Fatalf("seed output:\n%s", out.String())
	}
}
