package store

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/receipt"
)

// eligible is the condition a pending receipt must meet to be batched: both
// agents registered on chain (settle reverts UnknownAgent otherwise), as the
// agents table records it.
const eligible = `r.batch_id IS NULL
	AND EXISTS (SELECT 1 FROM agents a WHERE a.address = r.sender AND a.chain_state = 'confirmed')
	AND EXISTS (SELECT 1 FROM agents a WHERE a.address = r.receiver AND a.chain_state = 'confirmed')`

// Batchable is what CreateBatch would find now.
type Batchable struct {
	// Receipts batchable (at most the limit asked for), and the distinct
	// agents among them.
	Receipts, Agents int
	// OldestAge is the age of the oldest by the database's clock.
	OldestAge time.Duration
}

// PendingStats looks at the first limit batchable receipts.
func (s *Store) PendingStats(ctx context.Context, limit int) (Batchable, error) {
	var (
		b   Batchable
		age *float64
	)
	err := s.db.Pool.QueryRow(ctx, `WITH p AS (
			SELECT r.accepted_at, r.sender, r.receiver FROM receipts r WHERE `+eligible+` ORDER BY r.id LIMIT $1)
		SELECT (SELECT count(*) FROM p), EXTRACT(EPOCH FROM clock_timestamp() - (SELECT min(accepted_at) FROM p))::float8,
		       (SELECT count(*) FROM (SELECT sender FROM p UNION SELECT receiver FROM p) a)`, limit).Scan(&b.Receipts, &age, &b.Agents)
	if err != nil {
		return b, fmt.Errorf("pending stats: %w", err)
	}
	if age != nil && *age > 0 {
		b.OldestAge = time.Duration(*age * float64(time.Second))
	}
	return b, nil
}

// BatchLimits bound a batch.
type BatchLimits struct {
	// MaxReceipts and MaxAgents (distinct senders and receivers: the settle
	// call's entries, at most the contract's 256).
	MaxReceipts, MaxAgents int
	// BaseBatchID is the binding's: the first batch id is BaseBatchID + 1.
	BaseBatchID uint64
}

// Batch is a recorded settlement batch.
type Batch struct {
	ID           uint64
	Root         common.Hash
	ReceiptCount int
	AgentCount   int
	TotalBytes   uint64
	CreatedAt    time.Time
	// TxHash is the newest signed version while in flight, the included
	// transaction once settled.
	TxHash      common.Hash
	BlockNumber uint64
	GasUsed     uint64
	SettledAt   time.Time // zero while unsettled
	// Live tells whether a transaction for the batch is pending or mined
	// (unsettled batches only, from UnsettledBatches and ListBatches).
	Live bool
}

// Settled tells whether the batch is confirmed on chain.
func (b *Batch) Settled() bool { return !b.SettledAt.IsZero() }

