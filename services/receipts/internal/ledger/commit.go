package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pbts/pbts/database"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// Store is the receipts ledger on a pgx pool.
type Store struct {
	pool    *pgxpool.Pool
	writers chan struct{}
	quota   Quota
}

// Quota is the receiver quota: a receipt is refused (RECEIVER_OVER_QUOTA)
// when crediting it would take its receiver's download past its upload
// divided by MinRatioNum/MinRatioDen, upload and download being the
// registration base + settled + pending bytes (migration 00005). A zero
// MinRatioDen disables it.
type Quota struct {
	MinRatioNum, MinRatioDen uint64
}

// Options configures a Store.
type Options struct {
	// Writers is how many Commit transactions run at a time (at least 1).
	// Concurrent writers of one table contend for the same right-most index
	// pages and the WAL insert locks: on a small machine Postgres spends half
	// again as much CPU per receipt with four writers as with one
	// (BenchmarkStatements), so the service verifies requests in parallel
	// but commits them one at a time by default.
	Writers int
	Quota   Quota
}

// New returns a store on pool.
func New(pool *pgxpool.Pool, o Options) *Store {
	return &Store{pool: pool, writers: make(chan struct{}, max(o.Writers, 1)), quota: o.Quota}
}

// Pool is the store's pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// maxAttempts bounds the transaction retries after a deadlock or a
// serialization failure.
const maxAttempts = 4

// errRace reports a receipt that conflicted with a row which then vanished (a
// concurrent transaction refused it after all): the transaction is retried.
var errRace = errors.New("ledger: conflicting receipt vanished; retry")

// Commit decides every undecided item of one request in one transaction:
// each new receipt is persisted and ACCEPTED, or found to be a DUPLICATE, a
// CONFLICTING_DUPLICATE or PIECE_OVERCREDITED. Items are only changed once the
// transaction has committed; on an error nothing was applied and no item was
// changed. The verifier must have set PieceLen and checked PieceSize <=
// PieceLen. It returns the number of transaction attempts made.
func (s *Store) Commit(ctx context.Context, items []Item, acceptedAt time.Time) (int, error) {
	p := newPlan(items)
	attempts := 0
	if len(p.cand) > 0 {
		select {
		case s.writers <- struct{}{}:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		defer func() { <-s.writers }()
		dec := make([]decision, len(p.cand))
		for {
			attempts++
			clear(dec)
			err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
				return p.run(ctx, tx, items, dec, acceptedAt, s.quota)
			})
			if err == nil {
				break
			}
			if attempts >= maxAttempts || !retryable(err) {
				return attempts, err
			}
			select {
			case <-ctx.Done():
				return attempts, ctx.Err()
			case <-time.After(time.Duration(attempts) * 5 * time.Millisecond):
			}
		}
		for j, i := range p.cand {
			d := &dec[j]
			it := &items[i]
			it.Status, it.Reason, it.Detail = d.status, d.reason, d.detail
		}
	}
	for _, c := range p.copies {
		it, first := &items[c[0]], &items[c[1]]
		switch first.Status {
		case pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED, pbtsv1.ReceiptStatus_RECEIPT_STATUS_DUPLICATE:
			it.MarkDuplicate()
		default:
			it.Status, it.Reason, it.Detail = first.Status, first.Reason, first.Detail
		}
	}
	return attempts, nil
}

