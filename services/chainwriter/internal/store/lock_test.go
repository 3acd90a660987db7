package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
)

const testKey = int64(0x7062747363770001)

// pinnedKey is LockKey(31337, 0x5FbDB2315678afecb367f032d93F642f64180aa3),
// computed independently: the first 8 bytes of
// cast keccak 0x$(printf pbts/chainwriter/leader/v1 | xxd -p)0000000000007a695FbDB2315678afecb367f032d93F642f64180aa3
const pinnedKey = 0x1581ad37aa385bd8

// A released writer lock can be taken at once by another writer (a
// takeover or a test's next writer), not only once the server has noticed
// the closed session.
func TestLockReleaseIsImmediate(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t)
	a, b := store.New(db), store.New(db)
	for i := range 50 {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		l, err := first.TryLock(ctx, testKey)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if _, err := second.TryLock(ctx, testKey); !errors.Is(err, store.ErrLocked) {
			t.Fatalf("round %d: a second lock while held: %v, want ErrLocked", i, err)
		}
		l.Release()
		l2, err := second.TryLock(ctx, testKey)
		if err != nil {
			t.Fatalf("round %d: lock right after release: %v", i, err)
		}
		l2.Release()
		l2.Release() // twice is harmless
		if err := l2.Check(ctx); err == nil {
			t.Fatalf("round %d: Check of a released lock succeeded", i)
		}
	}
}

// The lock lives on a session of its own, not one of the pool's: when that
// session ends (here the backend is terminated, as when a connection dies),
// Check fails, Done closes, the lock stays lost, and another writer takes it.
func TestLockLostWithItsSession(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t)
	st := store.New(db)
	l, err := st.TryLock(ctx, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := l.Check(ctx); err != nil {
		t.Fatalf("Check of a held lock: %v", err)
	}
	var app string
	var holders int
	if err := db.Pool.QueryRow(ctx, `SELECT a.application_name, count(*) OVER ()
		FROM pg_locks k JOIN pg_stat_activity a ON a.pid = k.pid
		WHERE k.locktype = 'advisory' AND k.granted AND k.pid = $1`, int32(l.PID())).Scan(&app, &holders); err != nil {
		t.Fatalf("the lock's session in pg_locks: %v", err)
	}
	if app != "pbts-chainwriter-lock" || holders != 1 {
		t.Errorf("lock held by a session named %q (%d rows), want pbts-chainwriter-lock", app, holders)
	}
	// Not a pool connection: the pool still holds only its own sessions.
	var inPool bool
	for _, c := range db.Pool.AcquireAllIdle(ctx) {
		inPool = inPool || c.Conn().PgConn().PID() == l.PID()
		c.Release()
	}
	if inPool {
		t.Error("the lock's session is one of the pool's connections")
	}

	if _, err := db.Pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, int32(l.PID())); err != nil {
		t.Fatal(err)
	}
	// The follower may take it as soon as the server ended the session.
	deadline := time.Now().Add(10 * time.Second)
	other, err := st.TryLock(ctx, testKey)
	for errors.Is(err, store.ErrLocked) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		other, err = st.TryLock(ctx, testKey)
	}
	if err != nil {
		t.Fatalf("lock after its session was terminated: %v", err)
	}
	defer other.Release()
	if err := l.Check(ctx); err == nil {
		t.Fatal("Check succeeded after the lock's session was terminated")
	}
	select {
	case <-l.Done():
	default:
		t.Error("Done not closed after a failed Check")
	}
	if err := l.Check(ctx); err == nil {
		t.Error("a lost lock checked fine again (it must never reconnect)")
	}
	if err := other.Check(ctx); err != nil {
		t.Errorf("the new holder's Check: %v", err)
	}
}

// LockKey differs by chain and by contract and is stable (replicas of one
// deployment must agree on it).
func TestLockKey(t *testing.T) {
	c1, c2 := common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"), common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
	k := store.LockKey(31337, c1)
	if k != store.LockKey(31337, c1) {
		t.Fatal("LockKey is not deterministic")
	}
	if k == store.LockKey(1, c1) || k == store.LockKey(31337, c2) {
		t.Errorf("LockKey(31337, %s) = %#x equals the key of another chain or contract", c1, k)
	}
	// Pinned: changing the derivation would let an old and a new replica run
	// side by side during an upgrade.
	if want := int64(pinnedKey); k != want {
		t.Errorf("LockKey(31337, %s) = %#x, want %#x", c1, k, want)
	}
	// Two deployments on one database do not block each other.
	db := dbtest.New(t)
	st := store.New(db)
	l1, err := st.TryLock(context.Background(), store.LockKey(31337, c1))
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Release()
	l2, err := st.TryLock(context.Background(), store.LockKey(31337, c2))
	if err != nil {
		t.Fatalf("another contract's lock on the same database: %v", err)
	}
	l2.Release()
}
