// Package e2e runs the PBTS services as real processes (built from this
// tree) against a real Postgres, a real anvil chain and real BitTorrent
// clients, and checks what users see.
package e2e

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/database/dbtest"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/testkit"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// repoRoot is the directory holding go.work.
func repoRoot(t testing.TB) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the test directory")
		}
		dir = parent
	}
}

// binaries builds the service commands once per test process.
func binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "pbts-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/",
			"./services/tracker/cmd/tracker", "./services/receipts/cmd/receipts", "./services/chainwriter/cmd/chainwriter",
			"./services/gateway/cmd/gateway", "./cmd/pbts")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// service is one running PBTS process, its listeners on port 0.
type service struct {
	*testkit.Proc
	GRPCAddr string
}

// start runs a service binary with PBTS_* settings and waits until it reports
// the addresses it bound; it is stopped with SIGTERM when the test ends, and
// its log is shown if the test failed.
func start(t testing.TB, name string, env map[string]string) *service {
	t.Helper()
	kv := []string{"PBTS_GRPC_ADDR=127.0.0.1:0", "PBTS_METRICS_ADDR=127.0.0.1:0", "PBTS_LOG_LEVEL=debug"}
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	p := testkit.Start(t, name, filepath.Join(binaries(t), name), append(os.Environ(), kv...))
	return &service{Proc: p, GRPCAddr: p.Addr("grpc")}
}

// conn dials the service and waits until the named health service answers SERVING.
func (s *service) conn(t testing.TB, healthName string) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	hc := healthpb.NewHealthClient(c)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: healthName})
		cancel()
		if err == nil && r.Status == healthpb.HealthCheckResponse_SERVING {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s health %q: %v %v (log:\n%s)", s.Name, healthName, r, err, tailString(s.Out.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tailString(s string, n int) string { return testkit.Tail(s, n) }

type syncBuffer = testkit.Buffer

// stack is Postgres + anvil + the deployed contracts + tracker + receipts.
type stack struct {
	Chain    *anviltest.Chain
	Deploy   chain.Deployment
	Domain   receipt.Domain
	Tracker  *service
	Receipts *service
	Writer   *service
	// TrackerChain is the tracker's way to the chain (Point("") cuts it).
	TrackerChain *anviltest.Relay
	Announce     string // base URL of the announce endpoint
	Agents       pbtsv1.AgentServiceClient
	Datasets     pbtsv1.DatasetServiceClient
	ReceiptsC    pbtsv1.ReceiptServiceClient
}

func newStack(t *testing.T, initialCredit uint64) *stack {
	t.Helper()
	return newStackWith(t, initialCredit, nil)
}

// newStackWith is newStack with extra tracker settings (PBTS_* variables).
func newStackWith(t *testing.T, initialCredit uint64, trackerEnv map[string]string) *stack {
	t.Helper()
	ctx := context.Background()
	dbURL := dbtest.NewURL(t)
	c := anviltest.Start(t)
	d, err := chain.Deploy(ctx, c.Client, anviltest.Key(0), chain.DeployParams{InitialCredit: initialCredit})
	if err != nil {
		t.Fatal(err)
	}
	common := map[string]string{
		"PBTS_DATABASE_URL":     dbURL,
		"PBTS_RPC_URL":          c.URL,
		"PBTS_CHAIN_ID":         fmt.Sprint(d.ChainID),
		"PBTS_TRACKER_CONTRACT": d.Tracker.Hex(),
	}
	rec := start(t, "receipts", common)
	trkEnv := map[string]string{
		"PBTS_HTTP_ADDR":             "127.0.0.1:0",
		"PBTS_ANNOUNCE_INTERVAL":     "5s",
		"PBTS_ANNOUNCE_MIN_INTERVAL": "1s",
		"PBTS_PEER_EXPIRY":           "15s",
	}
	for k, v := range common {
		trkEnv[k] = v
	}
	for k, v := range trackerEnv {
		trkEnv[k] = v
	}
	// The tracker reaches the chain through a relay a test can cut (an RPC
	// provider's outage).
	trkChain := anviltest.NewRelay(t)
	trkChain.Point(c.URL)
	trkEnv["PBTS_RPC_URL"] = trkChain.URL()
	trk := start(t, "tracker", trkEnv)
	// The chainwriter holds the tracker authority's key (the deployer, anvil key 0).
	cwEnv := map[string]string{"PBTS_CHAINWRITER_KEY": fmt.Sprintf("%x", crypto.FromECDSA(anviltest.Key(0))), "PBTS_BATCH_MAX_AGE": "500ms"}
	for k, v := range common {
		cwEnv[k] = v
	}
	cw := start(t, "chainwriter", cwEnv)
	tc := trk.conn(t, "pbts.v1.AgentService")
	rc := rec.conn(t, "pbts.v1.ReceiptService")
	return &stack{
		Chain: c, Deploy: d, Domain: receipt.Domain{ChainID: d.ChainID, Tracker: d.Tracker},
		Tracker: trk, Receipts: rec, Writer: cw, Announce: "http://" + trk.Addr("http"), TrackerChain: trkChain,
		Agents: pbtsv1.NewAgentServiceClient(tc), Datasets: pbtsv1.NewDatasetServiceClient(tc),
		ReceiptsC: pbtsv1.NewReceiptServiceClient(rc),
	}
}

// agent is a registered test agent.
type agent struct {
	Key     *ecdsa.PrivateKey
	Passkey string
}

func (a agent) Address() string { return crypto.PubkeyToAddress(a.Key.PublicKey).Hex() }

func (s *stack) register(t *testing.T) agent {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ts := uint64(time.Now().Unix())
	sig, err := receipt.SignRegistration(s.Domain, ts, key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Agents.RegisterAgent(context.Background(), &pbtsv1.RegisterAgentRequest{
		Address: crypto.PubkeyToAddress(key.PublicKey).Hex(), Timestamp: ts, Signature: sig.Hex(),
	})
	if err != nil {
		t.Fatalf("RegisterAgent: %v", err)
	}
	if r.Passkey == "" || !strings.HasSuffix(r.AnnounceUrl, "/announce/"+r.Passkey) {
		t.Fatalf("RegisterAgent gave passkey %q, announce URL %q", r.Passkey, r.AnnounceUrl)
	}
	return agent{Key: key, Passkey: r.Passkey}
}
