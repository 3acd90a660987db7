package agent_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent"
)

// stackAgent opens and registers an agent named name against st.
func stackAgent(t *testing.T, ctx context.Context, st *exampleStack, name string, uploadRate int64) *agent.Agent {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.Open(ctx, agent.Config{Home: filepath.Join(st.dir, name), Key: key, Tracker: st.Tracker,
		Receipts: st.Receipts, Domain: st.Domain, Listen: "127.0.0.1:0", UploadRate: uploadRate,
		TLSCA: st.agentTLS.CA, TLSCert: st.agentTLS.Cert, TLSKey: st.agentTLS.Key,
		Warn: func(s string) { t.Logf("%s: %s", name, s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Register(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

// publishAndSeed has a publish a random file of size bytes (256 KiB
// pieces) and seed it until the returned stop is called; stop returns the
// seeder's stop report. reports receives its reports.
func publishAndSeed(t *testing.T, ctx context.Context, st *exampleStack, a *agent.Agent, name string, size int,
	reports func(agent.SeedReport)) (infoHash string, stop func() *agent.SeedStats) {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	src := filepath.Join(st.dir, name+".mp4")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	pub, err := a.Publish(ctx, agent.PublishRequest{Path: src, Name: name, Modality: "video", License: "CC0-1.0", PieceLength: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	seedCtx, cancel := context.WithCancel(ctx)
	done := make(chan *agent.SeedStats, 1)
	go func() {
		stats, err := a.Seed(seedCtx, agent.SeedOptions{Items: []agent.SeedItem{pub.Seed}, ReportEvery: 100 * time.Millisecond,
			Events: func(e agent.Event) {
				if r, ok := e.(agent.SeedReport); ok && reports != nil {
					reports(r)
				}
			}})
		if err != nil {
			t.Errorf("seed: %v", err)
		}
		done <- stats
	}()
	var once sync.Once
	var stats *agent.SeedStats
	stop = func() *agent.SeedStats {
		once.Do(func() { cancel(); stats = <-done })
		return stats
	}
	t.Cleanup(func() { stop() })
	return pub.InfoHash, stop
}

// waitSeeded waits until the tracker lists a seeder of the dataset.
func waitSeeded(t *testing.T, ctx context.Context, a *agent.Agent, name string) {
	t.Helper()
	for {
		found, err := a.Search(ctx, agent.SearchQuery{Text: name})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) > 0 && found[0].Seeders > 0 {
			return
		}
		if ctx.Err() != nil {
			t.Fatal("the tracker never listed the seeder")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTwentyTransfersLoseNoReceipt: two downloaders take turns fetching a
// dataset twenty times (each after the first a re-download of pieces
// already paid for): every receipt a downloader signs reaches the seeder
// over BitTorrent and the receipts service, and the seeder's stop report
// shows no piece unpaid.
func TestTwentyTransfersLoseNoReceipt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the stack")
	}
	st := startExampleStack()
	defer st.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	alice := stackAgent(t, ctx, st, "alice", 0)
	down := []*agent.Agent{stackAgent(t, ctx, st, "bob", 0), stackAgent(t, ctx, st, "carol", 0)}
	const size, pieces, transfers = 4 << 20, 16, 20
	var mu sync.Mutex
	var last agent.SeedReport
	ih, stop := publishAndSeed(t, ctx, st, alice, "twenty", size, func(r agent.SeedReport) { mu.Lock(); last = r; mu.Unlock() })
	waitSeeded(t, ctx, down[0], "twenty")

	signed := 0
	var wastedBlocks int64 // see TestSwarmOfFourAgentsTrades
	lastEnd := make([]int64, len(down))
	for i := 0; i < transfers; i++ {
		who := i % len(down)
		// A receipt is signed with a timestamp in seconds: a re-download
		// in the same second as the last signs the very same receipts, and
		// the seeder counts each receipt once. Wait for the next second.
		for time.Now().Unix() <= lastEnd[who] {
			time.Sleep(10 * time.Millisecond)
		}
		var lastProgress agent.Progress
		got, err := down[who].Get(ctx, ih, agent.GetOptions{Out: filepath.Join(st.dir, "out", string(rune('a'+i))), SubmitWait: time.Minute,
			Events: func(e agent.Event) {
				if p, ok := e.(agent.Progress); ok {
					lastProgress = p
				}
			}})
		if err != nil {
			t.Fatalf("transfer %d: %v", i, err)
		}
		// The last progress line tells the peers that served it (it said
		// "peers 0" once the client had dropped them).
		if lastProgress.Peers < 1 || lastProgress.Pieces != pieces {
			t.Fatalf("transfer %d: last progress %+v", i, lastProgress)
		}
		lastEnd[who] = time.Now().Unix()
		if !got.Verified || got.ReceiptsSigned != pieces || got.ReceiptsUnsent != 0 || got.ReceiptsRefused != 0 ||
			got.ReceiptsAccepted+got.ReceiptsDuplicate != pieces {
			t.Fatalf("transfer %d: %+v", i, got)
		}
		if i < len(down) && got.ReceiptsAccepted != pieces {
			t.Fatalf("first download of downloader %d: %d of %d receipts accepted", who, got.ReceiptsAccepted, pieces)
		}
		signed += got.ReceiptsSigned
		wastedBlocks += (got.WastedBytes + 16<<10 - 1) / (16 << 10)
	}
	// Every receipt reached the seeder over BEP 10 (reports come every 100 ms).
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		r := last
		mu.Unlock()
		if r.HandedTotal >= signed || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stats := stop()
	if stats == nil {
		t.Fatal("no stop report")
	}
	t.Logf("seeder: %+v", *stats)
	if stats.HandedTotal != signed || int64(stats.UnpaidPieces) > wastedBlocks || stats.HandedRefused != 0 || stats.HandedReceipts != pieces*len(down) {
		t.Fatalf("seeder's stop report %+v: want %d receipts handed over, %d pieces paid once per downloader, none refused, none unpaid but for %d blocks wasted",
			*stats, signed, pieces*len(down), wastedBlocks)
	}
}

// TestSwarmOfFourAgentsTrades: a seeder capped at 4 MiB/s and three
// downloaders starting together, each choosing pieces rarest first (random
// ties) and serving what it has behind its own gate: they trade, so the
// seeder sends well under the three copies it would send alone, and every
// byte anyone sent is paid with receipts the service counts.
func TestSwarmOfFourAgentsTrades(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the stack")
	}
	st := startExampleStack()
	defer st.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const size = 16 << 20
	alice := stackAgent(t, ctx, st, "alice", 4<<20)
	names := []string{"bob", "carol", "dave"}
	var leechers []*agent.Agent
	for _, n := range names {
		leechers = append(leechers, stackAgent(t, ctx, st, n, 0))
	}
	ih, stop := publishAndSeed(t, ctx, st, alice, "swarm", size, nil)
	waitSeeded(t, ctx, leechers[0], "swarm")
	// Upload counts start at the contract's initial credit: count what
	// changes.
	standing := func(a *agent.Agent) (up, down uint64) {
		s, err := a.Status(ctx, common.Address{})
		if err != nil {
			t.Fatal(err)
		}
		return s.SettledUploadBytes + s.PendingUploadBytes, s.SettledDownloadBytes + s.PendingDownloadBytes
	}
	base := map[*agent.Agent]uint64{}
	for _, a := range append([]*agent.Agent{alice}, leechers...) {
		base[a], _ = standing(a)
	}

	var wg sync.WaitGroup
	results := make([]*agent.Download, len(leechers))
	start := time.Now()
	for i, l := range leechers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := l.Get(ctx, ih, agent.GetOptions{Out: filepath.Join(st.dir, "swarm-"+names[i]), SubmitWait: time.Minute})
			if err != nil {
				t.Errorf("%s: %v", names[i], err)
				return
			}
			results[i] = got
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("three downloads of %d MiB in %v", size>>20, time.Since(start))
	for i, got := range results {
		if !got.Verified || got.ReceiptsUnsent != 0 || got.ReceiptsRefused != 0 || got.Unattributed != 0 {
			t.Fatalf("%s: %+v", names[i], got)
		}
	}
	// What each sent, from the receipts the service accepted (the
	// tracker's view follows within seconds): wait until the downloads are
	// all counted.
	var up []uint64
	for {
		up = up[:0]
		var down uint64
		for _, l := range leechers {
			u, d := standing(l)
			up = append(up, u-base[l])
			down += d
		}
		if down >= uint64(len(leechers)*size) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the downloads were never all counted: %d of %d bytes", down, len(leechers)*size)
		}
		time.Sleep(100 * time.Millisecond)
	}
	seederUp, _ := standing(alice)
	seederUp -= base[alice]
	var traded uint64
	for i, u := range up {
		t.Logf("%s uploaded %.1f MiB to the others", names[i], float64(u)/(1<<20))
		traded += u
	}
	t.Logf("the seeder uploaded %.2f copies, the downloaders traded %.2f copies", float64(seederUp)/size, float64(traded)/size)
	if traded < size || seederUp > 2*size || traded+seederUp != uint64(len(leechers)*size) {
		t.Fatalf("the downloaders traded %d bytes (want at least one copy, %d) and the seeder sent %d (want at most two copies); paid in all %d of %d",
			traded, size, seederUp, traded+seederUp, len(leechers)*size)
	}
	// A block requested from two peers near the end arrives twice: the
	// second copy is wasted, no receipt pays for it, and the piece it
	// belongs to stays unpaid at its sender. Every unpaid piece at the
	// seeder needs at least one wasted block (16 KiB) somewhere; with
	// none wasted, none may be unpaid.
	var wastedBlocks int64
	for i, got := range results {
		t.Logf("%s: %d bytes wasted", names[i], got.WastedBytes)
		wastedBlocks += (got.WastedBytes + 16<<10 - 1) / (16 << 10)
	}
	if stats := stop(); stats == nil || int64(stats.UnpaidPieces) > wastedBlocks || stats.HandedRefused != 0 {
		t.Fatalf("seeder's stop report: %+v (%d blocks wasted in all)", stats, wastedBlocks)
	}
}
