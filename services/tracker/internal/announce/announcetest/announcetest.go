// Package announcetest holds in-memory TEST DOUBLES of announce.Directory
// and announce.Gate for tests and benchmarks. They are not the production
// implementations (those read Postgres and the chain); they count their
// calls so tests can prove which path an announce took.
package announcetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pbts/pbts/services/tracker/internal/announce"
)

// Directory is an in-memory announce.Directory test double.
type Directory struct {
	mu           sync.RWMutex
	passkeys     map[string]announce.Agent
	unregistered map[announce.Agent]bool
	torrents     map[announce.InfoHash]announce.Torrent
	credited     map[credit]uint64
	joins        []Join
	// RecordJoins keeps every Joined call for Joins (on by default; a
	// benchmark turns it off to keep memory flat).
	RecordJoins bool
	// Err, when set, is returned by every lookup (to test internal errors).
	Err error
	// JoinErr, when set, is returned by Joined (a membership write failing).
	JoinErr error
	// CreditEverything makes Credited report every byte of a torrent as
	// receipted to every agent unless SetCredited says otherwise: the
	// agents of most tests hold the data they say they hold.
	CreditEverything bool

	agentCalls, torrentCalls, joinedCalls atomic.Int64
}

type credit struct {
	ih    announce.InfoHash
	agent announce.Agent
}

// Join is one recorded Joined call.
type Join struct {
	InfoHash announce.InfoHash
	Agent    announce.Agent
	Peer     announce.PeerRef
}

var _ announce.Directory = (*Directory)(nil)

// NewDirectory returns an empty directory that records joins.
func NewDirectory() *Directory {
	return &Directory{
		passkeys:     map[string]announce.Agent{},
		unregistered: map[announce.Agent]bool{},
		torrents:     map[announce.InfoHash]announce.Torrent{},
		credited:     map[credit]uint64{},
		RecordJoins:  true,
	}
}

// AddAgent gives agent the passkey.
func (d *Directory) AddAgent(passkey string, agent announce.Agent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.passkeys[passkey] = agent
	delete(d.unregistered, agent)
}

// Unregister keeps agent's passkeys but makes them fail with ErrUnregisteredAgent.
func (d *Directory) Unregister(agent announce.Agent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unregistered[agent] = true
}

// AddTorrent catalogs t.
func (d *Directory) AddTorrent(t announce.Torrent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.torrents[t.InfoHash] = t
}

// AgentByPasskey implements announce.Directory.
func (d *Directory) AgentByPasskey(ctx context.Context, passkey string) (announce.Agent, error) {
	d.agentCalls.Add(1)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.Err != nil {
		return announce.Agent{}, d.Err
	}
	a, ok := d.passkeys[passkey]
	if !ok {
		return announce.Agent{}, announce.ErrUnknownPasskey
	}
	if d.unregistered[a] {
		return announce.Agent{}, fmt.Errorf("agent %v: %w", a, announce.ErrUnregisteredAgent)
	}
	return a, nil
}

// Torrent implements announce.Directory.
func (d *Directory) Torrent(ctx context.Context, ih announce.InfoHash) (announce.Torrent, error) {
	d.torrentCalls.Add(1)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.Err != nil {
		return announce.Torrent{}, d.Err
	}
	t, ok := d.torrents[ih]
	if !ok {
		return announce.Torrent{}, announce.ErrUnknownTorrent
	}
	return t, nil
}

// Joined implements announce.Directory.
func (d *Directory) Joined(ctx context.Context, ih announce.InfoHash, agent announce.Agent, peer announce.PeerRef) error {
	d.joinedCalls.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.JoinErr != nil {
		return d.JoinErr
	}
	if d.RecordJoins {
		d.joins = append(d.joins, Join{InfoHash: ih, Agent: agent, Peer: peer})
	}
	return nil
}

// SetCredited records how many bytes of ih receipts have credited to agent.
func (d *Directory) SetCredited(ih announce.InfoHash, agent announce.Agent, n uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.credited[credit{ih, agent}] = n
}

// Credited implements announce.Directory.
func (d *Directory) Credited(ctx context.Context, ih announce.InfoHash, agent announce.Agent) (uint64, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.Err != nil {
		return 0, d.Err
	}
	if n, ok := d.credited[credit{ih, agent}]; ok || !d.CreditEverything {
		return n, nil
	}
	return d.torrents[ih].TotalLength, nil
}

// Joins returns the recorded Joined calls.
func (d *Directory) Joins() []Join {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return append([]Join(nil), d.joins...)
}

// Calls counts the calls of each method so far.
type Calls struct{ AgentByPasskey, Torrent, Joined int64 }

// Calls returns the call counts.
func (d *Directory) Calls() Calls {
	return Calls{AgentByPasskey: d.agentCalls.Load(), Torrent: d.torrentCalls.Load(), Joined: d.joinedCalls.Load()}
}

// Gate is an announce.Gate test double that applies the real rule
// (Ratio.Allows) to per-agent figures held in memory.
type Gate struct {
	mu      sync.RWMutex
	figures map[announce.Agent][2]uint64
	// MinRatio is the threshold; Credit is the upload credit of an agent
	// without figures (the contract's initial credit).
	MinRatio announce.Ratio
	Credit   uint64
	// Err, when set, is returned by Check.
	Err   error
	calls atomic.Int64
}

var _ announce.Gate = (*Gate)(nil)

// NewGate returns a gate with threshold minRatio that credits unknown
// agents with credit uploaded bytes.
func NewGate(minRatio announce.Ratio, credit uint64) *Gate {
	return &Gate{figures: map[announce.Agent][2]uint64{}, MinRatio: minRatio, Credit: credit}
}

// Set records an agent's credited figures.
func (g *Gate) Set(agent announce.Agent, uploaded, downloaded uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.figures[agent] = [2]uint64{uploaded, downloaded}
}

// Check implements announce.Gate.
func (g *Gate) Check(ctx context.Context, agent announce.Agent, left, elsewhere uint64) (announce.Decision, error) {
	g.calls.Add(1)
	if g.Err != nil {
		return announce.Decision{}, g.Err
	}
	if !g.MinRatio.Valid() {
		return announce.Decision{}, errors.New("announcetest: invalid ratio")
	}
	g.mu.RLock()
	f, ok := g.figures[agent]
	g.mu.RUnlock()
	if !ok {
		f = [2]uint64{g.Credit, 0}
	}
	return announce.Decision{
		Allowed:  g.MinRatio.Allows(f[0], f[1], left),
		Uploaded: f[0], Downloaded: f[1], Left: left, Elsewhere: elsewhere,
		MinRatio: g.MinRatio,
	}, nil
}

// Calls returns how many times Check ran.
func (g *Gate) Calls() int64 { return g.calls.Load() }
