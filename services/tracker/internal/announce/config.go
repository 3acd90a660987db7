package announce

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Bounds on the settings.
const (
	// MaxNumWant is the largest NumWantMax accepted.
	MaxNumWant = 1000
	// MaxMaxPeersPerAgent is the largest MaxPeersPerAgent accepted.
	MaxMaxPeersPerAgent = 64
)

// Config holds the tracker logic's knobs (the tracker command exposes them
// as flags). Start from DefaultConfig.
type Config struct {
	// Interval is the re-announce interval told to clients.
	Interval time.Duration
	// MinInterval is the shortest re-announce interval told to clients; a
	// peer announcing again within it is answered from the stored state
	// (no Directory or Gate call).
	MinInterval time.Duration
	// NumWantDefault peers are handed out when the client does not say;
	// NumWantMax bounds what it may ask.
	NumWantDefault, NumWantMax int
	// PeerExpiry: peers not heard from for this long leave the swarm
	// (about twice Interval, so one lost announce is forgiven).
	PeerExpiry time.Duration
	// GCInterval is how often Run collects expired peers.
	GCInterval time.Duration
	// MaxPeersPerAgent bounds the peer ids one agent (one passkey's owner)
	// holds in a swarm (issue 19): a new one past it replaces the agent's
	// peer there last seen longest ago, so many peer ids of one agent
	// cannot fill a swarm and a restarted client is never locked out.
	MaxPeersPerAgent int
}

// DefaultConfig returns the defaults: interval 15m, min interval 2m,
// numwant 50 (at most 200), peers expire after 31m, collected every minute,
// at most 4 peers per agent per swarm.
func DefaultConfig() Config {
	return Config{
		Interval:       15 * time.Minute,
		MinInterval:    2 * time.Minute,
		NumWantDefault: 50,
		NumWantMax:     200,
		PeerExpiry:     31 * time.Minute,
		GCInterval:     time.Minute,

		MaxPeersPerAgent: 4,
	}
}

// Validate reports every bad setting by name.
func (c Config) Validate() error {
	var errs []error
	if c.Interval < time.Second {
		errs = append(errs, fmt.Errorf("announce interval %v: want at least 1s", c.Interval))
	}
	if c.MinInterval < time.Second || c.MinInterval > c.Interval {
		errs = append(errs, fmt.Errorf("min announce interval %v: want 1s up to the interval (%v)", c.MinInterval, c.Interval))
	}
	if c.NumWantMax < 1 || c.NumWantMax > MaxNumWant {
		errs = append(errs, fmt.Errorf("numwant max %d: want 1..%d", c.NumWantMax, MaxNumWant))
	}
	if c.NumWantDefault < 1 || c.NumWantDefault > c.NumWantMax {
		errs = append(errs, fmt.Errorf("numwant default %d: want 1 up to numwant max (%d)", c.NumWantDefault, c.NumWantMax))
	}
	if c.PeerExpiry <= c.Interval {
		errs = append(errs, fmt.Errorf("peer expiry %v: want more than the interval (%v), about twice it", c.PeerExpiry, c.Interval))
	}
	if c.GCInterval <= 0 {
		errs = append(errs, errors.New("peer GC interval must be positive"))
	}
	if c.MaxPeersPerAgent < 1 || c.MaxPeersPerAgent > MaxMaxPeersPerAgent {
		errs = append(errs, fmt.Errorf("max peers per agent %d: want 1..%d", c.MaxPeersPerAgent, MaxMaxPeersPerAgent))
	}
	return errors.Join(errs...)
}

// LogValue implements slog.LogValuer.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Duration("interval", c.Interval),
		slog.Duration("min_interval", c.MinInterval),
		slog.Int("numwant_default", c.NumWantDefault),
		slog.Int("numwant_max", c.NumWantMax),
		slog.Duration("peer_expiry", c.PeerExpiry),
		slog.Duration("gc_interval", c.GCInterval),
		slog.Int("max_peers_per_agent", c.MaxPeersPerAgent),
	)
}