// retryable reports errors after which the whole transaction may be retried:
// deadlocks, serialization failures, and a violation of receipts_digest_uniq.
// The insert arbitrates on the key constraint only (one index probe less per
// receipt), so when two transactions insert the same receipt at once the
// loser may meet the winner's row in the digest index first and fail there
// instead of doing nothing; the same receipt has the same key, so the retry
// finds it there and answers DUPLICATE.
func retryable(err error) bool {
	if errors.Is(err, errRace) {
		return true
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "40P01" || pe.Code == "40001" || pe.Code == "23505" && pe.ConstraintName == "receipts_digest_uniq"
}

type decision struct {
	status pbtsv1.ReceiptStatus
	reason pbtsv1.RefusalReason
	detail string
}

func (d *decision) refuse(reason pbtsv1.RefusalReason, format string, args ...any) {
	d.status = pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED
	d.reason = reason
	d.detail = fmt.Sprintf(format, args...)
}

// plan is what a request asks of the ledger: its candidate receipts (one per
// key, sorted by key so that concurrent transactions lock in one order) and
// the exact copies of candidates, answered like their original.
type plan struct {
	cand   []int // indexes into items
	keys   []receipt.Key
	copies [][2]int // {copy, original}
}

func newPlan(items []Item) *plan {
	p := &plan{}
	first := make(map[receipt.Key]int, len(items))
	for i := range items {
		it := &items[i]
		if !it.Undecided() {
			continue
		}
		k := it.Receipt.Key()
		if j, ok := first[k]; ok {
			if items[j].Digest == it.Digest {
				p.copies = append(p.copies, [2]int{i, j})
			} else {
				it.Refuse(pbtsv1.RefusalReason_REFUSAL_REASON_CONFLICTING_DUPLICATE,
					"a different receipt for the same piece and sender comes earlier in this request (receipts[%d])", j)
			}
			continue
		}
		first[k] = i
		p.cand = append(p.cand, i)
		p.keys = append(p.keys, k)
	}
	order := make([]int, len(p.cand))
	for j := range order {
		order[j] = j
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(p.keys[a][:], p.keys[b][:]) })
	cand, keys := make([]int, len(order)), make([]receipt.Key, len(order))
	for j, o := range order {
		cand[j], keys[j] = p.cand[o], p.keys[o]
	}
	p.cand, p.keys = cand, keys
	return p
}

const insertReceipts = `
INSERT INTO receipts (digest, info_hash, receiver, piece_index, sender, piece_hash, piece_size, signed_ts, signature, accepted_at)
SELECT d, ih, rc, pi, sd, ph, ps, ts, sg, $10
  FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bigint[], $5::bytea[],
              $6::bytea[], $7::bigint[], $8::bigint[], $9::bytea[]) AS u (d, ih, rc, pi, sd, ph, ps, ts, sg)
    ON CONFLICT (info_hash, receiver, piece_index, sender) DO NOTHING`

// existingReceipts finds the rows holding the candidates' keys after the
// insert, and which of them this transaction inserted.
const existingReceipts = `
SELECT r.info_hash, r.receiver, r.piece_index, r.sender, r.digest, r.xmin = pg_current_xact_id()::xid
  FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::bytea[]) AS u (ih, rc, pi, sd)
  JOIN receipts r ON r.info_hash = u.ih AND r.receiver = u.rc AND r.piece_index = u.pi AND r.sender = u.sd`

// insertCredits is the fast path for pieces credited for the first time.
const insertCredits = `
INSERT INTO piece_credit (piece, piece_len, credited)
SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[])`

// addCredits adds each piece's bytes unless that would exceed its length;
// the pieces it did not credit are missing from the returned rows.
const addCredits = `
INSERT INTO piece_credit AS p (piece, piece_len, credited)
SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[])
    ON CONFLICT (piece) DO UPDATE
   SET credited = p.credited + excluded.credited
 WHERE p.credited + excluded.credited <= p.piece_len
RETURNING piece`

const addCredit = `
INSERT INTO piece_credit AS p (piece, piece_len, credited)
VALUES ($1, $2, $3)
    ON CONFLICT (piece) DO UPDATE
   SET credited = p.credited + excluded.credited
 WHERE p.credited + excluded.credited <= p.piece_len
RETURNING credited`

const addPendingTotals = `
INSERT INTO pending_totals AS t (agent, upload_bytes, download_bytes, receipt_count)
SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::bigint[])
    ON CONFLICT (agent) DO UPDATE
   SET upload_bytes = t.upload_bytes + excluded.upload_bytes,
       download_bytes = t.download_bytes + excluded.download_bytes,
       receipt_count = t.receipt_count + excluded.receipt_count`

