// Package agent is the PBTS agent as a library, for Go programs that take
// part in a PBTS swarm without the pbts command: Open an Agent with its
// key and the tracker it belongs to, then Register it, Publish datasets,
// Search the catalog, Get a dataset (signing and submitting a receipt per
// sender of every verified piece), Seed what it has behind the
// withholding gate, read any agent's Status (its standing: settled and
// pending bytes, ratio, and whether the tracker lets it download), Invite
// others where the tracker registers invited agents only, and Audit the
// chain's settled batches and figures against the receipts.
//
// Methods return plain values and print nothing: Get and Seed report
// progress as events to a callback, warnings go to Config.Warn. Errors
// from the services are gRPC status errors (google.golang.org/grpc/status),
// as they sent them. The agent's key lives in a keystore file (package
// keystore); what the tracker said at registration, the passkey among it,
// what the agent published and downloaded, and the journal of receipts not
// acknowledged yet are kept in the state directory Config.Home.
package agent

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// Defaults for Config's zero values.
const (
	DefaultTimeout  = 30 * time.Second
	DefaultReceipts = "127.0.0.1:7002"
	DefaultListen   = "0.0.0.0:0"
)

// Config says who the agent is and where its tracker is.
type Config struct {
	// Home is the agent's state directory (the registration, agent.json,
	// is kept there, 0600: it holds the passkey). Required.
	Home string
	// Key is the agent's private key (keystore.Load). Register and
	// Invite sign with it; Search and Status work without it.
	Key *ecdsa.PrivateKey
	// Tracker is the tracker's gRPC address, host:port. Required. With
	// grpcs://, https:// or tls:// before it (grpcs://tracker.example:7001)
	// it is called over TLS, verified against TLSCA; a bare host:port is
	// plaintext.
	Tracker string
	// Domain is what signatures are bound to: the chain id and the
	// ReputationTracker contract. Register and Invite need it.
	Domain receipt.Domain
	// Timeout bounds each call to a service (DefaultTimeout if zero).
	Timeout time.Duration
	// Receipts is the receipts service's gRPC address (DefaultReceipts if
	// empty): Get submits receipts there, Seed the ones handed to it. TLS
	// as for Tracker.
	Receipts string
	// TLSCA is a PEM file of the certificate authority the services' TLS
	// certificates are checked against (empty: the system's roots). It
	// also verifies the tracker of an https:// announce URL.
	TLSCA string
	// TLSCert and TLSKey are PEM files of a client certificate and its key,
	// offered to services that require one (mutual TLS: a service started
	// with --tls-ca). Both or neither.
	TLSCert, TLSKey string
	// Listen is the BitTorrent client's listen address, host:port
	// (DefaultListen if empty).
	Listen string
	// Window is how many pieces a peer may have unpaid before the
	// withholding gate refuses its requests for new pieces (0: 16 MiB
	// worth, 4 to 64 pieces); it grows with what the peer has paid (to 1/8
	// of it, up to 64 MiB worth).
	Window int64
	// UploadRate caps what the BitTorrent client uploads, in bytes per
	// second, over all its connections (0: no cap).
	UploadRate int64
	// Warn, if set, receives the agent's warnings, one line each (a receipt
	// refused, a peer nobody can name, the receipts service unreachable).
	Warn func(string)
	// Log, if set, receives the BitTorrent client's error log.
	Log io.Writer
}

// tlsFiles is the configuration's TLS files.
func (c *Config) tlsFiles() TLSFiles { return TLSFiles{CA: c.TLSCA, Cert: c.TLSCert, Key: c.TLSKey} }

// AddressError is a service address Open cannot use.
type AddressError struct {
	Service string // "tracker", "receipts", "listen" or "chain"
	Addr    string
	Err     error
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("%s address %q: %v", e.Service, e.Addr, e.Err)
}
func (e *AddressError) Unwrap() error { return e.Err }

// Agent is an open agent. Its methods may be called concurrently; Get and
// Seed each run their own BitTorrent client on Config.Listen (so port 0,
// the default, to run several at once).
type Agent struct {
	cfg      Config
	log      logger
	cc       *grpc.ClientConn
	agents   pbtsv1.AgentServiceClient
	datasets pbtsv1.DatasetServiceClient
	rcc      *grpc.ClientConn
	receipts pbtsv1.ReceiptServiceClient
}

