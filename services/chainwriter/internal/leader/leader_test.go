package leader_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/services/chainwriter/internal/leader"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
	"github.com/pbts/pbts/testkit"
)

const key = int64(0x1581ad37aa385bd8)

// candidate is one elector (a chainwriter process, in miniature) and what
// it went through.
type candidate struct {
	name string
	st   *store.Store
	log  *testkit.Buffer
	stop context.CancelFunc
	done chan struct{}

	mu      sync.Mutex
	lease   *store.Lock // while leading
	terms   int
	reasons []string
	ended   int // terms whose context was cancelled
}

// election runs candidates on one key; onLead runs at the start of each term.
type election struct {
	t       *testing.T
	mu      sync.Mutex
	leading int // candidates in a term now
	most    int // most at once
	onLead  func(c *candidate)
}

func (e *election) start(name string, st *store.Store) *candidate {
	c := &candidate{name: name, st: st, log: &testkit.Buffer{}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	go func() {
		defer close(c.done)
		leader.Run(ctx, leader.Config{
			Retry: 50 * time.Millisecond, Timeout: 2 * time.Second,
			Log: slog.New(slog.NewTextHandler(c.log, nil)),
			Acquire: func(ctx context.Context) (leader.Lease, error) {
				l, err := st.TryLock(ctx, key)
				if errors.Is(err, store.ErrLocked) {
					return nil, fmt.Errorf("%w: %w", leader.ErrHeld, err)
				}
				if err != nil {
					return nil, err
				}
				return l, nil
			},
			Lead: func(ctx context.Context, l leader.Lease) {
				e.mu.Lock()
				e.leading++
				e.most = max(e.most, e.leading)
				e.mu.Unlock()
				c.mu.Lock()
				c.lease, c.terms = l.(*store.Lock), c.terms+1
				c.mu.Unlock()
				if e.onLead != nil {
					e.onLead(c)
				}
				<-ctx.Done()
				c.mu.Lock()
				c.lease, c.ended = nil, c.ended+1
				c.mu.Unlock()
				e.mu.Lock()
				e.leading--
				e.mu.Unlock()
			},
			Follow: func(reason string) {
				c.mu.Lock()
				c.reasons = append(c.reasons, reason)
				c.mu.Unlock()
			},
		})
	}()
	e.t.Cleanup(func() { cancel(); <-c.done })
	return c
}

func (c *candidate) leading() *store.Lock {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lease
}

func (c *candidate) snapshot() (terms, ended int, reasons []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.terms, c.ended, append([]string(nil), c.reasons...)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestElection against a real Postgres: of two candidates on one key one
// leads and the other waits; when the leader's lock session dies (its
// backend terminated, as when its connection breaks), its term is cancelled
// at once, the other takes over, and from the moment the other leads the old
// leader's lease fails every check (so its writer can send nothing); the old
// leader campaigns again and, when the new one stops gracefully (releasing
// the lock), takes over with no overlap.
func TestElection(t *testing.T) {
	db := dbtest.New(t)
	e := &election{t: t}
	var staleCheck error
	var staleMu sync.Mutex
	var stale *store.Lock // the lost leader's lease, checked by the next leader
	e.onLead = func(c *candidate) {
		staleMu.Lock()
		defer staleMu.Unlock()
		if stale != nil {
			staleCheck = stale.Check(context.Background())
			if staleCheck == nil {
				t.Errorf("%s leads while the old leader's lease still checks fine", c.name)
			}
		}
	}
	a := e.start("a", store.New(db))
	waitFor(t, "a to lead", 10*time.Second, func() bool { return a.leading() != nil })
	b := e.start("b", store.New(db))
	waitFor(t, "b to stand by", 10*time.Second, func() bool {
		_, _, r := b.snapshot()
		return len(r) >= 2 // at least two attempts refused
	})
	if _, _, r := b.snapshot(); r[0] != leader.ReasonStandby || b.leading() != nil {
		t.Fatalf("b: reasons %v, leading %v; want standby", r, b.leading() != nil)
	}
	if !strings.Contains(b.log.String(), "leader: waiting (another chainwriter holds the lock)") ||
		strings.Count(b.log.String(), "leader: waiting") != 1 {
		t.Errorf("b's log: %q; want one waiting line", b.log.String())
	}

	// The leader's session dies.
	old := a.leading()
	staleMu.Lock()
	stale = old
	staleMu.Unlock()
	if _, err := db.Pool.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, int32(old.PID())); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, "b to take over", 10*time.Second, func() bool { return b.leading() != nil })
	waitFor(t, "a's term to end", 5*time.Second, func() bool { _, ended, _ := a.snapshot(); return ended == 1 })
	t.Logf("takeover %v after the leader's session was terminated", took)
	staleMu.Lock()
	if staleCheck == nil {
		t.Error("the new leader's check of the old lease passed")
	}
	staleMu.Unlock()
	if !strings.Contains(a.log.String(), "leader: lost") {
		t.Errorf("a's log: %q; want leader: lost", a.log.String())
	}
	if _, _, r := a.snapshot(); len(r) == 0 || r[0] != leader.ReasonLost {
		t.Errorf("a's reasons %v, want %q first", r, leader.ReasonLost)
	}
	waitFor(t, "a to stand by again", 10*time.Second, func() bool {
		_, _, r := a.snapshot()
		return len(r) >= 2 && r[len(r)-1] == leader.ReasonStandby
	})

	// A graceful stop releases the lock: a takes over, never both at once.
	staleMu.Lock()
	stale = nil
	staleMu.Unlock()
	e.mu.Lock()
	e.most = e.leading
	e.mu.Unlock()
	b.stop()
	<-b.done
	if !strings.Contains(b.log.String(), "leader: released") {
		t.Errorf("b's log: %q; want leader: released", b.log.String())
	}
	waitFor(t, "a to lead again", 10*time.Second, func() bool { return a.leading() != nil })
	if terms, _, _ := a.snapshot(); terms != 2 {
		t.Errorf("a had %d terms, want 2", terms)
	}
	e.mu.Lock()
	most := e.most
	e.mu.Unlock()
	if most != 1 {
		t.Errorf("%d candidates led at once during a graceful handover, want 1", most)
	}
}

// TestFollowsWhileTheDatabaseIsDown: an unreachable database is a reason
// to stand by (retried), not to lead or to stop.
func TestFollowsWhileTheDatabaseIsDown(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	e := &election{t: t}
	c := e.start("down", store.New(&database.DB{Pool: pool}))
	waitFor(t, "two failed attempts", 20*time.Second, func() bool {
		_, _, r := c.snapshot()
		return len(r) >= 2
	})
	terms, _, r := c.snapshot()
	if terms != 0 || r[0] != leader.ReasonNoDB || r[1] != leader.ReasonNoDB {
		t.Errorf("terms %d, reasons %v; want none, %q", terms, r, leader.ReasonNoDB)
	}
	if !strings.Contains(c.log.String(), "leader: cannot take the lock") {
		t.Errorf("log %q", c.log.String())
	}
}