// run is one attempt of the request's transaction; it writes its decisions
// into dec (indexed like p.cand).
func (p *plan) run(ctx context.Context, tx pgx.Tx, items []Item, dec []decision, acceptedAt time.Time, q Quota) error {
	n := len(p.cand)

	// 1. Reserve the keys: insert what is new, learn which rows were.
	var (
		digests, ihs, rcs, sds, phs, sgs = make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		pis, pss, tss                    = make([]int64, n), make([]int64, n), make([]int64, n)
	)
	for j, i := range p.cand {
		it := &items[i]
		r := &it.Receipt
		digests[j], ihs[j], rcs[j], sds[j], phs[j], sgs[j] = it.Digest[:], r.InfoHash[:], r.Receiver[:], r.Sender[:], r.PieceHash[:], it.Sig[:]
		pis[j], pss[j], tss[j] = int64(r.PieceIndex), int64(r.PieceSize), int64(r.Timestamp)
	}
	tag, err := tx.Exec(ctx, insertReceipts, digests, ihs, rcs, pis, sds, phs, pss, tss, sgs, acceptedAt)
	if err != nil {
		return fmt.Errorf("insert receipts: %w", err)
	}
	isNew := make([]bool, n)
	if tag.RowsAffected() == int64(n) {
		for j := range isNew {
			isNew[j] = true
		}
	} else {
		// 2. Some keys were taken: tell duplicates from conflicting ones.
		if err := p.classify(ctx, tx, items, isNew, dec); err != nil {
			return err
		}
	}

	// 3. Bound what each receiver may vouch for.
	if q.MinRatioDen != 0 {
		if err := p.receiverQuota(ctx, tx, items, isNew, dec, q); err != nil {
			return err
		}
	}

	// 4. Credit the pieces, all of a piece's new receipts at once.
	if err := p.credit(ctx, tx, items, isNew, dec); err != nil {
		return err
	}

	// 5. Add the accepted bytes to the pending totals, in address order.
	type total struct{ up, down, n int64 }
	totals := make(map[common.Address]*total)
	get := func(a common.Address) *total {
		t := totals[a]
		if t == nil {
			t = &total{}
			totals[a] = t
		}
		return t
	}
	for j, i := range p.cand {
		if !isNew[j] || dec[j].status != 0 {
			continue
		}
		dec[j].status = pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED
		r := &items[i].Receipt
		s, rc := get(r.Sender), get(r.Receiver)
		s.up += int64(r.PieceSize)
		s.n++
		rc.down += int64(r.PieceSize)
		rc.n++
	}
	if len(totals) == 0 {
		return nil
	}
	agents := make([]common.Address, 0, len(totals))
	for a := range totals {
		agents = append(agents, a)
	}
	slices.SortFunc(agents, func(a, b common.Address) int { return bytes.Compare(a[:], b[:]) })
	ab := make([][]byte, len(agents))
	ups, downs, ns := make([]int64, len(agents)), make([]int64, len(agents)), make([]int64, len(agents))
	for k := range agents {
		t := totals[agents[k]]
		ab[k], ups[k], downs[k], ns[k] = agents[k][:], t.up, t.down, t.n
	}
	if _, err := tx.Exec(ctx, addPendingTotals, ab, ups, downs, ns); err != nil {
		return fmt.Errorf("add pending totals: %w", err)
	}
	return nil
}

// lockTotals makes sure the agents have pending_totals rows and locks them
// in address order, as the settle trigger does: a batch cannot settle (move
// bytes from pending to settled) between the quota's read and its decision.
const (
	ensureTotals = `INSERT INTO pending_totals (agent) SELECT a FROM unnest($1::bytea[]) AS a ORDER BY a ON CONFLICT (agent) DO NOTHING`
	lockTotals   = `SELECT agent FROM pending_totals WHERE agent = ANY($1) ORDER BY agent FOR UPDATE`
	// receiverStanding is base + settled + pending per receiver (read after
	// the locks, in a fresh snapshot). An agent whose base is not recorded
	// yet counts a base of 0: what it may vouch for then comes from its
	// uploads only, until the chainwriter records its registration.
	receiverStanding = `
SELECT a.address,
       COALESCE(a.base_upload, 0) + COALESCE(s.upload_bytes, 0) + p.upload_bytes,
       COALESCE(a.base_download, 0) + COALESCE(s.download_bytes, 0) + p.download_bytes
  FROM agents a
  JOIN pending_totals p ON p.agent = a.address
  LEFT JOIN settled_totals s ON s.agent = a.address
 WHERE a.address = ANY($1)`
)

