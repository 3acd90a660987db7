// Package agent is the PBTS agent as a library, for Go programs that take
// part in a PBTS swarm without the pbts command: Open an Agent with its
// key and the tracker it belongs to, then Register it, Search the catalog,
// read any agent's Status (its standing: settled and pending bytes, ratio,
// and whether the tracker lets it download), and Invite others where the
// tracker registers invited agents only.
//
// Methods return plain values and print nothing; errors from the tracker
// are gRPC status errors (google.golang.org/grpc/status), as it sent them.
// The agent's key lives in a keystore file (package keystore); what the
// tracker said at registration, the passkey among it, is kept in the state
// directory Config.Home.
package agent

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// DefaultTimeout bounds each call to a service when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config says who the agent is and where its tracker is.
type Config struct {
	// Home is the agent's state directory (the registration, agent.json,
	// is kept there, 0600: it holds the passkey). Required.
	Home string
	// Key is the agent's private key (keystore.Load). Register and
	// Invite sign with it; Search and Status work without it.
	Key *ecdsa.PrivateKey
	// Tracker is the tracker's gRPC address, host:port. Required.
	Tracker string
	// Domain is what signatures are bound to: the chain id and the
	// ReputationTracker contract. Register and Invite need it.
	Domain receipt.Domain
	// Timeout bounds each call to a service (DefaultTimeout if zero).
	Timeout time.Duration
}

// AddressError is a service address Open cannot use.
type AddressError struct {
	Service string // "tracker"
	Addr    string
	Err     error
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("%s address %q: %v", e.Service, e.Addr, e.Err)
}
func (e *AddressError) Unwrap() error { return e.Err }

// Agent is an open agent. Its methods may be called concurrently.
type Agent struct {
	cfg      Config
	cc       *grpc.ClientConn
	agents   pbtsv1.AgentServiceClient
	datasets pbtsv1.DatasetServiceClient
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
	cc, err := grpc.NewClient(cfg.Tracker, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, &AddressError{Service: "tracker", Addr: cfg.Tracker, Err: err}
	}
	return &Agent{cfg: cfg, cc: cc, agents: pbtsv1.NewAgentServiceClient(cc), datasets: pbtsv1.NewDatasetServiceClient(cc)}, nil
}

// Close closes the connections to the services.
func (a *Agent) Close() error { return a.cc.Close() }

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
