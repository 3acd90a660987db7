package agent

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// splitScheme reads a service address: grpcs://, https:// and tls:// mean
// TLS, grpc:// and http:// plaintext, a bare host:port plaintext. The
// address returned is host:port (443 or 80 when the URL names no port).
// Another scheme (dns:///, unix://) is left to gRPC, in plaintext.
func splitScheme(addr string) (hostport string, useTLS bool) {
	scheme, rest, ok := strings.Cut(addr, "://")
	if !ok {
		return addr, false
	}
	switch strings.ToLower(scheme) {
	case "grpcs", "https", "tls":
		useTLS = true
	case "grpc", "http":
	default:
		return addr, false
	}
	rest, _, _ = strings.Cut(rest, "/")
	if _, _, err := net.SplitHostPort(rest); err != nil {
		port := "80"
		if useTLS {
			port = "443"
		}
		rest = net.JoinHostPort(strings.Trim(rest, "[]"), port)
	}
	return rest, useTLS
}

// TLSFiles names the PEM files of the agent's TLS: CA, the certificate
// authority the services' certificates are checked against (empty: the
// system's roots), and Cert and Key, a client certificate offered to
// services that require one (mutual TLS; both or neither).
type TLSFiles struct {
	CA, Cert, Key string
}

// Config is the client TLS configuration of the files.
func (f TLSFiles) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if (f.Cert == "") != (f.Key == "") {
		return nil, errors.New("TLS client certificate: give both the certificate and its key, or neither")
	}
	if f.Cert != "" {
		pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if f.CA == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("TLS CA %s: no PEM certificate in it", f.CA)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// TLSConfig is the client TLS configuration that trusts the PEM
// certificates in caFile, or the system's roots when caFile is empty.
func TLSConfig(caFile string) (*tls.Config, error) { return TLSFiles{CA: caFile}.Config() }

// DialOption is the gRPC target and transport credentials for the service
// at addr: TLS (see Config) when addr starts with grpcs://, https:// or
// tls://, plaintext for a bare host:port (or grpc://, http://).
func (f TLSFiles) DialOption(addr string) (string, grpc.DialOption, error) {
	target, useTLS := splitScheme(addr)
	if !useTLS {
		return target, grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	cfg, err := f.Config()
	if err != nil {
		return "", nil, err
	}
	return target, grpc.WithTransportCredentials(credentials.NewTLS(cfg)), nil
}

// DialOption is TLSFiles{CA: caFile}.DialOption(addr).
func DialOption(addr, caFile string) (string, grpc.DialOption, error) {
	return TLSFiles{CA: caFile}.DialOption(addr)
}

// dialService opens a lazy gRPC connection to addr (see DialOption).
func dialService(addr string, files TLSFiles) (*grpc.ClientConn, error) {
	target, creds, err := files.DialOption(addr)
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(target, creds)
}

// trackerTLS makes the BitTorrent client's HTTPS announces verify the
// tracker's certificate (against Config.TLSCA, or the system roots) and
// offer Config.TLSCert to a tracker that asks for a client certificate.
//
// anacrolix/torrent's HTTP tracker client does TLS itself with
// InsecureSkipVerify and lets only the dialer be replaced. So the dialer
// this installs looks at the first bytes the client sends: plain HTTP goes
// to the tracker as it is; a TLS ClientHello is answered in-process with a
// throwaway certificate (the client checks none), and what it carries is
// relayed over a second TLS connection to the tracker that is verified:
// an announce (with its passkey) reaches only a tracker whose certificate
// the agent trusts, never a man in the middle.
func (a *Agent) trackerTLS() (func(*torrent.ClientConfig), error) {
	verify, err := a.cfg.tlsFiles().Config()
	if err != nil {
		return nil, err
	}
	return func(c *torrent.ClientConfig) {
		c.TrackerDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			raw, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			host, _, _ := net.SplitHostPort(addr)
			inner, outer := net.Pipe()
			go relayTracker(outer, raw, host, verify, a.log)
			return inner, nil
		}
	}, nil
}

// tlsHandshakeRecord is the first byte of a TLS connection (a handshake record).
const tlsHandshakeRecord = 0x16

// relayTracker serves the BitTorrent client's end of a tracker connection
// (local) over raw, the TCP connection to the tracker at host; see trackerTLS.
func relayTracker(local, raw net.Conn, host string, verify *tls.Config, log logger) {
	defer local.Close()
	defer raw.Close()
	br := bufio.NewReader(local)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	var client, upstream net.Conn = &bufferedConn{local, br}, raw
	if first[0] == tlsHandshakeRecord {
		fake, err := relayCert()
		if err != nil {
			log.printf("tracker %s: TLS: %v", host, err)
			return
		}
		cfg := verify.Clone()
		cfg.ServerName = host
		up := tls.Client(raw, cfg)
		hctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = up.HandshakeContext(hctx)
		cancel()
		if err != nil {
			log.printf("tracker %s: TLS: %v (announce not sent)", host, err)
			return
		}
		srv := tls.Server(client, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{fake}})
		if err := srv.Handshake(); err != nil {
			return
		}
		client, upstream = srv, up
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(upstream, client); done <- struct{}{} }()
	go func() { io.Copy(client, upstream); done <- struct{}{} }()
	<-done // either side finished: close both (the defers)
}

// bufferedConn is a net.Conn whose reads come through a bufio.Reader that
// may hold bytes already peeked.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// relayCert is the throwaway self-signed certificate the in-process end of
// an HTTPS announce shows the BitTorrent client (which does not check it).
var relayCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "pbts agent tracker relay"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
})
