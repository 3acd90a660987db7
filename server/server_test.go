package server

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

func TestParseFlagsEnvThenArgs(t *testing.T) {
	env := map[string]string{"PBTS_GRPC_ADDR": "127.0.0.1:9000", "PBTS_LOG_LEVEL": "debug"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs, "127.0.0.1:1", "")
	if err := parseFlags(fs, []string{"-log-level=warn"}, lookup); err != nil {
		t.Fatal(err)
	}
	if c.GRPCAddr != "127.0.0.1:9000" {
		t.Errorf("GRPCAddr = %q, want the environment's 127.0.0.1:9000", c.GRPCAddr)
	}
	if c.LogLevel != "warn" {
		t.Errorf("LogLevel = %q, want the flag's warn over the environment's debug", c.LogLevel)
	}
}

func TestParseFlagsBadEnvNamesVariable(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == "PBTS_SHUTDOWN_TIMEOUT" {
			return "soon", true
		}
		return "", false
	}
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs, "127.0.0.1:1", "")
	err := parseFlags(fs, nil, lookup)
	if err == nil || !strings.Contains(err.Error(), "PBTS_SHUTDOWN_TIMEOUT") {
		t.Fatalf("err = %v, want one naming PBTS_SHUTDOWN_TIMEOUT", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", Config{GRPCAddr: "127.0.0.1:0", ShutdownTimeout: time.Second}, ""},
		{"bad grpc", Config{GRPCAddr: "nope", ShutdownTimeout: time.Second}, "PBTS_GRPC_ADDR"},
		{"bad metrics", Config{GRPCAddr: ":1", MetricsAddr: "x", ShutdownTimeout: time.Second}, "PBTS_METRICS_ADDR"},
		{"bad timeout", Config{GRPCAddr: ":1"}, "PBTS_SHUTDOWN_TIMEOUT"},
		{"bad pprof", Config{GRPCAddr: ":1", PprofAddr: "nope", ShutdownTimeout: time.Second}, "PBTS_PPROF_ADDR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestNewLoggerRejectsUnknown(t *testing.T) {
	if _, err := NewLogger(io.Discard, "xml", "info"); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := NewLogger(io.Discard, "json", "loud"); err == nil {
		t.Error("level loud accepted")
	}
}

func TestServerHealthMetricsAndShutdown(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New("test", Config{GRPCAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", ShutdownTimeout: 2 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	conn, err := grpc.NewClient(s.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	var resp *healthpb.HealthCheckResponse
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err = hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health = %v, %v; want SERVING", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	res, err := http.Get("http://" + s.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `pbts_grpc_requests_total{code="OK",method="/grpc.health.v1.Health/Check"}`) {
		t.Errorf("metrics lack the health check request count:\n%.2000s", body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run() = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel")
	}
	if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("health check still answered after shutdown")
	}
}

// A service started on port 0 reports every listener it bound in its address
// file, written whole once it serves, so a harness never guesses a port.
func TestServerAddrFile(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(t.TempDir(), "addrs.json")
	s, err := New("test", Config{GRPCAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", PprofAddr: "127.0.0.1:0", ShutdownTimeout: 2 * time.Second, AddrFile: path}, log)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	s.AddListener("http", extra.Addr())
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("address file exists before Run: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	got, err := ReadAddrFile(ctx, path, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"grpc": s.Addr().String(), "metrics": s.MetricsAddr().String(), "http": extra.Addr().String(), "pprof": s.Addrs()["pprof"]}
	if len(got) != len(want) {
		t.Fatalf("address file %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v || strings.HasSuffix(v, ":0") {
			t.Errorf("address file %s = %q, want %q (a bound port)", k, got[k], v)
		}
	}
	res, err := http.Get("http://" + got["metrics"] + "/metrics")
	if err != nil {
		t.Fatalf("metrics at the reported address: %v", err)
	}
	res.Body.Close()
	res, err = http.Get("http://" + got["pprof"] + "/debug/pprof/cmdline")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("pprof at the reported address: %v %v", res, err)
	}
	res.Body.Close()
}

// ReadAddrFile waits for the file, gives up when the process it belongs to
// has exited, and reports a file that never appears.
func TestReadAddrFileBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never.json")
	exited := make(chan struct{})
	close(exited)
	if _, err := ReadAddrFile(context.Background(), path, time.Minute, exited); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("ReadAddrFile after exit = %v, want an error saying the process exited", err)
	}
	start := time.Now()
	if _, err := ReadAddrFile(context.Background(), path, 200*time.Millisecond, nil); err == nil {
		t.Error("ReadAddrFile of a missing file succeeded")
	} else if time.Since(start) > 10*time.Second {
		t.Errorf("ReadAddrFile took %v past its 200ms bound", time.Since(start))
	}
}

// A trusted proxy's forwarded client address becomes the call's peer
// address; anyone else's is ignored.
func TestForwardedForFromTrustedProxiesOnly(t *testing.T) {
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5000}})
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(ForwardedForKey, "2001:db8::7"))
	trusted, _ := ParsePrefixes("127.0.0.1")
	if got := PeerIP(forwarded(trusted).rewrite(ctx)); got != netip.MustParseAddr("2001:db8::7") {
		t.Errorf("from a trusted proxy: %v, want the forwarded client", got)
	}
	other, _ := ParsePrefixes("10.0.0.0/8")
	if got := PeerIP(forwarded(other).rewrite(ctx)); got != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("from an untrusted caller: %v, want its own address", got)
	}
	if got := PeerIP(forwarded(nil).rewrite(ctx)); got != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("with no trusted proxies: %v", got)
	}
	if _, err := ParsePrefixes("127.0.0.1, ::1/128, 10.0.0.0/8"); err != nil {
		t.Error(err)
	}
	if _, err := ParsePrefixes("nope"); err == nil {
		t.Error("bad prefix accepted")
	}
}
