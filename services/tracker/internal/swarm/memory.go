package swarm

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

// DefaultShards is the number of shards NewMemory uses by default.
const DefaultShards = 256

// Small swarms are searched linearly; an index map is built once a swarm
// holds more than indexAbove peers and dropped when it falls below indexBelow.
const (
	indexAbove = 32
	indexBelow = 16
)

// Memory is the in-memory PeerStore: swarms spread over shards by info
// hash, each shard behind its own RWMutex. A swarm keeps its peers in one
// slice, seeders first, with their compact encodings pre-built, so handing
// out peers is a copy of consecutive entries from a random start.
type Memory struct {
	shards []shard
	mask   uint32
	leech  leeching
}

var _ PeerStore = (*Memory)(nil)

type shard struct {
	mu     sync.RWMutex
	swarms map[bt.InfoHash]*swarmState
	_      [32]byte // keep shards on separate cache lines
}

type swarmState struct {
	peers     []peer // peers[:nSeeders] are seeders
	nSeeders  int
	completed int
	index     map[bt.PeerID]int32 // nil while the swarm is small
	// agents lists each agent's peer ids, built and dropped with index: a
	// small swarm is scanned instead.
	agents map[Agent]agentIDs
	joins  uint32 // peers created so far (wrapping): peer.joined
}

const (
	hasV4 uint8 = 1 << iota
	hasV6
	hint4   // the IPv4 endpoint is a hint, not the announcing address
	hint6   // the IPv6 endpoint is a hint
	counted // this peer's completion has been counted
)

type peer struct {
	id       bt.PeerID
	agent    Agent
	v4       [6]byte // compact IPv4 address and port
	flags    uint8
	v6       [18]byte // compact IPv6 address and port
	joined   uint32   // the swarm's joins when it was created (in v6's padding)
	tag      uint64
	up, down uint64
	left     uint64
	seen     uint32 // unix seconds
	verified uint32
}

// NewMemory returns an empty store with shards shards (a power of two; 0
// means DefaultShards).
func NewMemory(shards int) (*Memory, error) {
	if shards == 0 {
		shards = DefaultShards
	}
	if shards < 1 || shards > 1<<16 || shards&(shards-1) != 0 {
		return nil, fmt.Errorf("swarm: shard count %d is not a power of two in [1, 65536]", shards)
	}
	m := &Memory{shards: make([]shard, shards), mask: uint32(shards - 1)}
	for i := range m.shards {
		m.shards[i].swarms = make(map[bt.InfoHash]*swarmState)
	}
	return m, nil
}

func (m *Memory) shard(ih bt.InfoHash) *shard {
	return &m.shards[binary.LittleEndian.Uint32(ih[:4])&m.mask]
}

func unix(t time.Time) uint32 { return uint32(t.Unix()) }

