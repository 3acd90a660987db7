package service

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
	"github.com/pbts/pbts/services/receipts/internal/verifier"
)

// fail maps an error to the status the client sees; this is the only place
// that does. Causes are logged, clients get an opaque message.
func (s *Service) fail(ctx context.Context, op string, err error) error {
	switch {
	case errors.Is(err, database.ErrNotFound):
		return status.Error(codes.NotFound, "receipts: not found")
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return status.Error(codes.Canceled, "receipts: request canceled")
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return status.Error(codes.DeadlineExceeded, "receipts: deadline exceeded; nothing or all of the request was applied, resubmit to learn which")
	case unavailable(err):
		s.log.Warn("database unavailable", "op", op, "err", err)
		return status.Error(codes.Unavailable, "receipts: database unavailable; nothing was applied, retry")
	default:
		s.log.Error("request failed", "op", op, "err", err)
		return status.Error(codes.Internal, "receipts: internal error")
	}
}

// unavailable: the database cannot be reached, or the verifier is closing.
func unavailable(err error) bool {
	return errors.Is(err, verifier.ErrClosed) || database.Unavailable(err)
}

// treeCache keeps the Merkle trees of the last few batches GetReceipt was
// asked about (a batch's receipts never change once it exists).
type treeCache struct {
	mu    sync.Mutex
	order []uint64
	trees map[uint64]*receipt.Tree
}

const treeCacheSize = 8

func (c *treeCache) get(ctx context.Context, st *ledger.Store, batch uint64, root [32]byte) (*receipt.Tree, error) {
	c.mu.Lock()
	t := c.trees[batch]
	c.mu.Unlock()
	if t != nil && t.Root() == root {
		return t, nil
	}
	ds, err := st.BatchDigests(ctx, batch)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("batch %d has no receipts", batch)
	}
	t, err = receipt.NewTree(ds)
	if err != nil {
		return nil, fmt.Errorf("batch %d: %w", batch, err)
	}
	if t.Root() != root {
		return nil, fmt.Errorf("batch %d: stored root 0x%x is not the root 0x%x of its %d receipts", batch, root, t.Root(), len(ds))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trees == nil {
		c.trees = make(map[uint64]*receipt.Tree)
	}
	if _, ok := c.trees[batch]; !ok {
		c.order = append(c.order, batch)
		if len(c.order) > treeCacheSize {
			delete(c.trees, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.trees[batch] = t
	return t, nil
}
