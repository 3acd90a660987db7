package store

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"
)

// Kind is what a transaction does.
type Kind string

// Kinds.
const (
	KindRegister Kind = "register"
	KindSettle   Kind = "settle"
)

// State is where a transaction stands (see the migration).
type State string

// States.
const (
	StatePending   State = "pending"
	StateMined     State = "mined"
	StateConfirmed State = "confirmed"
	StateFailed    State = "failed"
	StateDropped   State = "dropped"
)

// Attempt is one signed version of a transaction.
type Attempt struct {
	Hash           common.Hash
	Raw            []byte
	TipCap, FeeCap *big.Int
	SignedAt       time.Time
	SentAt         time.Time // zero: never accepted by a node
}

// Inclusion is where a transaction was included.
type Inclusion struct {
	Hash      common.Hash // the included version
	Block     uint64
	BlockHash common.Hash
	Status    uint64
	GasUsed   uint64
}

// Tx is one nonce's transaction with all its signed versions (oldest first).
type Tx struct {
	ID        int64
	Signer    common.Address
	Nonce     uint64
	Kind      Kind
	BatchID   uint64 // settle only
	To        common.Address
	Data      []byte
	GasLimit  uint64
	State     State
	CreatedAt time.Time
	Included  Inclusion // mined/confirmed/failed
	Attempts  []Attempt
	Agents    []common.Address // register only
}

// Latest is the newest signed version.
func (t *Tx) Latest() *Attempt { return &t.Attempts[len(t.Attempts)-1] }

// Attempt returns the version with hash h, nil if none.
func (t *Tx) Attempt(h common.Hash) *Attempt {
	for i := range t.Attempts {
		if t.Attempts[i].Hash == h {
			return &t.Attempts[i]
		}
	}
	return nil
}

// NextNonce is one above the highest nonce the signer used (0 for none).
func (s *Store) NextNonce(ctx context.Context, signer common.Address) (uint64, error) {
	var n *int64
	if err := s.db.Pool.QueryRow(ctx, `SELECT max(nonce) FROM chainwriter_txs WHERE signer = $1`, signer[:]).Scan(&n); err != nil {
		return 0, fmt.Errorf("next nonce: %w", err)
	}
	if n == nil {
		return 0, nil
	}
	return uint64(*n) + 1, nil
}

// InsertTx stores a new transaction with its first signed version, before it
// is broadcast: the nonce row, the raw transaction, and what it carries
// (register: its agents, whose chain_tx_hash it sets; settle: the batch's
// tx_hash). One database transaction. It returns the row id.
func (s *Store) InsertTx(ctx context.Context, t *Tx, a Attempt) (int64, error) {
	var id int64
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		var batch any
		if t.Kind == KindSettle {
			batch = int64(t.BatchID)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO chainwriter_txs (signer, nonce, kind, batch_id, to_address, data, gas_limit)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			t.Signer[:], int64(t.Nonce), string(t.Kind), batch, t.To[:], t.Data, int64(t.GasLimit)).Scan(&id); err != nil {
			return err
		}
		if err := insertAttempt(ctx, tx, id, a); err != nil {
			return err
		}
		if t.Kind == KindRegister {
			addrs := make([][]byte, len(t.Agents))
			for i := range t.Agents {
				addrs[i] = t.Agents[i][:]
			}
			if _, err := tx.Exec(ctx, `INSERT INTO chainwriter_tx_agents (tx_id, agent) SELECT $1, unnest($2::bytea[])`, id, addrs); err != nil {
				return err
			}
		}
		return pointAt(ctx, tx, id, t.Kind, t.BatchID, a.Hash)
	})
	if err != nil {
		return 0, fmt.Errorf("insert tx nonce %d: %w", t.Nonce, err)
	}
	return id, nil
}

func insertAttempt(ctx context.Context, tx pgx.Tx, id int64, a Attempt) error {
	_, err := tx.Exec(ctx, `INSERT INTO chainwriter_tx_attempts (hash, tx_id, raw, gas_tip_cap, gas_fee_cap)
		VALUES ($1, $2, $3, $4::numeric, $5::numeric)`, a.Hash[:], id, a.Raw, numeric(a.TipCap), numeric(a.FeeCap))
	return err
}

