// Package store is the tracker's Postgres layer: agents (registration,
// passkeys, on-chain registration state), the dataset catalog and swarm
// membership. SQL is hand-written for pgx; addresses and hashes are stored as
// their canonical bytes. Missing rows are database.ErrNotFound; conflicts are
// the sentinels below.
//
// The announce path calls AgentByPasskey, Torrent and RecordMember on every
// request, so those are served from bounded in-memory caches where possible.
package store

import (
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pbts/pbts/database"
)

// Sentinel errors. A missing row is database.ErrNotFound.
var (
	// ErrExists reports a row that already exists and is not the caller's:
	// an info hash published by another agent, or (practically impossible) a
	// passkey hash collision.
	ErrExists = errors.New("already exists")
	// ErrStaleTimestamp reports a signed timestamp that is not newer than the
	// newest one the agent used before (a replayed or reordered message).
	ErrStaleTimestamp = errors.New("signed timestamp is not newer than the last one used")
	// ErrUnknownAgent reports a reference to an agent that is not registered.
	ErrUnknownAgent = errors.New("agent is not registered")
	// ErrBadPageToken reports a page token this store did not issue for the
	// same query.
	ErrBadPageToken = errors.New("invalid page token")
	// ErrInvalid reports a value the schema cannot hold (out of range).
	ErrInvalid = errors.New("invalid value")
)

// Options tunes the caches. Zero values take the defaults.
type Options struct {
	// PasskeyCacheSize bounds the passkey -> agent cache (default 100,000).
	PasskeyCacheSize int
	// PasskeyCacheTTL bounds how long a passkey rotated by another tracker
	// process keeps working here (default 30 s). Rotations through this Store
	// take effect at once.
	PasskeyCacheTTL time.Duration
	// TorrentCacheSize bounds the info hash -> layout cache (default 100,000).
	TorrentCacheSize int
	// MemberRefresh is how often a swarm member's last_seen is written at most
	// (default 1 min); announces in between cost no database write.
	MemberRefresh time.Duration
	// MemberCacheSize bounds the recently-recorded-member cache (default 200,000).
	MemberCacheSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.PasskeyCacheSize <= 0 {
		o.PasskeyCacheSize = 100_000
	}
	if o.PasskeyCacheTTL <= 0 {
		o.PasskeyCacheTTL = 30 * time.Second
	}
	if o.TorrentCacheSize <= 0 {
		o.TorrentCacheSize = 100_000
	}
	if o.MemberRefresh <= 0 {
		o.MemberRefresh = time.Minute
	}
	if o.MemberCacheSize <= 0 {
		o.MemberCacheSize = 200_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Store is the tracker's database access. It is safe for concurrent use.
type Store struct {
	db       *database.DB
	opts     Options
	passkeys *cache[[32]byte, passkeyEntry]
	torrents *cache[[20]byte, Layout]
	members  *cache[memberKey, struct{}]
}

// New returns a Store on db.
func New(db *database.DB, opts Options) *Store {
	opts.defaults()
	return &Store{
		db:       db,
		opts:     opts,
		passkeys: newCache[[32]byte, passkeyEntry](opts.PasskeyCacheSize, opts.PasskeyCacheTTL, opts.Now),
		torrents: newCache[[20]byte, Layout](opts.TorrentCacheSize, 0, opts.Now),
		members:  newCache[memberKey, struct{}](opts.MemberCacheSize, opts.MemberRefresh, opts.Now),
	}
}

// notFound maps pgx.ErrNoRows to database.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return database.ErrNotFound
	}
	return err
}

// isForeignKeyViolation tells whether err is Postgres's foreign_key_violation.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
