package app

import (
	"context"
	"encoding/hex"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/database/dbtest"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/chainwriter/internal/seed"
	"github.com/pbts/pbts/services/chainwriter/internal/service"
)

func TestParseWei(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		bad  bool
	}{
		{"500gwei", "500000000000", false},
		{"1.5 gwei", "1500000000", false},
		{"1wei", "1", false},
		{"12345", "12345", false},
		{"0.01ether", "10000000000000000", false},
		{"0.5wei", "", true},
		{"-1gwei", "", true},
		{"lots", "", true},
		{"", "", true},
	} {
		got, err := ParseWei(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseWei(%q) = %s, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseWei(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// config parses args as the service would (no environment).
func config(t *testing.T, args ...string) *Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("chainwriter", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestValidationNamesTheSetting(t *testing.T) {
	contract := "-tracker-contract=0x5FbDB2315678afecb367f032d93F642f64180aa3"
	if _, err := config(t, contract).writerConfig(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "PBTS_TRACKER_CONTRACT"},
		{[]string{"-tracker-contract=0x1234"}, "PBTS_TRACKER_CONTRACT"},
		{[]string{contract, "-rpc-url=ws://x"}, "PBTS_RPC_URL"},
		{[]string{contract, "-database-url=::nope::"}, "PBTS_DATABASE_URL"},
		{[]string{contract, "-batch-max-receipts=0"}, "PBTS_BATCH_MAX_RECEIPTS"},
		{[]string{contract, "-batch-max-age=0s"}, "PBTS_BATCH_MAX_AGE"},
		{[]string{contract, "-batch-max-agents=300"}, "PBTS_BATCH_MAX_AGENTS"},
		{[]string{contract, "-confirmations=0"}, "PBTS_CONFIRMATIONS"},
		{[]string{contract, "-max-in-flight=0"}, "PBTS_MAX_IN_FLIGHT"},
		{[]string{contract, "-resubmit-timeout=1ms"}, "PBTS_RESUBMIT_TIMEOUT"},
		{[]string{contract, "-fee-bump-percent=5"}, "PBTS_FEE_BUMP_PERCENT"},
		{[]string{contract, "-gas-margin-percent=-1"}, "PBTS_GAS_MARGIN_PERCENT"},
		{[]string{contract, "-confirm-tag=latest"}, "PBTS_CONFIRM_TAG"},
		{[]string{contract, "-max-fee-per-gas=cheap"}, "PBTS_MAX_FEE_PER_GAS"},
		{[]string{contract, "-min-tip=1000gwei"}, "PBTS_MIN_TIP"},
		{[]string{contract, "-poll-interval=1ms"}, "PBTS_POLL_INTERVAL"},
		{[]string{contract, "-leader-retry=0s"}, "PBTS_LEADER_RETRY"},
		{[]string{contract, "-leader-retry=1h"}, "PBTS_LEADER_RETRY"},
	} {
		_, err := config(t, tc.args...).writerConfig()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
	// The RPC URL may carry an API key: never in errors or logs.
	_, err := config(t, contract, "-rpc-url=ftp://secret-key@host/v3/SECRETPATH").writerConfig()
	if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "secret") {
		t.Errorf("rpc url error %v leaks the URL", err)
	}
	if got := redactURL("https://sepolia.infura.io/v3/SECRET?x=1"); got != "https://sepolia.infura.io" {
		t.Errorf("redactURL = %s", got)
	}
}

func TestLoadKey(t *testing.T) {
	key := anviltest.Key(1)
	hexKey := hex.EncodeToString(crypto.FromECDSA(key))
	want := crypto.PubkeyToAddress(key.PublicKey)
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	os.WriteFile(file, []byte("0x"+hexKey+"\n"), 0o600)
	loose := filepath.Join(dir, "loose")
	os.WriteFile(loose, []byte(hexKey), 0o644)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not-a-key-"+hexKey[:20]), 0o600)

	t.Run("file", func(t *testing.T) {
		k, warn, err := LoadKey(file)
		if err != nil || crypto.PubkeyToAddress(k.PublicKey) != want || len(warn) != 0 {
			t.Fatalf("LoadKey(file) = %v, %v, %v", k, warn, err)
		}
	})
	t.Run("loose file warns", func(t *testing.T) {
		_, warn, err := LoadKey(loose)
		if err != nil || len(warn) != 1 {
			t.Fatalf("LoadKey(0644 file) warnings %v, %v", warn, err)
		}
	})
	t.Run("env, then removed", func(t *testing.T) {
		t.Setenv(KeyEnv, hexKey)
		k, _, err := LoadKey("")
		if err != nil || crypto.PubkeyToAddress(k.PublicKey) != want {
			t.Fatalf("LoadKey(env) = %v, %v", k, err)
		}
		if _, set := os.LookupEnv(KeyEnv); set {
			t.Errorf("%s still in the environment", KeyEnv)
		}
	})
	t.Run("both", func(t *testing.T) {
		t.Setenv(KeyEnv, hexKey)
		if _, _, err := LoadKey(file); err == nil || !strings.Contains(err.Error(), "only one") {
			t.Fatalf("LoadKey(file and env) = %v", err)
		}
	})
	t.Run("none", func(t *testing.T) {
		os.Unsetenv(KeyEnv)
		if _, _, err := LoadKey(""); err == nil || !strings.Contains(err.Error(), "PBTS_CHAINWRITER_KEY_FILE") {
			t.Fatalf("LoadKey() = %v", err)
		}
	})
	t.Run("bad key not shown", func(t *testing.T) {
		_, _, err := LoadKey(bad)
		if err == nil || strings.Contains(err.Error(), hexKey[:20]) {
			t.Fatalf("LoadKey(bad) = %v: want an error that does not quote the file", err)
		}
	})
}

// TestStartsBeforeTheChainExists runs the service (Setup + server) against
// an endpoint where no chain answers yet (a relay the test holds, pointing
// nowhere): it serves gRPC, reports its service NOT_SERVING and the chain
// unreachable; once anvil runs behind it and the contract is deployed, it
// turns SERVING and settles.
func TestStartsBeforeTheChainExists(t *testing.T) {
	if _, err := anviltest.Binary(); err != nil {
		t.Skip(err)
	}
	relay := anviltest.NewRelay(t)
	deployer := anviltest.Key(0)
	// Deploy makes the factory (nonce 0), which creates the tracker (its nonce 1).
	factory := crypto.CreateAddress(crypto.PubkeyToAddress(deployer.PublicKey), 0)
	tracker := crypto.CreateAddress(factory, 1)
	dbURL := dbtest.NewURL(t)
	t.Setenv(KeyEnv, hex.EncodeToString(crypto.FromECDSA(deployer)))
	c := config(t, "-tracker-contract="+tracker.Hex(), "-rpc-url="+relay.URL(),
		"-database-url="+dbURL, "-poll-interval=20ms", "-max-backoff=200ms", "-batch-max-age=50ms", "-rpc-timeout=1s")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New("chainwriter", server.Config{GRPCAddr: "127.0.0.1:0", ShutdownTimeout: 2 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	work, err := c.Setup(ctx, srv, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { srv.Run(ctx); done <- struct{}{} }()
	go func() { work(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()

	conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	cw := pbtsv1.NewChainwriterServiceClient(conn)
	waitFor(t, "status: chain unreachable", func() bool {
		st, err := cw.GetChainStatus(ctx, &pbtsv1.GetChainStatusRequest{})
		return err == nil && !st.ChainReachable && st.Problem == "chain endpoint unreachable"
	})
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service.Name}); err != nil || r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health of %s with no chain: %v, %v; want NOT_SERVING", service.Name, r, err)
	}
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("overall health: %v, %v; want SERVING (alive)", r, err)
	}

	// The chain appears; the contract is deployed where the writer expects it.
	anvil, err := anviltest.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer anvil.Kill()
	relay.Point(anvil.URL)
	client, err := ethclient.Dial(anvil.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	dep, err := chain.Deploy(ctx, client, deployer, chain.DeployParams{InitialCredit: 1 << 30})
	if err != nil || dep.Tracker != tracker {
		t.Fatalf("deploy: %+v, %v; want the tracker at %s", dep, err, tracker)
	}
	waitFor(t, "SERVING", func() bool {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service.Name})
		return err == nil && r.Status == healthpb.HealthCheckResponse_SERVING
	})

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	a, b := anviltest.Key(3), anviltest.Key(4)
	if err := seed.Agents(ctx, pool, crypto.PubkeyToAddress(a.PublicKey), crypto.PubkeyToAddress(b.PublicKey)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "registrations", func() bool {
		var n int
		pool.QueryRow(ctx, `SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`).Scan(&n)
		return n == 2
	})
	rs, err := seed.Transfer(receipt.Domain{ChainID: dep.ChainID, Tracker: tracker}, [32]byte{9}, crypto.PubkeyToAddress(a.PublicKey), b, 0, 8, 1<<18)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Insert(ctx, pool, rs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "settlement", func() bool {
		st, err := cw.GetChainStatus(ctx, &pbtsv1.GetChainStatusRequest{})
		return err == nil && st.LastSettledBatchId == 1 && st.PendingReceipts == 0
	})
	rep, err := chain.ReadReputation(ctx, client, tracker, crypto.PubkeyToAddress(a.PublicKey))
	if err != nil || rep.Upload != 1<<30+8<<18 {
		t.Errorf("sender on chain: %+v, %v; want credit + 8 pieces", rep, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(30 * time.Millisecond)
	}
}