// pointAt records hash as the transaction of what tx id carries while it is
// in flight (receipt_batches.tx_hash, agents.chain_tx_hash).
func pointAt(ctx context.Context, tx pgx.Tx, id int64, kind Kind, batch uint64, hash common.Hash) error {
	var err error
	switch kind {
	case KindSettle:
		_, err = tx.Exec(ctx, `UPDATE receipt_batches SET tx_hash = $2 WHERE id = $1 AND settled_at IS NULL`, int64(batch), hash[:])
	case KindRegister:
		_, err = tx.Exec(ctx, `UPDATE agents SET chain_tx_hash = $2
			WHERE chain_state = 'pending' AND address IN (SELECT agent FROM chainwriter_tx_agents WHERE tx_id = $1)`, id, hash[:])
	}
	return err
}

// AddAttempt stores a new signed version (a fee bump) before it is broadcast.
func (s *Store) AddAttempt(ctx context.Context, t *Tx, a Attempt) error {
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		if err := insertAttempt(ctx, tx, t.ID, a); err != nil {
			return err
		}
		// A version refused for its gas limit is signed with a new one.
		if _, err := tx.Exec(ctx, `UPDATE chainwriter_txs SET gas_limit = $2 WHERE id = $1 AND gas_limit <> $2`, t.ID, int64(t.GasLimit)); err != nil {
			return err
		}
		return pointAt(ctx, tx, t.ID, t.Kind, t.BatchID, a.Hash)
	})
	if err != nil {
		return fmt.Errorf("add attempt nonce %d: %w", t.Nonce, err)
	}
	return nil
}

// MarkSent records that a node accepted a version.
func (s *Store) MarkSent(ctx context.Context, hash common.Hash) error {
	if _, err := s.db.Pool.Exec(ctx, `UPDATE chainwriter_tx_attempts SET sent_at = now() WHERE hash = $1`, hash[:]); err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}

const txCols = `t.id, t.signer, t.nonce, t.kind, t.batch_id, t.to_address, t.data, t.gas_limit, t.state, t.created_at,
	t.mined_hash, t.block_number, t.block_hash, t.status, t.gas_used`

// LiveTxs returns the signer's pending and mined transactions by nonce, with
// their versions and agents.
func (s *Store) LiveTxs(ctx context.Context, signer common.Address) ([]Tx, error) {
	return s.txs(ctx, `WHERE t.signer = $1 AND t.state IN ('pending', 'mined') ORDER BY t.nonce`, signer[:])
}

// TxForBatch returns the batch's live or confirmed transaction, nil if none.
func (s *Store) TxForBatch(ctx context.Context, batch uint64) (*Tx, error) {
	txs, err := s.txs(ctx, `WHERE t.batch_id = $1 AND t.state IN ('pending', 'mined', 'confirmed')`, int64(batch))
	if err != nil || len(txs) == 0 {
		return nil, err
	}
	return &txs[0], nil
}

