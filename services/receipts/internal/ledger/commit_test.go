package ledger_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/database/dbtest"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
)

// fakeItem is a verified receipt; its digest stands in for the real one (the
// ledger only needs one digest per distinct content).
func fakeItem(ih byte, receiver, sender byte, piece uint32, size uint32, ts uint64) ledger.Item {
	r := receipt.Receipt{
		InfoHash: [32]byte{ih}, Receiver: common.Address{receiver}, Sender: common.Address{sender},
		PieceHash: [32]byte{0xee}, PieceIndex: piece, PieceSize: size, Timestamp: ts,
	}
	return ledger.Item{Receipt: r, Parsed: true, Digest: sha256.Sum256(fmt.Appendf(nil, "%v", r)), PieceLen: 1000}
}

// TestConcurrentCommitsKeepInvariants commits random, overlapping requests
// from several stores at once (as several service replicas would, each with
// several writers): every key is reserved once, every piece's credit is the
// sum of its receipts and never above its length, each stored receipt was
// answered ACCEPTED exactly once, and the pending totals add up.
func TestConcurrentCommitsKeepInvariants(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var pool []ledger.Item
	for range 400 {
		// 2 torrents x 2 receivers x 4 pieces, 4 senders, sizes up to 70% of
		// a piece, two timestamps (same key, other content).
		ih, rc := byte(1+rng.IntN(2)), byte(10+rng.IntN(2))
		pool = append(pool, fakeItem(ih, rc, byte(20+rng.IntN(4)), uint32(rng.IntN(4)), uint32(1+rng.IntN(700)), uint64(1+rng.IntN(2))))
	}
	type answer struct {
		digest [32]byte
		status pbtsv1.ReceiptStatus
		reason pbtsv1.RefusalReason
	}
	var mu sync.Mutex
	var answers []answer
	var wg sync.WaitGroup
	for g := range 12 {
		st := ledger.New(db.Pool, ledger.Options{Writers: 3})
		seed := uint64(g)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, 7))
			for range 15 {
				items := make([]ledger.Item, 10+rng.IntN(40))
				for i := range items {
					items[i] = pool[rng.IntN(len(pool))]
				}
				if _, err := st.Commit(ctx, items, time.Now()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, it := range items {
					answers = append(answers, answer{it.Digest, it.Status, it.Reason})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	acceptedOnce := map[[32]byte]int{}
	for _, a := range answers {
		switch a.status {
		case pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED:
			acceptedOnce[a.digest]++
		case pbtsv1.ReceiptStatus_RECEIPT_STATUS_DUPLICATE:
		case pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED:
			if a.reason != pbtsv1.RefusalReason_REFUSAL_REASON_CONFLICTING_DUPLICATE &&
				a.reason != pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_OVERCREDITED {
				t.Errorf("unexpected refusal %v", a.reason)
			}
		default:
			t.Errorf("undecided answer %v", a)
		}
	}
	rows, err := db.Pool.Query(ctx, `SELECT digest FROM receipts`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[[32]byte]bool{}
	for rows.Next() {
		var d []byte
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		stored[[32]byte(d)] = true
	}
	if len(stored) == 0 {
		t.Fatal("nothing stored")
	}
	for d := range stored {
		if acceptedOnce[d] != 1 {
			t.Errorf("stored receipt 0x%x answered ACCEPTED %d times, want 1", d, acceptedOnce[d])
		}
	}
	for d := range acceptedOnce {
		if !stored[d] {
			t.Errorf("receipt 0x%x answered ACCEPTED but not stored", d)
		}
	}
	var bad int
	err = db.Pool.QueryRow(ctx, `
		SELECT count(*) FROM (
			SELECT p.piece, p.credited, p.piece_len, coalesce(sum(r.piece_size), 0) AS sum
			  FROM piece_credit p
			  LEFT JOIN receipts r ON r.info_hash = substring(p.piece from 1 for 32)
			                      AND r.receiver = substring(p.piece from 33 for 20)
			                      AND r.piece_index = ('x' || encode(substring(p.piece from 53 for 4), 'hex'))::bit(32)::bigint
			 GROUP BY p.piece, p.credited, p.piece_len) x
		 WHERE credited <> sum OR credited > piece_len`).Scan(&bad)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d pieces whose credit is not the sum of their receipts or exceeds their length", bad)
	}
	err = db.Pool.QueryRow(ctx, `
		WITH s AS (
			SELECT agent, sum(up) AS up, sum(down) AS down, sum(n) AS n FROM (
				SELECT sender AS agent, piece_size AS up, 0 AS down, 1 AS n FROM receipts
				UNION ALL SELECT receiver, 0, piece_size, 1 FROM receipts) u GROUP BY agent)
		SELECT count(*) FROM s FULL JOIN pending_totals t USING (agent)
		 WHERE t.upload_bytes IS DISTINCT FROM s.up OR t.download_bytes IS DISTINCT FROM s.down
		    OR t.receipt_count IS DISTINCT FROM s.n`).Scan(&bad)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d agents whose pending totals are not the sums of their receipts", bad)
	}
	t.Logf("%d answers, %d receipts stored", len(answers), len(stored))
}
