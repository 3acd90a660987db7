package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

var ctx = context.Background()

func newStore(t *testing.T) (*store.Store, *database.DB) {
	t.Helper()
	db := dbtest.New(t)
	return store.New(db, store.Options{}), db
}

func addrN(n int) common.Address {
	var a common.Address
	a[0] = 0xa0
	a[19] = byte(n)
	a[18] = byte(n >> 8)
	return a
}

func sigN(n int) receipt.Signature {
	var s receipt.Signature
	s[0] = byte(n)
	s[64] = 27
	return s
}

func hashOf(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func mustCreate(t *testing.T, s *store.Store, n int) (store.Agent, string) {
	t.Helper()
	pk, h := store.NewPasskey()
	a, created, err := s.CreateAgent(ctx, store.NewAgent{Address: addrN(n), PasskeyHash: h, Timestamp: 1_700_000_000 + uint64(n), Signature: sigN(n)})
	if err != nil || !created {
		t.Fatalf("CreateAgent(%d) = %v, %v", n, created, err)
	}
	return a, pk
}

func TestCreateAgent(t *testing.T) {
	s, _ := newStore(t)
	before := time.Now().Add(-time.Minute)
	n := store.NewAgent{Address: addrN(1), PasskeyHash: hashOf("pk1"), Timestamp: 1_700_000_000, Signature: sigN(1)}
	a, created, err := s.CreateAgent(ctx, n)
	if err != nil || !created {
		t.Fatalf("CreateAgent = %v, %v", created, err)
	}
	want := store.Agent{
		Address: n.Address, PasskeyHash: n.PasskeyHash, RegTimestamp: n.Timestamp, RegSignature: n.Signature,
		AuthTimestamp: n.Timestamp, ChainState: store.ChainPending,
	}
	if diff := cmp.Diff(want, a, cmpopts.IgnoreFields(store.Agent{}, "RegisteredAt")); diff != "" {
		t.Errorf("created agent (-want +got):\n%s", diff)
	}
	if a.RegisteredAt.Before(before) || a.RegisteredAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("RegisteredAt = %v", a.RegisteredAt)
	}

	// Registering again changes nothing.
	again, created, err := s.CreateAgent(ctx, store.NewAgent{Address: addrN(1), PasskeyHash: hashOf("pk2"), Timestamp: 1_700_000_100, Signature: sigN(2)})
	if err != nil || created {
		t.Fatalf("second CreateAgent = %v, %v; want false, nil", created, err)
	}
	if diff := cmp.Diff(a, again); diff != "" {
		t.Errorf("existing agent changed (-before +after):\n%s", diff)
	}

	// Same passkey hash for another agent: a (theoretical) collision.
	_, _, err = s.CreateAgent(ctx, store.NewAgent{Address: addrN(2), PasskeyHash: hashOf("pk1"), Timestamp: 1, Signature: sigN(3)})
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("passkey hash collision: %v, want ErrExists", err)
	}

	got, err := s.AgentByAddress(ctx, addrN(1))
	if err != nil || !cmp.Equal(got, a) {
		t.Errorf("AgentByAddress = %+v, %v", got, err)
	}
	got, err = s.AgentByPasskeyHash(ctx, hashOf("pk1"))
	if err != nil || got.Address != addrN(1) {
		t.Errorf("AgentByPasskeyHash = %+v, %v", got, err)
	}
	if _, err := s.AgentByAddress(ctx, addrN(9)); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("AgentByAddress(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.AgentByPasskeyHash(ctx, hashOf("nope")); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("AgentByPasskeyHash(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := s.CreateAgent(ctx, store.NewAgent{Address: addrN(3), PasskeyHash: hashOf("x"), Timestamp: 1 << 63}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("timestamp 2^63: %v, want ErrInvalid", err)
	}
}

func TestRotatePasskeyReplayRule(t *testing.T) {
	s, _ := newStore(t)
	a, oldPK := mustCreate(t, s, 1) // auth_timestamp = registration timestamp
	reg := a.RegTimestamp
	steps := []struct {
		name string
		ts   uint64
		want error
	}{
		{"registration timestamp", reg, store.ErrStaleTimestamp},
		{"older than registration", reg - 1, store.ErrStaleTimestamp},
		{"newer", reg + 10, nil},
		{"replay of the rotation", reg + 10, store.ErrStaleTimestamp},
		{"between", reg + 5, store.ErrStaleTimestamp},
		{"newer again", reg + 11, nil},
	}
	for i, st := range steps {
		err := s.RotatePasskey(ctx, a.Address, hashOf(fmt.Sprint("rot", i)), st.ts)
		if !errors.Is(err, st.want) || (err == nil) != (st.want == nil) {
			t.Fatalf("%s: RotatePasskey(ts=%d) = %v, want %v", st.name, st.ts, err, st.want)
		}
	}
	got, err := s.AgentByAddress(ctx, a.Address)
	if err != nil {
		t.Fatal(err)
	}
	if got.AuthTimestamp != reg+11 || got.PasskeyHash != hashOf("rot5") || got.RegTimestamp != reg {
		t.Errorf("after rotations: auth_timestamp %d passkey %x reg %d", got.AuthTimestamp, got.PasskeyHash, got.RegTimestamp)
	}
	if _, err := s.AgentByPasskey(ctx, oldPK); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("old passkey after rotation: %v, want ErrNotFound", err)
	}
	if err := s.RotatePasskey(ctx, addrN(99), hashOf("x"), reg+100); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("unknown agent: %v, want ErrNotFound", err)
	}
	// Another agent's passkey hash.
	mustCreate(t, s, 2)
	b, _ := s.AgentByAddress(ctx, addrN(2))
	if err := s.RotatePasskey(ctx, a.Address, b.PasskeyHash, reg+100); !errors.Is(err, store.ErrExists) {
		t.Errorf("colliding hash: %v, want ErrExists", err)
	}
}

