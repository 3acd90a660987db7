package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/jackc/pgx/v5"
)

// ErrLocked means another chainwriter holds the writer lock.
var ErrLocked = errors.New("another chainwriter holds the writer lock")

// LockKey is the key of the writer lock (a Postgres advisory lock, an int64)
// of the chainwriters of one contract on one chain: the first 8 bytes,
// big-endian, of keccak256("pbts/chainwriter/leader/v1" || chainID as 8
// big-endian bytes || the 20-byte contract address). Two deployments (another
// contract or chain) on one database therefore take different locks, and
// every replica of one deployment takes the same one. (Advisory locks are
// per database anyway: deployments on different databases never meet.)
func LockKey(chainID uint64, contract common.Address) int64 {
	h := crypto.Keccak256([]byte("pbts/chainwriter/leader/v1"), binary.BigEndian.AppendUint64(nil, chainID), contract[:])
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// Lock is the writer lock: a session-level Postgres advisory lock
// (pg_try_advisory_lock) held on a connection of its own, opened for it and
// never shared with the pool, so the lock lives exactly as long as that
// session. Postgres releases it when the session ends: the process died (the
// server sees the socket close), the connection was cut, or the backend was
// terminated. A Lock is never reconnected: once a check fails it stays lost
// (a new session would not hold the lock), and its holder must take a new
// one. Its methods are safe for concurrent use (the election's periodic
// check and the writer's check before each send share it).
type Lock struct {
	key  int64
	pid  uint32
	done chan struct{}

	mu   sync.Mutex
	conn *pgx.Conn
	lost error // why the lock is no longer held; nil while held
}

// lockKeepalive makes the server notice a lock holder that vanished without
// closing its socket (a host or network failure) in about 10 + 3×5 s instead
// of the operating system's default of hours, so a follower can take over.
// They are server settings of the lock's session only.
var lockKeepalive = map[string]string{
	"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3",
}

// TryLock opens a connection of its own (with the pool's settings) and takes
// the writer lock key on it, or returns ErrLocked when another session holds
// it.
func (s *Store) TryLock(ctx context.Context, key int64) (*Lock, error) {
	cfg := s.db.Pool.Config().ConnConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	maps.Copy(cfg.RuntimeParams, lockKeepalive)
	cfg.RuntimeParams["application_name"] = "pbts-chainwriter-lock"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("writer lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("writer lock: %w", err)
	}
	if !ok {
		closeConn(conn)
		return nil, ErrLocked
	}
	return &Lock{key: key, pid: conn.PgConn().PID(), conn: conn, done: make(chan struct{})}, nil
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.Close(ctx)
}

// Key is the lock's key.
func (l *Lock) Key() int64 { return l.key }

// PID is the server process of the lock's session (pg_stat_activity.pid).
func (l *Lock) PID() uint32 { return l.pid }

// Done is closed once the lock is known lost or has been released.
func (l *Lock) Done() <-chan struct{} { return l.done }

// Check tells whether the lock's session is still alive (the lock lives and
// dies with it): a round trip (SELECT 1) on it, bounded by ctx. A failure
// (including ctx expiring: the session may be gone) loses the lock for good.
func (l *Lock) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	if _, err := l.conn.Exec(ctx, `SELECT 1`); err != nil {
		l.loseLocked(fmt.Errorf("writer lock session: %w", err))
		return l.lost
	}
	return nil
}

// loseLocked records why the lock is gone and closes the session (l.mu held).
func (l *Lock) loseLocked(why error) {
	l.lost = why
	close(l.done)
	closeConn(l.conn)
}

// errReleased is a released lock's Check error.
var errReleased = errors.New("writer lock released")

// Release drops the lock: unlocked explicitly first, because the server
// ends a closed session (and frees its locks) only some time after the client
// has gone, and a writer taking over at once would find the lock still held.
// Closing the session frees it in any case. Releasing twice, or a lost lock,
// is harmless.
func (l *Lock) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, _ = l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key)
	cancel()
	l.loseLocked(errReleased)
}
