package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	gethcommon "github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/contracts/bindings"
	"github.com/pbts/pbts/database/dbtest"
)

// demoCredit is the initial credit of the test's stack; the demo sizes its
// media from it (video 2.5x, speech 0.75x, sounds 1.5x).
const demoCredit = 2 * MiB

// stackRPC is the chain endpoint of the running stack, from its stack.json.
func stackRPC(t *testing.T, dir string) string {
	t.Helper()
	var stack struct {
		RPC string `json:"rpc_url"`
	}
	sb, _ := os.ReadFile(filepath.Join(dir, "stack.json"))
	if err := json.Unmarshal(sb, &stack); err != nil || stack.RPC == "" {
		t.Fatalf("stack.json: %v (%s)", err, sb)
	}
	return stack.RPC
}

// upProcess is scripts/up.sh running in the background.
type upProcess struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

func startUp(t *testing.T, root string, env []string) *upProcess {
	t.Helper()
	p := &upProcess{out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command("bash", "scripts/up.sh")
	p.cmd.Dir, p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = root, env, p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	return p
}

// stop sends SIGTERM (what Ctrl-C does through make) and waits for a clean exit.
func (p *upProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("scripts/up.sh did not stop within 90s of SIGTERM\n%s", tailString(p.out.String(), 4000))
	}
}

// waitReady waits for the stack's stack.json (a cold build of the binaries
// takes minutes).
func (p *upProcess) waitReady(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(12 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, "stack.json")); err == nil {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("scripts/up.sh exited before the stack was up:\n%s", tailString(p.out.String(), 6000))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stack was not up after 12 minutes:\n%s", tailString(p.out.String(), 6000))
		}
	}
}

// killAndAwaitRestart SIGKILLs the stack's service name and waits until the
// supervisor has said why it died, started it again on the same addresses
// and the REST gateway reports every service serving again.
func (p *upProcess) killAndAwaitRestart(t *testing.T, dir, name string) {
	t.Helper()
	pidFile := filepath.Join(dir, "pids", name+".pid")
	b, err := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("%s: %v (%q)", pidFile, err, b)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "addrs", name+".json"))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var stack struct {
		Gateway string `json:"gateway"`
	}
	sb, _ := os.ReadFile(filepath.Join(dir, "stack.json"))
	if err := json.Unmarshal(sb, &stack); err != nil || stack.Gateway == "" {
		t.Fatalf("stack.json: %v (%s)", err, sb)
	}
	said := fmt.Sprintf("%s (pid %d) exited unexpectedly (killed by signal KILL)", name, pid)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out := p.out.String()
		if i := strings.Index(out, said); i >= 0 && strings.Contains(out[i:], name+" restarted") {
			after, _ := os.ReadFile(filepath.Join(dir, "addrs", name+".json"))
			var ready struct {
				Ready bool `json:"ready"`
			}
			if resp, err := http.Get(stack.Gateway + "/readyz"); err == nil {
				json.NewDecoder(resp.Body).Decode(&ready)
				resp.Body.Close()
			}
			if ready.Ready && len(after) > 0 {
				if string(after) != string(before) {
					t.Fatalf("%s came back on other addresses: %s, before %s", name, after, before)
				}
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("scripts/up.sh exited after %s was killed:\n%s", name, tailString(p.out.String(), 6000))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not restarted and serving within 2 minutes of SIGKILL:\n%s", name, tailString(p.out.String(), 6000))
		}
	}
}

type demoStatus struct {
	Address              string   `json:"address"`
	SettledUploadBytes   uint64   `json:"settled_upload_bytes"`
	SettledDownloadBytes uint64   `json:"settled_download_bytes"`
	PendingUploadBytes   uint64   `json:"pending_upload_bytes"`
	PendingDownloadBytes uint64   `json:"pending_download_bytes"`
	Ratio                *float64 `json:"ratio"`
	CanLeech             bool     `json:"can_leech"`
}

