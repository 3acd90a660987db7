package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/receipt"
)

// anvil is a chain that can be stopped and restarted on the same port
// (anviltest.Start cannot).
type anvil struct {
	t    testing.TB
	port int
	args []string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

func (a *anvil) url() string { return fmt.Sprintf("http://127.0.0.1:%d", a.port) }

func startAnvil(t testing.TB, port int, args ...string) *anvil {
	t.Helper()
	a := &anvil{t: t, port: port, args: args}
	a.start()
	t.Cleanup(func() {
		a.kill()
		if t.Failed() {
			t.Logf("anvil output:\n%s", tail(a.out.String(), 30))
		}
	})
	return a
}

func (a *anvil) start() {
	a.t.Helper()
	bin, err := anviltest.Binary()
	if err != nil {
		a.t.Skipf("anvil not found: %v", err)
	}
	a.cmd = exec.Command(bin, append([]string{"--host", "127.0.0.1", "--port", fmt.Sprint(a.port), "--silent"}, a.args...)...)
	a.out = &lockedBuffer{}
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(a.cmd, a.done)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := ethclient.Dial(a.url())
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = c.ChainID(ctx)
			cancel()
			c.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("anvil did not answer at %s: %v", a.url(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends anvil with SIGTERM (it dumps --state) and waits.
func (a *anvil) stop() {
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		a.t.Fatal("anvil did not stop after SIGTERM")
	}
}

func (a *anvil) kill() {
	select {
	case <-a.done:
	default:
		syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.done
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

func (w *world) env(rpcURL string, grpcPort int) writerEnv {
	return writerEnv{dbURL: w.dbURL, rpcURL: rpcURL, contract: w.dep.Tracker, key: anviltest.Key(0), grpcPort: grpcPort}
}