func (s *Store) txs(ctx context.Context, where string, args ...any) ([]Tx, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+txCols+` FROM chainwriter_txs t `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("txs: %w", err)
	}
	var (
		out   []Tx
		ids   []int64
		index = map[int64]int{}
	)
	for rows.Next() {
		var (
			t                                Tx
			signer, to, minedHash, blockHash []byte
			nonce, gas                       int64
			kind, state                      string
			batch, block, gasUsed            *int64
			status                           *int16
		)
		if err := rows.Scan(&t.ID, &signer, &nonce, &kind, &batch, &to, &t.Data, &gas, &state, &t.CreatedAt,
			&minedHash, &block, &blockHash, &status, &gasUsed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("txs: %w", err)
		}
		t.Signer, t.To = common.BytesToAddress(signer), common.BytesToAddress(to)
		t.Nonce, t.GasLimit, t.Kind, t.State = uint64(nonce), uint64(gas), Kind(kind), State(state)
		if batch != nil {
			t.BatchID = uint64(*batch)
		}
		if minedHash != nil {
			t.Included = Inclusion{Hash: common.BytesToHash(minedHash), Block: uint64(*block),
				BlockHash: common.BytesToHash(blockHash), Status: uint64(*status), GasUsed: uint64(*gasUsed)}
		}
		index[t.ID] = len(out)
		ids = append(ids, t.ID)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("txs: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	rows, err = s.db.Pool.Query(ctx, `SELECT tx_id, hash, raw, gas_tip_cap::text, gas_fee_cap::text, signed_at, sent_at
		FROM chainwriter_tx_attempts WHERE tx_id = ANY($1) ORDER BY tx_id, signed_at, gas_fee_cap`, ids)
	if err != nil {
		return nil, fmt.Errorf("tx attempts: %w", err)
	}
	for rows.Next() {
		var (
			id       int64
			a        Attempt
			hash     []byte
			tip, cap string
			sent     *time.Time
		)
		if err := rows.Scan(&id, &hash, &a.Raw, &tip, &cap, &a.SignedAt, &sent); err != nil {
			rows.Close()
			return nil, fmt.Errorf("tx attempts: %w", err)
		}
		a.Hash = common.BytesToHash(hash)
		var err1, err2 error
		a.TipCap, err1 = parseNumeric(tip)
		a.FeeCap, err2 = parseNumeric(cap)
		if err := errors.Join(err1, err2); err != nil {
			rows.Close()
			return nil, fmt.Errorf("tx attempts: %w", err)
		}
		if sent != nil {
			a.SentAt = *sent
		}
		t := &out[index[id]]
		t.Attempts = append(t.Attempts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tx attempts: %w", err)
	}
	rows, err = s.db.Pool.Query(ctx, `SELECT tx_id, agent FROM chainwriter_tx_agents WHERE tx_id = ANY($1) ORDER BY tx_id, agent`, ids)
	if err != nil {
		return nil, fmt.Errorf("tx agents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int64
			agent []byte
		)
		if err := rows.Scan(&id, &agent); err != nil {
			return nil, fmt.Errorf("tx agents: %w", err)
		}
		t := &out[index[id]]
		t.Agents = append(t.Agents, common.BytesToAddress(agent))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tx agents: %w", err)
	}
	for i := range out {
		if len(out[i].Attempts) == 0 {
			return nil, fmt.Errorf("tx nonce %d has no signed version", out[i].Nonce)
		}
	}
	return out, nil
}

// MarkMined records that a version was included (not yet confirmed).
func (s *Store) MarkMined(ctx context.Context, id int64, inc Inclusion) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE chainwriter_txs SET state = 'mined', mined_hash = $2, block_number = $3,
		block_hash = $4, status = $5, gas_used = $6, mined_at = now() WHERE id = $1 AND state IN ('pending', 'mined')`,
		id, inc.Hash[:], int64(inc.Block), inc.BlockHash[:], int16(inc.Status), int64(inc.GasUsed))
	if err != nil {
		return fmt.Errorf("mark mined: %w", err)
	}
	return nil
}

// Unmine puts a mined transaction back to pending: its block left the
// canonical chain (a reorg).
func (s *Store) Unmine(ctx context.Context, id int64) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE chainwriter_txs SET state = 'pending', mined_hash = NULL, block_number = NULL,
		block_hash = NULL, status = NULL, gas_used = NULL, mined_at = NULL WHERE id = $1 AND state = 'mined'`, id)
	if err != nil {
		return fmt.Errorf("unmine: %w", err)
	}
	return nil
}

// Confirm records a successful, confirmed transaction and its effects in one
// database transaction: settle marks its batch settled (the receipts trigger
// moves the bytes out of pending_totals), register marks its agents
// confirmed. beforeCommit, if set, runs after the updates and before the
// commit (a test hook).
func (s *Store) Confirm(ctx context.Context, t *Tx, inc Inclusion, beforeCommit func()) error {
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE chainwriter_txs SET state = 'confirmed', mined_hash = $2, block_number = $3,
			block_hash = $4, status = $5, gas_used = $6, mined_at = COALESCE(mined_at, now()), finished_at = now()
			WHERE id = $1 AND state IN ('pending', 'mined')`,
			t.ID, inc.Hash[:], int64(inc.Block), inc.BlockHash[:], int16(inc.Status), int64(inc.GasUsed))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("tx %d is no longer live", t.ID)
		}
		switch t.Kind {
		case KindSettle:
			err = settleBatch(ctx, tx, t.BatchID, inc)
		case KindRegister:
			_, err = tx.Exec(ctx, `UPDATE agents SET chain_state = 'confirmed', chain_tx_hash = $2,
				chain_confirmed_at = COALESCE(chain_confirmed_at, now())
				WHERE address IN (SELECT agent FROM chainwriter_tx_agents WHERE tx_id = $1) AND chain_state = 'pending'`,
				t.ID, inc.Hash[:])
		}
		if err != nil {
			return err
		}
		if beforeCommit != nil {
			beforeCommit()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("confirm tx nonce %d: %w", t.Nonce, err)
	}
	return nil
}

