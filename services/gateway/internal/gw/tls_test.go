package gw

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/server/tlstest"
)

// runServer runs srv (and work, if any) until the test ends.
func runServer(t *testing.T, srv *server.Server, work func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { srv.Run(ctx); done <- struct{}{} }()
	n := 1
	if work != nil {
		n++
		go func() { work(ctx); done <- struct{}{} }()
	}
	t.Cleanup(func() {
		cancel()
		for range n {
			<-done
		}
	})
}

// TestGatewayOverMutualTLS runs a backend that requires client certificates
// and a gateway serving HTTPS: /readyz over HTTPS reports the backend
// serving only when the gateway calls it with the CA and its certificate.
func TestGatewayOverMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "pbts-test")
	backendPair, gwPair := ca.Issue("backend"), ca.Issue("gateway")
	log := slog.New(slog.DiscardHandler)
	backend, err := server.New("backend", server.Config{GRPCAddr: "127.0.0.1:0", ShutdownTimeout: time.Second,
		TLS: server.TLSFiles{Cert: backendPair.CertFile, Key: backendPair.KeyFile, CA: ca.CertFile}}, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"pbts.v1.AgentService", "pbts.v1.DatasetService", "pbts.v1.ReceiptService", "pbts.v1.ChainwriterService"} {
		backend.Health().SetServingStatus(s, healthpb.HealthCheckResponse_SERVING)
	}
	runServer(t, backend, nil)
	addr := backend.Addr().String()

	start := func(t *testing.T, files server.TLSFiles) string {
		var cfg Config
		cfg.RegisterFlags(flag.NewFlagSet("gateway", flag.ContinueOnError))
		cfg.HTTPAddr = "127.0.0.1:0"
		cfg.TrackerAddr, cfg.ReceiptsAddr, cfg.ChainwriterAddr = addr, "grpcs://"+addr, "tls://"+addr
		srv, err := server.New("gateway", server.Config{GRPCAddr: "127.0.0.1:0", ShutdownTimeout: time.Second, TLS: files}, log)
		if err != nil {
			t.Fatal(err)
		}
		work, err := cfg.Setup(context.Background(), srv, log)
		if err != nil {
			t.Fatal(err)
		}
		runServer(t, srv, work)
		return srv.Addrs()["http"]
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientConfig()}, Timeout: 5 * time.Second}
	ready := func(t *testing.T, url string) (bool, map[string]string) {
		t.Helper()
		var body struct {
			Ready    bool              `json:"ready"`
			Services map[string]string `json:"services"`
		}
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body.Ready, body.Services
	}

	t.Run("with the CA and a certificate", func(t *testing.T) {
		rest := start(t, server.TLSFiles{Cert: gwPair.CertFile, Key: gwPair.KeyFile, CA: ca.CertFile})
		if resp, err := (&http.Client{Timeout: 3 * time.Second}).Get("http://" + rest + "/healthz"); err == nil {
			ok := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if ok {
				t.Fatal("the gateway's TLS REST port answered plain HTTP")
			}
		}
		if ok, st := ready(t, "https://"+rest+"/readyz"); !ok {
			t.Fatalf("readyz over mTLS backends: not ready: %v", st)
		}
	})
	t.Run("without a client certificate", func(t *testing.T) {
		// No certificate of its own: the REST port is plain, and the backend
		// (which requires one) refuses it though its CA verifies the backend.
		rest := start(t, server.TLSFiles{CA: ca.CertFile})
		hc := &http.Client{Timeout: 5 * time.Second}
		resp, err := hc.Get("http://" + rest + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("readyz = %d, want 503 (the backend refuses a client without a certificate)", resp.StatusCode)
		}
	})
}
