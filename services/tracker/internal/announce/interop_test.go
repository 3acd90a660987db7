package announce_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/announce/announcetest"
	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
	"github.com/pbts/pbts/torrentfile"
)

// TestInteropAria2 moves a file between two real aria2c processes that
// find each other only through the tracker, each with its own passkey.
// It is skipped when aria2c is missing, except under CI (CI set), where
// that is a failure: the CI script installs the Debian package aria2.
func TestInteropAria2(t *testing.T) {
	aria2, err := exec.LookPath("aria2c")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("aria2c not found and CI is set: install the Debian package aria2")
		}
		t.Skip("aria2c not found (Debian package aria2); CI runs this test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	dir := t.TempDir()
	seedDir, leechDir := filepath.Join(dir, "seed"), filepath.Join(dir, "leech")
	for _, d := range []string{seedDir, leechDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	payload := make([]byte, 3<<20+12345) // 13 pieces of 256 KiB, the last one short
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	dataPath := filepath.Join(seedDir, "payload.bin")
	if err := os.WriteFile(dataPath, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	mi, _, err := torrentfile.Build(dataPath, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	torrentPath := filepath.Join(dir, "payload.torrent")
	f, err := os.Create(torrentPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := mi.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ih := bt.InfoHash(mi.HashInfoBytes())

	// The tracker: real frontend, logic and store; test Directory and Gate.
	const seedKey, leechKey = "seederpasskey0000000000000000001", "leecherpasskey000000000000000002"
	dir2 := announcetest.NewDirectory()
	dir2.AddAgent(seedKey, agent(1))
	dir2.AddAgent(leechKey, agent(2))
	dir2.AddTorrent(announce.Torrent{InfoHash: ih, TotalLength: uint64(len(payload)), Publisher: agent(1)}) // the seeder
	gate := announcetest.NewGate(announce.DefaultRatio, 1<<30)                                              // the initial 1 GiB credit
	store, err := swarm.NewMemory(0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := announce.DefaultConfig()
	cfg.Interval, cfg.MinInterval, cfg.PeerExpiry = 5*time.Second, time.Second, 15*time.Second
	tracker, err := announce.New(cfg, store, dir2, gate, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := bt.NewHandler(tracker, bt.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	base := serveLean(t, h) // the production path: bt.Serve with the Handler

	run := func(name, passkey, workdir string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
		args := []string{
			// aria2 binds its own port from its default range, 6881-6999 (below
			// the ephemeral range of the suite's port-0 listeners).
			"--no-conf=true", "--dir=" + workdir,
			"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
			"--bt-exclude-tracker=*", "--bt-tracker=" + base + "/announce/" + passkey,
			"--disable-ipv6=true", "--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
			"--log=" + filepath.Join(dir, name+".log"), "--log-level=info",
		}
		args = append(append(args, extra...), torrentPath)
		cmd := exec.CommandContext(ctx, aria2, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			if t.Failed() {
				log, _ := os.ReadFile(filepath.Join(dir, name+".log"))
				t.Logf("%s output:\n%s\n%s log (tail):\n%s", name, out.String(), name, tail(log, 4000))
			}
		})
		return cmd, &out
	}

	run("seeder", seedKey, seedDir, "--check-integrity=true", "--seed-ratio=0.0", "--seed-time=10")
	waitFor(t, ctx, "the seeder to announce", func() bool {
		c, _ := tracker.Counts(ctx, ih)
		return c.Seeders == 1
	})

	leecher, _ := run("leecher", leechKey, leechDir, "--seed-time=0")
	if err := leecher.Wait(); err != nil {
		t.Fatalf("leecher: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(leechDir, "payload.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(payload) {
		t.Fatalf("downloaded file differs (%d bytes, want %d)", len(got), len(payload))
	}

	// The leecher finished and left (aria2 reports stopped with left=0):
	// one completed download, the seeder still there.
	waitFor(t, ctx, "the completion to be counted", func() bool {
		c, _ := tracker.Counts(ctx, ih)
		return c.Completed == 1
	})
	v := get(t, base+"/scrape/"+seedKey+"?info_hash="+url.QueryEscape(string(ih[:])))
	files, _ := v["files"].(map[string]any)
	file, _ := files[string(ih[:])].(map[string]any)
	if complete, _ := file["complete"].(int64); complete < 1 || file["downloaded"] != int64(1) {
		t.Errorf("scrape after the transfer: %v", v)
	}
	joins := dir2.Joins()
	if len(joins) < 2 {
		t.Errorf("Joined calls %+v, want the seeder and the leecher", joins)
	}
	if gate.Calls() < 1 {
		t.Error("the leecher was never gated")
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return fmt.Sprintf("%s", b)
}
