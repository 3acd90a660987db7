// Package store is the chainwriter's SQL: the database binding, settlement
// batches (receipt_batches and receipts.batch_id), pending registrations
// (agents.chain_state) and the transaction journal (chainwriter_txs and the
// signed versions in chainwriter_tx_attempts). Schema:
// database/migrations/00004_chainwriter.sql on top of 00002 and 00003.
//
// The store assumes one writer (the chainwriter holding the writer Lock, see
// TryLock and internal/leader); readers (the gRPC API) may run beside it.
package store

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pbts/pbts/database"
)

// Store runs the chainwriter's queries.
type Store struct {
	db *database.DB
}

// New returns a store on db.
func New(db *database.DB) *Store { return &Store{db: db} }

// Binding ties the database to one chain, contract and signer.
type Binding struct {
	ChainID     uint64
	Contract    common.Address
	Signer      common.Address
	BaseBatchID uint64
	BoundBlock  uint64
}

// Binding returns the database's binding, database.ErrNotFound before the
// first start.
func (s *Store) Binding(ctx context.Context) (Binding, error) {
	var (
		b                  Binding
		chainID, base, blk int64
		contract, signer   []byte
	)
	err := s.db.Pool.QueryRow(ctx, `SELECT chain_id, contract, signer, base_batch_id, bound_block
		FROM chainwriter_binding`).Scan(&chainID, &contract, &signer, &base, &blk)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, database.ErrNotFound
	}
	if err != nil {
		return b, fmt.Errorf("binding: %w", err)
	}
	b.ChainID, b.BaseBatchID, b.BoundBlock = uint64(chainID), uint64(base), uint64(blk)
	b.Contract, b.Signer = common.BytesToAddress(contract), common.BytesToAddress(signer)
	return b, nil
}

// Bind records b unless a binding exists, and returns the binding in force.
func (s *Store) Bind(ctx context.Context, b Binding) (Binding, error) {
	_, err := s.db.Pool.Exec(ctx, `INSERT INTO chainwriter_binding (chain_id, contract, signer, base_batch_id, bound_block)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		int64(b.ChainID), b.Contract[:], b.Signer[:], int64(b.BaseBatchID), int64(b.BoundBlock))
	if err != nil {
		return Binding{}, fmt.Errorf("bind: %w", err)
	}
	return s.Binding(ctx)
}

// Backlog is what is waiting to go on chain.
type Backlog struct {
	PendingReceipts uint64
	// OldestPending is the acceptance time of the oldest pending receipt
	// (zero when none).
	OldestPending time.Time
	// OldestAge is its age by the database's clock.
	OldestAge            time.Duration
	PendingRegistrations uint64
	// LastBatchID and LastSettledBatchID are the newest batch recorded and
	// the newest settled (0 for none).
	LastBatchID, LastSettledBatchID uint64
}

// backlogScan caps the pending count so the query stays cheap when a long
// outage piled receipts up.
const backlogScan = 10_000_000

// Backlog reads the backlog.
func (s *Store) Backlog(ctx context.Context) (Backlog, error) {
	var (
		b                      Backlog
		n, regs, last, lastSet int64
		oldest                 *time.Time
		ageSeconds             *float64
	)
	err := s.db.Pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM (SELECT 1 FROM receipts WHERE batch_id IS NULL LIMIT $1) p),
		       o.accepted_at, EXTRACT(EPOCH FROM clock_timestamp() - o.accepted_at)::float8,
		       (SELECT count(*) FROM agents WHERE chain_state = 'pending'),
		       COALESCE((SELECT max(id) FROM receipt_batches), 0),
		       COALESCE((SELECT id FROM receipt_batches WHERE settled_at IS NOT NULL ORDER BY id DESC LIMIT 1), 0)
		  FROM (SELECT NULL) x
		  LEFT JOIN LATERAL (SELECT accepted_at FROM receipts WHERE batch_id IS NULL ORDER BY id LIMIT 1) o ON true`,
		backlogScan).Scan(&n, &oldest, &ageSeconds, &regs, &last, &lastSet)
	if err != nil {
		return b, fmt.Errorf("backlog: %w", err)
	}
	b.PendingReceipts, b.PendingRegistrations = uint64(n), uint64(regs)
	b.LastBatchID, b.LastSettledBatchID = uint64(last), uint64(lastSet)
	if oldest != nil {
		b.OldestPending = *oldest
	}
	if ageSeconds != nil && *ageSeconds > 0 {
		b.OldestAge = time.Duration(*ageSeconds * float64(time.Second))
	}
	return b, nil
}

// numeric converts a non-negative big.Int for a numeric(78,0) parameter.
func numeric(x *big.Int) string { return x.String() }

func parseNumeric(s string) (*big.Int, error) {
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("bad numeric %q", s)
	}
	return x, nil
}

// Pool exposes the pool for tests and status queries.
func (s *Store) Pool() *pgxpool.Pool { return s.db.Pool }
