// Package tlstest makes throwaway certificate authorities and certificates
// for tests of TLS listeners and clients (devcert's, written as PEM files in
// a test's temporary directory): a CA, a certificate for 127.0.0.1, ::1 and
// localhost signed by it (usable by a server and as a client certificate).
package tlstest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pbts/pbts/server/devcert"
)

// CA is a certificate authority of a test.
type CA struct {
	// CertFile is the CA certificate as a PEM file (what --tls-ca names).
	CertFile string
	ca       *devcert.CA
	dir      string
	t        testing.TB
}

// Pair is a certificate and its key as PEM files.
type Pair struct {
	CertFile, KeyFile string
}

// lifetime of what a test makes.
const lifetime = 24 * time.Hour

// NewCA makes a CA whose certificate is written to the test's temporary directory.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	ca, err := devcert.NewCA(name, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &CA{CertFile: filepath.Join(dir, name+"-ca.pem"), ca: ca, dir: dir, t: t}
	if err := os.WriteFile(c.CertFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue signs a certificate for 127.0.0.1, ::1 and localhost, good for
// serving and as a client certificate, and writes it and its key.
func (ca *CA) Issue(name string) Pair {
	t := ca.t
	t.Helper()
	pair, err := ca.ca.Issue(name, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	p := Pair{CertFile: filepath.Join(ca.dir, name+".pem"), KeyFile: filepath.Join(ca.dir, name+"-key.pem")}
	if err := pair.Write(p.CertFile, p.KeyFile); err != nil {
		t.Fatal(err)
	}
	return p
}

// Pool is a pool holding the CA's certificate.
func (ca *CA) Pool() *x509.CertPool { return ca.ca.Pool() }

// ClientConfig is a TLS client configuration trusting only this CA.
func (ca *CA) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
}

// Certificate loads the pair for a tls.Config.
func (p Pair) Certificate(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