func TestRotatePasskeyConcurrentOnlyOneWins(t *testing.T) {
	s, _ := newStore(t)
	a, _ := mustCreate(t, s, 1)
	ts := a.RegTimestamp + 1
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.RotatePasskey(ctx, a.Address, hashOf(fmt.Sprint("c", i)), ts) })
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrStaleTimestamp):
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d rotations with one signed message succeeded, want 1", wins)
	}
}

func TestAgentByPasskeyCache(t *testing.T) {
	db := dbtest.New(t)
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := store.New(db, store.Options{PasskeyCacheTTL: 30 * time.Second, Now: clock})
	other := store.New(db, store.Options{}) // another tracker process on the same database

	a, pk := mustCreate(t, s, 1)
	for _, bad := range []string{"", "short", pk + "0", "ABCDEF0123456789ABCDEF0123456789", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"} {
		if _, err := s.AgentByPasskey(ctx, bad); !errors.Is(err, database.ErrNotFound) {
			t.Errorf("AgentByPasskey(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	unknown, _ := store.NewPasskey()
	if _, err := s.AgentByPasskey(ctx, unknown); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("unknown passkey: %v", err)
	}
	if got, err := s.AgentByPasskey(ctx, pk); err != nil || got != a.Address {
		t.Fatalf("AgentByPasskey = %v, %v", got, err)
	}

	// Rotated by another process: the cached passkey works until the TTL ends.
	newPK, newHash := store.NewPasskey()
	if err := other.RotatePasskey(ctx, a.Address, newHash, a.RegTimestamp+1); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AgentByPasskey(ctx, pk); err != nil || got != a.Address {
		t.Errorf("within TTL, old passkey = %v, %v; want the cached agent", got, err)
	}
	advance(31 * time.Second)
	if _, err := s.AgentByPasskey(ctx, pk); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("after TTL, old passkey = %v, want ErrNotFound", err)
	}
	if got, err := s.AgentByPasskey(ctx, newPK); err != nil || got != a.Address {
		t.Errorf("new passkey = %v, %v", got, err)
	}

	// Rotated through this store: the old one stops at once.
	newerPK, newerHash := store.NewPasskey()
	if err := s.RotatePasskey(ctx, a.Address, newerHash, a.RegTimestamp+2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AgentByPasskey(ctx, newPK); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("passkey rotated here still works: %v", err)
	}
	if got, err := s.AgentByPasskey(ctx, newerPK); err != nil || got != a.Address {
		t.Errorf("newest passkey = %v, %v", got, err)
	}
}

func TestPasskeyFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pk, h := store.NewPasskey()
		if !store.WellFormedPasskey(pk) || len(pk) != store.PasskeyLen || h != sha256.Sum256([]byte(pk)) || h != store.HashPasskey(pk) {
			t.Fatalf("NewPasskey = %q, %x", pk, h)
		}
		if seen[pk] {
			t.Fatalf("passkey %q repeated", pk)
		}
		seen[pk] = true
	}
}

