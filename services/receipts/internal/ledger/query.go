package ledger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/receipt"
)

// Dataset is what the verifier needs of a published torrent (the tracker's
// datasets row; rows never change).
type Dataset struct {
	PieceLength uint32
	PieceCount  uint32
	TotalBytes  uint64
	// PieceSHA256 is the SHA-256 of every piece, concatenated.
	PieceSHA256 []byte
}

// PieceLen is the length of piece i (< PieceCount): the last one may be short.
func (d *Dataset) PieceLen(i uint32) uint32 {
	if i == d.PieceCount-1 {
		return uint32(d.TotalBytes - uint64(d.PieceCount-1)*uint64(d.PieceLength))
	}
	return d.PieceLength
}

// PieceHash is the published SHA-256 of piece i (< PieceCount).
func (d *Dataset) PieceHash(i uint32) [32]byte {
	return [32]byte(d.PieceSHA256[32*int(i) : 32*int(i)+32])
}

// Member is an agent seen in a torrent's swarm.
type Member struct {
	InfoHash [20]byte
	Agent    common.Address
}

// Registered returns which of addrs are registered agents.
func (s *Store) Registered(ctx context.Context, addrs []common.Address) ([]common.Address, error) {
	args := make([][]byte, len(addrs))
	for i := range addrs {
		args[i] = addrs[i][:]
	}
	rows, err := s.pool.Query(ctx, `SELECT address FROM agents WHERE address = ANY($1)`, args)
	if err != nil {
		return nil, fmt.Errorf("look up agents: %w", err)
	}
	var out []common.Address
	var a []byte
	_, err = pgx.ForEachRow(rows, []any{&a}, func() error {
		out = append(out, common.BytesToAddress(a))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up agents: %w", err)
	}
	return out, nil
}

// Datasets returns the datasets of ihs that are in the catalog.
func (s *Store) Datasets(ctx context.Context, ihs [][20]byte) (map[[20]byte]*Dataset, error) {
	args := make([][]byte, len(ihs))
	for i := range ihs {
		args[i] = ihs[i][:]
	}
	rows, err := s.pool.Query(ctx, `
		SELECT info_hash, piece_length, piece_count, total_bytes, piece_sha256
		  FROM datasets WHERE info_hash = ANY($1)`, args)
	if err != nil {
		return nil, fmt.Errorf("look up datasets: %w", err)
	}
	out := make(map[[20]byte]*Dataset)
	var ih, hashes []byte
	var plen, pcount int32
	var total int64
	_, err = pgx.ForEachRow(rows, []any{&ih, &plen, &pcount, &total, &hashes}, func() error {
		if len(ih) != 20 || plen <= 0 || pcount <= 0 || len(hashes) != 32*int(pcount) ||
			total <= int64(pcount-1)*int64(plen) || total > int64(pcount)*int64(plen) {
			return fmt.Errorf("dataset 0x%x: inconsistent row", ih)
		}
		out[[20]byte(ih)] = &Dataset{PieceLength: uint32(plen), PieceCount: uint32(pcount), TotalBytes: uint64(total),
			PieceSHA256: append([]byte(nil), hashes...)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up datasets: %w", err)
	}
	return out, nil
}

// Members returns which of ms are swarm members.
func (s *Store) Members(ctx context.Context, ms []Member) ([]Member, error) {
	ihs, agents := make([][]byte, len(ms)), make([][]byte, len(ms))
	for i := range ms {
		ihs[i], agents[i] = ms[i].InfoHash[:], ms[i].Agent[:]
	}
	rows, err := s.pool.Query(ctx, `
		SELECT m.info_hash, m.agent
		  FROM unnest($1::bytea[], $2::bytea[]) AS u (ih, agent)
		  JOIN swarm_members m ON m.info_hash = u.ih AND m.agent = u.agent`, ihs, agents)
	if err != nil {
		return nil, fmt.Errorf("look up swarm members: %w", err)
	}
	var out []Member
	var ih, a []byte
	_, err = pgx.ForEachRow(rows, []any{&ih, &a}, func() error {
		out = append(out, Member{InfoHash: [20]byte(ih), Agent: common.BytesToAddress(a)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up swarm members: %w", err)
	}
	return out, nil
}

// Existing returns which of digests are in the ledger.
func (s *Store) Existing(ctx context.Context, digests [][32]byte) (map[[32]byte]bool, error) {
	args := make([][]byte, len(digests))
	for i := range digests {
		args[i] = digests[i][:]
	}
	rows, err := s.pool.Query(ctx, `SELECT digest FROM receipts WHERE digest = ANY($1)`, args)
	if err != nil {
		return nil, fmt.Errorf("look up digests: %w", err)
	}
	out := make(map[[32]byte]bool)
	var d []byte
	_, err = pgx.ForEachRow(rows, []any{&d}, func() error {
		out[[32]byte(d)] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up digests: %w", err)
	}
	return out, nil
}

// Record is a persisted receipt with its settlement state.
type Record struct {
	ID         int64
	Receipt    receipt.Receipt
	Sig        receipt.Signature
	Digest     [32]byte
	AcceptedAt time.Time
	// BatchID is 0 while pending.
	BatchID   uint64
	BatchRoot [32]byte
	// TxHash is set once the batch's transaction is known.
	TxHash    *[32]byte
	Block     uint64
	SettledAt *time.Time
}

// Settled reports whether the record's batch is confirmed on chain.
func (r *Record) Settled() bool { return r.SettledAt != nil }

const recordColumns = `r.id, r.digest, r.info_hash, r.receiver, r.piece_index, r.sender, r.piece_hash,
	r.piece_size, r.signed_ts, r.signature, r.accepted_at, r.batch_id, b.root, b.tx_hash, b.block_number, b.settled_at`

func scanRecord(row pgx.CollectableRow) (Record, error) {
	var (
		rec                        Record
		dg, ih, rc, sd, ph, sg, rt []byte
		tx                         []byte
		pi, ps, ts                 int64
		batch, block               *int64
		settled                    *time.Time
	)
	if err := row.Scan(&rec.ID, &dg, &ih, &rc, &pi, &sd, &ph, &ps, &ts, &sg, &rec.AcceptedAt, &batch, &rt, &tx, &block, &settled); err != nil {
		return rec, err
	}
	rec.Digest, rec.Receipt.InfoHash, rec.Receipt.PieceHash = [32]byte(dg), [32]byte(ih), [32]byte(ph)
	rec.Receipt.Receiver, rec.Receipt.Sender = common.Address(rc), common.Address(sd)
	rec.Receipt.PieceIndex, rec.Receipt.PieceSize, rec.Receipt.Timestamp = uint32(pi), uint32(ps), uint64(ts)
	rec.Sig = receipt.Signature(sg)
	if batch != nil {
		rec.BatchID = uint64(*batch)
		rec.BatchRoot = [32]byte(rt)
		if tx != nil {
			h := [32]byte(tx)
			rec.TxHash = &h
		}
		if block != nil {
			rec.Block = uint64(*block)
		}
		rec.SettledAt = settled
	}
	return rec, nil
}

// Get returns the receipt with this digest, or database.ErrNotFound.
func (s *Store) Get(ctx context.Context, digest [32]byte) (Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+`
		  FROM receipts r LEFT JOIN receipt_batches b ON b.id = r.batch_id
		 WHERE r.digest = $1`, digest[:])
	if err != nil {
		return Record{}, fmt.Errorf("get receipt: %w", err)
	}
	rec, err := pgx.CollectExactlyOneRow(rows, scanRecord)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, database.ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("get receipt: %w", err)
	}
	return rec, nil
}

// BatchDigests returns the digests of a batch's receipts.
func (s *Store) BatchDigests(ctx context.Context, batch uint64) ([][32]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT digest FROM receipts WHERE batch_id = $1`, int64(batch))
	if err != nil {
		return nil, fmt.Errorf("batch digests: %w", err)
	}
	var out [][32]byte
	var d []byte
	_, err = pgx.ForEachRow(rows, []any{&d}, func() error {
		out = append(out, [32]byte(d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("batch digests: %w", err)
	}
	return out, nil
}

// Filter selects receipts for List; zero fields match everything.
type Filter struct {
	Agent    common.Address
	InfoHash [32]byte
	BatchID  uint64
	// AfterID continues after the receipt with this id (id order).
	AfterID int64
	// AfterKey continues after this receipt key (key order, KeyOrder).
	AfterKey *receipt.Key
	Limit    int
}

// KeyOrder reports whether List returns f's receipts in key order
// (receiver, piece index, sender) rather than id (acceptance) order: when the
// torrent is the only filter, which the key index serves.
func (f *Filter) KeyOrder() bool {
	return f.InfoHash != ([32]byte{}) && f.Agent == (common.Address{}) && f.BatchID == 0
}

// List returns up to f.Limit receipts matching f, in id order, or in key
// order when f.KeyOrder().
func (s *Store) List(ctx context.Context, f Filter) ([]Record, error) {
	from := `receipts r LEFT JOIN receipt_batches b ON b.id = r.batch_id`
	var q string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.KeyOrder() {
		where := "r.info_hash = " + arg(f.InfoHash[:])
		if k := f.AfterKey; k != nil {
			var after receipt.Receipt
			after.Receiver, after.PieceIndex, after.Sender = common.Address(k[32:52]), binary.BigEndian.Uint32(k[52:56]), common.Address(k[56:76])
			where += fmt.Sprintf(" AND (r.receiver, r.piece_index, r.sender) > (%s, %s, %s)",
				arg(after.Receiver[:]), arg(int64(after.PieceIndex)), arg(after.Sender[:]))
		}
		q = fmt.Sprintf(`SELECT %s FROM %s WHERE %s ORDER BY r.info_hash, r.receiver, r.piece_index, r.sender LIMIT %s`,
			recordColumns, from, where, arg(f.Limit))
	} else {
		where := "r.id > " + arg(f.AfterID)
		limit := arg(f.Limit)
		if f.InfoHash != ([32]byte{}) {
			where += " AND r.info_hash = " + arg(f.InfoHash[:])
		}
		if f.BatchID != 0 {
			where += " AND r.batch_id = " + arg(int64(f.BatchID))
		}
		if f.Agent != (common.Address{}) {
			// One index range per role (sender <> receiver, so no row is in both).
			a := arg(f.Agent[:])
			q = fmt.Sprintf(`(SELECT %[1]s FROM %[2]s WHERE %[3]s AND r.sender = %[4]s ORDER BY r.id LIMIT %[5]s)
				UNION ALL
				(SELECT %[1]s FROM %[2]s WHERE %[3]s AND r.receiver = %[4]s ORDER BY r.id LIMIT %[5]s)
				ORDER BY id LIMIT %[5]s`, recordColumns, from, where, a, limit)
		} else {
			q = fmt.Sprintf(`SELECT %s FROM %s WHERE %s ORDER BY r.id LIMIT %s`, recordColumns, from, where, limit)
		}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list receipts: %w", err)
	}
	recs, err := pgx.CollectRows(rows, scanRecord)
	if err != nil {
		return nil, fmt.Errorf("list receipts: %w", err)
	}
	return recs, nil
}

// Totals is an agent's unsettled receipts, summed.
type Totals struct {
	UploadBytes, DownloadBytes, ReceiptCount uint64
}

// PendingTotals returns the agent's pending totals (zero when it has none).
func (s *Store) PendingTotals(ctx context.Context, agent common.Address) (Totals, error) {
	var up, down, n int64
	err := s.pool.QueryRow(ctx, `SELECT upload_bytes, download_bytes, receipt_count FROM pending_totals WHERE agent = $1`,
		agent[:]).Scan(&up, &down, &n)
	if errors.Is(err, pgx.ErrNoRows) {
		return Totals{}, nil
	}
	if err != nil {
		return Totals{}, fmt.Errorf("pending totals: %w", err)
	}
	return Totals{UploadBytes: uint64(up), DownloadBytes: uint64(down), ReceiptCount: uint64(n)}, nil
}

// ErrDomainMismatch reports a database that holds receipts of another domain.
var ErrDomainMismatch = errors.New("ledger: database belongs to another receipt domain")

// domainKey is the pbts_meta row that pins the receipt domain of a database.
const domainKey = "receipts.domain"

// ClaimDomain records d as the database's receipt domain on first use and
// fails with ErrDomainMismatch when the database already holds another one, so
// that receipts of two deployments never mix in one ledger.
func (s *Store) ClaimDomain(ctx context.Context, d receipt.Domain) error {
	want := strconv.FormatUint(d.ChainID, 10) + ":" + strings.ToLower(d.Tracker.Hex())
	var got string
	var err error
	// A first claim racing with another replica's sees neither row in its
	// snapshot: try again.
	for range 3 {
		err = s.pool.QueryRow(ctx, `
			WITH ins AS (INSERT INTO pbts_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value)
			SELECT value FROM ins UNION ALL SELECT value FROM pbts_meta WHERE key = $1 LIMIT 1`, domainKey, want).Scan(&got)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("claim receipt domain: %w", err)
	}
	if got != want {
		return fmt.Errorf("%w: it holds chain:contract %s, configured %s", ErrDomainMismatch, got, want)
	}
	return nil
}

// Stats is the ledger's totals: every accepted receipt and the settled ones
// (in a batch whose settlement is recorded), in receipts and piece bytes.
type Stats struct {
	Accepted, Settled           uint64
	BytesAccepted, BytesSettled uint64
}

// Stats counts the ledger (a scan of receipts: callers cache it).
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(r.piece_size), 0),
			count(*) FILTER (WHERE b.settled_at IS NOT NULL),
			coalesce(sum(r.piece_size) FILTER (WHERE b.settled_at IS NOT NULL), 0)
		FROM receipts r LEFT JOIN receipt_batches b ON b.id = r.batch_id`).
		Scan(&st.Accepted, &st.BytesAccepted, &st.Settled, &st.BytesSettled)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}