// CreateBatch takes the oldest batchable receipts within limits, records them
// as the next batch (its row and their batch_id, one transaction) and returns
// it; nil when nothing is batchable. Nothing may be signed for a batch before
// this commits: from then on the batch's content never changes.
func (s *Store) CreateBatch(ctx context.Context, lim BatchLimits) (*Batch, error) {
	var b *Batch
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT r.id, r.digest, r.sender, r.receiver, r.piece_size
			FROM receipts r WHERE `+eligible+` ORDER BY r.id LIMIT $1`, lim.MaxReceipts)
		if err != nil {
			return err
		}
		var (
			ids     []int64
			digests [][32]byte
			agents  = map[common.Address]struct{}{}
			total   uint64
		)
		for rows.Next() {
			var (
				id                   int64
				dg, sender, receiver []byte
				size                 int64
			)
			if err := rows.Scan(&id, &dg, &sender, &receiver, &size); err != nil {
				rows.Close()
				return err
			}
			sa, ra := common.BytesToAddress(sender), common.BytesToAddress(receiver)
			_, hasS := agents[sa]
			_, hasR := agents[ra]
			extra := 0
			if !hasS {
				extra++
			}
			if !hasR {
				extra++
			}
			if len(agents)+extra > lim.MaxAgents {
				// Keep acceptance order simple: the batch ends at the
				// first receipt that does not fit.
				break
			}
			agents[sa], agents[ra] = struct{}{}, struct{}{}
			ids = append(ids, id)
			digests = append(digests, [32]byte(dg))
			total += uint64(size)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		root, err := receipt.MerkleRoot(digests)
		if err != nil {
			return fmt.Errorf("merkle root: %w", err)
		}
		var maxID int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(max(id), 0) FROM receipt_batches`).Scan(&maxID); err != nil {
			return err
		}
		id := max(uint64(maxID), lim.BaseBatchID) + 1
		nb := &Batch{ID: id, Root: root, ReceiptCount: len(ids), AgentCount: len(agents), TotalBytes: total}
		if err := tx.QueryRow(ctx, `INSERT INTO receipt_batches (id, root, receipt_count, agent_count, total_bytes)
			VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
			int64(id), root[:], len(ids), len(agents), int64(total)).Scan(&nb.CreatedAt); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE receipts SET batch_id = $1 WHERE id = ANY($2) AND batch_id IS NULL`, int64(id), ids)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != int64(len(ids)) {
			return fmt.Errorf("batch %d: %d of %d receipts were batched meanwhile", id, int64(len(ids))-tag.RowsAffected(), len(ids))
		}
		b = nb
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create batch: %w", err)
	}
	return b, nil
}

// Payload is what settle() carries for a batch: entries sorted by agent
// address, deltas summed per agent. It is derived from the batch's receipts,
// which never change, so it is the same every time it is read.
type Payload struct {
	ID     uint64
	Root   common.Hash
	Agents []common.Address
	Up     []*big.Int
	Down   []*big.Int
}

