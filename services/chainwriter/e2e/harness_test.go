// Package e2e runs the real chainwriter binary (built once per test process)
// against anvil and Postgres, kills it (SIGKILL, by its failpoints or from
// outside) and checks that every receipt is counted once on chain.
package e2e

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/contracts/bindings"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/chainwriter/internal/failpoint"
	"github.com/pbts/pbts/services/chainwriter/internal/seed"
	"github.com/pbts/pbts/testkit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const credit = 1 << 30

const chainwriterPkg = "github.com/pbts/pbts/services/chainwriter/cmd/chainwriter"

var (
	goBin    string // the go command that runs these tests
	binary   string // the chainwriter built for this test process
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chainwriter-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "chainwriter")
	// go test puts its own go first on PATH.
	goBin, err = exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// No -race: the binary is the system under test, not the test itself.
	// The failpoint tag compiles in the crash hook (PBTS_CHAINWRITER_CRASH_AT),
	// which the release build has not (TestReleaseBuildHasNoFailpoint).
	cmd := exec.Command(goBin, "build", "-tags", failpoint.Tag, "-o", binary, chainwriterPkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build chainwriter: %v\n%s", err, out)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running chainwriter.
type proc struct {
	*testkit.Proc
	t testing.TB
}

// writerEnv is the configuration every run shares.
type writerEnv struct {
	dbURL, rpcURL string
	contract      common.Address
	key           *ecdsa.PrivateKey
	extra         map[string]string
}

func (e writerEnv) environ() []string {
	vars := map[string]string{
		"PBTS_DATABASE_URL":       e.dbURL,
		"PBTS_RPC_URL":            e.rpcURL,
		"PBTS_TRACKER_CONTRACT":   e.contract.Hex(),
		"PBTS_CHAINWRITER_KEY":    hex.EncodeToString(crypto.FromECDSA(e.key)),
		"PBTS_GRPC_ADDR":          "127.0.0.1:0", // the bound port comes back in the address file
		"PBTS_METRICS_ADDR":       "",
		"PBTS_LOG_LEVEL":          "debug",
		"PBTS_POLL_INTERVAL":      "20ms",
		"PBTS_MAX_BACKOFF":        "300ms",
		"PBTS_RPC_TIMEOUT":        "2s",
		"PBTS_BATCH_MAX_AGE":      "50ms",
		"PBTS_BATCH_MAX_RECEIPTS": "60",
		"PBTS_SHUTDOWN_TIMEOUT":   "3s",
	}
	for k, v := range e.extra {
		vars[k] = v
	}
	var kv []string
	for k, v := range vars {
		kv = append(kv, k+"="+v)
	}
	return testkit.Environ(kv...)
}

// start runs the chainwriter; crashAt arms its failpoint ("" for none). It
// is killed (SIGKILL) when the test ends if still running.
func start(t testing.TB, name string, e writerEnv, crashAt string) *proc {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	env := e.environ()
	if crashAt != "" {
		env = append(env, "PBTS_CHAINWRITER_CRASH_AT="+crashAt)
	}
	p := &proc{Proc: testkit.Start(t, name, binary, env), t: t}
	t.Cleanup(p.Kill) // before testkit's SIGTERM: the writer under test dies hard
	return p
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitExit waits for the process to end by itself.
func (p *proc) waitExit(timeout time.Duration) syscall.WaitStatus {
	p.t.Helper()
	ws, err := p.Wait(timeout)
	if err != nil {
		p.t.Fatal(err)
	}
	return ws
}

// stop ends the process gracefully (SIGTERM) and checks it exits 0.
func (p *proc) stop() {
	p.t.Helper()
	p.Cmd.Process.Signal(syscall.SIGTERM)
	ws := p.waitExit(10 * time.Second)
	if !ws.Exited() || ws.ExitStatus() != 0 {
		p.t.Errorf("chainwriter %s after SIGTERM: %v, want exit 0", p.Name, ws)
	}
}

// conn dials the process's gRPC address (once it has reported it).
func (p *proc) conn() *grpc.ClientConn {
	p.t.Helper()
	conn, err := grpc.NewClient(p.Addr("grpc"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { conn.Close() })
	return conn
}

// world is a chain and a database seeded with agents.
type world struct {
	t      testing.TB
	client *ethclient.Client
	pool   *pgxpool.Pool
	dep    chain.Deployment
	domain receipt.Domain
	agents []*ecdsa.PrivateKey
	dbURL  string
}

func (w *world) addr(i int) common.Address { return crypto.PubkeyToAddress(w.agents[i].PublicKey) }

// seedAgents inserts n pending agents.
func (w *world) seedAgents(n int) {
	w.t.Helper()
	for range n {
		k, err := crypto.GenerateKey()
		if err != nil {
			w.t.Fatal(err)
		}
		w.agents = append(w.agents, k)
		if err := seed.Agents(context.Background(), w.pool, crypto.PubkeyToAddress(k.PublicKey)); err != nil {
			w.t.Fatal(err)
		}
	}
}

var transfers sync.Mutex // piece numbering across goroutines of one test
var nextPiece = map[*world]int{}

// exchange inserts n receipts of agent s uploading 256 KiB pieces to agent r.
func (w *world) exchange(s, r, n int) {
	w.t.Helper()
	transfers.Lock()
	first := nextPiece[w]
	nextPiece[w] += n
	transfers.Unlock()
	rs, err := seed.Transfer(w.domain, [32]byte{0xee, byte(s), byte(r)}, w.addr(s), w.agents[r], first, n, 1<<18)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := seed.Insert(context.Background(), w.pool, rs); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) count(q string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (w *world) lastBatchID() uint64 {
	w.t.Helper()
	rt := bindings.NewReputationTracker()
	v, err := bind.Call(rt.Instance(w.client, w.dep.Tracker), nil, rt.PackLastBatchId(), rt.UnpackLastBatchId)
	if err != nil {
		w.t.Fatal(err)
	}
	return v.Uint64()
}

// waitAllSettled waits until every receipt is in a settled batch.
func (w *world) waitAllSettled(p *proc, timeout time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		total := w.count(`SELECT count(*) FROM receipts`)
		settled := w.count(`SELECT count(*) FROM receipts r JOIN receipt_batches b ON b.id = r.batch_id WHERE b.settled_at IS NOT NULL`)
		if settled == total && total > 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d of %d receipts settled after %v", settled, total, timeout)
		}
		select {
		case <-p.Done():
			w.t.Fatalf("chainwriter %s exited: %v", p.Name, p.Cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkExactlyOnce is the proof: every agent's on-chain figures are the
// initial credit plus the sum of its accepted receipts; the contract settled
// exactly the database's batches, each once (one BatchSettled event per id),
// with the database's roots; every receipt is in exactly one settled batch.
func (w *world) checkExactlyOnce() {
	w.t.Helper()
	ctx := context.Background()
	totals, err := seed.AcceptedTotals(ctx, w.pool)
	if err != nil {
		w.t.Fatal(err)
	}
	for i := range w.agents {
		a := w.addr(i)
		rep, err := chain.ReadReputation(ctx, w.client, w.dep.Tracker, a)
		if err != nil {
			w.t.Fatal(err)
		}
		want := totals[a]
		if rep.Upload-credit != want.Upload || rep.Download != want.Download {
			w.t.Errorf("agent %d on chain: upload %d download %d (beyond credit); accepted receipts: %d, %d",
				i, rep.Upload-credit, rep.Download, want.Upload, want.Download)
		}
	}
	batches := w.count(`SELECT count(*) FROM receipt_batches`)
	if got := w.lastBatchID(); got != uint64(batches) {
		w.t.Errorf("lastBatchId %d, database has %d batches", got, batches)
	}
	if n := w.count(`SELECT count(*) FROM receipt_batches WHERE settled_at IS NULL`); n != 0 {
		w.t.Errorf("%d batches unsettled in the database", n)
	}
	if n, m := w.count(`SELECT COALESCE(sum(receipt_count), 0) FROM receipt_batches`), w.count(`SELECT count(*) FROM receipts`); n != m {
		w.t.Errorf("batches hold %d receipts, %d accepted", n, m)
	}
	rt := bindings.NewReputationTracker()
	ev := rt.GetABI().Events["BatchSettled"]
	logs, err := w.client.FilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{w.dep.Tracker}, Topics: [][]common.Hash{{ev.ID}}, FromBlock: big.NewInt(0)})
	if err != nil {
		w.t.Fatal(err)
	}
	seen := map[uint64]int{}
	roots := map[uint64]common.Hash{}
	for i := range logs {
		e, err := rt.UnpackBatchSettledEvent(&logs[i])
		if err != nil {
			w.t.Fatal(err)
		}
		seen[e.BatchId.Uint64()]++
		roots[e.BatchId.Uint64()] = e.ReceiptsRoot
	}
	rows, err := w.pool.Query(ctx, `SELECT id, root, tx_hash FROM receipt_batches ORDER BY id`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id       int64
			root, tx []byte
		)
		if err := rows.Scan(&id, &root, &tx); err != nil {
			w.t.Fatal(err)
		}
		if seen[uint64(id)] != 1 || roots[uint64(id)] != common.BytesToHash(root) {
			w.t.Errorf("batch %d: %d BatchSettled events, root on chain %s, database %x", id, seen[uint64(id)], roots[uint64(id)], root)
		}
		r, err := w.client.TransactionReceipt(ctx, common.BytesToHash(tx))
		if err != nil || r.Status != 1 {
			w.t.Errorf("batch %d: recorded tx %x not a successful transaction (%v)", id, tx, err)
		}
	}
	if len(seen) != batches {
		w.t.Errorf("%d batch ids settled on chain, %d in the database", len(seen), batches)
	}
}
