package reputation

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
)

// pendingFunc stands in for the receipts service's GetPendingTotals; the
// receipts side is tested in services/receipts.
type pendingFunc func(common.Address) (uint64, uint64, error)

func (f pendingFunc) Pending(_ context.Context, a common.Address) (uint64, uint64, error) {
	return f(a)
}

func settle(t *testing.T, c *anviltest.Chain, d chain.Deployment, batch int64, agents []common.Address, up, down []int64) {
	t.Helper()
	ups, downs := make([]*big.Int, len(up)), make([]*big.Int, len(down))
	for i := range up {
		ups[i], downs[i] = big.NewInt(up[i]), big.NewInt(down[i])
	}
	opts := bind.NewKeyedTransactor(anviltest.Key(0), big.NewInt(int64(d.ChainID)))
	tx, err := bind.Transact(trackerABI.Instance(c.Client, d.Tracker), opts,
		trackerABI.PackSettle(big.NewInt(batch), common.HexToHash("0x01"), agents, ups, downs))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bind.WaitMined(context.Background(), c.Client, tx.Hash()); err != nil {
		t.Fatal(err)
	}
}

func register(t *testing.T, c *anviltest.Chain, d chain.Deployment, agent common.Address) {
	t.Helper()
	opts := bind.NewKeyedTransactor(anviltest.Key(0), big.NewInt(int64(d.ChainID)))
	tx, err := bind.Transact(trackerABI.Instance(c.Client, d.Tracker), opts, trackerABI.PackRegister(agent))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bind.WaitMined(context.Background(), c.Client, tx.Hash()); err != nil {
		t.Fatal(err)
	}
}

func TestFiguresFromChainEventsAndPending(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := anviltest.Start(t)
	const credit = 1000
	d, err := chain.Deploy(ctx, c.Client, anviltest.Key(0), chain.DeployParams{InitialCredit: credit})
	if err != nil {
		t.Fatal(err)
	}
	alice := common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	var pendUp, pendDown atomic.Uint64
	pendUp.Store(7)
	pendDown.Store(5)
	src := New(Config{Tracker: d.Tracker, PollInterval: 20 * time.Millisecond, SettledTTL: time.Hour},
		c.Client, pendingFunc(func(common.Address) (uint64, uint64, error) { return pendUp.Load(), pendDown.Load(), nil }),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	go src.Run(ctx)

	// Not yet on chain: the initial credit its queued registration will grant.
	f, err := src.Figures(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if f.OnChain || f.SettledUpload != credit || f.SettledDownload != 0 || f.PendingUpload != 7 || f.PendingDownload != 5 {
		t.Fatalf("before registration: %+v", f)
	}

	register(t, c, d, alice)
	// Settle moves figures; with SettledTTL of an hour only the event poller
	// can bring the new totals into the cache.
	settle(t, c, d, 1, []common.Address{alice}, []int64{300}, []int64{4000})
	want := func(up, down uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			f, err = src.Figures(ctx, alice)
			if err == nil && f.OnChain && f.SettledUpload == up && f.SettledDownload == down {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("figures %+v, %v; want settled %d/%d on chain", f, err, up, down)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	want(credit+300, 4000)
	settle(t, c, d, 2, []common.Address{alice}, []int64{1}, []int64{2})
	want(credit+301, 4002)
}

func TestFailsClosedWithoutCache(t *testing.T) {
	ctx := context.Background()
	c := anviltest.Start(t)
	d, err := chain.Deploy(ctx, c.Client, anviltest.Key(0), chain.DeployParams{})
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("receipts service down")
	var fail atomic.Bool
	src := New(Config{Tracker: d.Tracker, PendingTTL: time.Nanosecond}, c.Client,
		pendingFunc(func(common.Address) (uint64, uint64, error) {
			if fail.Load() {
				return 0, 0, down
			}
			return 1, 2, nil
		}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	known, stranger := common.HexToAddress("0x01"), common.HexToAddress("0x02")
	if _, err := src.Figures(ctx, known); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	if f, err := src.Figures(ctx, known); err != nil || f.PendingDownload != 2 {
		t.Fatalf("with a cached pending figure and the source down: %+v, %v; want the stale figure", f, err)
	}
	if _, err := src.Figures(ctx, stranger); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no cache and the source down: %v, want ErrUnavailable", err)
	}
}
