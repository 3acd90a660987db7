package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

const serviceName = "pbts.v1.ChainwriterService"

// waitHealth waits until the health of service is want (the process must
// answer: the overall server stays SERVING).
func waitHealth(t testing.TB, hc healthpb.HealthClient, want healthpb.HealthCheckResponse_ServingStatus, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var (
		last    healthpb.HealthCheckResponse_ServingStatus
		lastErr error
	)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: serviceName})
		cancel()
		lastErr = err
		if err == nil {
			last = r.Status
			if r.Status == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("health of %s: %v (%v), want %v after %v", serviceName, last, lastErr, want, timeout)
}

// TestChainEndpointDown stops anvil (keeping its --state) while the writer
// runs and receipts keep arriving: the writer stays alive, answers gRPC,
// reports its service NOT_SERVING and the chain unreachable, and once anvil
// is back (behind the same URL) it catches up, every receipt counted once.
func TestChainEndpointDown(t *testing.T) {
	t.Parallel()
	stateFile := filepath.Join(t.TempDir(), "anvil-state.json")
	a := startAnvil(t, "--state", stateFile)
	w := newWorld(t, a.url())
	w.seedAgents(2)
	p := start(t, "writer", w.env(a.url()), "")
	conn := p.conn()
	hc := healthpb.NewHealthClient(conn)
	cw := pbtsv1.NewChainwriterServiceClient(conn)

	waitHealth(t, hc, healthpb.HealthCheckResponse_SERVING, 20*time.Second)
	w.exchange(0, 1, 40)
	w.waitAllSettled(p, 20*time.Second)

	a.stop() // SIGTERM: anvil dumps its state
	down := time.Now()
	w.exchange(1, 0, 70)
	waitHealth(t, hc, healthpb.HealthCheckResponse_NOT_SERVING, 10*time.Second)
	overall, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || overall.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("overall health while the chain is down: %v, %v; want SERVING (alive)", overall, err)
	}
	st, err := cw.GetChainStatus(context.Background(), &pbtsv1.GetChainStatusRequest{})
	if err != nil {
		t.Fatalf("GetChainStatus while the chain is down: %v", err)
	}
	if st.ChainReachable || st.Problem != "chain endpoint unreachable" || st.PendingReceipts != 70 || st.LastSettledBatchId != 1 {
		t.Errorf("status while down: reachable=%v problem=%q pending=%d last settled=%d; want false, chain endpoint unreachable, 70, 1",
			st.ChainReachable, st.Problem, st.PendingReceipts, st.LastSettledBatchId)
	}
	time.Sleep(time.Until(down.Add(4 * time.Second)))
	if n := w.count(`SELECT count(*) FROM receipts WHERE batch_id IS NULL`); n != 70 {
		t.Errorf("%d receipts pending while the chain is down, want 70 (no batch cut while it is unreachable)", n)
	}

	a.start() // same state, a new port behind the same relay URL
	waitHealth(t, hc, healthpb.HealthCheckResponse_SERVING, 20*time.Second)
	w.waitAllSettled(p, 30*time.Second)

	st, err = cw.GetChainStatus(context.Background(), &pbtsv1.GetChainStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.ChainReachable || st.Problem != "" || st.PendingReceipts != 0 || st.LastBatchIdOnChain != st.LastSettledBatchId ||
		st.ChainId != 31337 || st.Signer != w.dep.Authority.Hex() || st.Contract != w.dep.Tracker.Hex() || st.BalanceWei == "" ||
		st.NextNonce != st.ChainNonce {
		t.Errorf("status after catching up: %v", st)
	}
	list, err := cw.ListBatches(context.Background(), &pbtsv1.ListBatchesRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Batches) != 1 || list.NextPageToken == "" || list.Batches[0].State != pbtsv1.BatchState_BATCH_STATE_SETTLED ||
		list.Batches[0].GasUsed == 0 || list.Batches[0].TxHash == "" || list.Batches[0].BlockNumber == 0 {
		t.Errorf("ListBatches page 1: %v", list)
	}
	p.stop()
	w.checkExactlyOnce()
}

// TestRandomKills SIGKILLs the writer from outside at random moments while
// receipts and registrations keep arriving, five times, then lets it finish:
// every receipt is counted exactly once.
func TestRandomKills(t *testing.T) {
	t.Parallel()
	a := startAnvil(t)
	w := newWorld(t, a.url())
	w.seedAgents(4)
	env := w.env(a.url())
	env.extra = map[string]string{"PBTS_BATCH_MAX_RECEIPTS": "25"}
	rng := rand.New(rand.NewPCG(1, 2))

	var wg sync.WaitGroup
	stopTraffic := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopTraffic:
				return
			case <-time.After(40 * time.Millisecond):
			}
			w.exchange(i%4, (i+1)%4, 7)
		}
	}()
	for round := range 5 {
		p := start(t, fmt.Sprintf("round-%d", round), env, "")
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		p.Cmd.Process.Signal(syscall.SIGKILL)
		p.waitExit(5 * time.Second)
	}
	close(stopTraffic)
	wg.Wait()
	p := start(t, "final", env, "")
	w.waitAllSettled(p, 60*time.Second)
	p.stop()
	w.checkExactlyOnce()
	t.Logf("%d receipts in %d batches, %d transactions (%d not confirmed)", w.count(`SELECT count(*) FROM receipts`),
		w.count(`SELECT count(*) FROM receipt_batches`), w.count(`SELECT count(*) FROM chainwriter_txs`),
		w.count(`SELECT count(*) FROM chainwriter_txs WHERE state <> 'confirmed'`))
}
