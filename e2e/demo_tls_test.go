package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/database/dbtest"
)

// TestDemoOverTLS is `PBTS_UP_TLS=1 make up` and `make demo`: the stack
// from a local CA, every gRPC port on mutual TLS, announces and the gateway
// on https. Plaintext and certificate-less callers are refused; the demo's
// five acts pass with the agents over grpcs:// and https:// announces.
func TestDemoOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs the whole stack")
	}
	requireTools(t, "bash", "jq", "ffmpeg", "espeak-ng", "ffprobe", "curl")
	if _, err := anviltest.Binary(); err != nil {
		requireTools(t, "anvil")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	db := "pbts_demo_" + hex.EncodeToString(randomBytes(5))
	env := append(os.Environ(),
		"PBTS_UP_DIR="+dir, "PBTS_UP_PORT_BASE=0", "PBTS_UP_DB="+db, "PBTS_UP_TLS=1",
		fmt.Sprintf("PBTS_UP_INITIAL_CREDIT=%d", demoCredit), "PBTS_UP_PG_ADMIN_URL="+dbtest.ServerURL(),
		"PBTS_DEMO_SMALL=1", "PBTS_UP_WEB=0")
	t.Cleanup(func() { dropDemoDatabases(t, db) })
	up := startUp(t, root, env)
	t.Cleanup(func() {
		up.stop(t)
		if t.Failed() {
			t.Logf("scripts/up.sh output:\n%s", tailString(up.out.String(), 8000))
		}
	})
	up.waitReady(t, dir)

	var st struct {
		Tracker     string `json:"tracker_grpc"`
		Receipts    string `json:"receipts_grpc"`
		Chainwriter string `json:"chainwriter_grpc"`
		Gateway     string `json:"gateway"`
		Announce    string `json:"announce"`
		TLS         *struct{ CA, Cert, Key string }
	}
	b, _ := os.ReadFile(filepath.Join(dir, "stack.json"))
	if err := json.Unmarshal(b, &st); err != nil || st.TLS == nil {
		t.Fatalf("stack.json: %v, no tls in %s", err, b)
	}
	for _, a := range []string{st.Tracker, st.Receipts, st.Chainwriter} {
		if !strings.HasPrefix(a, "grpcs://") {
			t.Fatalf("service at %q, want grpcs://", a)
		}
	}
	if !strings.HasPrefix(st.Gateway, "https://") || !strings.HasPrefix(st.Announce, "https://") {
		t.Fatalf("gateway %q, announce %q: want https://", st.Gateway, st.Announce)
	}
	caPEM, err := os.ReadFile(st.TLS.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate")
	}
	agentCert, err := tls.LoadX509KeyPair(st.TLS.Cert, st.TLS.Key)
	if err != nil {
		t.Fatal(err)
	}
	check := func(addr string, opt grpc.DialOption) error {
		cc, err := grpc.NewClient(strings.TrimPrefix(addr, "grpcs://"), opt)
		if err != nil {
			return err
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	for _, a := range []string{st.Tracker, st.Receipts, st.Chainwriter} {
		if err := check(a, grpc.WithTransportCredentials(insecure.NewCredentials())); err == nil {
			t.Errorf("%s answered plaintext gRPC", a)
		}
		if err := check(a, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool}))); err == nil {
			t.Errorf("%s answered a TLS client without a certificate", a)
		}
		if err := check(a, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{agentCert}}))); err != nil {
			t.Errorf("%s with the agents' certificate: %v", a, err)
		}
	}
	plain := http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + strings.TrimPrefix(st.Gateway, "https://") + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the gateway answered /readyz in plaintext")
		}
	}
	secure := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := secure.Get(st.Gateway + "/readyz")
	if err != nil {
		t.Fatalf("https /readyz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("https /readyz: %s", resp.Status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	demo := exec.CommandContext(ctx, "bash", "scripts/demo.sh")
	demo.Dir, demo.Env = root, env
	out, err := demo.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "DEMO OK") {
		t.Fatalf("scripts/demo.sh over TLS: %v\n%s", err, tailString(string(out), 12000))
	}
	checkDemoResults(t, readDemoResults(t, dir), string(out))
	// The agents' announces went to the https URL the tracker handed out.
	agents, _ := filepath.Glob(filepath.Join(dir, "demo", "run-*", "agents", "*", "agent.json"))
	if len(agents) == 0 {
		t.Fatal("no agent registrations")
	}
	for _, f := range agents {
		var s struct {
			AnnounceURL string `json:"announce_url"`
		}
		b, _ := os.ReadFile(f)
		if json.Unmarshal(b, &s) != nil || !strings.HasPrefix(s.AnnounceURL, "https://") {
			t.Errorf("%s: announce URL %q, want https://", f, s.AnnounceURL)
		}
	}
}
