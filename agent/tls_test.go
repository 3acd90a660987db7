package agent_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/server/tlstest"
)

// startTLSTracker is startTracker serving TLS with a certificate of ca.
func startTLSTracker(t *testing.T, ca *tlstest.CA) (*fakeTracker, string) {
	t.Helper()
	return startTLSTrackerWith(t, ca, nil)
}

// startTLSTrackerWith is startTLSTracker requiring client certificates of
// clientCA (mutual TLS, as a service started with --tls-ca) unless nil.
func startTLSTrackerWith(t *testing.T, ca, clientCA *tlstest.CA) (*fakeTracker, string) {
	t.Helper()
	f := &fakeTracker{registered: map[common.Address]time.Time{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pair := ca.Issue("tracker")
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair.Certificate(t)}}
	if clientCA != nil {
		cfg.ClientCAs, cfg.ClientAuth = clientCA.Pool(), tls.RequireAndVerifyClientCert
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)))
	pbtsv1.RegisterAgentServiceServer(srv, f)
	pbtsv1.RegisterDatasetServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f, lis.Addr().String()
}

func TestOpenGRPCSRegistersAndSearchesOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "pbts-test")
	f, addr := startTLSTracker(t, ca)
	f.datasets = []*pbtsv1.Dataset{{Name: "clips"}}
	key, _ := crypto.GenerateKey()
	home := t.TempDir()
	a := open(t, agent.Config{Home: home, Key: key, Tracker: "grpcs://" + addr, Domain: testDomain, TLSCA: ca.CertFile, Timeout: 5 * time.Second})
	reg, err := a.Register(context.Background())
	if err != nil {
		t.Fatalf("Register over TLS: %v", err)
	}
	if reg.Passkey == "" {
		t.Fatal("no passkey")
	}
	ds, err := a.Search(context.Background(), agent.SearchQuery{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("Search over TLS = %v, %v", ds, err)
	}

	// The same TLS tracker: a bare address is plaintext (refused), and
	// without the CA (the system roots) the certificate is not trusted.
	for _, cfg := range []agent.Config{
		{Home: t.TempDir(), Key: key, Tracker: addr, Domain: testDomain, Timeout: 3 * time.Second},
		{Home: t.TempDir(), Key: key, Tracker: "grpcs://" + addr, Domain: testDomain, Timeout: 3 * time.Second},
		{Home: t.TempDir(), Key: key, Tracker: "https://" + addr, Domain: testDomain, TLSCA: tlstest.NewCA(t, "other").CertFile, Timeout: 3 * time.Second},
	} {
		b := open(t, cfg)
		if _, err := b.Register(context.Background()); status.Code(err) != codes.Unavailable {
			t.Errorf("Register at %s (CA %q) = %v, want Unavailable", cfg.Tracker, cfg.TLSCA, err)
		}
	}
	// tls:// names TLS too.
	c := open(t, agent.Config{Home: t.TempDir(), Tracker: "tls://" + addr, TLSCA: ca.CertFile, Timeout: 5 * time.Second})
	if _, err := c.Search(context.Background(), agent.SearchQuery{}); err != nil {
		t.Fatalf("Search at tls://: %v", err)
	}
}

func TestOpenRefusesABadTLSCA(t *testing.T) {
	_, err := agent.Open(context.Background(), agent.Config{Home: t.TempDir(), Tracker: "grpcs://127.0.0.1:1", TLSCA: "/nonexistent/ca.pem"})
	if err == nil || !strings.Contains(err.Error(), "TLSCA") {
		t.Fatalf("Open = %v, want an error naming TLSCA", err)
	}
}

// A service that requires client certificates (mutual TLS) lets in only an
// agent that offers one its CA signed: none, or one of another CA, is
// refused at the handshake.
func TestClientCertificateForMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "pbts-test")
	_, addr := startTLSTrackerWith(t, ca, ca)
	key, _ := crypto.GenerateKey()
	mine := ca.Issue("agent")
	stranger := tlstest.NewCA(t, "stranger").Issue("agent")
	for _, c := range []struct {
		name      string
		cert, key string
		ok        bool
	}{
		{"no client certificate", "", "", false},
		{"a certificate of another CA", stranger.CertFile, stranger.KeyFile, false},
		{"a certificate of the service's CA", mine.CertFile, mine.KeyFile, true},
	} {
		a := open(t, agent.Config{Home: t.TempDir(), Key: key, Tracker: "grpcs://" + addr, Domain: testDomain,
			TLSCA: ca.CertFile, TLSCert: c.cert, TLSKey: c.key, Timeout: 5 * time.Second})
		_, err := a.Register(context.Background())
		if c.ok && err != nil {
			t.Errorf("%s: Register = %v, want success", c.name, err)
		}
		if !c.ok && status.Code(err) != codes.Unavailable {
			t.Errorf("%s: Register = %v, want Unavailable (refused at the handshake)", c.name, err)
		}
	}
}

func TestOpenRefusesHalfAClientCertificate(t *testing.T) {
	p := tlstest.NewCA(t, "pbts-test").Issue("agent")
	for _, cfg := range []agent.Config{
		{Home: t.TempDir(), Tracker: "grpcs://127.0.0.1:1", TLSCert: p.CertFile},
		{Home: t.TempDir(), Tracker: "grpcs://127.0.0.1:1", TLSKey: p.KeyFile},
		{Home: t.TempDir(), Tracker: "grpcs://127.0.0.1:1", TLSCert: p.KeyFile, TLSKey: p.CertFile},
	} {
		if _, err := agent.Open(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "TLSCert") {
			t.Errorf("Open(cert %q, key %q) = %v, want an error naming TLSCert", cfg.TLSCert, cfg.TLSKey, err)
		}
	}
}
