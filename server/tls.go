package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// TLSFiles are the PEM files of a service's TLS settings (--tls-cert,
// --tls-key, --tls-ca). With Cert and Key the service's listeners serve
// TLS (1.2 at least); with CA as well its gRPC listener requires client
// certificates that CA signed (mutual TLS). As a client of other services,
// CA is the authority their certificates must chain to (the system roots
// when empty), and Cert/Key, when set, are presented as its own.
type TLSFiles struct {
	Cert, Key, CA string
}

// Enabled reports whether the listeners serve TLS.
func (f TLSFiles) Enabled() bool { return f.Cert != "" && f.Key != "" }

func (f TLSFiles) validate() error {
	if (f.Cert == "") != (f.Key == "") {
		missing := "tls-key"
		if f.Cert == "" {
			missing = "tls-cert"
		}
		return fmt.Errorf("%s and %s go together: %s is missing", EnvName("tls-cert"), EnvName("tls-key"), EnvName(missing))
	}
	return nil
}

// keyPair loads Cert and Key, naming the settings on failure.
func (f TLSFiles) keyPair() (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("invalid %s/%s (%s, %s): %w", EnvName("tls-cert"), EnvName("tls-key"), f.Cert, f.Key, err)
	}
	return c, nil
}

// caPool reads the CA file, naming the setting on failure.
func (f TLSFiles) caPool() (*x509.CertPool, error) {
	return LoadCAPool(f.CA, EnvName("tls-ca"))
}

// LoadCAPool reads the PEM certificates in path into a pool; setting names
// the flag or variable in errors.
func LoadCAPool(path, setting string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", setting, err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("invalid %s %s: no PEM certificate in it", setting, path)
	}
	return p, nil
}

// ServerTLS is the configuration of a listener that serves TLS, nil when
// Cert and Key are not set. clientAuth requires and verifies client
// certificates signed by CA when CA is set (the gRPC listener; public HTTP
// listeners, whose clients are browsers and BitTorrent programs, pass false).
func (f TLSFiles) ServerTLS(clientAuth bool) (*tls.Config, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	if !f.Enabled() {
		return nil, nil
	}
	cert, err := f.keyPair()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if clientAuth && f.CA != "" {
		pool, err := f.caPool()
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientTLS is the configuration for calling a TLS server: its certificate
// must chain to CA (the system roots when CA is empty); Cert/Key, when
// set, are offered as the client certificate (for servers that require one).
func (f TLSFiles) ClientTLS() (*tls.Config, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CA != "" {
		pool, err := f.caPool()
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if f.Enabled() {
		cert, err := f.keyPair()
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// SplitScheme reads a service address that may name its transport:
// grpcs://, https:// and tls:// mean TLS, grpc:// and http:// plaintext;
// a bare host:port says nothing (tls is then false, explicit false). The
// address returned is host:port (port 443 or 80 when the URL has none).
func SplitScheme(addr string) (hostport string, tls, explicit bool) {
	scheme, rest, ok := strings.Cut(addr, "://")
	if !ok {
		return addr, false, false
	}
	switch strings.ToLower(scheme) {
	case "grpcs", "https", "tls":
		tls = true
	case "grpc", "http":
	default:
		return addr, false, false // a gRPC resolver scheme (dns:, unix:, passthrough:): left to grpc
	}
	rest, _, _ = strings.Cut(rest, "/")
	if _, _, err := net.SplitHostPort(rest); err != nil {
		port := "80"
		if tls {
			port = "443"
		}
		rest = net.JoinHostPort(strings.Trim(rest, "[]"), port)
	}
	return rest, tls, true
}

// DialOption is the gRPC target and transport credentials for calling the
// service at addr: TLS when addr says so (grpcs://, https://, tls://) or,
// for a bare host:port, when CA is set; plaintext otherwise (grpc://,
// http://, or a bare address without CA).
func (f TLSFiles) DialOption(addr string) (string, grpc.DialOption, error) {
	target, useTLS, explicit := SplitScheme(addr)
	if !explicit {
		useTLS = f.CA != ""
	}
	if target == "" {
		return "", nil, errors.New("empty address")
	}
	if !useTLS {
		return target, grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	cfg, err := f.ClientTLS()
	if err != nil {
		return "", nil, err
	}
	return target, grpc.WithTransportCredentials(credentials.NewTLS(cfg)), nil
}

// ListenHTTP opens a service's extra HTTP listener (the tracker's announce
// port, the gateway's REST port): TLS when the service has a certificate
// (without client certificates: its callers are the public), plaintext
// otherwise. scheme is "https" or "http", for the URLs the service prints
// or hands out.
func (s *Server) ListenHTTP(addr string) (ln net.Listener, scheme string, err error) {
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	if s.httpTLS == nil {
		return ln, "http", nil
	}
	return tls.NewListener(ln, s.httpTLS), "https", nil
}

// TLS is the service's TLS files, for dialling other services with
// TLSFiles.DialOption.
func (s *Server) TLS() TLSFiles { return s.cfg.TLS }
