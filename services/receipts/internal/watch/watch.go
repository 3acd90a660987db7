// Package watch fans accepted receipts out to WatchReceipts subscribers. The
// writer never blocks: each subscriber has a bounded buffer, and one that is
// full is dropped (its stream ends with ErrSlow) rather than slowing the
// ledger or the other subscribers.
package watch

import (
	"errors"
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
)

// Sub is one subscription.
type Sub[T any] struct {
	sender, receiver common.Address // zero matches any
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
	buffer, limit int
	dropped       atomic.Uint64
	n             atomic.Int64

	mu     sync.Mutex
	subs   map[*Sub[T]]struct{}
	closed bool
}

// NewHub returns a hub with per-subscriber buffers of buffer events and at
// most limit subscribers.
func NewHub[T any](buffer, limit int) *Hub[T] {
	return &Hub[T]{buffer: buffer, limit: limit, subs: make(map[*Sub[T]]struct{})}
}

// Subscribe adds a subscriber for events from sender to receiver (a zero
// address matches any).
func (h *Hub[T]) Subscribe(sender, receiver common.Address) (*Sub[T], error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrClosed
	case len(h.subs) >= h.limit:
		return nil, ErrTooMany
	}
	s := &Sub[T]{sender: sender, receiver: receiver, ch: make(chan T, h.buffer), done: make(chan struct{})}
	h.subs[s] = struct{}{}
	h.n.Store(int64(len(h.subs)))
	return s, nil
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
