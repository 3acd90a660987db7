package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/receipt"
)

// anvil is a chain that can be stopped and restarted (with its --state)
// behind one URL for the test's life: each start binds a new port 0, and a
// relay the test holds forwards to it.
type anvil struct {
	t     testing.TB
	args  []string
	relay *anviltest.Relay
	node  *anviltest.Node
}

func (a *anvil) url() string { return a.relay.URL() }

func startAnvil(t testing.TB, args ...string) *anvil {
	t.Helper()
	if _, err := anviltest.Binary(); err != nil {
		t.Skipf("anvil not found: %v", err)
	}
	a := &anvil{t: t, args: args, relay: anviltest.NewRelay(t)}
	a.start()
	t.Cleanup(func() {
		if a.node != nil {
			a.node.Kill()
			if t.Failed() {
				t.Logf("anvil output:\n%s", tail(a.node.Output(), 30))
			}
		}
	})
	return a
}

func (a *anvil) start() {
	a.t.Helper()
	n, err := anviltest.Run(context.Background(), a.args...)
	if err != nil {
		a.t.Fatal(err)
	}
	a.node = n
	a.relay.Point(n.URL)
}

// stop ends anvil with SIGTERM (it dumps --state), waits, and leaves the
// relay pointing nowhere.
func (a *anvil) stop() {
	a.t.Helper()
	a.relay.Point("")
	if err := a.node.Stop(10 * time.Second); err != nil {
		a.t.Fatal(err)
	}
}

// newWorld starts nothing: it deploys on the chain at url and makes a
// migrated database.
func newWorld(t testing.TB, url string) *world {
	t.Helper()
	client, err := ethclient.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	dep, err := chain.Deploy(context.Background(), client, anviltest.Key(0), chain.DeployParams{InitialCredit: credit})
	if err != nil {
		t.Fatal(err)
	}
	dbURL := dbtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	w := &world{t: t, client: client, pool: pool, dep: dep, domain: receipt.Domain{ChainID: dep.ChainID, Tracker: dep.Tracker}}
	w.dbURL = dbURL
	return w
}

func (w *world) env(rpcURL string) writerEnv {
	return writerEnv{dbURL: w.dbURL, rpcURL: rpcURL, contract: w.dep.Tracker, key: anviltest.Key(0)}
}
