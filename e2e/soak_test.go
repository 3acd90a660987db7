package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gethcommon "github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/chain"
)

// TestSoak is `make soak` (SOAK_S seconds of load, default 120 here and 600
// in make soak): the whole stack under make up's supervisor, on a Postgres
// of its own (a cluster in a temporary directory, reached over a Unix
// socket, so that restarting it disturbs nobody else), with three pbts
// agents (processes) publishing, seeding and downloading from each other,
// while every service is SIGKILLed at random moments, Postgres is stopped
// hard (pg_ctl -m immediate: crash recovery on start) and started again once,
// and the chain RPC is taken away (anvil stopped with SIGSTOP) for up to 60 s.
// Then the load stops, settlement is awaited and the books are checked: every
// receipt Postgres holds is in a settled batch, every agent's figures on
// chain are its initial credit plus the receipts, and `pbts audit` passes.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs the whole stack")
	}
	requireTools(t, "bash", "jq", "curl")
	soakS := 120
	if v := os.Getenv("SOAK_S"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 60 {
			t.Fatalf("SOAK_S=%q: want seconds, at least 60", v)
		}
		soakS = n
	}
	soak := time.Duration(soakS) * time.Second
	rpcDown := min(60*time.Second, soak/4)
	root := repoRoot(t)
	pg := startPrivatePostgres(t)
	dir := t.TempDir()
	db := "pbts_soak"
	env := append(os.Environ(),
		"PBTS_UP_DIR="+dir, "PBTS_UP_PORT_BASE=0", "PBTS_UP_DB="+db, "PBTS_UP_PG_ADMIN_URL="+pg.url("postgres"),
		"PBTS_UP_WEB=0", "PBTS_UP_INITIAL_CREDIT=16777216")
	up := startUp(t, root, env)
	t.Cleanup(func() {
		up.stop(t)
		if t.Failed() {
			t.Logf("scripts/up.sh output:\n%s", tailString(up.out.String(), 8000))
		}
		// PBTS_SOAK_LOGS=DIR keeps the services' logs (the stack's own
		// directory is removed).
		if keep := os.Getenv("PBTS_SOAK_LOGS"); keep != "" {
			exec.Command("cp", "-r", filepath.Join(dir, "logs"), keep).Run()
			os.WriteFile(filepath.Join(keep, "up.out"), []byte(up.out.String()), 0o644)
		}
	})
	up.waitReady(t, dir)
	stack := readStack(t, dir)

	// Peak memory of each service, sampled every second across restarts.
	services := []string{"tracker", "receipts", "chainwriter", "gateway"}
	peak := map[string]int64{}
	var peakMu sync.Mutex
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			for _, s := range services {
				if rss := rssOf(pidOf(dir, s)); rss > 0 {
					peakMu.Lock()
					peak[s] = max(peak[s], rss)
					peakMu.Unlock()
				}
			}
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	// Three agents, each seeding what it publishes and completes.
	names := []string{"ada", "bo", "cy"}
	agents := make([]*soakAgent, len(names))
	for i, n := range names {
		agents[i] = newSoakAgent(t, dir, stack, n)
	}
	loadCtx, stopLoad := context.WithTimeout(context.Background(), soak)
	defer stopLoad()
	var (
		mu        sync.Mutex
		published []soakDataset
		acked     atomic.Int64 // receipts the service acknowledged to downloaders
		gets      atomic.Int64
		getFails  atomic.Int64
	)
	var load sync.WaitGroup
	for i, a := range agents {
		load.Add(1)
		go func() {
			defer load.Done()
			fetched := map[string]bool{}
			for round := 0; loadCtx.Err() == nil; round++ {
				if ih, err := a.publish(loadCtx, fmt.Sprintf("soak-%s-%d", a.name, round), (1+mrand.IntN(3))<<20); err == nil {
					mu.Lock()
					published = append(published, soakDataset{ih: ih, owner: i})
					mu.Unlock()
				} else if loadCtx.Err() == nil {
					t.Logf("%s: publish: %v", a.name, err)
				}
				a.restartSeed(t)
				mu.Lock()
				todo := []string{}
				for _, d := range published {
					if d.owner != i && !fetched[d.ih] {
						todo = append(todo, d.ih)
					}
				}
				mu.Unlock()
				for _, ih := range todo {
					if loadCtx.Err() != nil {
						break
					}
					gets.Add(1)
					got, err := a.get(loadCtx, ih)
					if err != nil {
						getFails.Add(1)
						if loadCtx.Err() == nil {
							t.Logf("%s: get %s: %v", a.name, ih[:8], err)
						}
						continue
					}
					fetched[ih] = true
					acked.Add(int64(got.ReceiptsAccepted))
				}
				select {
				case <-loadCtx.Done():
				case <-time.After(time.Second):
				}
			}
		}()
	}

	// The faults: a SIGKILL of a random service every few seconds, Postgres
	// stopped hard once at a third of the run, the RPC gone at two thirds.
	var kills, survived int
	var pgOut, rpcOut outageSeen
	var rpcAccepted int64 // receipts Postgres gained while the RPC was away
	pgDown := min(15*time.Second, soak/8)
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		start := time.Now()
		pgDone, rpcDone := false, false
		for loadCtx.Err() == nil {
			el := time.Since(start)
			switch {
			case !pgDone && el > soak/3:
				pgDone = true
				pgOut = outage(t, dir, stack, "Postgres away", pgDown,
					func() { pg.stop(t) }, func() { pg.start(t) }, nil,
					[]string{receiptsService, agentService, datasetService}, chainwriterService)
			case !rpcDone && el > 2*soak/3:
				rpcDone = true
				anvil := pidOf(dir, "anvil")
				before := pg.countReceipts(t, db)
				rpcOut = outage(t, dir, stack, "chain RPC away (anvil stopped)", rpcDown,
					func() { syscall.Kill(anvil, syscall.SIGSTOP) }, func() { syscall.Kill(anvil, syscall.SIGCONT) },
					func() { rpcAccepted = pg.countReceipts(t, db) - before },
					[]string{chainwriterService})
			default:
				name := services[mrand.IntN(len(services))]
				pid := pidOf(dir, name)
				if pid <= 0 {
					break
				}
				kills++
				syscall.Kill(pid, syscall.SIGKILL)
				if awaitRestart(dir, name, pid, stack.Gateway, 2*time.Minute) {
					survived++
				} else {
					t.Errorf("%s did not come back within 2 minutes of SIGKILL", name)
				}
			}
			select {
			case <-loadCtx.Done():
			case <-time.After(time.Duration(3+mrand.IntN(8)) * time.Second):
			}
		}
	}()
	load.Wait()
	<-faultsDone
	for _, a := range agents {
		a.stopSeed()
	}
	t.Logf("soak: %d downloads (%d failed and retried), %d kills", gets.Load(), getFails.Load(), kills)

	// Settlement: every receipt Postgres holds lands in a settled batch.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn := pg.connect(t, ctx, db)
	defer conn.Close(context.Background())
	var accepted, unsettled int64
	for {
		err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE b.settled_at IS NULL)
			FROM receipts r LEFT JOIN receipt_batches b ON b.id = r.batch_id`).Scan(&accepted, &unsettled)
		if err == nil && unsettled == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("receipts not settled 5 minutes after the load: %d of %d (%v)", unsettled, accepted, err)
		}
		time.Sleep(time.Second)
	}
	// On chain: each agent's figures are its initial credit plus what the
	// receipts say, no more (double counted) and no less (lost).
	client, err := ethclient.DialContext(ctx, stack.RPC)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	rows, err := conn.Query(ctx, `SELECT a, sum(up)::bigint, sum(down)::bigint FROM (
		SELECT sender AS a, piece_size AS up, 0 AS down FROM receipts
		UNION ALL SELECT receiver, 0, piece_size FROM receipts) x GROUP BY a`)
	if err != nil {
		t.Fatal(err)
	}
	type books struct{ up, down int64 }
	want := map[gethcommon.Address]books{}
	for rows.Next() {
		var a []byte
		var b books
		if err := rows.Scan(&a, &b.up, &b.down); err != nil {
			t.Fatal(err)
		}
		want[gethcommon.BytesToAddress(a)] = b
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	credit := int64(stack.Deployment.InitialCredit)
	var lost, double int64
	for a, b := range want {
		rep, err := chain.ReadReputation(ctx, client, stack.Deployment.Tracker, a)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []int64{int64(rep.Upload) - credit - b.up, int64(rep.Download) - b.down} {
			if d > 0 {
				double += d
			} else {
				lost -= d
			}
		}
	}
	// Every receipt a downloader was told was accepted is in Postgres (the
	// seeders' own submissions of handed-over receipts come on top).
	if acked.Load() > accepted {
		lost += acked.Load() - accepted
	}
	audit := exec.CommandContext(ctx, filepath.Join(dir, "bin", "pbts"), "audit", "--json")
	audit.Env = append(agents[0].env(), "PBTS_RPC_URL="+stack.RPC, "PBTS_CONTRACTS="+filepath.Join(dir, "contracts.json"))
	auditOut, auditErr := audit.CombinedOutput()
	auditOK := 0
	if auditErr == nil {
		auditOK = 1
	}
	stopSampling()
	<-sampled

	fmt.Printf("figure soak_seconds %d s\n", soakS)
	fmt.Printf("figure soak_receipts_accepted %d receipts\n", accepted)
	fmt.Printf("figure soak_kills_survived %d kills\n", survived)
	fmt.Printf("figure soak_receipts_lost %d bytes\n", lost)
	fmt.Printf("figure soak_double_counted %d bytes\n", double)
	fmt.Printf("figure soak_audit_ok %d bool\n", auditOK)
	for _, s := range services {
		fmt.Printf("figure soak_peak_rss_%s %.1f MiB\n", s, float64(peak[s])/(1<<20))
	}
	pgOut.report(t, "pg")
	rpcOut.report(t, "rpc")
	fmt.Printf("figure soak_rpc_down_receipts_accepted %d receipts\n", rpcAccepted)
	if rpcOut.down > 0 && rpcAccepted == 0 {
		t.Errorf("chain RPC away for %v: no receipt accepted meanwhile (the tracker and receipts service need no chain)", rpcOut.down)
	}
	if accepted == 0 || kills == 0 || survived != kills || lost != 0 || double != 0 || auditOK != 1 {
		t.Fatalf("soak: %d receipts accepted, %d of %d kills survived, %d bytes lost, %d double counted, audit: %v\n%s",
			accepted, survived, kills, lost, double, auditErr, tailString(string(auditOut), 4000))
	}
}

// outageSeen is what the soak saw while a dependency was away.
type outageSeen struct {
	what       string
	down       time.Duration            // how long it was away
	detected   map[string]time.Duration // service -> until it first reported not serving
	missed     []string                 // services that had to report not serving and never did
	othersDown []string                 // probes where a service that must keep serving did not
	crashed    []string                 // services whose process changed meanwhile
	recovered  time.Duration            // from the return until every service served (-1: not in 2 minutes)
}

// Health names the soak probes through the gateway's /readyz.
const (
	chainwriterService = "pbts.v1.ChainwriterService"
	receiptsService    = "pbts.v1.ReceiptService"
	agentService       = "pbts.v1.AgentService"
	datasetService     = "pbts.v1.DatasetService"
)

// outage takes a dependency away (stop) for down, probing the gateway's
// /readyz, which asks every service's health, twice a second: each of
// mustFail (the services that cannot work without it) must report not
// serving, each service neither there nor in mayFail must keep serving, and
// no process may exit. atEnd runs just before resume; then every service
// must serve again within 2 minutes.
func outage(t *testing.T, dir string, stack soakStack, what string, down time.Duration, stop, resume, atEnd func(), mustFail []string, mayFail ...string) outageSeen {
	seen := outageSeen{what: what, down: down, detected: map[string]time.Duration{}, recovered: -1}
	names := []string{"tracker", "receipts", "chainwriter", "gateway"}
	pids := map[string]int{}
	for _, n := range names {
		pids[n] = pidOf(dir, n)
	}
	t.Logf("soak: %s for %v", what, down)
	start := time.Now()
	stop()
	for time.Since(start) < down { // the fault's own length
		at := time.Since(start)
		st, err := readyzServices(stack.Gateway)
		if err != nil {
			seen.othersDown = append(seen.othersDown, fmt.Sprintf("gateway at %.0fs: %v", at.Seconds(), err))
		}
		for svc, v := range st {
			switch {
			case v == "serving":
			case slices.Contains(mustFail, svc):
				if _, ok := seen.detected[svc]; !ok {
					seen.detected[svc] = at
					t.Logf("soak: %s: %s %s after %.1fs", what, svc, v, at.Seconds())
				}
			case !slices.Contains(mayFail, svc):
				seen.othersDown = append(seen.othersDown, fmt.Sprintf("%s %s at %.0fs", svc, v, at.Seconds()))
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if atEnd != nil {
		atEnd()
	}
	for _, n := range names {
		if p := pidOf(dir, n); p != pids[n] || syscall.Kill(p, 0) != nil {
			seen.crashed = append(seen.crashed, n)
		}
	}
	resume()
	back := time.Now()
	for time.Since(back) < 2*time.Minute {
		if gatewayReady(stack.Gateway) {
			seen.recovered = time.Since(back)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, svc := range mustFail {
		if _, ok := seen.detected[svc]; !ok {
			seen.missed = append(seen.missed, svc)
		}
	}
	t.Logf("soak: %s over; every service serving %.1fs after its return", what, seen.recovered.Seconds())
	return seen
}

// report prints the outage's figures (soak_NAME_down_*) and fails the test
// where the services did not behave.
func (o outageSeen) report(t *testing.T, name string) {
	t.Helper()
	if o.down == 0 {
		t.Errorf("soak: the fault %q never ran (the load ended first)", name)
		return
	}
	var detected time.Duration
	for _, d := range o.detected {
		detected = max(detected, d)
	}
	fmt.Printf("figure soak_%s_down_seconds %.0f s\n", name, o.down.Seconds())
	fmt.Printf("figure soak_%s_down_detected_s %.1f s\n", name, detected.Seconds())
	fmt.Printf("figure soak_%s_down_others_not_serving %d probes\n", name, len(o.othersDown))
	fmt.Printf("figure soak_%s_recovered_s %.1f s\n", name, o.recovered.Seconds())
	if len(o.missed) > 0 {
		t.Errorf("%s for %v: never reported NOT_SERVING: %v", o.what, o.down, o.missed)
	}
	if len(o.othersDown) > 0 {
		t.Errorf("%s: services that do not need it reported not serving: %v", o.what, o.othersDown)
	}
	if len(o.crashed) > 0 {
		t.Errorf("%s: processes exited: %v", o.what, o.crashed)
	}
	if o.recovered < 0 {
		t.Errorf("%s: not every service served again within 2 minutes of its return", o.what)
	}
}

// readyzServices is the per-service health the gateway's /readyz reports.
func readyzServices(gateway string) (map[string]string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(gateway + "/readyz")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Services map[string]string `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if _, ok := r.Services[chainwriterService]; !ok {
		return nil, fmt.Errorf("/readyz names no %s: %v", chainwriterService, r.Services)
	}
	return r.Services, nil
}