func TestListAgentsPaging(t *testing.T) {
	s, db := newStore(t)
	const n = 11
	for i := range n {
		mustCreate(t, s, i)
	}
	// Make some registration times equal so the address breaks ties.
	if _, err := db.Pool.Exec(ctx, `UPDATE agents SET registered_at = '2025-01-01T00:00:00Z' WHERE get_byte(address, 19) IN (2, 3, 4, 5)`); err != nil {
		t.Fatal(err)
	}
	all, next, err := s.ListAgents(ctx, "", 100)
	if err != nil || next != "" || len(all) != n {
		t.Fatalf("ListAgents(all) = %d agents, %q, %v", len(all), next, err)
	}
	for i := 1; i < len(all); i++ {
		p, c := all[i-1], all[i]
		if p.RegisteredAt.Before(c.RegisteredAt) || p.RegisteredAt.Equal(c.RegisteredAt) && bytes.Compare(p.Address[:], c.Address[:]) <= 0 {
			t.Fatalf("not newest first at %d: %v %s, %v %s", i, p.RegisteredAt, p.Address, c.RegisteredAt, c.Address)
		}
	}
	for _, size := range []int{1, 3, 4, 11} {
		var paged []store.Agent
		token := ""
		for pages := 0; ; pages++ {
			page, nt, err := s.ListAgents(ctx, token, size)
			if err != nil {
				t.Fatalf("size %d page %d: %v", size, pages, err)
			}
			if len(page) > size || pages > n {
				t.Fatalf("size %d: page of %d", size, len(page))
			}
			paged = append(paged, page...)
			if nt == "" {
				break
			}
			token = nt
		}
		if diff := cmp.Diff(all, paged); diff != "" {
			t.Errorf("size %d: paged listing differs (-all +paged):\n%s", size, diff)
		}
	}
	for _, bad := range []string{"garbage!", "YQ", "ZAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if _, _, err := s.ListAgents(ctx, bad, 3); !errors.Is(err, store.ErrBadPageToken) {
			t.Errorf("ListAgents(token %q) = %v, want ErrBadPageToken", bad, err)
		}
	}
	// A dataset token is not an agent token.
	_, dtok := seedSearch(t, s)
	if _, _, err := s.ListAgents(ctx, dtok, 3); !errors.Is(err, store.ErrBadPageToken) {
		t.Errorf("dataset token for agents = %v, want ErrBadPageToken", err)
	}
}

// seedSearch publishes two datasets and returns a dataset page token.
func seedSearch(t *testing.T, s *store.Store) ([]store.Dataset, string) {
	t.Helper()
	pub := addrN(200)
	_, h := store.NewPasskey()
	if _, _, err := s.CreateAgent(ctx, store.NewAgent{Address: pub, PasskeyHash: h, Timestamp: 1, Signature: sigN(1)}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, _, err := s.PublishDataset(ctx, mkDataset(200+i, pub, fmt.Sprint("seed ", i), store.ModalityVideo, nil), []byte("d4:name1:xe"), pieces(2)); err != nil {
			t.Fatal(err)
		}
	}
	ds, tok, err := s.SearchDatasets(ctx, store.Search{}, "", 1)
	if err != nil || tok == "" {
		t.Fatal(err)
	}
	return ds, tok
}

