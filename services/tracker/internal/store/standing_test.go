package store_test

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

// receiptRow inserts an accepted receipt of sender → receiver (pending) and
// adds it to pending_totals, as the receipts service does.
func receiptRow(t *testing.T, db *database.DB, n int, sender, receiver common.Address, size int64) {
	t.Helper()
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		var d, ih, ph [32]byte
		d[0], d[1], d[2] = 0xd1, byte(n), byte(n>>8)
		ih[0] = 0x1b
		sig := sigN(n)
		if _, err := tx.Exec(ctx, `INSERT INTO receipts (digest, info_hash, receiver, piece_index, sender, piece_hash, piece_size, signed_ts, signature, accepted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, now())`, d[:], ih[:], receiver[:], n, sender[:], ph[:], size, sig[:]); err != nil {
			return err
		}
		for _, a := range []struct {
			addr     common.Address
			up, down int64
		}{{sender, size, 0}, {receiver, 0, size}} {
			if _, err := tx.Exec(ctx, `INSERT INTO pending_totals AS p (agent, upload_bytes, download_bytes, receipt_count) VALUES ($1, $2, $3, 1)
				ON CONFLICT (agent) DO UPDATE SET upload_bytes = p.upload_bytes + excluded.upload_bytes,
				download_bytes = p.download_bytes + excluded.download_bytes, receipt_count = p.receipt_count + 1`, a.addr[:], a.up, a.down); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func standing(t *testing.T, s *store.Store, a common.Address) store.Standing {
	t.Helper()
	st, err := s.AgentStanding(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A batch settling moves its receipts' bytes from pending to settled in one
// transaction, and a reorg (settled_at cleared) moves them back: the sum the
// gate sees never changes, and one read sees both sides at one moment.
func TestStandingMovesAtomicallyWhenABatchSettles(t *testing.T) {
	s, db := newStore(t)
	seeder, _ := mustCreate(t, s, 1)
	leecher, _ := mustCreate(t, s, 2)
	if st := standing(t, s, seeder.Address); !st.Registered || st.BaseKnown {
		t.Fatalf("new agent: %+v; want registered without a base", st)
	}
	if st := standing(t, s, addrN(99)); st.Registered {
		t.Fatalf("unknown agent: %+v", st)
	}
	if err := s.SetExpectedBase(ctx, seeder.Address, 1000, 0); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		receiptRow(t, db, i, seeder.Address, leecher.Address, 100)
	}
	before := standing(t, s, seeder.Address)
	if !before.BaseKnown || before.BaseUpload != 1000 || before.PendingUpload != 300 || before.SettledUpload != 0 {
		t.Fatalf("before settling: %+v", before)
	}
	// The chainwriter's batch: two of the three receipts, then settled.
	mustExec(t, db, `INSERT INTO receipt_batches (id, root, receipt_count) VALUES (1, $1, 2)`, make([]byte, 32))
	mustExec(t, db, `UPDATE receipts SET batch_id = 1 WHERE piece_index < 2`)
	mustExec(t, db, `UPDATE receipt_batches SET tx_hash = $1, block_number = 7, settled_at = now() WHERE id = 1`, make([]byte, 32))
	after := standing(t, s, seeder.Address)
	if after.SettledUpload != 200 || after.PendingUpload != 100 || after.BaseUpload+after.SettledUpload+after.PendingUpload != 1300 {
		t.Fatalf("after settling: %+v; want 200 settled, 100 pending, 1300 in all", after)
	}
	if l := standing(t, s, leecher.Address); l.SettledDownload != 200 || l.PendingDownload != 100 {
		t.Fatalf("leecher after settling: %+v", l)
	}
	mustExec(t, db, `UPDATE receipt_batches SET tx_hash = NULL, block_number = NULL, settled_at = NULL WHERE id = 1`)
	if re := standing(t, s, seeder.Address); re.SettledUpload != 0 || re.PendingUpload != 300 {
		t.Fatalf("after a reorg: %+v; want everything pending again", re)
	}
	// The chainwriter's confirmed base replaces the expected one; an expected
	// one never replaces it.
	mustExec(t, db, `UPDATE agents SET base_upload = 900, base_download = 5, base_confirmed = true WHERE address = $1`, seeder.Address[:])
	if err := s.SetExpectedBase(ctx, seeder.Address, 1000, 0); err != nil {
		t.Fatal(err)
	}
	if st := standing(t, s, seeder.Address); !st.BaseConfirmed || st.BaseUpload != 900 || st.BaseDownload != 5 {
		t.Fatalf("confirmed base: %+v", st)
	}
}

func mustExec(t *testing.T, db *database.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
