// Package watch fans accepted receipts out to WatchReceipts subscribers. The
// writer never blocks: each subscriber has a bounded buffer, and one that is
// full is dropped (its stream ends with ErrSlow) rather than slowing the
// ledger or the other subscribers.
//
// Subscriptions are bounded in all, per client address and per agent (the
// address a subscription's filter names), so that nobody takes every slot.
// A watch proves nothing about who asks (it is not signed), so a full pool
// (all the slots, or one agent's) is shared fairly between client addresses
// rather than first come, first served: a newcomer from a client holding k
// of the pool's slots displaces the newest subscription of the client
// holding the most, if that one holds k+2 or more. A client that holds none
// (a seeder watching its own receipts) is refused only when every slot of
// the pool belongs to a different client, one each: to lock it out an
// attacker needs as many addresses (IPv4, or IPv6 /64) as the pool has
// slots, instead of one.
package watch

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
)

var (
	// ErrSlow ends a subscription whose buffer overflowed.
	ErrSlow = errors.New("watch: subscriber fell behind and was dropped")
	// ErrClosed ends every subscription when the hub closes.
	ErrClosed = errors.New("watch: server shutting down")
	// ErrTooMany refuses a subscription beyond the hub's limit.
	ErrTooMany = errors.New("watch: too many subscribers")
	// ErrClientLimit refuses a client address its subscription beyond
	// Limits.PerClient.
	ErrClientLimit = errors.New("watch: too many subscriptions from this client")
	// ErrAgentLimit refuses a subscription for an agent beyond
	// Limits.PerAgent.
	ErrAgentLimit = errors.New("watch: too many subscriptions for this agent")
	// ErrDisplaced ends a subscription whose slot went to a client holding
	// fewer.
	ErrDisplaced = errors.New("watch: displaced by a client holding fewer subscriptions")
)

// Limits bound the subscriptions.
type Limits struct {
	// Total, PerClient (per client address) and PerAgent (per address a
	// filter names: the sender, else the receiver).
	Total, PerClient, PerAgent int
}

// Sub is one subscription.
type Sub[T any] struct {
	sender, receiver common.Address // zero matches any
	client           netip.Addr
	agent            common.Address // zero: none
	ch               chan T
	done             chan struct{}
	err              error // set before done is closed
}

// C delivers the subscription's events.
func (s *Sub[T]) C() <-chan T { return s.ch }

// Done is closed when the subscription ends; Err tells why.
func (s *Sub[T]) Done() <-chan struct{} { return s.done }

// Err is why the subscription ended (after Done is closed).
func (s *Sub[T]) Err() error { return s.err }

func (s *Sub[T]) match(sender, receiver common.Address) bool {
	return (s.sender == common.Address{} || s.sender == sender) &&
		(s.receiver == common.Address{} || s.receiver == receiver)
}

// Hub is the broadcaster.
type Hub[T any] struct {
	buffer    int
	lim       Limits
	dropped   atomic.Uint64
	displaced atomic.Uint64
	n         atomic.Int64

	mu       sync.Mutex
	subs     map[*Sub[T]]struct{}
	byClient map[netip.Addr][]*Sub[T] // oldest first
	byAgent  map[common.Address][]*Sub[T]
	closed   bool
}

// NewHub returns a hub with per-subscriber buffers of buffer events and
// subscriptions bounded by lim (each at least 1).
func NewHub[T any](buffer int, lim Limits) *Hub[T] {
	lim.Total, lim.PerClient, lim.PerAgent = max(lim.Total, 1), max(lim.PerClient, 1), max(lim.PerAgent, 1)
	return &Hub[T]{buffer: buffer, lim: lim, subs: make(map[*Sub[T]]struct{}),
		byClient: make(map[netip.Addr][]*Sub[T]), byAgent: make(map[common.Address][]*Sub[T])}
}

