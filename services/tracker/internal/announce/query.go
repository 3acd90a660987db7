package announce

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

// PeerInfo describes one live peer for a swarm listing (GetSwarm).
type PeerInfo struct {
	Agent  Agent
	PeerID PeerID
	// Client is the client-identifying head of the peer id ("-qB4520-").
	Client string
	// Addr is the endpoint the peer announced from, Hint an unverified
	// BEP 7 endpoint of the other family (zero: none).
	Addr, Hint netip.AddrPort
	Seeder     bool
	// Uploaded, Downloaded and Left are as the peer last reported them
	// (not credited figures: those come from receipts).
	Uploaded, Downloaded, Left uint64
	LastSeen                   time.Time
}

// SwarmInfo is a swarm's counts and (up to a limit) its peers.
type SwarmInfo struct {
	Counts Counts
	Peers  []PeerInfo
}

// Swarm lists the live swarm of ih: its counts and up to limit peers,
// seeders first.
func (t *Tracker) Swarm(ctx context.Context, ih InfoHash, limit int) (SwarmInfo, error) {
	c, err := t.store.Counts(ctx, ih)
	if err != nil {
		return SwarmInfo{}, err
	}
	ps, err := t.store.Peers(ctx, ih, limit)
	if err != nil {
		return SwarmInfo{}, err
	}
	out := SwarmInfo{Counts: c, Peers: make([]PeerInfo, len(ps))}
	for i, p := range ps {
		out.Peers[i] = PeerInfo{
			Agent: p.Agent, PeerID: p.ID, Client: p.ID.ClientPrefix(), Addr: p.Addr, Hint: p.Hint,
			Seeder: p.Seeder(), Uploaded: p.Uploaded, Downloaded: p.Downloaded, Left: p.Left, LastSeen: p.LastSeen,
		}
	}
	return out, nil
}

// Counts returns the live counts of the swarm of ih (zero when nobody
// announced it).
func (t *Tracker) Counts(ctx context.Context, ih InfoHash) (Counts, error) {
	return t.store.Counts(ctx, ih)
}

// AgentLeft is what agent still has left in its swarms other than except
// (as the gate counts it).
func (t *Tracker) AgentLeft(ctx context.Context, agent Agent, except InfoHash) (uint64, error) {
	return t.store.AgentLeft(ctx, agent, except)
}

// Stats sums the store's sizes (for the swarm-size gauges).
func (t *Tracker) Stats(ctx context.Context) (swarm.Stats, error) { return t.store.Stats(ctx) }

// ResolvePeer returns the agent running the peer with id in the swarm of
// ih. Only a member may ask: requester must have a live peer in that swarm
// (ErrNotMember otherwise); ErrPeerNotFound when no live peer has the id.
func (t *Tracker) ResolvePeer(ctx context.Context, ih InfoHash, requester Agent, id PeerID) (Agent, error) {
	if err := t.member(ctx, ih, requester); err != nil {
		return Agent{}, err
	}
	p, err := t.store.Peer(ctx, ih, id)
	return resolved(p, err)
}

// ResolveAddr is ResolvePeer by the endpoint the peer announced from (its
// connection's address and announced port; BEP 7 hints are not trusted
// for this).
func (t *Tracker) ResolveAddr(ctx context.Context, ih InfoHash, requester Agent, addr netip.AddrPort) (Agent, error) {
	if err := t.member(ctx, ih, requester); err != nil {
		return Agent{}, err
	}
	p, err := t.store.PeerByAddr(ctx, ih, addr)
	return resolved(p, err)
}

func (t *Tracker) member(ctx context.Context, ih InfoHash, requester Agent) error {
	ok, err := t.store.HasAgent(ctx, ih, requester)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotMember
	}
	return nil
}

func resolved(p swarm.Peer, err error) (Agent, error) {
	if errors.Is(err, swarm.ErrNotFound) {
		return Agent{}, ErrPeerNotFound
	}
	if err != nil {
		return Agent{}, err
	}
	return p.Agent, nil
}