// Open prepares an agent. It connects lazily: an unreachable tracker shows
// up as an Unavailable error on the first call.
func Open(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Home == "" {
		return nil, errors.New("agent: Config.Home is required")
	}
	if cfg.Tracker == "" {
		return nil, errors.New("agent: Config.Tracker is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Receipts == "" {
		cfg.Receipts = DefaultReceipts
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, &AddressError{Service: "listen", Addr: cfg.Listen, Err: errors.New("want host:port (e.g. 0.0.0.0:0)")}
	}
	if cfg.TLSCA != "" || cfg.TLSCert != "" || cfg.TLSKey != "" {
		if _, err := cfg.tlsFiles().Config(); err != nil {
			return nil, fmt.Errorf("agent: Config.TLSCA/TLSCert/TLSKey: %w", err)
		}
	}
	cc, err := dialService(cfg.Tracker, cfg.tlsFiles())
	if err != nil {
		return nil, &AddressError{Service: "tracker", Addr: cfg.Tracker, Err: err}
	}
	rcc, err := dialService(cfg.Receipts, cfg.tlsFiles())
	if err != nil {
		cc.Close()
		return nil, &AddressError{Service: "receipts", Addr: cfg.Receipts, Err: err}
	}
	return &Agent{cfg: cfg, log: logger{cfg.Warn}, cc: cc, agents: pbtsv1.NewAgentServiceClient(cc), datasets: pbtsv1.NewDatasetServiceClient(cc),
		rcc: rcc, receipts: pbtsv1.NewReceiptServiceClient(rcc)}, nil
}

// Close closes the connections to the services.
func (a *Agent) Close() error { return errors.Join(a.cc.Close(), a.rcc.Close()) }

// ErrNotRegistered is the error of what needs the passkey (Get, Seed)
// when the state directory holds none of this agent's for this tracker:
// Register first.
var ErrNotRegistered = errors.New("agent: no passkey for this tracker (Register first)")

// registered is the registration of this agent at this tracker, with a
// passkey, or ErrNotRegistered.
func (a *Agent) registered(what string) (*State, error) {
	if _, err := a.signer(what); err != nil {
		return nil, err
	}
	st, err := LoadState(a.cfg.Home)
	if err != nil {
		return nil, err
	}
	if st == nil || st.Passkey == "" || !strings.EqualFold(st.Address, a.Address().Hex()) || st.Tracker != a.cfg.Tracker {
		return nil, ErrNotRegistered
	}
	return st, nil
}

// newSubmitter is a submitter to the receipts service journaling in HOME/journal.
func (a *Agent) newSubmitter() *submitter {
	return &submitter{log: a.log, timeout: a.cfg.Timeout, addr: a.cfg.Receipts, c: a.receipts, journalDir: filepath.Join(a.cfg.Home, "journal")}
}

// logger hands warnings to Config.Warn (none if nil).
type logger struct{ warn func(string) }

func (l logger) printf(format string, args ...any) {
	if l.warn != nil {
		l.warn(fmt.Sprintf(format, args...))
	}
}

// Address is the agent's address (zero without a Config.Key).
func (a *Agent) Address() common.Address {
	if a.cfg.Key == nil {
		return common.Address{}
	}
	return crypto.PubkeyToAddress(a.cfg.Key.PublicKey)
}

// call bounds one call to a service by the timeout.
func (a *Agent) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.cfg.Timeout)
}

// signer is the key and domain of an agent that signs, or why it cannot.
func (a *Agent) signer(what string) (*ecdsa.PrivateKey, error) {
	if a.cfg.Key == nil {
		return nil, fmt.Errorf("agent: %s needs Config.Key", what)
	}
	if a.cfg.Domain.Tracker == (common.Address{}) {
		return nil, fmt.Errorf("agent: %s needs Config.Domain (the ReputationTracker contract)", what)
	}
	return a.cfg.Key, nil
}