// BatchPayload reads a batch's settle() arguments.
func (s *Store) BatchPayload(ctx context.Context, id uint64) (Payload, error) {
	p := Payload{ID: id}
	var root []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT root FROM receipt_batches WHERE id = $1`, int64(id)).Scan(&root)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, database.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("batch %d: %w", id, err)
	}
	p.Root = common.BytesToHash(root)
	rows, err := s.db.Pool.Query(ctx, `
		SELECT agent, sum(up)::text, sum(down)::text FROM (
			SELECT sender AS agent, piece_size AS up, 0 AS down FROM receipts WHERE batch_id = $1
			UNION ALL
			SELECT receiver, 0, piece_size FROM receipts WHERE batch_id = $1) d
		GROUP BY agent ORDER BY agent`, /* bytea sorts bytewise: by address */ int64(id))
	if err != nil {
		return p, fmt.Errorf("batch %d payload: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			agent    []byte
			up, down string
		)
		if err := rows.Scan(&agent, &up, &down); err != nil {
			return p, fmt.Errorf("batch %d payload: %w", id, err)
		}
		u, err1 := parseNumeric(up)
		d, err2 := parseNumeric(down)
		if err := errors.Join(err1, err2); err != nil {
			return p, fmt.Errorf("batch %d payload: %w", id, err)
		}
		p.Agents = append(p.Agents, common.BytesToAddress(agent))
		p.Up, p.Down = append(p.Up, u), append(p.Down, d)
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("batch %d payload: %w", id, err)
	}
	if len(p.Agents) == 0 {
		return p, fmt.Errorf("batch %d has no receipts", id)
	}
	return p, nil
}

const batchCols = `b.id, b.root, b.receipt_count, COALESCE(b.agent_count, 0), COALESCE(b.total_bytes, 0), b.created_at,
	b.tx_hash, b.block_number, COALESCE(b.gas_used, 0), b.settled_at,
	EXISTS (SELECT 1 FROM chainwriter_txs t WHERE t.batch_id = b.id AND t.state IN ('pending', 'mined'))`

func scanBatch(row pgx.Row) (Batch, error) {
	var (
		b              Batch
		id, total, gas int64
		root, txHash   []byte
		block          *int64
		settled        *time.Time
	)
	if err := row.Scan(&id, &root, &b.ReceiptCount, &b.AgentCount, &total, &b.CreatedAt, &txHash, &block, &gas, &settled, &b.Live); err != nil {
		return b, err
	}
	b.ID, b.TotalBytes, b.GasUsed = uint64(id), uint64(total), uint64(gas)
	b.Root = common.BytesToHash(root)
	if txHash != nil {
		b.TxHash = common.BytesToHash(txHash)
	}
	if block != nil {
		b.BlockNumber = uint64(*block)
	}
	if settled != nil {
		b.SettledAt = *settled
	}
	return b, nil
}

// UnsettledBatches returns the batches not yet settled, by id.
func (s *Store) UnsettledBatches(ctx context.Context) ([]Batch, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+batchCols+` FROM receipt_batches b WHERE b.settled_at IS NULL ORDER BY b.id`)
	if err != nil {
		return nil, fmt.Errorf("unsettled batches: %w", err)
	}
	defer rows.Close()
	var out []Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("unsettled batches: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// ListBatches returns up to limit batches with id < before (0: from the
// newest), newest first.
func (s *Store) ListBatches(ctx context.Context, before uint64, limit int) ([]Batch, error) {
	if before == 0 {
		before = 1 << 62
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT `+batchCols+` FROM receipt_batches b WHERE b.id < $1 ORDER BY b.id DESC LIMIT $2`,
		int64(before), limit)
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	defer rows.Close()
	var out []Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("list batches: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// MaxBatchID is the newest recorded batch id (0 for none).
func (s *Store) MaxBatchID(ctx context.Context) (uint64, error) {
	var id int64
	if err := s.db.Pool.QueryRow(ctx, `SELECT COALESCE(max(id), 0) FROM receipt_batches`).Scan(&id); err != nil {
		return 0, fmt.Errorf("max batch id: %w", err)
	}
	return uint64(id), nil
}

// MaxSettledBatchID is the newest batch recorded settled (0: none).
func (s *Store) MaxSettledBatchID(ctx context.Context) (uint64, error) {
	var id int64
	if err := s.db.Pool.QueryRow(ctx, `SELECT COALESCE(max(id), 0) FROM receipt_batches WHERE settled_at IS NOT NULL`).Scan(&id); err != nil {
		return 0, fmt.Errorf("max settled batch id: %w", err)
	}
	return uint64(id), nil
}

// SettleBatchExternally records that a batch was settled on chain by a
// transaction that is none of the versions the writer signed for it (found
// by its BatchSettled event), and drops the writer's own transaction for it,
// if any, with note. One database transaction.
func (s *Store) SettleBatchExternally(ctx context.Context, id uint64, inc Inclusion, dropTx int64, note string) error {
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		if dropTx != 0 {
			if _, err := tx.Exec(ctx, `UPDATE chainwriter_txs SET state = 'dropped', finished_at = now(), note = $2
				WHERE id = $1 AND state IN ('pending', 'mined')`, dropTx, truncate(note)); err != nil {
				return err
			}
		}
		return settleBatch(ctx, tx, id, inc)
	})
	if err != nil {
		return fmt.Errorf("settle batch %d externally: %w", id, err)
	}
	return nil
}

func settleBatch(ctx context.Context, tx pgx.Tx, id uint64, inc Inclusion) error {
	var gas any
	if inc.GasUsed > 0 {
		gas = int64(inc.GasUsed)
	}
	_, err := tx.Exec(ctx, `UPDATE receipt_batches SET tx_hash = $2, block_number = $3, gas_used = $4, settled_at = clock_timestamp()
		WHERE id = $1 AND settled_at IS NULL`, int64(id), inc.Hash[:], int64(inc.Block), gas)
	return err
}
