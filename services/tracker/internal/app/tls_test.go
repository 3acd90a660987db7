package app

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/server/tlstest"
	"github.com/pbts/pbts/testkit"
)

// TestTrackerOverTLS runs the tracker with --tls-cert/--tls-key on a real
// database: gRPC answers only verified TLS, an agent registers at
// grpcs://, the announce URL it is handed is https, and the announce port
// answers that URL over TLS and nothing in clear.
func TestTrackerOverTLS(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	ca := tlstest.NewCA(t, "pbts-test")
	pair := ca.Issue("tracker")
	const contract = "0x00000000000000000000000000000000000000aa"
	c := testConfig(t, "-rpc-url", "http://"+testkit.ClosedAddr, "-http-addr", "127.0.0.1:0", "-database-url", dbURL)
	var logs testkit.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv, err := server.New("tracker", server.Config{GRPCAddr: "127.0.0.1:0", ShutdownTimeout: 2 * time.Second,
		TLS: server.TLSFiles{Cert: pair.CertFile, Key: pair.KeyFile}}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run, err := c.Setup(ctx, srv, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- srv.Run(ctx) }()
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("tracker: %v", err)
			}
		}
	})
	addr := srv.Addr().String()

	check := func(opt grpc.DialOption, service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
		cc, err := grpc.NewClient(addr, opt)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer ccancel()
		resp, err := healthpb.NewHealthClient(cc).Check(cctx, &healthpb.HealthCheckRequest{Service: service})
		return resp.GetStatus(), err
	}
	withCA := grpc.WithTransportCredentials(credentials.NewTLS(ca.ClientConfig()))
	// The registry serves once migrated.
	for deadline := time.Now().Add(20 * time.Second); ; {
		st, err := check(withCA, "pbts.v1.AgentService")
		if err == nil && st == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("AgentService health over TLS: %v, %v\n%s", st, err, testkit.Tail(logs.String(), 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := check(grpc.WithTransportCredentials(insecure.NewCredentials()), ""); err == nil {
		t.Fatal("plaintext gRPC answered by a TLS tracker")
	}
	if _, err := check(grpc.WithTransportCredentials(credentials.NewTLS(tlstest.NewCA(t, "other").ClientConfig())), ""); err == nil {
		t.Fatal("a client trusting another CA accepted the tracker")
	}

	key, _ := crypto.GenerateKey()
	dom, err := receipt.ParseAddress(contract)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.Open(context.Background(), agent.Config{Home: t.TempDir(), Key: key, Tracker: "grpcs://" + addr,
		Domain: receipt.Domain{ChainID: c.ChainID, Tracker: dom}, TLSCA: ca.CertFile, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	reg, err := a.Register(context.Background())
	if err != nil {
		t.Fatalf("Register at grpcs://%s: %v", addr, err)
	}
	httpAddr := srv.Addrs()["http"]
	if want := "https://" + httpAddr + "/announce/"; !strings.HasPrefix(reg.AnnounceURL, want) {
		t.Fatalf("announce URL %q, want one under %s", reg.AnnounceURL, want)
	}
	if _, err := a.Search(context.Background(), agent.SearchQuery{}); err != nil {
		t.Fatalf("Search over TLS: %v", err)
	}

	q := url.Values{"info_hash": {strings.Repeat("a", 20)}, "peer_id": {strings.Repeat("b", 20)}, "port": {"6881"},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {"0"}, "compact": {"1"}}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientConfig()}, Timeout: 5 * time.Second}
	resp, err := hc.Get(reg.AnnounceURL + "?" + q.Encode())
	if err != nil {
		t.Fatalf("https announce: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "d") || strings.Contains(string(body), "unregistered") {
		t.Fatalf("https announce with the agent's passkey = %q, want a bencoded answer for a registered agent", body)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("announce answered without TLS 1.2+: %+v", resp.TLS)
	}
	plain := &http.Client{Timeout: 3 * time.Second}
	if resp, err := plain.Get("http://" + httpAddr + "/announce/x?" + q.Encode()); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("the TLS announce port answered plain HTTP")
		}
	}
}
