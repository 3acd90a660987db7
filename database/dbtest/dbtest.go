// Package dbtest gives each test its own freshly migrated Postgres database,
// cloned from a template that is migrated once per test process.
//
// The server comes from PBTS_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres). When it does not answer the
// tests are skipped locally but fail when CI=true.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/database"
)

// DefaultURL is the test server when PBTS_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	once     sync.Once
	template string
	setupErr error
)

// ServerURL is the admin connection string of the test server.
func ServerURL() string {
	if u := os.Getenv("PBTS_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// withDB replaces the database name of a connection URL.
func withDB(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// templateName names the template after the migrations' content, so every
// test process of the same tree shares one template and a schema change
// gets a new one.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(database.Migrations(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(database.Migrations(), p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	return "pbts_tmpl_" + hex.EncodeToString(h.Sum(nil)[:8]), err
}

func setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if template, setupErr = templateName(); setupErr != nil {
		return
	}
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		setupErr = fmt.Errorf("connect test Postgres: %w", err)
		return
	}
	defer admin.Close(ctx)
	// Test binaries of several packages run at once: one creates the template.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		setupErr = err
		return
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock(727274)")
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", template).Scan(&exists); err != nil {
		setupErr = err
		return
	}
	if exists {
		return
	}
	building := template + "_building"
	admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		setupErr = fmt.Errorf("create template: %w", err)
		return
	}
	if err := database.Migrate(ctx, withDB(ServerURL(), building), database.Migrations(), nil); err != nil {
		setupErr = err
		return
	}
	// Only a fully migrated template gets the name others look for.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+template); err != nil {
		setupErr = fmt.Errorf("name template: %w", err)
	}
}

// NewURL creates a migrated database for this test, dropped when it ends,
// and returns its connection string.
func NewURL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test database: %v", setupErr)
		}
		t.Skipf("test database unavailable (set PBTS_TEST_DATABASE_URL): %v", setupErr)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := randomName("pbts_test_")
	// CREATE DATABASE ... TEMPLATE fails while another session uses the
	// template; no session does after setup, but retry briefly anyway.
	for i := 0; ; i++ {
		_, err = admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template))
		if err == nil || i == 20 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return withDB(ServerURL(), name)
}

// New returns an open pool on a fresh migrated database, closed when the test ends.
func New(t testing.TB) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}
