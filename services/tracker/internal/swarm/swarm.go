// Package swarm stores the tracker's swarms: which peers announce which
// torrent, with their endpoints and reported figures. PeerStore is the
// storage interface the tracker logic (package announce) uses; Memory is the
// sharded in-memory implementation. Every implementation must pass the
// conformance suite in package swarmtest.
//
// The store keeps what a peer reported and the bookkeeping that must be
// atomic with it (seeder/leecher class, the completed counter, the peer id
// owner, each agent's peers in a swarm within Update.MaxPerAgent); the rules (who may announce, when to re-check) live in package
// announce.
package swarm

import (
	"context"
	"encoding/hex"
	"errors"
	"net/netip"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

// Agent is an agent's Ethereum address. It converts to and from
// go-ethereum's common.Address with a plain conversion.
type Agent [20]byte

// String is the 0x-prefixed lower-case hex form.
func (a Agent) String() string { return "0x" + hex.EncodeToString(a[:]) }

// Errors of PeerStore methods.
var (
	// ErrNotFound: no such peer (or swarm) in the store.
	ErrNotFound = errors.New("swarm: peer not found")
	// ErrStale: an unverified update (Update.Verified false) found no peer
	// with that id and credential tag; nothing was changed.
	ErrStale = errors.New("swarm: no verified peer matches the update")
	// ErrPeerIDTaken: a verified update names a peer id that another agent
	// holds in this swarm; nothing was changed.
	ErrPeerIDTaken = errors.New("swarm: peer id held by another agent")
)

// Counts are a swarm's sizes and its completed-download counter.
type Counts struct {
	Seeders, Leechers, Completed int
}

// Update is one announce as the store applies it.
type Update struct {
	PeerID bt.PeerID
	// Addr is the endpoint the peer announced from; Hint an unverified
	// endpoint of the other address family (BEP 7), zero when none. Both
	// are handed out to other peers; only Addr identifies the peer in
	// PeerByAddr.
	Addr, Hint                 netip.AddrPort
	Uploaded, Downloaded, Left uint64
	// Event stopped removes the peer; completed (or Left reaching 0 for a
	// leecher) counts a completed download once per peer.
	Event bt.Event
	// Now stamps the peer's last-seen time (second resolution).
	Now time.Time
	// Verified marks an announce whose credential the caller checked: the
	// store records Agent and Tag and stamps the verification time, and may
	// create the peer. A peer id held by another agent fails with
	// ErrPeerIDTaken. When Verified is false the update applies only to an
	// existing peer whose tag equals Tag; otherwise it fails with ErrStale.
	Verified bool
	Agent    Agent
	// Tag is an opaque fingerprint of the credential the peer announced
	// with, chosen by the caller.
	Tag uint64
	// MaxPerAgent, when positive, bounds the peers one agent holds in the
	// swarm (issue 19: many peer ids of one agent must not fill a swarm).
	// A verified update that creates a peer while Agent already holds
	// MaxPerAgent peers there first removes Agent's oldest ones (last seen
	// longest ago; of equals, the first to join) until the new one makes
	// MaxPerAgent: the agent is never refused, so a restarted client (a
	// new peer id) replaces its silent predecessor. Zero: no bound.
	MaxPerAgent int
}

// Peer is a stored peer as lookups and listings return it.
type Peer struct {
	ID                         bt.PeerID
	Agent                      Agent
	Addr, Hint                 netip.AddrPort
	Uploaded, Downloaded, Left uint64
	Tag                        uint64
	// LastSeen is the last announce, LastVerified the last verified one.
	LastSeen, LastVerified time.Time
}

// Seeder reports whether the peer has the whole torrent.
func (p Peer) Seeder() bool { return p.Left == 0 }

// Result tells what an Announce did.
type Result struct {
	// Counts after the update.
	Counts Counts
	// Created: the peer was not in the swarm before.
	Created bool
	// Completed: this announce counted a completed download.
	Completed bool
	// Removed: the peer left (event stopped).
	Removed bool
	// Replaced is how many of the agent's other peers this announce removed
	// to stay within Update.MaxPerAgent.
	Replaced int
}

// Selection receives the peers an Announce hands out. Callers reuse it;
// Announce appends.
type Selection struct {
	// Compact selects IPv4/IPv6 (packed 6- and 18-byte entries) over Peers.
	Compact    bool
	IPv4, IPv6 []byte
	Peers      []bt.Peer
}

// Stats are the store's sizes.
type Stats struct {
	Torrents, Seeders, Leechers int
}

// PeerStore holds swarms. Implementations are safe for concurrent use.
type PeerStore interface {
	// Announce applies u to the swarm of ih and, unless the peer left,
	// appends up to numWant other peers to sel: seeders then leechers for a
	// leecher, leechers only for a seeder, starting at a random place.
	Announce(ctx context.Context, ih bt.InfoHash, u *Update, numWant int, sel *Selection) (Result, error)
	// Peer returns the peer with id in the swarm of ih, or ErrNotFound.
	Peer(ctx context.Context, ih bt.InfoHash, id bt.PeerID) (Peer, error)
	// PeerByAddr returns the peer that announced from addr (its Addr, never
	// a Hint: a hint proves nothing), or ErrNotFound.
	PeerByAddr(ctx context.Context, ih bt.InfoHash, addr netip.AddrPort) (Peer, error)
	// AgentLeft sums what agent still has left in every swarm but except:
	// per swarm, the most left of its peers there (seeding peers and peers
	// that left or expired count nothing).
	AgentLeft(ctx context.Context, agent Agent, except bt.InfoHash) (uint64, error)
	// HasAgent reports whether agent has a peer in the swarm of ih.
	HasAgent(ctx context.Context, ih bt.InfoHash, agent Agent) (bool, error)
	// Counts returns the swarm's counts (zero for an unknown swarm).
	Counts(ctx context.Context, ih bt.InfoHash) (Counts, error)
	// Peers lists up to limit peers of the swarm, seeders first.
	Peers(ctx context.Context, ih bt.InfoHash, limit int) ([]Peer, error)
	// Collect removes the peers last seen before cutoff and returns how
	// many. It holds any lock only briefly, so announces proceed meanwhile.
	Collect(ctx context.Context, cutoff time.Time) (int, error)
	// Stats sums the store's sizes.
	Stats(ctx context.Context) (Stats, error)
}