// receiverQuota refuses, in request order per receiver, the new receipts
// that would take their receiver past its quota (see Quota), and withdraws
// them again (step 1 inserted them).
func (p *plan) receiverQuota(ctx context.Context, tx pgx.Tx, items []Item, isNew []bool, dec []decision, q Quota) error {
	agentSet := map[common.Address]bool{}
	var order []int // positions in p.cand of the new receipts, in request order
	for j, i := range p.cand {
		if isNew[j] && dec[j].status == 0 {
			r := &items[i].Receipt
			agentSet[r.Sender], agentSet[r.Receiver] = true, true
			order = append(order, j)
		}
	}
	if len(order) == 0 {
		return nil
	}
	agents := make([][]byte, 0, len(agentSet))
	for a := range agentSet {
		agents = append(agents, bytes.Clone(a[:]))
	}
	slices.SortFunc(agents, bytes.Compare)
	if _, err := tx.Exec(ctx, ensureTotals, agents); err != nil {
		return fmt.Errorf("pending totals rows: %w", err)
	}
	if _, err := tx.Exec(ctx, lockTotals, agents); err != nil {
		return fmt.Errorf("lock pending totals: %w", err)
	}
	rows, err := tx.Query(ctx, receiverStanding, agents)
	if err != nil {
		return fmt.Errorf("receiver standing: %w", err)
	}
	type standing struct{ up, down uint64 }
	st := map[common.Address]*standing{}
	var addr []byte
	var up, down int64
	if _, err := pgx.ForEachRow(rows, []any{&addr, &up, &down}, func() error {
		st[common.Address(addr)] = &standing{uint64(up), uint64(down)}
		return nil
	}); err != nil {
		return fmt.Errorf("receiver standing: %w", err)
	}
	slices.SortFunc(order, func(a, b int) int { return p.cand[a] - p.cand[b] })
	var withdrawn [][]byte
	for _, j := range order {
		it := &items[p.cand[j]]
		r := &it.Receipt
		s := st[r.Receiver]
		if s == nil {
			s = &standing{} // not registered: the verifier refuses such receipts before
			st[r.Receiver] = s
		}
		if !withinRatio(s.up, s.down+uint64(r.PieceSize), q) {
			dec[j].refuse(pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_OVER_QUOTA,
				"receiver %s would have downloaded %d bytes against %d uploaded: below the minimum ratio %d/%d (a receiver may vouch only for what its own upload allows; upload more, then send this receipt again)",
				r.Receiver.Hex(), s.down+uint64(r.PieceSize), s.up, q.MinRatioNum, q.MinRatioDen)
			isNew[j] = false
			withdrawn = append(withdrawn, it.Digest[:])
			continue
		}
		s.down += uint64(r.PieceSize)
	}
	if len(withdrawn) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM receipts WHERE digest = ANY($1)`, withdrawn); err != nil {
			return fmt.Errorf("withdraw receipts over quota: %w", err)
		}
	}
	return nil
}

// withinRatio reports up/down >= num/den, exactly (num*down <= den*up).
func withinRatio(up, down uint64, q Quota) bool {
	lh, ll := bits.Mul64(q.MinRatioNum, down)
	rh, rl := bits.Mul64(q.MinRatioDen, up)
	return lh < rh || lh == rh && ll <= rl
}

// classify finds, after the insert, which candidates this transaction
// inserted (isNew) and decides the others: the row holding their key is the
// same receipt (DUPLICATE) or another one (CONFLICTING_DUPLICATE).
func (p *plan) classify(ctx context.Context, tx pgx.Tx, items []Item, isNew []bool, dec []decision) error {
	n := len(p.cand)
	ihs, rcs, sds, pis := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([]int64, n)
	for j, i := range p.cand {
		r := &items[i].Receipt
		ihs[j], rcs[j], sds[j], pis[j] = r.InfoHash[:], r.Receiver[:], r.Sender[:], int64(r.PieceIndex)
	}
	rows, err := tx.Query(ctx, existingReceipts, ihs, rcs, pis, sds)
	if err != nil {
		return fmt.Errorf("find existing receipts: %w", err)
	}
	type row struct {
		digest [32]byte
		mine   bool
	}
	existing := make(map[receipt.Key]row, n)
	var ih, rc, sd, dg []byte
	var pi int64
	var mine bool
	_, err = pgx.ForEachRow(rows, []any{&ih, &rc, &pi, &sd, &dg, &mine}, func() error {
		r := receipt.Receipt{InfoHash: [32]byte(ih), Receiver: common.Address(rc), Sender: common.Address(sd), PieceIndex: uint32(pi)}
		existing[r.Key()] = row{[32]byte(dg), mine}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find existing receipts: %w", err)
	}
	for j, i := range p.cand {
		got, ok := existing[p.keys[j]]
		switch {
		case !ok:
			return errRace
		case got.mine:
			isNew[j] = true
		case got.digest == items[i].Digest:
			dec[j].status = pbtsv1.ReceiptStatus_RECEIPT_STATUS_DUPLICATE
		default:
			dec[j].refuse(pbtsv1.RefusalReason_REFUSAL_REASON_CONFLICTING_DUPLICATE,
				"a different receipt for this piece and sender was accepted before (digest 0x%x)", got.digest)
		}
	}
	return nil
}

// credit bounds the bytes of each piece download. The fast path inserts the
// credit rows of pieces seen for the first time in one plain INSERT (under a
// savepoint); when some piece already has a row it adds every piece's new
// bytes in one upsert that skips the pieces it would overfill. A piece not
// credited whole that way (or whose new bytes alone exceed its length) is
// credited receipt by receipt in request order, and the receipts that do
// not fit are deleted again and refused.
func (p *plan) credit(ctx context.Context, tx pgx.Tx, items []Item, isNew []bool, dec []decision) error {
	type group struct{ lo, hi int } // p.cand[lo:hi] share the piece (sorted by key)
	var fast, slow []group
	var pieces [][]byte
	var lens, sums []int64
	for lo := 0; lo < len(p.cand); {
		hi := lo + 1
		for hi < len(p.cand) && [pieceKeyLen]byte(p.keys[hi][:pieceKeyLen]) == [pieceKeyLen]byte(p.keys[lo][:pieceKeyLen]) {
			hi++
		}
		var sum int64
		for j := lo; j < hi; j++ {
			if isNew[j] {
				sum += int64(items[p.cand[j]].Receipt.PieceSize)
			}
		}
		plen := int64(items[p.cand[lo]].PieceLen)
		switch {
		case sum == 0:
		case sum > plen:
			slow = append(slow, group{lo, hi})
		default:
			fast = append(fast, group{lo, hi})
			pieces, lens, sums = append(pieces, p.keys[lo][:pieceKeyLen]), append(lens, plen), append(sums, sum)
		}
		lo = hi
	}
	if len(fast) > 0 {
		done, err := insertFresh(ctx, tx, pieces, lens, sums)
		if err != nil {
			return err
		}
		if !done {
			rows, err := tx.Query(ctx, addCredits, pieces, lens, sums)
			if err != nil {
				return fmt.Errorf("credit pieces: %w", err)
			}
			credited := make(map[pieceKey]bool, len(fast))
			var pk []byte
			_, err = pgx.ForEachRow(rows, []any{&pk}, func() error {
				credited[pieceKey(pk)] = true
				return nil
			})
			if err != nil {
				return fmt.Errorf("credit pieces: %w", err)
			}
			for _, g := range fast {
				if !credited[pieceOf(&p.keys[g.lo])] {
					slow = append(slow, g)
				}
			}
		}
	}
	if len(slow) == 0 {
		return nil
	}

	// Slow path: one upsert per new receipt of the overflowing pieces, in
	// request order within a piece, pieces in key order.
	var b pgx.Batch
	var tried []int // positions in p.cand, in queue order
	for _, g := range slow {
		var js []int
		for j := g.lo; j < g.hi; j++ {
			if isNew[j] {
				js = append(js, j)
			}
		}
		slices.SortFunc(js, func(a, b int) int { return p.cand[a] - p.cand[b] })
		for _, j := range js {
			it := &items[p.cand[j]]
			b.Queue(addCredit, p.keys[j][:pieceKeyLen], int64(it.PieceLen), int64(it.Receipt.PieceSize))
			tried = append(tried, j)
		}
	}
	br := tx.SendBatch(ctx, &b)
	var refused [][]byte
	for _, j := range tried {
		var credited int64
		err := br.QueryRow().Scan(&credited)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			it := &items[p.cand[j]]
			dec[j].refuse(pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_OVERCREDITED,
				"piece %d already has bytes credited from other senders; %d more would exceed its length of %d bytes",
				it.Receipt.PieceIndex, it.Receipt.PieceSize, it.PieceLen)
			refused = append(refused, it.Digest[:])
		case err != nil:
			br.Close()
			return fmt.Errorf("credit piece: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("credit piece: %w", err)
	}
	if len(refused) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM receipts WHERE digest = ANY($1)`, refused); err != nil {
			return fmt.Errorf("withdraw overcredited receipts: %w", err)
		}
	}
	return nil
}

// insertFresh inserts the credit rows when none of the pieces has one yet
// (the common case, and the cheapest statement); it reports false, having
// changed nothing, when some piece already has a row.
func insertFresh(ctx context.Context, tx pgx.Tx, pieces [][]byte, lens, sums []int64) (bool, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	if _, err := sp.Exec(ctx, insertCredits, pieces, lens, sums); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return false, fmt.Errorf("rollback to savepoint: %w", rerr)
		}
		if database.IsUniqueViolation(err) {
			return false, nil
		}
		return false, fmt.Errorf("credit new pieces: %w", err)
	}
	if err := sp.Commit(ctx); err != nil {
		return false, fmt.Errorf("release savepoint: %w", err)
	}
	return true, nil
}