// Subscribe adds a subscriber, from client (a client address: the caller
// keys it, server.ClientKey), for events from sender to receiver (a zero
// address matches any). A full pool displaces another client's
// subscription if that is fair (package comment).
func (h *Hub[T]) Subscribe(client netip.Addr, sender, receiver common.Address) (*Sub[T], error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if len(h.byClient[client]) >= h.lim.PerClient {
		return nil, ErrClientLimit
	}
	agent := sender
	if agent == (common.Address{}) {
		agent = receiver
	}
	if pool := h.byAgent[agent]; agent != (common.Address{}) && len(pool) >= h.lim.PerAgent {
		counts := make(map[netip.Addr]int)
		for _, s := range pool {
			counts[s.client]++
		}
		v := h.victim(pool, counts, client)
		if v == nil {
			return nil, ErrAgentLimit
		}
		h.displace(v)
	}
	if len(h.subs) >= h.lim.Total {
		counts := make(map[netip.Addr]int, len(h.byClient))
		for c, ss := range h.byClient {
			counts[c] = len(ss)
		}
		v := h.victim(nil, counts, client)
		if v == nil {
			return nil, ErrTooMany
		}
		h.displace(v)
	}
	s := &Sub[T]{sender: sender, receiver: receiver, client: client, agent: agent,
		ch: make(chan T, h.buffer), done: make(chan struct{})}
	h.subs[s] = struct{}{}
	h.byClient[client] = append(h.byClient[client], s)
	if agent != (common.Address{}) {
		h.byAgent[agent] = append(h.byAgent[agent], s)
	}
	h.n.Store(int64(len(h.subs)))
	return s, nil
}

// victim is the subscription a newcomer from client may displace from a
// full pool (pool's subscriptions, or all when pool is nil) whose
// subscriptions per client are counts: the newest of the client holding
// the most, if it holds at least two more than client; else nil. h.mu is
// held.
func (h *Hub[T]) victim(pool []*Sub[T], counts map[netip.Addr]int, client netip.Addr) *Sub[T] {
	var top netip.Addr
	most := -1
	for c, n := range counts {
		if n > most {
			top, most = c, n
		}
	}
	if most < counts[client]+2 {
		return nil
	}
	ss := h.byClient[top]
	for i := len(ss) - 1; i >= 0; i-- {
		if pool == nil || ss[i].agent == pool[0].agent {
			return ss[i]
		}
	}
	return nil
}

func (h *Hub[T]) displace(s *Sub[T]) {
	h.displaced.Add(1)
	h.end(s, ErrDisplaced)
}

// Displaced is the number of subscriptions displaced by fairer ones.
func (h *Hub[T]) Displaced() uint64 { return h.displaced.Load() }

func remove[T any](ss []*Sub[T], s *Sub[T]) []*Sub[T] {
	for i, x := range ss {
		if x == s {
			return append(ss[:i], ss[i+1:]...)
		}
	}
	return ss
}

// Unsubscribe removes s (idempotent).
func (h *Hub[T]) Unsubscribe(s *Sub[T]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.end(s, nil)
}

// end removes s, ending it with err unless it already ended. h.mu is held.
func (h *Hub[T]) end(s *Sub[T], err error) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	if ss := remove(h.byClient[s.client], s); len(ss) > 0 {
		h.byClient[s.client] = ss
	} else {
		delete(h.byClient, s.client)
	}
	if s.agent != (common.Address{}) {
		if ss := remove(h.byAgent[s.agent], s); len(ss) > 0 {
			h.byAgent[s.agent] = ss
		} else {
			delete(h.byAgent, s.agent)
		}
	}
	h.n.Store(int64(len(h.subs)))
	s.err = err
	close(s.done)
}

// Active reports whether anyone is subscribed, so a writer can skip building
// events nobody receives.
func (h *Hub[T]) Active() bool { return h.n.Load() > 0 }

// Subscribers is the number of subscribers.
func (h *Hub[T]) Subscribers() int { return int(h.n.Load()) }

// Dropped is the number of subscribers dropped for being slow.
func (h *Hub[T]) Dropped() uint64 { return h.dropped.Load() }

// Publish delivers n events to every matching subscriber without blocking:
// who names event i's parties, build makes its value, once, when some
// subscriber wants it.
func (h *Hub[T]) Publish(n int, who func(i int) (sender, receiver common.Address), build func(i int) T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	for i := range n {
		sender, receiver := who(i)
		var v T
		built := false
		for s := range h.subs {
			if !s.match(sender, receiver) {
				continue
			}
			if !built {
				v, built = build(i), true
			}
			select {
			case s.ch <- v:
			default:
				h.dropped.Add(1)
				h.end(s, ErrSlow)
			}
		}
	}
}

// Close ends every subscription with ErrClosed and refuses new ones.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.end(s, ErrClosed)
	}
}