// Announce implements PeerStore.
func (m *Memory) Announce(ctx context.Context, ih bt.InfoHash, u *Update, numWant int, sel *Selection) (Result, error) {
	sh := m.shard(ih)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sw := sh.swarms[ih]
	i := -1
	if sw != nil {
		i = sw.find(u.PeerID)
	}
	if i < 0 {
		if !u.Verified {
			return Result{}, ErrStale
		}
		if u.Event == bt.EventStopped {
			if sw == nil {
				return Result{}, nil
			}
			return Result{Counts: sw.counts()}, nil
		}
		if sw == nil {
			sw = &swarmState{}
			sh.swarms[ih] = sw
		}
		var res Result
		if u.MaxPerAgent > 0 {
			res.Replaced = m.makeRoom(sw, ih, u.Agent, u.MaxPerAgent)
		}
		sw.joins++
		p := peer{id: u.PeerID, agent: u.Agent, tag: u.Tag, verified: unix(u.Now), joined: sw.joins}
		p.set(u)
		m.leech.set(p.agent, ih, p.id, p.left)
		if u.Event == bt.EventCompleted && u.Left == 0 {
			p.flags |= counted
			sw.completed++
			res.Completed = true
		}
		i = sw.insert(p)
		res.Created = true
		sw.pick(i, numWant, sel)
		res.Counts = sw.counts()
		return res, nil
	}

	p := &sw.peers[i]
	if u.Verified {
		if p.agent != u.Agent {
			return Result{}, ErrPeerIDTaken
		}
		p.tag = u.Tag
		p.verified = unix(u.Now)
	} else if p.tag != u.Tag {
		return Result{}, ErrStale
	}
	var res Result
	wasSeeder := i < sw.nSeeders
	p.set(u)
	if u.Event == bt.EventStopped {
		m.leech.set(p.agent, ih, p.id, 0)
	} else {
		m.leech.set(p.agent, ih, p.id, p.left)
	}
	switch {
	case u.Left == 0 && p.flags&counted == 0 && (!wasSeeder || u.Event == bt.EventCompleted):
		p.flags |= counted
		sw.completed++
		res.Completed = true
	case u.Left > 0:
		p.flags &^= counted // downloading (again)
	}
	if u.Event == bt.EventStopped {
		sw.remove(i)
		res.Removed = true
		res.Counts = sw.counts()
		if len(sw.peers) == 0 && sw.completed == 0 {
			delete(sh.swarms, ih)
		}
		return res, nil
	}
	switch {
	case wasSeeder && u.Left > 0:
		i = sw.toLeecher(i)
	case !wasSeeder && u.Left == 0:
		i = sw.toSeeder(i)
	}
	sw.pick(i, numWant, sel)
	res.Counts = sw.counts()
	return res, nil
}

// makeRoom removes agent a's oldest peers from the swarm until it holds
// fewer than limit there (one, unless the limit was lowered) and returns how
// many it removed.
func (m *Memory) makeRoom(sw *swarmState, ih bt.InfoHash, a Agent, limit int) int {
	if e, ok := sw.agents[a]; sw.agents != nil && (!ok || e.len() < limit) {
		return 0 // the common case, without looking its peers up
	}
	removed := 0
	i, held := sw.oldestOf(a)
	for held >= limit {
		p := &sw.peers[i]
		m.leech.set(p.agent, ih, p.id, 0)
		sw.remove(i)
		removed++
		if held--; held >= limit {
			i, held = sw.oldestOf(a)
		}
	}
	return removed
}

// oldestOf returns where agent a's oldest peer is (the one last seen
// longest ago; of equals, the one that joined first) and how many peers a
// holds in the swarm. A large swarm looks them up in agents, a small one
// is scanned.
func (s *swarmState) oldestOf(a Agent) (oldest, held int) {
	oldest = -1
	if s.agents != nil {
		e, ok := s.agents[a]
		for k := 0; ok && k < e.len(); k++ {
			if i := s.find(e.at(k)); i >= 0 {
				held++
				if oldest < 0 || s.peers[i].before(&s.peers[oldest]) {
					oldest = i
				}
			}
		}
		return oldest, held
	}
	for i := range s.peers {
		if s.peers[i].agent == a {
			held++
			if oldest < 0 || s.peers[i].before(&s.peers[oldest]) {
				oldest = i
			}
		}
	}
	return oldest, held
}

// agentIDs are one agent's peer ids in a swarm: the first inline (most
// agents have one peer per swarm: no allocation), the others after it.
type agentIDs struct {
	first bt.PeerID
	rest  []bt.PeerID
}

func (e *agentIDs) len() int { return 1 + len(e.rest) }

func (e *agentIDs) at(k int) bt.PeerID {
	if k == 0 {
		return e.first
	}
	return e.rest[k-1]
}

// list adds id to a's entry in agents.
func (s *swarmState) list(a Agent, id bt.PeerID) {
	e, ok := s.agents[a]
	if !ok {
		s.agents[a] = agentIDs{first: id}
		return
	}
	e.rest = append(e.rest, id)
	s.agents[a] = e
}

