package announce

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

// Refusals a client sees.
const (
	msgUnknownPasskey = "unknown passkey: register with `pbts register` and announce with the URL it prints"
	msgUnregistered   = "unregistered agent: the agent owning this passkey is not registered (or was revoked); run `pbts register` again"
	msgUnknownTorrent = "torrent not in the PBTS catalog: only published private torrents are tracked (publish it with `pbts publish`)"
	msgPeerIDTaken    = "peer id in use by another agent in this swarm: restart the client to get a new peer id"
)

// Tracker is the tracker logic; it implements bt.Logic. Make it with New
// and run Run beside the HTTP server to expire peers.
type Tracker struct {
	cfg   Config
	store swarm.PeerStore
	dir   Directory
	gate  Gate
	log   *slog.Logger
	now   func() time.Time
	seed  maphash.Seed
	// sharedTags: tags are the same in every process (WithSharedTags).
	sharedTags bool
	// scratch recycles the per-announce store arguments, which escape
	// through the PeerStore interface and would otherwise be allocated.
	scratch sync.Pool
	// replaced counts peers removed to keep agents within
	// MaxPeersPerAgent.
	replaced atomic.Uint64
}

type scratch struct {
	u   swarm.Update
	sel swarm.Selection
}

var _ bt.Logic = (*Tracker)(nil)

// Option adjusts a Tracker.
type Option func(*Tracker)

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) Option { return func(t *Tracker) { t.now = now } }

// WithSharedTags makes the passkey fingerprints the store keeps the same in
// every tracker process, for a store that replicas share (Redis): a peer
// verified by one replica then takes the fast path on another. The tag is
// then a truncated SHA-256 of the passkey: it reveals nothing of a 128-bit
// random passkey, and forging a match needs a 64-bit second preimage of a
// tag the forger cannot read.
func WithSharedTags() Option { return func(t *Tracker) { t.sharedTags = true } }

// New returns a Tracker over store using dir and gate. A nil log discards.
func New(cfg Config, store swarm.PeerStore, dir Directory, gate Gate, log *slog.Logger, opts ...Option) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil || dir == nil || gate == nil {
		return nil, errors.New("announce: nil store, directory or gate")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{cfg: cfg, store: store, dir: dir, gate: gate, log: log, now: time.Now, seed: maphash.MakeSeed()}
	t.scratch.New = func() any { return new(scratch) }
	for _, o := range opts {
		o(t)
	}
	return t, nil
}

// Config returns the tracker's settings.
func (t *Tracker) Config() Config { return t.cfg }

// tag fingerprints a passkey for the store: a fast-path announce must carry
// the passkey the peer was verified with. The seed is random per process
// unless the tags are shared (WithSharedTags).
func (t *Tracker) tag(passkey string) uint64 {
	if t.sharedTags {
		return sharedTag(passkey)
	}
	return maphash.String(t.seed, passkey)
}

// sharedTag is the process-independent tag: SHA-256 over a domain and the
// passkey, its first 8 bytes.
func sharedTag(passkey string) uint64 {
	h := sha256.Sum256([]byte("pbts/peer-tag/v1\x00" + passkey))
	return binary.BigEndian.Uint64(h[:8])
}

func (t *Tracker) numWant(req *bt.AnnounceRequest) int {
	switch {
	case req.Event == bt.EventStopped:
		return 0
	case req.NumWant < 0:
		return t.cfg.NumWantDefault
	default:
		return min(req.NumWant, t.cfg.NumWantMax)
	}
}

