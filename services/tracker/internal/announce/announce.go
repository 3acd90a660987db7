// Package announce is the PBTS tracker logic between the HTTP frontend
// (package bt) and swarm storage (package swarm). A Tracker implements
// bt.Logic: it resolves the passkey to an agent and the info hash to a
// catalogued private torrent (Directory), applies the ratio gate to
// leechers (Gate, DESIGN.md step 4), records the announce in the
// swarm.PeerStore and hands out peers. Announces repeated within the min
// interval are answered from the stored state alone, without asking the
// Directory or the Gate again.
//
// It also answers what other services need about live swarms: listings
// (Swarm), counts (Counts) and peer-to-agent resolution for swarm members
// (ResolvePeer, ResolveAddr).
//
// The Directory and Gate implementations come from the rest of the tracker
// service (Postgres and the chain); package announcetest has in-memory test
// doubles.
package announce

import (
	"context"
	"errors"
	"net/netip"

	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/gate"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

// Names used across the tracker.
type (
	// InfoHash is a v1 info hash.
	InfoHash = bt.InfoHash
	// PeerID is a BitTorrent peer id.
	PeerID = bt.PeerID
	// Agent is an agent's 20-byte Ethereum address; convert from
	// go-ethereum's common.Address with announce.Agent(addr).
	Agent = swarm.Agent
	// Counts are a swarm's seeders, leechers and completed downloads.
	Counts = swarm.Counts
)

// Sentinel errors. Directory implementations return the first three (they
// may wrap them); the rest come from the Tracker's query methods.
var (
	// ErrUnknownPasskey: no agent owns the passkey.
	ErrUnknownPasskey = errors.New("unknown passkey")
	// ErrUnregisteredAgent: the passkey's agent is not (or no longer)
	// registered, e.g. its registration is revoked.
	ErrUnregisteredAgent = errors.New("agent not registered")
	// ErrUnknownTorrent: the info hash is not in the catalog.
	ErrUnknownTorrent = errors.New("torrent not in the catalog")
	// ErrNotMember: the requesting agent has no peer in the swarm, so it
	// may not resolve the swarm's peers.
	ErrNotMember = errors.New("requesting agent is not in the swarm")
	// ErrPeerNotFound: no live peer in the swarm matches.
	ErrPeerNotFound = errors.New("peer not found in the swarm")
)

// Torrent is what the announce path needs of a catalogued torrent.
type Torrent struct {
	InfoHash InfoHash
	// TotalLength is the torrent's size in bytes; a reported left above it
	// is capped to it before the gate sees it.
	TotalLength uint64
	// Publisher is the agent that published it (it has every byte).
	Publisher Agent
}

// PeerRef names one peer of an agent in a swarm.
type PeerRef struct {
	ID PeerID
	// Addr is the endpoint the peer announced from (the connection's
	// address and the announced port); Hint is an unverified BEP 7 endpoint
	// of the other address family (zero: none).
	Addr, Hint netip.AddrPort
}

// Directory resolves identities and torrents on the announce path. It is
// called on every announce outside the min interval, so implementations
// cache (a miss must not cost a database round trip per announce).
type Directory interface {
	// AgentByPasskey returns the agent owning the passkey, or an error
	// wrapping ErrUnknownPasskey (no such passkey) or ErrUnregisteredAgent
	// (the agent may not use the tracker). The passkey is a secret: never
	// log it or put it in an error.
	AgentByPasskey(ctx context.Context, passkey string) (Agent, error)
	// Torrent returns a catalogued torrent's facts, or an error wrapping
	// ErrUnknownTorrent (BEP 27: only catalogued private torrents are
	// tracked).
	Torrent(ctx context.Context, ih InfoHash) (Torrent, error)
	// Joined is told, before the announce is stored and answered, that a
	// peer record is about to be created in a swarm: the first time an
	// agent appears there, and again for each new peer id it uses (or after
	// its peer expired), with the peer id and endpoints. The receipts
	// service checks with it that sender and receiver were in the swarm, so
	// the record must be durable before the client hears back (a receipt
	// signed right after the first announce must find it). An error fails
	// the announce (the client retries) with nothing stored. Implementations
	// deduplicate as they see fit.
	Joined(ctx context.Context, ih InfoHash, agent Agent, peer PeerRef) error
	// Credited is how many bytes of the torrent receipts have credited to
	// agent as their receiver: what it provably holds. The gate counts what
	// is not credited as left, whatever the client says.
	Credited(ctx context.Context, ih InfoHash, agent Agent) (uint64, error)
}

// Ratio and Decision are the gate's (see package gate).
type (
	Ratio    = gate.Ratio
	Decision = gate.Decision
)

// DefaultRatio is DESIGN.md's 0.5.
var DefaultRatio = gate.DefaultRatio

// Gate decides whether an agent may leech left more bytes (DESIGN.md step
// 4: refused when U/(D+left) < MinRatio). left is what the agent still
// wants of this torrent (the larger of its announced left and what no
// receipt has credited to it there) plus, elsewhere, what it still wants in
// every other swarm it leeches at once. The Tracker never asks it about
// seeders (nothing left: announced 0 and every byte credited, or the
// publisher), nor within the min interval of the last decision for the same
// peer (unless that peer now wants more than it was allowed).
// Ratio.Allows implements the rule. An error fails the announce with a
// generic reason (and is logged); it is not a refusal.
type Gate interface {
	Check(ctx context.Context, agent Agent, left, elsewhere uint64) (Decision, error)
}
