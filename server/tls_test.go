package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/server/tlstest"
)

// startTLS runs a server with the given TLS files on 127.0.0.1:0 and
// returns it (its HTTP listener, from ListenHTTP, answers "ok").
func startTLS(t *testing.T, files TLSFiles) (*Server, string) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New("test", Config{GRPCAddr: "127.0.0.1:0", ShutdownTimeout: 2 * time.Second, TLS: files}, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, scheme, err := s.ListenHTTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go hs.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		hs.Close()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s, scheme + "://" + ln.Addr().String()
}

// health calls the health service with the given credentials.
func checkHealth(t *testing.T, target string, opt grpc.DialOption) (healthpb.HealthCheckResponse_ServingStatus, error) {
	t.Helper()
	cc, err := grpc.NewClient(target, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	return resp.GetStatus(), err
}

func tlsCreds(cfg *tls.Config) grpc.DialOption {
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg))
}

func TestTLSServerHealthOnlyOverVerifiedTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "pbts-test")
	pair := ca.Issue("server")
	s, httpURL := startTLS(t, TLSFiles{Cert: pair.CertFile, Key: pair.KeyFile})
	addr := s.Addr().String()

	if st, err := checkHealth(t, addr, tlsCreds(ca.ClientConfig())); err != nil || st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("TLS client with the CA: %v, %v; want SERVING", st, err)
	}
	// The client side of the shared settings: --tls-ca alone, a bare address.
	target, opt, err := TLSFiles{CA: ca.CertFile}.DialOption(addr)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := checkHealth(t, target, opt); err != nil || st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("DialOption with --tls-ca: %v, %v; want SERVING", st, err)
	}
	// ... and grpcs:// with the CA.
	target, opt, err = TLSFiles{CA: ca.CertFile}.DialOption("grpcs://" + addr)
	if err != nil || target != addr {
		t.Fatalf("DialOption(grpcs://%s) = %q, %v", addr, target, err)
	}
	if st, err := checkHealth(t, target, opt); err != nil || st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("DialOption grpcs://: %v, %v; want SERVING", st, err)
	}
	if _, err := checkHealth(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err == nil {
		t.Fatal("a plaintext client got an answer from a TLS server")
	}
	other := tlstest.NewCA(t, "other")
	if _, err := checkHealth(t, addr, tlsCreds(other.ClientConfig())); err == nil {
		t.Fatal("a client trusting another CA accepted the server")
	}
	// Nothing below TLS 1.2.
	old := ca.ClientConfig()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := checkHealth(t, addr, tlsCreds(old)); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}

	// The extra HTTP listener serves TLS too.
	if !strings.HasPrefix(httpURL, "https://") {
		t.Fatalf("ListenHTTP URL %s, want https", httpURL)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientConfig()}, Timeout: 3 * time.Second}
	resp, err := hc.Get(httpURL)
	if err != nil {
		t.Fatalf("https GET: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Fatalf("https GET = %q", b)
	}
	plain := &http.Client{Timeout: 3 * time.Second}
	if resp, err := plain.Get("http://" + strings.TrimPrefix(httpURL, "https://")); err == nil && resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		t.Fatal("plain HTTP answered 200 on the TLS listener")
	} else if err == nil {
		resp.Body.Close()
	}
}

func TestTLSServerWithCARequiresClientCertificates(t *testing.T) {
	ca := tlstest.NewCA(t, "pbts-test")
	srvPair, clientPair := ca.Issue("server"), ca.Issue("client")
	s, httpURL := startTLS(t, TLSFiles{Cert: srvPair.CertFile, Key: srvPair.KeyFile, CA: ca.CertFile})
	addr := s.Addr().String()

	if _, err := checkHealth(t, addr, tlsCreds(ca.ClientConfig())); err == nil {
		t.Fatal("a client without a certificate was served under --tls-ca")
	}
	stranger := tlstest.NewCA(t, "stranger").Issue("client")
	cfg := ca.ClientConfig()
	cfg.Certificates = []tls.Certificate{stranger.Certificate(t)}
	if _, err := checkHealth(t, addr, tlsCreds(cfg)); err == nil {
		t.Fatal("a client certificate of another CA was accepted")
	}
	cfg = ca.ClientConfig()
	cfg.Certificates = []tls.Certificate{clientPair.Certificate(t)}
	if st, err := checkHealth(t, addr, tlsCreds(cfg)); err != nil || st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("client with a certificate of the CA: %v, %v; want SERVING", st, err)
	}
	// A service calling another presents its own certificate (DialOption).
	target, opt, err := TLSFiles{Cert: clientPair.CertFile, Key: clientPair.KeyFile, CA: ca.CertFile}.DialOption(addr)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := checkHealth(t, target, opt); err != nil || st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("DialOption with the service's certificate: %v, %v; want SERVING", st, err)
	}
	// The public HTTP listener does not ask browsers for certificates.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientConfig()}, Timeout: 3 * time.Second}
	resp, err := hc.Get(httpURL)
	if err != nil {
		t.Fatalf("https GET without a client certificate: %v", err)
	}
	resp.Body.Close()
}

