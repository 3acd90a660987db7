// Package devcert makes certificate authorities and certificates for local
// and test stacks: a CA, and certificates it signs for 127.0.0.1, ::1 and
// localhost that serve and authenticate clients alike (one certificate per
// party of a mutual-TLS setup on one machine). Not for production: there a
// real CA (cert-manager, a company PKI) issues the certificates.
package devcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority: its certificate and key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Pair is a certificate and its key, PEM-encoded.
type Pair struct {
	CertPEM, KeyPEM []byte
}

// NewCA makes a CA named name, valid for ttl (from an hour ago, against
// clock skew).
func NewCA(name string, ttl time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl, err := template(name, ttl)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue signs a certificate named name for 127.0.0.1, ::1 and localhost,
// good for serving and as a client certificate, valid for ttl.
func (ca *CA) Issue(name string, ttl time.Duration) (Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Pair{}, err
	}
	tmpl, err := template(name, ttl)
	if err != nil {
		return Pair{}, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	tmpl.DNSNames = []string{"localhost"}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return Pair{}, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Pair{}, err
	}
	return Pair{CertPEM: encode("CERTIFICATE", der), KeyPEM: encode("PRIVATE KEY", kb)}, nil
}

// CertPEM is the CA's certificate, PEM-encoded (what --tls-ca names).
func (ca *CA) CertPEM() []byte { return encode("CERTIFICATE", ca.Cert.Raw) }

// Pool is a pool holding the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// TLS is the pair for a tls.Config.
func (p Pair) TLS() (tls.Certificate, error) { return tls.X509KeyPair(p.CertPEM, p.KeyPEM) }

// Write writes the pair to certFile and keyFile (the key 0600).
func (p Pair) Write(certFile, keyFile string) error {
	if err := os.WriteFile(certFile, p.CertPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyFile, p.KeyPEM, 0o600)
}

// Files are the files EnsureDir keeps: the CA's certificate, and the
// certificate and key of each name it was asked for.
type Files struct {
	CA    string
	Pairs map[string][2]string // name -> certificate, key
}

// EnsureDir keeps in dir a CA (ca.crt; its key ca.key, 0600) and for each
// name a certificate NAME.crt with key NAME.key that it signed, each valid
// for a year: existing files are kept while the CA and every certificate
// load, chain to that CA and stay valid for another day; otherwise all are
// made again.
func EnsureDir(dir string, names ...string) (Files, error) {
	f := Files{CA: filepath.Join(dir, "ca.crt"), Pairs: map[string][2]string{}}
	for _, n := range names {
		f.Pairs[n] = [2]string{filepath.Join(dir, n+".crt"), filepath.Join(dir, n+".key")}
	}
	if f.valid(time.Now().Add(24 * time.Hour)) {
		return f, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, err
	}
	const year = 365 * 24 * time.Hour
	ca, err := NewCA("pbts local CA", year)
	if err != nil {
		return f, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return f, err
	}
	if err := (Pair{CertPEM: ca.CertPEM(), KeyPEM: encode("PRIVATE KEY", kb)}).Write(f.CA, filepath.Join(dir, "ca.key")); err != nil {
		return f, err
	}
	for _, n := range names {
		p, err := ca.Issue("pbts "+n, year)
		if err != nil {
			return f, err
		}
		if err := p.Write(f.Pairs[n][0], f.Pairs[n][1]); err != nil {
			return f, err
		}
	}
	return f, nil
}

// valid says whether the files exist, load, chain to the CA and are valid
// until at least until.
func (f Files) valid(until time.Time) bool {
	b, err := os.ReadFile(f.CA)
	if err != nil {
		return false
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return false
	}
	for _, p := range f.Pairs {
		pair, err := tls.LoadX509KeyPair(p[0], p[1])
		if err != nil {
			return false
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return false
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: until, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return false
		}
	}
	return true
}

func template(name string, ttl time.Duration) (*x509.Certificate, error) {
	if ttl <= 0 {
		return nil, errors.New("devcert: a certificate needs a positive lifetime")
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("devcert: serial: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ttl),
	}, nil
}

func encode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