// Fail records a confirmed but reverted transaction; what it carried is
// queued again (a batch without a live transaction is sent anew, agents of
// a register transaction are pending and no longer in flight).
func (s *Store) Fail(ctx context.Context, t *Tx, inc Inclusion, note string) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE chainwriter_txs SET state = 'failed', mined_hash = $2, block_number = $3,
		block_hash = $4, status = $5, gas_used = $6, mined_at = COALESCE(mined_at, now()), finished_at = now(), note = $7
		WHERE id = $1 AND state IN ('pending', 'mined')`,
		t.ID, inc.Hash[:], int64(inc.Block), inc.BlockHash[:], int16(inc.Status), int64(inc.GasUsed), truncate(note))
	if err != nil {
		return fmt.Errorf("fail tx nonce %d: %w", t.Nonce, err)
	}
	return nil
}

// Drop records that the transaction's nonce was used by a transaction that
// is none of its versions; what it carried is queued again.
func (s *Store) Drop(ctx context.Context, t *Tx, note string) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE chainwriter_txs SET state = 'dropped', finished_at = now(), note = $2
		WHERE id = $1 AND state IN ('pending', 'mined')`, t.ID, truncate(note))
	if err != nil {
		return fmt.Errorf("drop tx nonce %d: %w", t.Nonce, err)
	}
	return nil
}

// ConfirmAgents marks agents confirmed without a transaction of ours (they
// were found registered on chain).
func (s *Store) ConfirmAgents(ctx context.Context, agents []common.Address) error {
	addrs := make([][]byte, len(agents))
	for i := range agents {
		addrs[i] = agents[i][:]
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE agents SET chain_state = 'confirmed', chain_confirmed_at = COALESCE(chain_confirmed_at, now())
		WHERE address = ANY($1) AND chain_state = 'pending'`, addrs)
	if err != nil {
		return fmt.Errorf("confirm agents: %w", err)
	}
	return nil
}

// PendingAgents returns up to limit agents awaiting on-chain registration
// that no live transaction registers, oldest first.
func (s *Store) PendingAgents(ctx context.Context, limit int) ([]common.Address, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT a.address FROM agents a WHERE a.chain_state = 'pending'
		AND NOT EXISTS (SELECT 1 FROM chainwriter_tx_agents ta JOIN chainwriter_txs t ON t.id = ta.tx_id
		                WHERE ta.agent = a.address AND t.state IN ('pending', 'mined'))
		ORDER BY a.registered_at, a.address LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending agents: %w", err)
	}
	defer rows.Close()
	var out []common.Address
	for rows.Next() {
		var a []byte
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("pending agents: %w", err)
		}
		out = append(out, common.BytesToAddress(a))
	}
	return out, rows.Err()
}

func truncate(s string) string {
	if len(s) > 1000 {
		return s[:1000]
	}
	return s
}

// ConfirmedFrom returns the signer's confirmed transactions with a nonce of
// at least nonce (by nonce): when nonce is the chain's, transactions a reorg
// deeper than the confirmations took out of the chain.
func (s *Store) ConfirmedFrom(ctx context.Context, signer common.Address, nonce uint64) ([]Tx, error) {
	return s.txs(ctx, `WHERE t.signer = $1 AND t.state = 'confirmed' AND t.nonce >= $2 ORDER BY t.nonce`, signer[:], int64(nonce))
}

// Reopen undoes Confirm for a transaction that a reorg took out of the
// chain after it was recorded: it is pending again (its versions are sent
// again), a settle's batch unsettled (the receipts triggers move its bytes
// back to pending) and a register's agents pending, in one database
// transaction.
func (s *Store) Reopen(ctx context.Context, t *Tx) error {
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE chainwriter_txs SET state = 'pending', mined_hash = NULL, block_number = NULL,
			block_hash = NULL, status = NULL, gas_used = NULL, mined_at = NULL, finished_at = NULL,
			note = 'reorged out after confirmation'
			WHERE id = $1 AND state = 'confirmed'`, t.ID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		switch t.Kind {
		case KindSettle:
			_, err = tx.Exec(ctx, `UPDATE receipt_batches SET settled_at = NULL, block_number = NULL, gas_used = NULL
				WHERE id = $1 AND settled_at IS NOT NULL`, int64(t.BatchID))
		case KindRegister:
			_, err = tx.Exec(ctx, `UPDATE agents SET chain_state = 'pending', chain_confirmed_at = NULL
				WHERE address IN (SELECT agent FROM chainwriter_tx_agents WHERE tx_id = $1) AND chain_state = 'confirmed'`, t.ID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("reopen tx nonce %d: %w", t.Nonce, err)
	}
	return nil
}
