// Package limit is a token bucket per key (golang.org/x/time/rate), with
// bounded memory: at most a fixed number of keys is remembered, idle ones
// (whose bucket has refilled, so forgetting them changes nothing) forgotten
// first.
package limit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a token bucket per key: each key may take Burst tokens at once
// and Rate more per second. Safe for concurrent use. A nil *Keyed, or one
// with a rate of 0, allows everything.
type Keyed[K comparable] struct {
	rate    rate.Limit
	burst   int
	maxKeys int

	mu sync.Mutex
	m  map[K]*rate.Limiter
}

// New returns a limiter of perSecond tokens a second and burst at once per
// key, remembering at most maxKeys keys; perSecond <= 0 disables it.
func New[K comparable](perSecond float64, burst, maxKeys int) *Keyed[K] {
	return &Keyed[K]{rate: rate.Limit(perSecond), burst: max(burst, 1), maxKeys: max(maxKeys, 1), m: make(map[K]*rate.Limiter)}
}

func (l *Keyed[K]) off() bool { return l == nil || l.rate <= 0 }

// Burst is the most tokens one call may take.
func (l *Keyed[K]) Burst() int { return l.burst }

// Rate is the tokens a second each key gets back.
func (l *Keyed[K]) Rate() float64 { return float64(l.rate) }

// bucket returns k's bucket, making it (full) if absent. l.mu is held.
func (l *Keyed[K]) bucket(k K, now time.Time) *rate.Limiter {
	b := l.m[k]
	if b == nil {
		if len(l.m) >= l.maxKeys {
			l.evict(now)
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.m[k] = b
	}
	return b
}

// evict forgets the buckets that have refilled; if that leaves the map
// full, an arbitrary half (map order) of the rest. l.mu is held.
func (l *Keyed[K]) evict(now time.Time) {
	full := float64(l.burst)
	for k, b := range l.m {
		if b.TokensAt(now) >= full {
			delete(l.m, k)
		}
	}
	n := len(l.m) - l.maxKeys/2
	for k := range l.m {
		if n <= 0 {
			break
		}
		delete(l.m, k)
		n--
	}
}

// Allow takes n tokens (at most Burst) from k's bucket at now if it holds
// them, and reports whether it did.
func (l *Keyed[K]) Allow(k K, now time.Time, n int) bool {
	if l.off() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucket(k, now).AllowN(now, min(n, l.burst))
}

// Empty reports whether k's bucket has less than one token at now, without
// taking any (an absent key has a full bucket).
func (l *Keyed[K]) Empty(k K, now time.Time) bool {
	if l.off() {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[k]
	return b != nil && b.TokensAt(now) < 1
}

// Charge takes n tokens (at most Burst) from k's bucket at now even if it
// goes into debt: the key is Empty until the debt is paid back.
func (l *Keyed[K]) Charge(k K, now time.Time, n int) {
	if l.off() || n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucket(k, now).ReserveN(now, min(n, l.burst))
}

// Wait is how long k's bucket needs at now to hold n tokens (at most Burst).
func (l *Keyed[K]) Wait(k K, now time.Time, n int) time.Duration {
	if l.off() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[k]
	if b == nil {
		return 0
	}
	missing := float64(min(n, l.burst)) - b.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / float64(l.rate) * float64(time.Second))
}

// Len is the number of keys remembered.
func (l *Keyed[K]) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
