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
	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

// flaky is the real store with an outage switch: a database that answers
// and then stops answering for one reader cannot be made otherwise in a test.
type flaky struct {
	*store.Store
	down atomic.Bool
}

var errDown = errors.New("database down")

func (f *flaky) AgentStanding(ctx context.Context, a common.Address) (store.Standing, error) {
	if f.down.Load() {
		return store.Standing{}, errDown
	}
	return f.Store.AgentStanding(ctx, a)
}

func newAgent(t *testing.T, st *store.Store, a common.Address) {
	t.Helper()
	_, h := store.NewPasskey()
	var sig receipt.Signature
	sig[64] = 27
	if _, _, err := st.CreateAgent(context.Background(), store.NewAgent{Address: a, PasskeyHash: h, Timestamp: 1, Signature: sig}); err != nil {
		t.Fatal(err)
	}
}

func pend(t *testing.T, db *database.DB, a common.Address, up, down int64) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO pending_totals (agent, upload_bytes, download_bytes) VALUES ($1, $2, $3)
		ON CONFLICT (agent) DO UPDATE SET upload_bytes = excluded.upload_bytes, download_bytes = excluded.download_bytes`, a[:], up, down); err != nil {
		t.Fatal(err)
	}
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

// An agent whose base is recorded gets its figures from the database alone:
// base + settled + pending, whatever the chain says meanwhile.
func TestFiguresFromTheDatabase(t *testing.T) {
	ctx := context.Background()
	c := anviltest.Start(t)
	const credit = 1000
	d, err := chain.Deploy(ctx, c.Client, anviltest.Key(0), chain.DeployParams{InitialCredit: credit})
	if err != nil {
		t.Fatal(err)
	}
	db := dbtest.New(t)
	st := store.New(db, store.Options{})
	src := New(Config{Tracker: d.Tracker, PendingTTL: time.Nanosecond}, c.Client, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	bob := common.HexToAddress("0x0000000000000000000000000000000000000b0b")
	if f, err := src.Figures(ctx, bob); err != nil || f.SettledUpload != credit || f.OnChain {
		t.Fatalf("unregistered: %+v, %v; want the initial credit, not on chain", f, err)
	}
	newAgent(t, st, bob)
	if err := src.ExpectBase(ctx, bob); err != nil {
		t.Fatal(err)
	}
	pend(t, db, bob, 30, 20)
	// On chain bob has more than the database says (an outsider settled with
	// the authority key): the database's figures are what the gate uses.
	register(t, c, d, bob)
	settle(t, c, d, 1, []common.Address{bob}, []int64{5000}, []int64{0})
	f, err := src.Figures(ctx, bob)
	if err != nil || f.SettledUpload != credit || f.SettledDownload != 0 || f.PendingUpload != 30 || f.PendingDownload != 20 || f.OnChain {
		t.Fatalf("figures %+v, %v; want base %d + pending 30/20, base not yet confirmed", f, err, credit)
	}
}

// Without a recorded base (registered while the chain was down, or before
// the database recorded bases), settled figures come from the chain, kept
// fresh by its events.
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
	db := dbtest.New(t)
	st := store.New(db, store.Options{})
	newAgent(t, st, alice)
	pend(t, db, alice, 7, 5)
	src := New(Config{Tracker: d.Tracker, PollInterval: 20 * time.Millisecond, SettledTTL: time.Hour, PendingTTL: time.Nanosecond},
		c.Client, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
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
	db := dbtest.New(t)
	fl := &flaky{Store: store.New(db, store.Options{})}
	src := New(Config{Tracker: d.Tracker, PendingTTL: time.Nanosecond}, c.Client, fl, slog.New(slog.NewTextHandler(io.Discard, nil)))
	known, stranger := common.HexToAddress("0x01"), common.HexToAddress("0x02")
	newAgent(t, fl.Store, known)
	pend(t, db, known, 1, 2)
	if _, err := src.Figures(ctx, known); err != nil {
		t.Fatal(err)
	}
	fl.down.Store(true)
	if f, err := src.Figures(ctx, known); err != nil || f.PendingDownload != 2 {
		t.Fatalf("with a cached pending figure and the source down: %+v, %v; want the stale figure", f, err)
	}
	if _, err := src.Figures(ctx, stranger); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no cache and the source down: %v, want ErrUnavailable", err)
	}
}