type demoGet struct {
	Bytes            int64 `json:"bytes"`
	Pieces           int   `json:"pieces"`
	Verified         bool  `json:"verified"`
	ReceiptsSigned   int   `json:"receipts_signed"`
	ReceiptsAccepted int   `json:"receipts_accepted"`
	ReceiptsDup      int   `json:"receipts_duplicate"`
	ReceiptsRefused  int   `json:"receipts_refused"`
}

// paid: every piece has a receipt per sender that the receipts service
// holds, accepted from the downloader or already from the sender (who is
// handed the receipts during the transfer).
func (g demoGet) paid(singleSender bool) bool {
	return g.Verified && g.ReceiptsRefused == 0 && g.ReceiptsAccepted+g.ReceiptsDup == g.ReceiptsSigned &&
		(g.ReceiptsSigned == g.Pieces || !singleSender && g.ReceiptsSigned >= g.Pieces)
}

type demoError struct {
	Error struct{ Kind, Message string } `json:"error"`
}

type demoEvent struct {
	Event         string `json:"event"`
	Tx            string `json:"tx"`
	Agent         string `json:"agent"`
	InitialCredit uint64 `json:"initialCredit"`
	Upload        uint64 `json:"upload"`
	Download      uint64 `json:"download"`
}

type demoDataset struct {
	InfoHash   string `json:"info_hash"`
	TotalBytes uint64 `json:"total_bytes"`
	PieceCount int    `json:"piece_count"`
	Seeders    int    `json:"seeders"`
}

type demoRep struct {
	Address  string `json:"address"`
	Upload   uint64 `json:"upload"`
	Download uint64 `json:"download"`
	Known    bool   `json:"known"`
}

// demoResults is the demo's results.json.
type demoResults struct {
	Result   string `json:"result"`
	Credit   uint64 `json:"credit"`
	Tracker1 string `json:"tracker1"`
	Tracker2 string `json:"tracker2"`
	Act1     map[string]struct {
		Address string `json:"address"`
		Event   string `json:"event"`
		Tx      string `json:"tx"`
		Credit  uint64 `json:"credit"`
	} `json:"act1"`
	Act2 struct{ Video, Audio demoDataset } `json:"act2"`
	Act3 struct {
		AlphaGet demoGet               `json:"alpha_get"`
		BetaGet  demoGet               `json:"beta_get"`
		After    map[string]demoStatus `json:"after"`
		REST     struct {
			Alpha struct {
				SettledUploadBytes string `json:"settledUploadBytes"`
			} `json:"alpha"`
			Beta struct {
				Uploaded string `json:"uploaded"`
			} `json:"beta"`
		} `json:"rest"`
	} `json:"act3"`
	Act4 struct {
		Refusal  demoError   `json:"refusal"`
		Sounds   demoDataset `json:"sounds"`
		GammaGet demoGet     `json:"gamma_get"`
	} `json:"act4"`
	Act5 struct {
		DeltaRefusalOld demoError             `json:"delta_refusal_old"`
		DeltaRefusalNew demoError             `json:"delta_refusal_new"`
		Before          map[string]demoStatus `json:"before"`
		After           map[string]demoStatus `json:"after"`
		Readthrough     struct{ Old, New []demoRep }
		Imports         []demoEvent `json:"imports"`
		EpsilonGet      demoGet     `json:"epsilon_get"`
	} `json:"act5"`
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (make system-deps installs it): %v", tool, err)
			}
			t.Skipf("%s is missing (make system-deps installs it)", tool)
		}
	}
}

