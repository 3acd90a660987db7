package database_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/database/dbtest"
)

func TestMigratedAndIsolated(t *testing.T) {
	ctx := context.Background()
	a, b := dbtest.New(t), dbtest.New(t)
	var v string
	if err := a.Pool.QueryRow(ctx, "SELECT value FROM pbts_meta WHERE key = 'schema'").Scan(&v); err != nil || v != "pbts" {
		t.Fatalf("schema marker = %q, %v; want pbts", v, err)
	}
	if _, err := a.Pool.Exec(ctx, "INSERT INTO pbts_meta VALUES ('only-in-a', 'x')"); err != nil {
		t.Fatal(err)
	}
	err := b.Pool.QueryRow(ctx, "SELECT value FROM pbts_meta WHERE key = 'only-in-a'").Scan(&v)
	if !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("second test database sees the first one's row: %v", err)
	}
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	url := dbtest.NewURL(t)
	if err := database.Migrate(context.Background(), url, database.Migrations(), nil); err != nil {
		t.Fatalf("re-running migrations on a migrated database: %v", err)
	}
}

func TestInTxRollsBackAndUniqueViolation(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t)
	boom := errors.New("boom")
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO pbts_meta VALUES ('k', 'v')"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	var n int
	db.Pool.QueryRow(ctx, "SELECT count(*) FROM pbts_meta WHERE key = 'k'").Scan(&n)
	if n != 0 {
		t.Fatalf("rolled-back row is visible")
	}
	_, err = db.Pool.Exec(ctx, "INSERT INTO pbts_meta VALUES ('schema', 'again')")
	if !database.IsUniqueViolation(err) {
		t.Fatalf("duplicate key: %v, want a unique violation", err)
	}
}

func TestOpenErrorsHidePassword(t *testing.T) {
	_, err := database.Open(context.Background(), "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=1&bogus=%zz")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open error %v: want an error without the password", err)
	}
}

func TestMigrateUntilDone(t *testing.T) {
	if err := database.MigrateUntilDone(context.Background(), dbtest.NewURL(t), nil); err != nil {
		t.Fatalf("reachable database: %v", err)
	}
	// Nothing listens on port 1: it keeps retrying until the context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := database.MigrateUntilDone(ctx, "postgres://postgres@127.0.0.1:1/x?connect_timeout=1", nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < time.Second {
		t.Fatalf("unreachable database: %v after %v; want to retry until the deadline", err, time.Since(start))
	}
}