func TestPendingRegistrations(t *testing.T) {
	s, _ := newStore(t)
	for i := range 4 {
		mustCreate(t, s, i)
	}
	pending, err := s.PendingRegistrations(ctx, 10)
	if err != nil || len(pending) != 4 {
		t.Fatalf("PendingRegistrations = %d, %v", len(pending), err)
	}
	for i, a := range pending {
		if a.Address != addrN(i) || a.ChainState != store.ChainPending {
			t.Errorf("pending[%d] = %s %s, want oldest first", i, a.Address, a.ChainState)
		}
	}
	if p, _ := s.PendingRegistrations(ctx, 2); len(p) != 2 || p[0].Address != addrN(0) {
		t.Errorf("limit 2: %d", len(p))
	}
	tx := common.HexToHash("0x1234")
	if err := s.SetRegistrationTx(ctx, addrN(1), tx); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.AgentByAddress(ctx, addrN(1)); a.ChainTx != tx || a.ChainState != store.ChainPending {
		t.Errorf("after SetRegistrationTx: %s %s", a.ChainTx, a.ChainState)
	}
	if err := s.MarkRegistered(ctx, addrN(1), common.Hash{}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRegistered(ctx, addrN(2), common.HexToHash("0xbeef")); err != nil {
		t.Fatal(err)
	}
	a1, _ := s.AgentByAddress(ctx, addrN(1))
	if a1.ChainState != store.ChainConfirmed || a1.ChainTx != tx || a1.ChainConfirmedAt.IsZero() {
		t.Errorf("confirmed with unknown tx keeps the known one: %+v", a1)
	}
	// Idempotent: the first confirmation time stays.
	if err := s.MarkRegistered(ctx, addrN(1), common.Hash{}); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.AgentByAddress(ctx, addrN(1)); !again.ChainConfirmedAt.Equal(a1.ChainConfirmedAt) {
		t.Errorf("confirmation time moved")
	}
	pending, _ = s.PendingRegistrations(ctx, 10)
	var got []common.Address
	for _, a := range pending {
		got = append(got, a.Address)
	}
	if diff := cmp.Diff([]common.Address{addrN(0), addrN(3)}, got); diff != "" {
		t.Errorf("still pending (-want +got):\n%s", diff)
	}
	if err := s.MarkRegistered(ctx, addrN(50), common.Hash{}); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("MarkRegistered(unknown) = %v", err)
	}
	if err := s.SetRegistrationTx(ctx, addrN(50), tx); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("SetRegistrationTx(unknown) = %v", err)
	}
}

func TestMigrationDownUp(t *testing.T) {
	url := dbtest.NewURL(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, database.Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatalf("down: %v", err)
	}
	var n int
	if err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE tablename IN ('agents', 'datasets', 'swarm_members')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after down: %d tracker tables, %v", n, err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

func TestSchemaChecks(t *testing.T) {
	_, db := newStore(t)
	agent := `INSERT INTO agents (address, passkey_hash, reg_timestamp, reg_signature, auth_timestamp) VALUES ($1, $2, 1, $3, 1)`
	sig := make([]byte, 65)
	if _, err := db.Pool.Exec(ctx, agent, addrN(1).Bytes(), make([]byte, 32), sig); err != nil {
		t.Fatal(err)
	}
	ds := `INSERT INTO datasets (info_hash, publisher, name, description, modality, tags, license, info,
		piece_length, piece_count, total_bytes, piece_sha256, publish_timestamp, publish_signature)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'x', 16384, 2, 20000, $8, 1, $9)`
	ok := []any{make([]byte, 20), addrN(1).Bytes(), "name", "", 1, []string{"a-1", "b"}, "", make([]byte, 64), sig}
	with := func(i int, v any) []any { a := append([]any(nil), ok...); a[i] = v; return a }
	long := func(n int) string { return string(bytes.Repeat([]byte("x"), n)) }
	tests := []struct {
		name string
		sql  string
		args []any
	}{
		{"short address", agent, []any{make([]byte, 19), make([]byte, 32), sig}},
		{"long passkey hash", agent, []any{addrN(2).Bytes(), make([]byte, 33), sig}},
		{"short signature", agent, []any{addrN(3).Bytes(), make([]byte, 32), sig[:64]}},
		{"info hash of 32 bytes", ds, with(0, make([]byte, 32))},
		{"empty name", ds, with(2, "")},
		{"name of 201 chars", ds, with(2, long(201))},
		{"description over 4 KiB", ds, with(3, long(4097))},
		{"modality 3", ds, with(4, 3)},
		{"upper-case tag", ds, with(5, []string{"Speech"})},
		{"empty tag", ds, with(5, []string{""})},
		{"tag with space", ds, with(5, []string{"a b"})},
		{"33-char tag", ds, with(5, []string{long(33)})},
		{"17 tags", ds, with(5, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q"})},
		{"license of 65 chars", ds, with(6, long(65))},
		{"piece hashes for 3 pieces", ds, with(7, make([]byte, 96))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Pool.Exec(ctx, tt.sql, tt.args...)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "23514" {
				t.Errorf("err = %v, want a check violation", err)
			}
		})
	}
	if _, err := db.Pool.Exec(ctx, ds, ok...); err != nil {
		t.Errorf("valid row refused: %v", err)
	}
	// A NULL tag.
	_, err := db.Pool.Exec(ctx, ds, with(0, bytes.Repeat([]byte{1}, 20))...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Pool.Exec(ctx, `UPDATE datasets SET tags = ARRAY['a', NULL]`)
	if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "23514" {
		t.Errorf("NULL tag: %v, want a check violation", err)
	}
}
