package app

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/registry"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

// directory adapts the Postgres store (with its caches) to the announce path.
type directory struct {
	st  *store.Store
	log *slog.Logger
	// sem bounds concurrent membership writes; a full semaphore makes the
	// announce wait rather than lose the record receipts depend on.
	sem chan struct{}
}

func newDirectory(st *store.Store, log *slog.Logger) *directory {
	return &directory{st: st, log: log, sem: make(chan struct{}, 64)}
}

func (d *directory) AgentByPasskey(ctx context.Context, passkey string) (announce.Agent, error) {
	a, err := d.st.AgentByPasskey(ctx, passkey)
	switch {
	case errors.Is(err, database.ErrNotFound), errors.Is(err, store.ErrInvalid):
		return announce.Agent{}, announce.ErrUnknownPasskey
	case err != nil:
		return announce.Agent{}, err
	}
	return announce.Agent(a), nil
}

func (d *directory) Torrent(ctx context.Context, ih announce.InfoHash) (announce.Torrent, error) {
	l, err := d.st.TorrentLayout(ctx, ih)
	switch {
	case errors.Is(err, database.ErrNotFound):
		return announce.Torrent{}, announce.ErrUnknownTorrent
	case err != nil:
		return announce.Torrent{}, err
	}
	return announce.Torrent{InfoHash: ih, TotalLength: uint64(l.TotalBytes), Publisher: announce.Agent(l.Publisher)}, nil
}

// Joined records the membership before the announce is answered: the
// semaphore bounds concurrent writes (a full one makes the announce wait).
func (d *directory) Joined(ctx context.Context, ih announce.InfoHash, agent announce.Agent, _ announce.PeerRef) error {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-d.sem }()
	wctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := d.st.RecordMember(wctx, ih, common.Address(agent)); err != nil {
		d.log.Error("record swarm member", "info_hash", ih.String(), "agent", common.Address(agent), "err", err)
		return err
	}
	return nil
}

func (d *directory) Credited(ctx context.Context, ih announce.InfoHash, agent announce.Agent) (uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return d.st.Credited(cctx, ih, common.Address(agent))
}

// gate applies the ratio rule (registry.Decide) to reputation figures.
type gate struct {
	rep      registry.Reputation
	num, den uint64
}

func (g gate) Check(ctx context.Context, agent announce.Agent, left, elsewhere uint64) (announce.Decision, error) {
	f, err := g.rep.Figures(ctx, common.Address(agent))
	if err != nil {
		return announce.Decision{}, err
	}
	d := registry.Decide(f, left, g.num, g.den)
	d.Elsewhere = elsewhere
	return d, nil
}

// swarms adapts the live swarm state to the registry's queries.
type swarms struct{ t *announce.Tracker }

func (s swarms) AgentLeft(ctx context.Context, agent common.Address, except [20]byte) (uint64, error) {
	return s.t.AgentLeft(ctx, announce.Agent(agent), except)
}

func (s swarms) Counts(ctx context.Context, ih [20]byte) (seeders, leechers, completed uint32) {
	c, err := s.t.Counts(ctx, ih)
	if err != nil {
		return 0, 0, 0
	}
	return uint32(c.Seeders), uint32(c.Leechers), uint32(c.Completed)
}

func (s swarms) Totals(ctx context.Context) (uint64, uint64, uint64, error) {
	st, err := s.t.Stats(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	return uint64(st.Torrents), uint64(st.Seeders), uint64(st.Leechers), nil
}

// maxSwarmList bounds GetSwarm's answer.
const maxSwarmList = 1000

func (s swarms) Peers(ctx context.Context, ih [20]byte) ([]registry.SwarmPeer, error) {
	info, err := s.t.Swarm(ctx, ih, maxSwarmList)
	if err != nil {
		return nil, err
	}
	out := make([]registry.SwarmPeer, 0, len(info.Peers))
	for _, p := range info.Peers {
		out = append(out, registry.SwarmPeer{
			Agent: common.Address(p.Agent), PeerID: p.PeerID, Seeder: p.Seeder,
			Uploaded: p.Uploaded, Downloaded: p.Downloaded, Left: p.Left, LastAnnounce: p.LastSeen,
		})
	}
	return out, nil
}

func (s swarms) Resolve(ctx context.Context, ih [20]byte, asker common.Address, peerID []byte, addr string) (common.Address, error) {
	var a announce.Agent
	var err error
	if peerID != nil {
		if len(peerID) != 20 {
			return common.Address{}, registry.ErrPeerNotFound
		}
		a, err = s.t.ResolvePeer(ctx, ih, announce.Agent(asker), announce.PeerID(peerID))
	} else {
		ap, perr := netip.ParseAddrPort(addr)
		if perr != nil {
			return common.Address{}, registry.ErrPeerNotFound
		}
		a, err = s.t.ResolveAddr(ctx, ih, announce.Agent(asker), ap)
	}
	if errors.Is(err, announce.ErrPeerNotFound) || errors.Is(err, announce.ErrNotMember) {
		return common.Address{}, registry.ErrPeerNotFound
	}
	return common.Address(a), err
}