// unlist removes id from a's entry in agents.
func (s *swarmState) unlist(a Agent, id bt.PeerID) {
	e, ok := s.agents[a]
	if !ok {
		return
	}
	k := 0
	for k < e.len() && e.at(k) != id {
		k++
	}
	switch {
	case k == e.len():
		return
	case e.len() == 1:
		delete(s.agents, a)
		return
	case k == 0:
		e.first = e.rest[0]
		k = 1
	}
	e.rest = append(e.rest[:k-1], e.rest[k:]...)
	s.agents[a] = e
}

// before reports whether p is older than q: last seen earlier, or as
// recently and joined first.
func (p *peer) before(q *peer) bool {
	return p.seen < q.seen || p.seen == q.seen && int32(p.joined-q.joined) < 0
}

// set copies the reported fields of u into p.
func (p *peer) set(u *Update) {
	p.flags &^= hasV4 | hasV6 | hint4 | hint6
	p.put(u.Addr, false)
	p.put(u.Hint, true)
	p.up, p.down, p.left = u.Uploaded, u.Downloaded, u.Left
	p.seen = unix(u.Now)
}

// put stores ap in its family's slot unless that slot is taken (so a hint
// never overrides the announcing address).
func (p *peer) put(ap netip.AddrPort, hint bool) {
	a := ap.Addr().Unmap()
	switch {
	case a.Is4() && p.flags&hasV4 == 0:
		b := a.As4()
		copy(p.v4[:4], b[:])
		binary.BigEndian.PutUint16(p.v4[4:], ap.Port())
		p.flags |= hasV4
		if hint {
			p.flags |= hint4
		}
	case a.Is6() && p.flags&hasV6 == 0:
		b := a.As16()
		copy(p.v6[:16], b[:])
		binary.BigEndian.PutUint16(p.v6[16:], ap.Port())
		p.flags |= hasV6
		if hint {
			p.flags |= hint6
		}
	}
}

// addr is the announcing endpoint, hint the other one.
func (p *peer) addr() (addr, hint netip.AddrPort) {
	a4, a6 := p.addr4(), p.addr6()
	if p.flags&hint4 != 0 || p.flags&hasV4 == 0 {
		return a6, a4
	}
	return a4, a6
}

func (p *peer) addr4() netip.AddrPort {
	if p.flags&hasV4 == 0 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(p.v4[:4])), binary.BigEndian.Uint16(p.v4[4:]))
}

func (p *peer) addr6() netip.AddrPort {
	if p.flags&hasV6 == 0 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(netip.AddrFrom16([16]byte(p.v6[:16])), binary.BigEndian.Uint16(p.v6[16:]))
}

func (p *peer) export() Peer {
	addr, hint := p.addr()
	return Peer{
		ID: p.id, Agent: p.agent, Addr: addr, Hint: hint,
		Uploaded: p.up, Downloaded: p.down, Left: p.left, Tag: p.tag,
		LastSeen: time.Unix(int64(p.seen), 0), LastVerified: time.Unix(int64(p.verified), 0),
	}
}

func (s *swarmState) counts() Counts {
	return Counts{Seeders: s.nSeeders, Leechers: len(s.peers) - s.nSeeders, Completed: s.completed}
}

func (s *swarmState) find(id bt.PeerID) int {
	if s.index != nil {
		if i, ok := s.index[id]; ok {
			return int(i)
		}
		return -1
	}
	// Compare the random tail of the peer ids first: their heads name the
	// client and repeat across a swarm.
	tail := binary.LittleEndian.Uint64(id[12:])
	for i := range s.peers {
		p := &s.peers[i]
		if binary.LittleEndian.Uint64(p.id[12:]) == tail && p.id == id {
			return i
		}
	}
	return -1
}

