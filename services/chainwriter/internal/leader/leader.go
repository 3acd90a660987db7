// Package leader makes exactly one chainwriter of a deployment the active
// one. The writer signs with the tracker authority's key and owns its nonces,
// so two writing at once would fight over them (and pay for each other's
// failed transactions); replicas therefore elect a leader with a Postgres
// session advisory lock (store.TryLock: pg_try_advisory_lock on a dedicated
// connection, key store.LockKey(chain id, contract)).
//
// A process that does not hold the lock is a follower: it does no chain
// writes, reports NOT_SERVING, and tries again every Retry. The leader checks
// its lock's session every Retry (SELECT 1 on it) and the writer checks it
// again right before each transaction it broadcasts; when a check fails or
// the session dies, the term ends at once: the writer's context is cancelled,
// the process reports NOT_SERVING and campaigns again.
//
// Safety. Postgres frees a session lock only when that session ends (or it is
// unlocked), and a lost Lock is never reconnected, so a follower can take over
// only after the old leader's session is over. A leader that was SIGKILLed or
// crashed sends nothing more. One still running whose session was ended under
// it (network cut, backend terminated, server restart) learns it at its next
// check: at the latest Retry later from the periodic check, and before any
// further broadcast from the pre-send check. What it can still send after
// the follower took over is therefore bounded by the broadcasts whose
// pre-send check had already passed when its session ended: at most the one
// SendTransaction in flight (up to --rpc-timeout), while the follower first
// has to connect, bind and observe the chain. Even such an overlap costs only
// fees: every transaction is signed with the same key from the same journal,
// the contract accepts each batch id once and in order, and the writer
// resolves a nonce taken by another transaction; receipts are never counted
// twice. A leader whose network to Postgres is cut stops at its next check
// (it times out); the server drops its session after its TCP keepalives fail
// (about 25 s, see store.TryLock), and only then can a follower take over.
package leader

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Lease is a held lock (a *store.Lock).
type Lease interface {
	// Check tells whether the lock is still held; a failure is final.
	Check(ctx context.Context) error
	// Done is closed once the lock is known lost or released.
	Done() <-chan struct{}
	// Release gives the lock up (harmless when already lost).
	Release()
}

// ErrHeld is what Acquire returns when another process holds the lock (the
// caller maps its own error, e.g. store.ErrLocked, to it).
var ErrHeld = errors.New("another chainwriter holds the lock")

// Config tunes the election.
type Config struct {
	// Retry is the period of the attempts to take the lock while following,
	// and of the checks of the lock while leading.
	Retry time.Duration
	// Timeout bounds one attempt or check (a check that does not answer in
	// time loses the lock: its session may be gone).
	Timeout time.Duration
	// Acquire tries to take the lock once: ErrHeld (possibly wrapped) when
	// another process holds it, another error when the database cannot be
	// reached.
	Acquire func(ctx context.Context) (Lease, error)
	// Lead runs the work while this process holds the lock. Its context is
	// cancelled as soon as the lock is lost (or the election ends); it must
	// then return promptly. Returning early ends the term (the lock is
	// released and the process campaigns again after Retry).
	Lead func(ctx context.Context, l Lease)
	// Follow is told why this process does not lead: before it first leads,
	// and after every term. It is never called while Lead runs.
	Follow func(reason string)
	Log    *slog.Logger
}

// Follow reasons.
const (
	ReasonStandby = "standby: another chainwriter holds the writer lock"
	ReasonLost    = "standby: writer lock lost"
	ReasonNoDB    = "database unavailable"
)

// Run campaigns until ctx ends, leading whenever it holds the lock. On
// return nothing runs any more and the lock, if held, has been released (so
// a follower takes over at once after a graceful stop).
func Run(ctx context.Context, c Config) {
	var (
		waiting   bool   // logged "waiting" since the last change
		lastErr   string // last database error logged
		lastLogAt time.Time
	)
	for ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, c.Timeout)
		l, err := c.Acquire(actx)
		cancel()
		switch {
		case err == nil:
			waiting, lastErr = false, ""
			if !lead(ctx, c, l) {
				return
			}
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrHeld):
			if !waiting || time.Since(lastLogAt) > 10*time.Minute {
				c.Log.Info("leader: waiting (another chainwriter holds the lock)", "retry", c.Retry)
				lastLogAt = time.Now()
			}
			waiting, lastErr = true, ""
			c.Follow(ReasonStandby)
		default:
			if err.Error() != lastErr || time.Since(lastLogAt) > time.Minute {
				c.Log.Warn("leader: cannot take the lock; retrying", "err", err, "retry", c.Retry)
				lastLogAt = time.Now()
			}
			waiting, lastErr = false, err.Error()
			c.Follow(ReasonNoDB)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.Retry):
		}
	}
}

// lead runs one term; it returns false when ctx ended.
func lead(ctx context.Context, c Config, l Lease) bool {
	c.Log.Info("leader: acquired")
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Lead(tctx, l)
	}()
	tick := time.NewTicker(c.Retry)
	defer tick.Stop()
	var lost error
	for lost == nil {
		select {
		case <-ctx.Done():
			cancel()
			<-done
			l.Release()
			c.Log.Info("leader: released (stopping)")
			return false
		case <-done:
			// The work ended by itself: because its own check found the
			// lock lost (the writer checks before every send), or for
			// another reason, and then the lock goes to someone else.
			cctx, ccancel := context.WithTimeout(ctx, c.Timeout)
			lost = l.Check(cctx)
			ccancel()
			if lost == nil || ctx.Err() != nil {
				l.Release()
				c.Log.Warn("leader: released (the writer stopped)")
				c.Follow(ReasonLost)
				return ctx.Err() == nil
			}
		case <-l.Done():
			lost = l.Check(ctx) // the reason
			if lost == nil {
				lost = errors.New("lock gone")
			}
		case <-tick.C:
			cctx, ccancel := context.WithTimeout(ctx, c.Timeout)
			err := l.Check(cctx)
			ccancel()
			if err != nil && ctx.Err() == nil {
				lost = err
			}
		}
	}
	// Stop writing at once; then report, so the health never shows SERVING
	// for a term that is over.
	cancel()
	<-done
	l.Release()
	c.Log.Warn("leader: lost", "err", lost)
	c.Follow(ReasonLost)
	return ctx.Err() == nil
}
