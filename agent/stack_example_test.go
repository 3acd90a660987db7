package agent_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/testkit"
)

// exampleStack is what the examples run against: a fresh Postgres
// database, anvil with the contracts, and the tracker and receipts
// services built from this tree (what `make up` runs, without the
// chainwriter and the gateway). Examples have no *testing.T, so it fails
// with log.Fatal.
type exampleStack struct {
	Tracker, Receipts string // gRPC addresses
	Domain            receipt.Domain
	dir, db           string
	procs             []proc
	anvil             *anviltest.Node
	tls               *agent.TLSFiles // the services' TLS, nil for plaintext
	agentTLS          agent.TLSFiles  // what stackAgent's agents use
}

func fatalf(format string, args ...any) { log.Fatalf("example stack: "+format, args...) }

func startExampleStack() *exampleStack { return startExampleStackWith(nil) }

// startExampleStackWith is startExampleStack with the services serving
// TLS when tlsFiles is set: Cert and Key are each service's certificate,
// CA makes their gRPC ports require client certificates it signed (mutual
// TLS). Tracker and Receipts are then grpcs:// addresses, and the tracker
// hands out https announce URLs.
func startExampleStackWith(tlsFiles *agent.TLSFiles) *exampleStack {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "pbts-example-")
	if err != nil {
		fatalf("%v", err)
	}
	st := &exampleStack{dir: dir, tls: tlsFiles}

	// The service binaries, from the repository root (go.work).
	root, _ := filepath.Abs("..")
	build := exec.Command("go", "build", "-o", dir+"/", "./services/tracker/cmd/tracker", "./services/receipts/cmd/receipts")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fatalf("go build: %v\n%s", err, out)
	}

	// A database of its own; the services apply the migrations.
	admin, err := pgx.Connect(ctx, dbtest.ServerURL())
	if err != nil {
		fatalf("Postgres (%s): %v", dbtest.ServerURL(), err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	st.db = "pbts_example_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+st.db); err != nil {
		fatalf("create database: %v", err)
	}
	u, _ := url.Parse(dbtest.ServerURL())
	u.Path = "/" + st.db
	dbURL := u.String()

	if st.anvil, err = anviltest.Run(ctx); err != nil {
		st.Stop()
		fatalf("anvil: %v", err)
	}
	eth, err := ethclient.DialContext(ctx, st.anvil.URL)
	if err != nil {
		st.Stop()
		fatalf("dial anvil: %v", err)
	}
	d, err := chain.Deploy(ctx, eth, anviltest.Key(0), chain.DeployParams{InitialCredit: 64 << 20})
	eth.Close()
	if err != nil {
		st.Stop()
		fatalf("deploy: %v", err)
	}
	st.Domain = receipt.Domain{ChainID: d.ChainID, Tracker: d.Tracker}
	common := []string{"PBTS_DATABASE_URL=" + dbURL, "PBTS_RPC_URL=" + st.anvil.URL, fmt.Sprintf("PBTS_CHAIN_ID=%d", d.ChainID),
		"PBTS_TRACKER_CONTRACT=" + d.Tracker.Hex(), "PBTS_GRPC_ADDR=127.0.0.1:0", "PBTS_METRICS_ADDR=127.0.0.1:0", "PBTS_LOG_LEVEL=warn"}
	if tlsFiles != nil {
		common = append(common, "PBTS_TLS_CERT="+tlsFiles.Cert, "PBTS_TLS_KEY="+tlsFiles.Key, "PBTS_TLS_CA="+tlsFiles.CA)
	}
	st.Receipts = st.start(ctx, "receipts", "pbts.v1.ReceiptService", common)
	st.Tracker = st.start(ctx, "tracker", "pbts.v1.AgentService", append(common, "PBTS_HTTP_ADDR=127.0.0.1:0",
		"PBTS_ANNOUNCE_INTERVAL=5s", "PBTS_ANNOUNCE_MIN_INTERVAL=1s"))
	return st
}

type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// start runs a service on port 0, reads the addresses it bound and waits
// until health answers SERVING.
func (st *exampleStack) start(ctx context.Context, name, health string, env []string) string {
	addrFile := filepath.Join(st.dir, name+".addrs")
	out := &testkit.Buffer{}
	cmd := exec.Command(filepath.Join(st.dir, name))
	cmd.Env = append(append(os.Environ(), env...), "PBTS_ADDR_FILE="+addrFile)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		st.Stop()
		fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	st.procs = append(st.procs, proc{cmd, exited})
	addrs, err := server.ReadAddrFile(ctx, addrFile, testkit.AddrTimeout, exited)
	if err != nil {
		st.Stop()
		fatalf("%s: %v\n%s", name, err, testkit.Tail(out.String(), 3000))
	}
	addr := addrs["grpc"]
	target, creds := addr, grpc.WithTransportCredentials(insecure.NewCredentials())
	if st.tls != nil {
		addr = "grpcs://" + addr
		target, creds, err = st.tls.DialOption(addr)
	}
	var cc *grpc.ClientConn
	if err == nil {
		cc, err = grpc.NewClient(target, creds)
	}
	if err != nil {
		st.Stop()
		fatalf("%v", err)
	}
	defer cc.Close()
	for {
		r, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: health})
		if err == nil && r.Status == healthpb.HealthCheckResponse_SERVING {
			return addr
		}
		if ctx.Err() != nil {
			st.Stop()
			fatalf("%s never SERVING: %v\n%s", name, err, testkit.Tail(out.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends the services and anvil and drops the database.
func (st *exampleStack) Stop() {
	for _, p := range st.procs {
		p.cmd.Process.Kill()
	}
	for _, p := range st.procs {
		<-p.exited
	}
	if st.anvil != nil {
		st.anvil.Kill()
	}
	if st.db != "" {
		ctx := context.Background()
		if admin, err := pgx.Connect(ctx, dbtest.ServerURL()); err == nil {
			admin.Exec(ctx, "DROP DATABASE IF EXISTS "+st.db+" WITH (FORCE)")
			admin.Close(ctx)
		}
	}
	if strings.HasPrefix(filepath.Base(st.dir), "pbts-example-") {
		os.RemoveAll(st.dir)
	}
}
