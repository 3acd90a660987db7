// Package database is the thin Postgres layer every PBTS service shares: a
// pgx pool with InTx, the embedded schema migrations (goose, one ordered
// stream for the whole suite, applied under a Postgres advisory lock so
// services starting together do not race), and error helpers.
package database

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var embedded embed.FS

// Migrations is the suite's schema, in goose's annotated SQL.
func Migrations() fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// ErrNotFound is what store methods return for a missing row.
var ErrNotFound = errors.New("not found")

// DB wraps a pgx pool.
type DB struct {
	Pool *pgxpool.Pool
}

// Open connects and pings, failing fast (within 10 s) when nothing answers.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", redact(err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping database %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return &DB{Pool: pool}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.Pool, fn)
}

// Migrate applies every pending migration of fsys to the database at url.
func Migrate(ctx context.Context, url string, fsys fs.FS, log *slog.Logger) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", redact(err))
	}
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	return migrate(ctx, sqlDB, fsys, log)
}

func migrate(ctx context.Context, sqlDB *sql.DB, fsys fs.FS, log *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		if log != nil {
			log.Info("migration applied", "version", r.Source.Version, "path", r.Source.Path, "took", r.Duration)
		}
	}
	return nil
}

// IsUniqueViolation tells whether err is Postgres's unique_violation (23505).
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// redact keeps a connection string's password out of an error message:
// pgx's parse errors quote the input.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string (not shown: it may hold a password)")
	}
	return err
}

// MigrateUntilDone applies the suite's migrations to the database at url,
// retrying with backoff (up to 15 s apart) while it is unreachable, so a
// service can start before its database. It returns nil once migrated and
// ctx's error if ctx ends first.
func MigrateUntilDone(ctx context.Context, url string, log *slog.Logger) error {
	delay := 500 * time.Millisecond
	for {
		err := Migrate(ctx, url, Migrations(), log)
		if err == nil {
			return nil
		}
		if log != nil {
			log.Warn("database not ready; retrying", "err", err, "in", delay)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 15*time.Second)
	}
}

// Unavailable tells errors of a database that cannot be reached (down,
// restarting, shutting down, out of connections, a connection cut) from
// everything else: a service answers them with codes.Unavailable, which
// clients retry, and not with Internal.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") || strings.HasPrefix(pe.Code, "57")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || strings.Contains(err.Error(), "closed pool")
}
