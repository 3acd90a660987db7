package store

import (
	"context"
	"fmt"
	"math"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"
)

// Base is what an agent's registration on the contract granted it: the
// initial credit (AgentRegistered) or its figures imported from the referrer
// chain (AgentImported).
type Base struct {
	Agent            common.Address
	Upload, Download uint64
}

// AgentsWithoutBase lists agents registered on chain whose base is not
// confirmed yet (at most limit).
func (s *Store) AgentsWithoutBase(ctx context.Context, limit int) ([]common.Address, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT address FROM agents
		WHERE chain_state = 'confirmed' AND NOT base_confirmed ORDER BY address LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("agents without base: %w", err)
	}
	var out []common.Address
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		out = append(out, common.BytesToAddress(b))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("agents without base: %w", err)
	}
	return out, nil
}

// ConfirmBases records the bases the chain shows: the figures of an agent
// come from the database alone afterwards (migration 00005).
func (s *Store) ConfirmBases(ctx context.Context, bases []Base) error {
	if len(bases) == 0 {
		return nil
	}
	addrs := make([][]byte, len(bases))
	ups, downs := make([]int64, len(bases)), make([]int64, len(bases))
	for i, b := range bases {
		if b.Upload > math.MaxInt64 || b.Download > math.MaxInt64 {
			return fmt.Errorf("base of %s exceeds 2^63", b.Agent)
		}
		addrs[i], ups[i], downs[i] = b.Agent[:], int64(b.Upload), int64(b.Download)
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE agents a SET base_upload = u.up, base_download = u.down, base_confirmed = true
		FROM unnest($1::bytea[], $2::bigint[], $3::bigint[]) AS u (addr, up, down)
		WHERE a.address = u.addr`, addrs, ups, downs)
	if err != nil {
		return fmt.Errorf("confirm bases: %w", err)
	}
	return nil
}