// Announce implements bt.Logic.
func (t *Tracker) Announce(ctx context.Context, req *bt.AnnounceRequest, resp *bt.AnnounceResponse) error {
	now := t.now()
	sc := t.scratch.Get().(*scratch)
	defer func() {
		*sc = scratch{} // hold no response buffers
		t.scratch.Put(sc)
	}()
	u, sel := &sc.u, &sc.sel
	*u = swarm.Update{
		PeerID: req.PeerID, Addr: req.Addr, Hint: req.Hint,
		Uploaded: req.Uploaded, Downloaded: req.Downloaded, Left: req.Left,
		Event: req.Event, Now: now, Tag: t.tag(req.Passkey), MaxPerAgent: t.cfg.MaxPeersPerAgent,
	}
	want := t.numWant(req)
	*sel = swarm.Selection{Compact: req.Compact, IPv4: resp.IPv4[:0], IPv6: resp.IPv6[:0], Peers: resp.Peers[:0]}

	// Fast path: the same peer with the same passkey, verified within the
	// min interval, not asking to leech more than it was allowed.
	p, err := t.store.Peer(ctx, req.InfoHash, req.PeerID)
	isNew := errors.Is(err, swarm.ErrNotFound)
	switch {
	case err == nil && p.Tag == u.Tag && t.fresh(&p, req, now):
		resp.Agent = p.Agent
		res, err := t.store.Announce(ctx, req.InfoHash, u, want, sel)
		if err == nil {
			t.answer(resp, res, sel)
			return nil
		}
		if !errors.Is(err, swarm.ErrStale) {
			return err
		}
		sel.IPv4, sel.IPv6, sel.Peers = sel.IPv4[:0], sel.IPv6[:0], sel.Peers[:0] // changed meanwhile: verify
	case err != nil && !errors.Is(err, swarm.ErrNotFound):
		return err
	}

	agent, err := t.dir.AgentByPasskey(ctx, req.Passkey)
	if err != nil {
		return directoryError(err)
	}
	resp.Agent = agent
	tor, err := t.dir.Torrent(ctx, req.InfoHash)
	if err != nil {
		return directoryError(err)
	}
	if req.Event != bt.EventStopped {
		left, err := t.owed(ctx, req, agent, tor)
		if err != nil {
			return err
		}
		if left > 0 {
			elsewhere, err := t.store.AgentLeft(ctx, agent, req.InfoHash)
			if err != nil {
				return err
			}
			d, err := t.gate.Check(ctx, agent, satAdd(left, elsewhere), elsewhere)
			if err != nil {
				return fmt.Errorf("gate: %w", err)
			}
			if !d.Allowed {
				return bt.ClientError(d.Message())
			}
		}
		// The swarm keeps what the tracker holds the agent to (a seeder
		// without receipts for its data counts as a leecher), so the fast
		// path within the min interval never allows more than was checked,
		// and what the agent leeches here counts in its other swarms.
		u.Left = left
	}
	if isNew {
		if err := t.dir.Joined(ctx, req.InfoHash, agent, PeerRef{ID: req.PeerID, Addr: req.Addr, Hint: req.Hint}); err != nil {
			return fmt.Errorf("record swarm member: %w", err)
		}
	}
	u.Verified, u.Agent = true, agent
	res, err := t.store.Announce(ctx, req.InfoHash, u, want, sel)
	if errors.Is(err, swarm.ErrPeerIDTaken) {
		return bt.ClientError(msgPeerIDTaken)
	}
	if err != nil {
		return err
	}
	if res.Replaced > 0 {
		t.replaced.Add(uint64(res.Replaced))
	}
	if res.Replaced > 0 && t.log.Enabled(ctx, slog.LevelDebug) {
		t.log.Debug("peer replaced: agent at --max-peers-per-agent in the swarm",
			"agent", agent.String(), "info_hash", req.InfoHash.String(), "replaced", res.Replaced)
	}
	t.answer(resp, res, sel)
	return nil
}

// Replaced is how many peers announces have removed to keep their agents
// within MaxPeersPerAgent (a count that grows fast suggests an agent
// cycling peer ids).
func (t *Tracker) Replaced() uint64 { return t.replaced.Load() }

