package devcert

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// EnsureDir makes a CA and certificates that chain to it, for loopback,
// serving and client auth; called again it keeps them; with one file
// broken or another CA's certificate in place it makes all again.
func TestEnsureDirMakesKeepsAndRenews(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	f, err := EnsureDir(dir, "service", "agent")
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(f.CA)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.crt holds no certificate")
	}
	for _, n := range []string{"service", "agent"} {
		pair, err := tls.LoadX509KeyPair(f.Pairs[n][0], f.Pairs[n][1])
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
				t.Errorf("%s for 127.0.0.1, usage %v: %v", n, u, err)
			}
		}
		if st, err := os.Stat(f.Pairs[n][1]); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s key mode %v (%v), want 0600", n, st.Mode().Perm(), err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key: %v, want 0600", err)
	}

	again, err := EnsureDir(dir, "service", "agent")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(again.CA); string(b) != string(caPEM) {
		t.Error("a second EnsureDir made a new CA although the files were good")
	}

	// Another CA's certificate in place of the agent's: all made again.
	other, err := NewCA("other", time.Hour*48)
	if err != nil {
		t.Fatal(err)
	}
	p, err := other.Issue("agent", 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f.Pairs["agent"][0], f.Pairs["agent"][1]); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureDir(dir, "service", "agent"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f.CA); string(b) == string(caPEM) {
		t.Error("EnsureDir kept a CA that the agent's certificate does not chain to")
	}
	if !(Files{CA: f.CA, Pairs: f.Pairs}).valid(time.Now()) {
		t.Error("the files made again do not chain")
	}
	// A certificate that expires within the day is renewed too.
	if (Files{CA: f.CA, Pairs: f.Pairs}).valid(time.Now().Add(2 * 365 * 24 * time.Hour)) {
		t.Error("certificates of a year are valid in two years")
	}
}