func TestTLSFlagsFromEnvironment(t *testing.T) {
	env := map[string]string{"PBTS_TLS_CERT": "/c.pem", "PBTS_TLS_KEY": "/k.pem", "PBTS_TLS_CA": "/ca.pem"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs, "127.0.0.1:0", "")
	if err := parseFlags(fs, []string{"-tls-ca=/other.pem"}, lookup); err != nil {
		t.Fatal(err)
	}
	if want := (TLSFiles{Cert: "/c.pem", Key: "/k.pem", CA: "/other.pem"}); c.TLS != want {
		t.Fatalf("TLS = %+v, want %+v", c.TLS, want)
	}
}

func TestTLSSettingsValidated(t *testing.T) {
	base := Config{GRPCAddr: "127.0.0.1:0", ShutdownTimeout: time.Second}
	for _, tc := range []struct {
		name  string
		files TLSFiles
		want  string
	}{
		{"cert without key", TLSFiles{Cert: "/c.pem"}, "PBTS_TLS_KEY"},
		{"key without cert", TLSFiles{Key: "/k.pem"}, "PBTS_TLS_CERT"},
		{"missing files", TLSFiles{Cert: "/nonexistent/c.pem", Key: "/nonexistent/k.pem"}, "PBTS_TLS_CERT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.TLS = tc.files
			_, err := New("test", c, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	ca := tlstest.NewCA(t, "x")
	pair := ca.Issue("s")
	c := base
	c.TLS = TLSFiles{Cert: pair.CertFile, Key: pair.KeyFile, CA: pair.KeyFile} // a key is no CA
	if _, err := New("test", c, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "PBTS_TLS_CA") {
		t.Fatalf("New with a bad CA = %v, want an error naming PBTS_TLS_CA", err)
	}
}

func TestSplitScheme(t *testing.T) {
	for _, tc := range []struct {
		in, host      string
		tls, explicit bool
	}{
		{"127.0.0.1:7001", "127.0.0.1:7001", false, false},
		{"grpcs://127.0.0.1:7001", "127.0.0.1:7001", true, true},
		{"https://tracker.example", "tracker.example:443", true, true},
		{"tls://[::1]:7001", "[::1]:7001", true, true},
		{"grpc://tracker:7001", "tracker:7001", false, true},
		{"http://tracker", "tracker:80", false, true},
		{"dns:///tracker:7001", "dns:///tracker:7001", false, false},
		{"unix:///run/t.sock", "unix:///run/t.sock", false, false},
	} {
		host, tls, explicit := SplitScheme(tc.in)
		if host != tc.host || tls != tc.tls || explicit != tc.explicit {
			t.Errorf("SplitScheme(%q) = %q, %v, %v; want %q, %v, %v", tc.in, host, tls, explicit, tc.host, tc.tls, tc.explicit)
		}
	}
}

// A server whose gRPC port requires client certificates still answers a
// probe that speaks no TLS (a kubelet's): /healthz on the plain metrics
// port says what the health service says, per ?service=.
func TestHealthzOnTheMetricsPortBesideMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "pbts-test")
	pair := ca.Issue("server")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New("test", Config{GRPCAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", ShutdownTimeout: 2 * time.Second,
		TLS: TLSFiles{Cert: pair.CertFile, Key: pair.KeyFile, CA: ca.CertFile}}, log)
	if err != nil {
		t.Fatal(err)
	}
	s.Health().SetServingStatus("pbts.v1.Up", healthpb.HealthCheckResponse_SERVING)
	s.Health().SetServingStatus("pbts.v1.Down", healthpb.HealthCheckResponse_NOT_SERVING)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	get := func(query string) (int, string) {
		t.Helper()
		c := http.Client{Timeout: 5 * time.Second}
		var lastErr error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			resp, err := c.Get("http://" + s.MetricsAddr().String() + "/healthz" + query)
			if lastErr = err; err != nil {
				continue
			}
			var body struct{ Status string }
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("/healthz%s: %v", query, err)
			}
			return resp.StatusCode, body.Status
		}
		t.Fatalf("/healthz%s: %v", query, lastErr)
		return 0, ""
	}
	for _, c := range []struct {
		query  string
		code   int
		status string
	}{
		{"", 200, "SERVING"},
		{"?service=pbts.v1.Up", 200, "SERVING"},
		{"?service=pbts.v1.Down", 503, "NOT_SERVING"},
		{"?service=pbts.v1.Nobody", 404, "SERVICE_UNKNOWN"},
	} {
		if code, st := get(c.query); code != c.code || st != c.status {
			t.Errorf("/healthz%s = %d %s, want %d %s", c.query, code, st, c.code, c.status)
		}
	}
	s.Health().SetServingStatus("pbts.v1.Up", healthpb.HealthCheckResponse_NOT_SERVING)
	if code, st := get("?service=pbts.v1.Up"); code != 503 || st != "NOT_SERVING" {
		t.Errorf("after the service went down: %d %s, want 503 NOT_SERVING", code, st)
	}
}