// place records that the peer at i moved there.
func (s *swarmState) place(i int) {
	if s.index != nil {
		s.index[s.peers[i].id] = int32(i)
	}
}

func (s *swarmState) swap(i, j int) {
	if i == j {
		return
	}
	s.peers[i], s.peers[j] = s.peers[j], s.peers[i]
	s.place(i)
	s.place(j)
}

// insert adds p in its class and returns its position.
func (s *swarmState) insert(p peer) int {
	if len(s.peers) == cap(s.peers) {
		// Grow by a quarter instead of append's doubling: most swarms are
		// small and the slack would cost more than the peers themselves.
		grown := make([]peer, len(s.peers), cap(s.peers)+cap(s.peers)/4+1)
		copy(grown, s.peers)
		s.peers = grown
	}
	s.peers = append(s.peers, p)
	i := len(s.peers) - 1
	s.place(i)
	if s.agents != nil {
		s.list(p.agent, p.id)
	}
	if s.index == nil && len(s.peers) > indexAbove {
		s.index = make(map[bt.PeerID]int32, len(s.peers)*2)
		s.agents = make(map[Agent]agentIDs, len(s.peers))
		for j := range s.peers {
			q := &s.peers[j]
			s.index[q.id] = int32(j)
			s.list(q.agent, q.id)
		}
	}
	if p.left == 0 {
		s.swap(i, s.nSeeders)
		i = s.nSeeders
		s.nSeeders++
	}
	return i
}

// remove deletes the peer at i, keeping seeders first.
func (s *swarmState) remove(i int) {
	if s.index != nil {
		delete(s.index, s.peers[i].id)
	}
	if s.agents != nil {
		s.unlist(s.peers[i].agent, s.peers[i].id)
	}
	last := len(s.peers) - 1
	if i < s.nSeeders {
		s.nSeeders--
		s.move(s.nSeeders, i)
		i = s.nSeeders
	}
	s.move(last, i)
	s.peers[last] = peer{}
	s.peers = s.peers[:last]
	if s.index != nil && len(s.peers) < indexBelow {
		s.index, s.agents = nil, nil
	}
	if cap(s.peers) > 64 && len(s.peers) < cap(s.peers)/4 {
		s.peers = append([]peer(nil), s.peers...)
	}
}

// move copies the peer at from over the (removed) one at to.
func (s *swarmState) move(from, to int) {
	if from == to {
		return
	}
	s.peers[to] = s.peers[from]
	s.place(to)
}

func (s *swarmState) toSeeder(i int) int {
	s.swap(i, s.nSeeders)
	s.nSeeders++
	return s.nSeeders - 1
}

func (s *swarmState) toLeecher(i int) int {
	s.nSeeders--
	s.swap(i, s.nSeeders)
	return s.nSeeders
}

// pick appends up to want peers other than the one at self to sel.
func (s *swarmState) pick(self, want int, sel *Selection) {
	if want <= 0 || sel == nil {
		return
	}
	if self >= s.nSeeders { // a leecher gets seeders first
		want = s.pickRange(0, s.nSeeders, self, want, sel)
	}
	s.pickRange(s.nSeeders, len(s.peers), self, want, sel)
}

// pickRange takes peers from peers[lo:hi] starting at a random place and
// returns how many more are wanted.
func (s *swarmState) pickRange(lo, hi, self, want int, sel *Selection) int {
	n := hi - lo
	if n <= 0 || want <= 0 {
		return want
	}
	if self >= lo && self < hi {
		n-- // the announcer is in this range
	}
	if n <= 0 {
		return want
	}
	start := lo + int(rand.Uint32N(uint32(hi-lo)))
	j := start
	for range hi - lo {
		if want == 0 {
			break
		}
		if j != self {
			emitPeer(&s.peers[j], sel)
			want--
		}
		if j++; j == hi {
			j = lo
		}
	}
	return want
}