// owed is what the tracker holds an announcing agent still to download of
// the torrent: the larger of the left it reports (capped to the torrent's
// size) and what no receipt has credited to it there. A client that says
// left=0 (or 1) while it has not received the data is gated as the leecher
// it is. The publisher owes nothing.
func (t *Tracker) owed(ctx context.Context, req *bt.AnnounceRequest, agent Agent, tor Torrent) (uint64, error) {
	left := req.Left
	if tor.TotalLength > 0 && left > tor.TotalLength {
		left = tor.TotalLength
	}
	if agent == tor.Publisher || tor.TotalLength == 0 {
		return left, nil
	}
	credited, err := t.dir.Credited(ctx, req.InfoHash, agent)
	if err != nil {
		return 0, fmt.Errorf("credited bytes: %w", err)
	}
	if credited < tor.TotalLength {
		left = max(left, tor.TotalLength-credited)
	}
	return left, nil
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

// fresh reports whether an announce of the stored peer p may skip the
// Directory and the Gate.
func (t *Tracker) fresh(p *swarm.Peer, req *bt.AnnounceRequest, now time.Time) bool {
	if req.Event == bt.EventStopped {
		return true // leaving needs only the credential the peer joined with
	}
	if now.Sub(p.LastVerified) >= t.cfg.MinInterval || now.Before(p.LastVerified) {
		return false
	}
	// Seeding is never gated; a leecher may go on with no more than the
	// gate allowed it (a seeder turning leecher is asked again).
	return req.Left == 0 || (p.Left > 0 && req.Left <= p.Left)
}

func (t *Tracker) answer(resp *bt.AnnounceResponse, res swarm.Result, sel *swarm.Selection) {
	resp.Interval, resp.MinInterval = t.cfg.Interval, t.cfg.MinInterval
	resp.Complete, resp.Incomplete, resp.Downloaded = res.Counts.Seeders, res.Counts.Leechers, res.Counts.Completed
	resp.IPv4, resp.IPv6, resp.Peers = sel.IPv4, sel.IPv6, sel.Peers
}

// directoryError turns the Directory's sentinels into refusals; anything
// else stays internal.
func directoryError(err error) error {
	switch {
	case errors.Is(err, ErrUnknownPasskey):
		return bt.ClientError(msgUnknownPasskey)
	case errors.Is(err, ErrUnregisteredAgent):
		return bt.ClientError(msgUnregistered)
	case errors.Is(err, ErrUnknownTorrent):
		return bt.ClientError(msgUnknownTorrent)
	}
	return fmt.Errorf("directory: %w", err)
}

// Scrape implements bt.Logic: the passkey must belong to a registered
// agent; info hashes outside the catalog are left out of the answer (and
// when none is known the scrape is refused as for an unknown torrent).
func (t *Tracker) Scrape(ctx context.Context, req *bt.ScrapeRequest, resp *bt.ScrapeResponse) error {
	if _, err := t.dir.AgentByPasskey(ctx, req.Passkey); err != nil {
		return directoryError(err)
	}
	for _, ih := range req.InfoHashes {
		if _, err := t.dir.Torrent(ctx, ih); err != nil {
			if errors.Is(err, ErrUnknownTorrent) {
				continue
			}
			return directoryError(err)
		}
		c, err := t.store.Counts(ctx, ih)
		if err != nil {
			return err
		}
		resp.Files = append(resp.Files, bt.ScrapeFile{InfoHash: ih, Complete: c.Seeders, Incomplete: c.Leechers, Downloaded: c.Completed})
	}
	if len(resp.Files) == 0 {
		return bt.ClientError(msgUnknownTorrent)
	}
	return nil
}

// Run collects expired peers every GCInterval until ctx ends (it then
// returns nil, so it suits an errgroup beside the HTTP server).
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.GCInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if _, err := t.GC(ctx); err != nil && ctx.Err() == nil {
				t.log.Error("peer GC failed", "err", err)
			}
		}
	}
}

// GC removes the peers not heard from within PeerExpiry and returns how many.
func (t *Tracker) GC(ctx context.Context) (int, error) {
	start := time.Now()
	n, err := t.store.Collect(ctx, t.now().Add(-t.cfg.PeerExpiry))
	if n > 0 {
		t.log.Debug("expired peers collected", "peers", n, "took", time.Since(start))
	}
	return n, err
}