// TestDemo runs `make up`'s scripts/up.sh and `make demo`'s scripts/demo.sh
// with small media, in their own state directory, ports and database, checks
// each act's outcome from the figures the demo wrote and from the chain, and
// restarts the stack to check that it resumes on the same chain, tracker and
// reputation.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs the whole stack")
	}
	requireTools(t, "bash", "jq", "ffmpeg", "espeak-ng", "ffprobe")
	if _, err := anviltest.Binary(); err != nil {
		requireTools(t, "anvil")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	db := "pbts_demo_" + hex.EncodeToString(randomBytes(5))
	// Port base 0: every listener of the stack binds port 0 and up.sh reads
	// the ports back into stack.json, which the demo and this test read.
	env := append(os.Environ(),
		"PBTS_UP_DIR="+dir, "PBTS_UP_PORT_BASE=0", "PBTS_UP_DB="+db,
		fmt.Sprintf("PBTS_UP_INITIAL_CREDIT=%d", demoCredit), "PBTS_UP_PG_ADMIN_URL="+dbtest.ServerURL(),
		"PBTS_DEMO_SMALL=1", "PBTS_UP_WEB=0")
	t.Cleanup(func() { dropDemoDatabases(t, db) })

	up := startUp(t, root, env)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			up.stop(t)
		}
		if t.Failed() {
			t.Logf("scripts/up.sh output:\n%s", tailString(up.out.String(), 8000))
			for _, name := range []string{"tracker", "receipts", "chainwriter"} {
				b, _ := os.ReadFile(filepath.Join(dir, "logs", name+".log"))
				t.Logf("%s.log:\n%s", name, tailString(string(b), 3000))
			}
		}
	})
	up.waitReady(t, dir)
	if !strings.Contains(up.out.String(), "deployed RepFactory") {
		t.Fatalf("first start did not deploy:\n%s", up.out.String())
	}
	// A service that dies is restarted with backoff on the addresses it had
	// (the demo then runs against the restarted ones).
	for _, name := range []string{"tracker", "receipts"} {
		up.killAndAwaitRestart(t, dir, name)
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	demo := exec.CommandContext(ctx, "bash", "scripts/demo.sh")
	demo.Dir, demo.Env = root, env
	out, err := demo.CombinedOutput()
	t.Logf("demo took %s", time.Since(start).Round(time.Second))
	if err != nil || !strings.Contains(string(out), "DEMO OK") {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, tailString(string(out), 12000))
	}
	if left := processesOf(filepath.Join(dir, "bin")); len(left) > 0 {
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Fatalf("the demo left %d of its pbts processes running: %v", len(left), left)
	}
	r := readDemoResults(t, dir)
	checkDemoResults(t, r, string(out))

	// The chain, read independently of the demo's tooling.
	client, err := ethclient.Dial(stackRPC(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	old, newT := gethcommon.HexToAddress(r.Tracker1), gethcommon.HexToAddress(r.Tracker2)
	rt := bindings.NewReputationTracker()
	ref, err := bind.Call(rt.Instance(client, newT), &bind.CallOpts{}, rt.PackReferrer(), rt.UnpackReferrer)
	if err != nil || ref != old {
		t.Fatalf("the new tracker's referrer is %s (%v), want %s", ref, err, old)
	}
	// Who sent what: Beta got the video from Alpha; Gamma got it from Alpha
	// and/or Beta; Alpha and Delta got the speech from Beta; Alpha and Epsilon
	// got the sounds from Gamma. Alpha and Beta did nothing on the new tracker.
	v, a, g := r.Act2.Video.TotalBytes, r.Act2.Audio.TotalBytes, r.Act4.Sounds.TotalBytes
	alpha := gethcommon.HexToAddress(r.Act1["alpha"].Address)
	beta := gethcommon.HexToAddress(r.Act1["beta"].Address)
	for _, tr := range []gethcommon.Address{old, newT} {
		ra, err1 := chain.ReadReputation(ctx, client, tr, alpha)
		rb, err2 := chain.ReadReputation(ctx, client, tr, beta)
		if err1 != nil || err2 != nil || !ra.Known || !rb.Known || ra.Download != a+g || rb.Download != v ||
			ra.Upload+rb.Upload != 2*demoCredit+2*v+2*a {
			t.Fatalf("on %s: alpha %+v beta %+v (%v %v); video %d, speech %d, sounds %d", tr, ra, rb, err1, err2, v, a, g)
		}
	}
	up.stop(t)
	stopped = true

	// Started again, the stack resumes on the new tracker with the same figures.
	up2 := startUp(t, root, env)
	t.Cleanup(func() {
		up2.stop(t)
		if t.Failed() {
			t.Logf("second scripts/up.sh:\n%s", tailString(up2.out.String(), 4000))
		}
	})
	up2.waitReady(t, dir)
	if o := strings.ToLower(up2.out.String()); !strings.Contains(o, "reusing reputationtracker "+strings.ToLower(r.Tracker2)) ||
		!strings.Contains(o, "reputation kept") {
		t.Fatalf("second start did not reuse tracker %s:\n%s", r.Tracker2, o)
	}
	client2, err := ethclient.Dial(stackRPC(t, dir)) // anvil listens on a new port now
	if err != nil {
		t.Fatal(err)
	}
	defer client2.Close()
	for who, st := range r.Act5.After {
		rep, err := chain.ReadReputation(ctx, client2, newT, gethcommon.HexToAddress(st.Address))
		if err != nil || rep.Upload < st.SettledUploadBytes || rep.Download != st.SettledDownloadBytes {
			t.Fatalf("%s after the restart: %+v %v; want at least %d up, %d down", who, rep, err, st.SettledUploadBytes, st.SettledDownloadBytes)
		}
	}
}

// readDemoResults reads the one demo run's results.json in the stack's dir.
func readDemoResults(t *testing.T, dir string) *demoResults {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(dir, "demo", "run-*", "results.json"))
	if len(runs) != 1 {
		t.Fatalf("results: %v", runs)
	}
	b, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	var r demoResults
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("results.json: %v\n%s", err, b)
	}
	return &r
}