// Peer implements PeerStore.
func (m *Memory) Peer(ctx context.Context, ih bt.InfoHash, id bt.PeerID) (Peer, error) {
	sh := m.shard(ih)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if sw := sh.swarms[ih]; sw != nil {
		if i := sw.find(id); i >= 0 {
			return sw.peers[i].export(), nil
		}
	}
	return Peer{}, ErrNotFound
}

// PeerByAddr implements PeerStore.
func (m *Memory) PeerByAddr(ctx context.Context, ih bt.InfoHash, addr netip.AddrPort) (Peer, error) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap().WithZone(""), addr.Port())
	if !addr.IsValid() {
		return Peer{}, ErrNotFound
	}
	sh := m.shard(ih)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if sw := sh.swarms[ih]; sw != nil {
		for i := range sw.peers {
			p := &sw.peers[i]
			if a, _ := p.addr(); a == addr {
				return p.export(), nil
			}
		}
	}
	return Peer{}, ErrNotFound
}

// HasAgent implements PeerStore.
func (m *Memory) HasAgent(ctx context.Context, ih bt.InfoHash, agent Agent) (bool, error) {
	sh := m.shard(ih)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if sw := sh.swarms[ih]; sw != nil {
		if sw.agents != nil {
			_, ok := sw.agents[agent]
			return ok, nil
		}
		for i := range sw.peers {
			if sw.peers[i].agent == agent {
				return true, nil
			}
		}
	}
	return false, nil
}

// Counts implements PeerStore.
func (m *Memory) Counts(ctx context.Context, ih bt.InfoHash) (Counts, error) {
	sh := m.shard(ih)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if sw := sh.swarms[ih]; sw != nil {
		return sw.counts(), nil
	}
	return Counts{}, nil
}

// Peers implements PeerStore.
func (m *Memory) Peers(ctx context.Context, ih bt.InfoHash, limit int) ([]Peer, error) {
	sh := m.shard(ih)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	sw := sh.swarms[ih]
	if sw == nil || limit <= 0 {
		return nil, nil
	}
	n := min(limit, len(sw.peers))
	out := make([]Peer, n)
	for i := range n {
		out[i] = sw.peers[i].export()
	}
	return out, nil
}

// Collect implements PeerStore. Each shard is first scanned under its read
// lock and write-locked only when it holds expired peers.
func (m *Memory) Collect(ctx context.Context, cutoff time.Time) (int, error) {
	c := unix(cutoff)
	removed := 0
	for k := range m.shards {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		sh := &m.shards[k]
		sh.mu.RLock()
		stale := false
		for _, sw := range sh.swarms {
			if sw.expired(c) {
				stale = true
				break
			}
		}
		sh.mu.RUnlock()
		if !stale {
			continue
		}
		sh.mu.Lock()
		for ih, sw := range sh.swarms {
			for i := len(sw.peers) - 1; i >= 0; i-- {
				if p := &sw.peers[i]; p.seen < c {
					m.leech.set(p.agent, ih, p.id, 0)
					sw.remove(i)
					removed++
				}
			}
			if len(sw.peers) == 0 && sw.completed == 0 {
				delete(sh.swarms, ih)
			}
		}
		sh.mu.Unlock()
	}
	return removed, nil
}

// expired reports whether any peer was last seen before c, or the swarm is
// an empty one without history.
func (s *swarmState) expired(c uint32) bool {
	if len(s.peers) == 0 && s.completed == 0 {
		return true
	}
	for i := range s.peers {
		if s.peers[i].seen < c {
			return true
		}
	}
	return false
}

// Stats implements PeerStore.
func (m *Memory) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	for k := range m.shards {
		sh := &m.shards[k]
		sh.mu.RLock()
		st.Torrents += len(sh.swarms)
		for _, sw := range sh.swarms {
			st.Seeders += sw.nSeeders
			st.Leechers += len(sw.peers) - sw.nSeeders
		}
		sh.mu.RUnlock()
	}
	return st, nil
}