type soakDataset struct {
	ih    string
	owner int
}

// soakStack is the part of stack.json the soak reads.
type soakStack struct {
	RPC        string `json:"rpc_url"`
	Tracker    string `json:"tracker_grpc"`
	Receipts   string `json:"receipts_grpc"`
	Gateway    string `json:"gateway"`
	Deployment struct {
		ChainID       uint64             `json:"chainId"`
		Tracker       gethcommon.Address `json:"tracker"`
		InitialCredit uint64             `json:"initialCredit"`
	} `json:"deployment"`
}

func readStack(t *testing.T, dir string) soakStack {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "stack.json"))
	var s soakStack
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil || s.RPC == "" || s.Gateway == "" {
		t.Fatalf("stack.json: %v (%s)", err, b)
	}
	return s
}

// pidOf is the pid the supervisor recorded for a service (0 when none).
func pidOf(dir, name string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "pids", name+".pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// rssOf is a process's resident memory in bytes (0 when it is gone).
func rssOf(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// gatewayReady asks the REST gateway whether every service serves.
func gatewayReady(gateway string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(gateway + "/readyz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var r struct {
		Ready bool `json:"ready"`
	}
	return json.NewDecoder(resp.Body).Decode(&r) == nil && r.Ready
}

func awaitReady(t *testing.T, gateway string, bound time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !gatewayReady(gateway) {
		if time.Now().After(deadline) {
			t.Errorf("the stack was not ready within %v %s", bound, what)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// awaitRestart waits until the supervisor runs a new process for name and
// the gateway reports every service serving.
func awaitRestart(dir, name string, old int, gateway string, bound time.Duration) bool {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if p := pidOf(dir, name); p > 0 && p != old && syscall.Kill(p, 0) == nil && gatewayReady(gateway) {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// soakAgent is one pbts agent (the command, as separate processes).
type soakAgent struct {
	name, home, bin string
	stack           soakStack
	seed            *exec.Cmd
	seedDone        chan struct{}
}

func newSoakAgent(t *testing.T, dir string, stack soakStack, name string) *soakAgent {
	t.Helper()
	a := &soakAgent{name: name, home: filepath.Join(dir, "agents", name), bin: filepath.Join(dir, "bin", "pbts"), stack: stack}
	if err := os.MkdirAll(filepath.Join(a.home, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"key", "new", "--light", "--json"}, {"register", "--json"}} {
		if out, err := a.cmd(ctx, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: pbts %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(a.stopSeed)
	return a
}

func (a *soakAgent) env() []string {
	return append(os.Environ(), "PBTS_HOME="+a.home, "PBTS_KEY_PASSWORD=soak", "PBTS_TRACKER="+a.stack.Tracker,
		"PBTS_RECEIPTS="+a.stack.Receipts, "PBTS_TRACKER_CONTRACT="+a.stack.Deployment.Tracker.Hex(),
		fmt.Sprintf("PBTS_CHAIN_ID=%d", a.stack.Deployment.ChainID))
}

func (a *soakAgent) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, a.bin, args...)
	c.Env = a.env()
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 10 * time.Second
	return c
}

// publish writes size random bytes and publishes them (pbts seed serves them).
func (a *soakAgent) publish(ctx context.Context, name string, size int) (string, error) {
	data := make([]byte, size)
	rand.Read(data)
	path := filepath.Join(a.home, "data", name+".bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := a.cmd(cctx, "publish", path, "--name", name, "--modality", "video", "--license", "CC0-1.0",
		"--piece-length", "262144", "--no-seed", "--json").Output()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	var r struct {
		InfoHash string `json:"info_hash"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.InfoHash == "" {
		return "", fmt.Errorf("publish said %s (%v)", out, err)
	}
	return r.InfoHash, nil
}

// restartSeed (re)starts pbts seed, so that it serves what was published or
// completed since.
func (a *soakAgent) restartSeed(t *testing.T) {
	a.stopSeed()
	log, err := os.OpenFile(filepath.Join(a.home, "seed.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Error(err)
		return
	}
	c := exec.Command(a.bin, "seed", "--listen", "127.0.0.1:0")
	c.Env, c.Stdout, c.Stderr = a.env(), log, log
	if err := c.Start(); err != nil {
		log.Close()
		t.Error(err)
		return
	}
	a.seed, a.seedDone = c, make(chan struct{})
	done := a.seedDone
	go func() { c.Wait(); log.Close(); close(done) }()
}

func (a *soakAgent) stopSeed() {
	if a.seed == nil {
		return
	}
	a.seed.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.seedDone:
	case <-time.After(30 * time.Second):
		a.seed.Process.Kill()
		<-a.seedDone
	}
	a.seed = nil
}

type soakGot struct {
	Verified         bool `json:"verified"`
	ReceiptsAccepted int  `json:"receipts_accepted"`
}

func (a *soakAgent) get(ctx context.Context, ih string) (*soakGot, error) {
	cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	out, err := a.cmd(cctx, "get", ih, "--out", filepath.Join(a.home, "downloads"), "--listen", "127.0.0.1:0", "--json").Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, tailString(string(out), 600))
	}
	var g soakGot
	if err := json.Unmarshal(out, &g); err != nil || !g.Verified {
		return nil, fmt.Errorf("get said %s (%v)", tailString(string(out), 600), err)
	}
	return &g, nil
}

// privatePostgres is a Postgres cluster of the test's own, in a temporary
// directory, listening only on a Unix socket there.
type privatePostgres struct {
	bin, data, sock string
	asPostgres      bool
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("the soak runs a Postgres of its own and needs initdb: apt-get install postgresql")
	}
	base, err := os.MkdirTemp("", "pbts-soak-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	p := &privatePostgres{bin: filepath.Dir(bins[len(bins)-1]), data: filepath.Join(base, "data"), sock: base,
		asPostgres: os.Geteuid() == 0}
	if p.asPostgres { // initdb and postgres refuse to run as root
		os.Chmod(base, 0o777)
	}
	if out, err := p.run("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.start(t)
	t.Cleanup(func() { p.run("pg_ctl", "-D", p.data, "-m", "immediate", "stop").Run() })
	return p
}

func (p *privatePostgres) run(tool string, args ...string) *exec.Cmd {
	if p.asPostgres {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, tool)}, args...)...)
	}
	return exec.Command(filepath.Join(p.bin, tool), args...)
}

func (p *privatePostgres) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories=%s -c max_connections=200", p.sock)
	if out, err := p.run("pg_ctl", "-D", p.data, "-o", opts, "-l", filepath.Join(p.sock, "postgres.log"), "-w", "-t", "120", "start").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}

// restart stops the cluster as a crash would (no checkpoint), leaves it
// down for down, and starts it again (it recovers from its WAL).
// stop stops the server hard (-m immediate: crash recovery on the next start).
func (p *privatePostgres) stop(t *testing.T) {
	t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		t.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
}

// countReceipts is how many receipts database db holds (callable from
// any goroutine: it fails the test with Errorf).
func (p *privatePostgres) countReceipts(t *testing.T, db string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var n int64
	conn, err := pgx.Connect(ctx, p.url(db))
	if err == nil {
		defer conn.Close(context.Background())
		err = conn.QueryRow(ctx, `SELECT count(*) FROM receipts`).Scan(&n)
	}
	if err != nil {
		t.Errorf("counting receipts: %v", err)
	}
	return n
}

// url is the connection URL of database db (the socket directory as the
// host parameter).
func (p *privatePostgres) url(db string) string {
	return "postgres://postgres@/" + db + "?sslmode=disable&host=" + url.QueryEscape(p.sock)
}

func (p *privatePostgres) connect(t *testing.T, ctx context.Context, db string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, p.url(db))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