// processesOf lists the running processes whose executable is pbts in binDir
// (the demo's agents: it must stop every one it started).
func processesOf(binDir string) []int {
	want := filepath.Join(binDir, "pbts")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// checkDemoResults asserts each act's outcome.
func checkDemoResults(t *testing.T, r *demoResults, out string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\n(demo output:\n%s)", append(args, tailString(out, 6000))...)
	}
	if r.Result != "ok" || r.Credit != demoCredit {
		fail("result %q credit %d", r.Result, r.Credit)
	}
	// Act 1: registered on chain with the initial credit, with a transaction.
	for _, who := range []string{"alpha", "beta"} {
		a := r.Act1[who]
		if a.Event != "AgentRegistered" || a.Credit != demoCredit || len(a.Tx) != 66 || !gethcommon.IsHexAddress(a.Address) {
			fail("act 1 %s: %+v", who, a)
		}
	}
	// Act 2: both datasets seeded; their sizes make the gate do what the acts say.
	v, a, c := r.Act2.Video.TotalBytes, r.Act2.Audio.TotalBytes, r.Credit
	if r.Act2.Video.Seeders < 1 || r.Act2.Audio.Seeders < 1 || 2*c >= v || 2*c < a || 2*(c+a) < v {
		fail("act 2: %+v", r.Act2)
	}
	// Act 3: every piece received and receipted, and the figures on chain.
	for name, g := range map[string]demoGet{"alpha": r.Act3.AlphaGet, "beta": r.Act3.BetaGet} {
		if !g.paid(true) {
			fail("act 3 %s get: %+v", name, g)
		}
	}
	if al, be := r.Act3.After["alpha"], r.Act3.After["beta"]; al.SettledUploadBytes != c+v || al.SettledDownloadBytes != a ||
		be.SettledUploadBytes != c+a || be.SettledDownloadBytes != v || al.PendingUploadBytes != 0 || be.PendingDownloadBytes != 0 {
		fail("act 3 figures: alpha %+v beta %+v (video %d, speech %d)", al, be, v, a)
	}
	if rest := r.Act3.REST; rest.Alpha.SettledUploadBytes != fmt.Sprint(c+v) || rest.Beta.Uploaded != fmt.Sprint(c+a) {
		fail("act 3 through the REST gateway: %+v", rest)
	}
	// Act 4: refused with the figures, then allowed after contributing.
	if g := r.Act4.Sounds.TotalBytes; 2*c < g || 2*(c+g) < v || 2*c >= a+g {
		fail("act 4 sounds: %+v", r.Act4.Sounds)
	}
	if r.Act4.Refusal.Error.Kind != "insufficient_ratio" ||
		!strings.Contains(r.Act4.Refusal.Error.Message, fmt.Sprintf("insufficient ratio: uploaded 2.0 MiB, downloaded 0 B + %s left", humanMiB(v))) {
		fail("act 4 refusal: %+v", r.Act4.Refusal)
	}
	if g := r.Act4.GammaGet; !g.paid(false) {
		fail("act 4 gamma get: %+v", g)
	}
	// Act 5: a new tracker that reads through, imports and keeps the gate.
	if !gethcommon.IsHexAddress(r.Tracker2) || strings.EqualFold(r.Tracker1, r.Tracker2) {
		fail("act 5 trackers %s %s", r.Tracker1, r.Tracker2)
	}
	if len(r.Act5.Readthrough.Old) != 4 || len(r.Act5.Readthrough.New) != 4 {
		fail("act 5 read-through: %+v", r.Act5.Readthrough)
	}
	for i, o := range r.Act5.Readthrough.Old {
		if n := r.Act5.Readthrough.New[i]; n != o || !o.Known {
			fail("act 5 read-through of %s: old %+v new %+v", o.Address, o, n)
		}
	}
	if len(r.Act5.Imports) != 4 {
		fail("act 5 imports: %+v", r.Act5.Imports)
	}
	for _, e := range r.Act5.Imports {
		if e.Event != "AgentImported" {
			fail("act 5: %s got %s on the new tracker, not AgentImported", e.Agent, e.Event)
		}
	}
	if len(r.Act5.Before) != 4 || len(r.Act5.After) != 4 {
		fail("act 5 statuses: before %v after %v", r.Act5.Before, r.Act5.After)
	}
	for who, b := range r.Act5.Before {
		af := r.Act5.After[who]
		if b.SettledUploadBytes != af.SettledUploadBytes || b.SettledDownloadBytes != af.SettledDownloadBytes ||
			b.CanLeech != af.CanLeech || (b.Ratio == nil) != (af.Ratio == nil) || (b.Ratio != nil && *b.Ratio != *af.Ratio) {
			fail("act 5 %s: before %+v after %+v", who, b, af)
		}
	}
	if r.Act5.DeltaRefusalNew.Error.Kind != "insufficient_ratio" || r.Act5.DeltaRefusalNew.Error.Message != r.Act5.DeltaRefusalOld.Error.Message {
		fail("act 5 free-rider: old %+v new %+v", r.Act5.DeltaRefusalOld, r.Act5.DeltaRefusalNew)
	}
	if g := r.Act5.EpsilonGet; !g.paid(true) {
		fail("act 5 newcomer: %+v", g)
	}
}

// humanMiB formats n as the tracker's refusal does for MiB-sized figures.
func humanMiB(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/MiB) }

// dropDemoDatabases drops the databases the demo's stack created.
func dropDemoDatabases(t *testing.T, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dbtest.ServerURL())
	if err != nil {
		t.Logf("drop demo databases: %v", err)
		return
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE $1`, db+"%")
	if err != nil {
		t.Logf("drop demo databases: %v", err)
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Logf("drop demo databases: %v", err)
		return
	}
	for _, n := range names {
		if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS "`+n+`" WITH (FORCE)`); err != nil {
			t.Logf("drop %s: %v", n, err)
		}
	}
}
