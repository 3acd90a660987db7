package verifier

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/services/receipts/internal/ledger"
)

// countingSource knows one agent and no dataset, and counts the questions.
type countingSource struct {
	known                common.Address
	registered, datasets int
}

func (s *countingSource) Registered(_ context.Context, as []common.Address) ([]common.Address, error) {
	s.registered++
	var out []common.Address
	for _, a := range as {
		if a == s.known {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *countingSource) Datasets(context.Context, [][20]byte) (map[[20]byte]*ledger.Dataset, error) {
	s.datasets++
	return nil, nil
}

func (s *countingSource) Members(context.Context, []ledger.Member) ([]ledger.Member, error) {
	return nil, nil
}

// Unknown agents and torrents are remembered for NegativeTTL, at most
// Negatives of each; then asked again.
func TestNegativeCache(t *testing.T) {
	ctx := context.Background()
	src := &countingSource{known: common.Address{1}}
	c := NewCache(CacheLimits{Agents: 10, Members: 10, DatasetBytes: 1 << 20, Negatives: 4, NegativeTTL: 5 * time.Second})
	now := time.Unix(1_000_000, 0)
	ask := func(at time.Time, as ...common.Address) map[common.Address]bool {
		need := make(map[common.Address]bool)
		for _, a := range as {
			need[a] = false
		}
		if err := c.lookupAgents(ctx, src, need, at); err != nil {
			t.Fatal(err)
		}
		return need
	}
	unknown := common.Address{2}
	if got := ask(now, src.known, unknown); !got[src.known] || got[unknown] {
		t.Fatalf("first answer %v", got)
	}
	if got := ask(now.Add(4*time.Second), src.known, unknown); !got[src.known] || got[unknown] || src.registered != 1 {
		t.Fatalf("within the TTL: %v after %d queries, want the cached answers after 1", got, src.registered)
	}
	src.known = unknown // it registers
	if got := ask(now.Add(5*time.Second), unknown); !got[unknown] || src.registered != 2 {
		t.Fatalf("after the TTL: %v after %d queries, want registered after 2", got, src.registered)
	}
	// Bounded: 100 unknown addresses leave at most 4 remembered.
	for i := range 100 {
		ask(now, common.Address{9, byte(i)})
	}
	if n := len(c.noAgent); n > 4 {
		t.Errorf("%d negative answers remembered, want at most 4", n)
	}

	ds := map[[20]byte]*ledger.Dataset{{7}: nil}
	for range 3 {
		if err := c.lookupDatasets(ctx, src, ds, now); err != nil {
			t.Fatal(err)
		}
	}
	if src.datasets != 1 || ds[[20]byte{7}] != nil {
		t.Errorf("unknown torrent asked %d times within the TTL, want 1", src.datasets)
	}
	if err := c.lookupDatasets(ctx, src, ds, now.Add(time.Minute)); err != nil || src.datasets != 2 {
		t.Errorf("after the TTL: asked %d times (%v), want 2", src.datasets, err)
	}
}
