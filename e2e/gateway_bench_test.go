package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// TestGatewayBench measures the REST gateway against the tracker it fronts:
// GET /v1/agents/{address} through the gateway and the same GetAgent over
// gRPC directly, from the same number of concurrent callers with kept-alive
// connections, in alternating rounds of the same run (the real tracker,
// Postgres and anvil of the e2e stack; the gateway logs every request, as
// deployed). It prints
//
//	figure gateway_rps <n> req/s                (median REST round)
//	figure gateway_grpc_direct_rps <n> req/s    (median gRPC round)
//	figure gateway_overhead_pct <p> %           (median of the rounds' grpc/rest - 1)
//
// `make bench` runs it (PBTS_BENCH=1); PBTS_BENCH_GATEWAY_SECONDS sets a
// round's length (default 3), PBTS_BENCH_GATEWAY_CONC the callers (8).
func TestGatewayBench(t *testing.T) {
	if os.Getenv("PBTS_BENCH") == "" {
		t.Skip("benchmark: set PBTS_BENCH=1 (make bench)")
	}
	round := 3 * time.Second
	if v, err := strconv.ParseFloat(os.Getenv("PBTS_BENCH_GATEWAY_SECONDS"), 64); err == nil && v > 0 {
		round = time.Duration(v * float64(time.Second))
	}
	conc := 8
	if v, err := strconv.Atoi(os.Getenv("PBTS_BENCH_GATEWAY_CONC")); err == nil && v > 0 {
		conc = v
	}
	s := newStack(t, 4*MiB)
	logLevel := "info" // as deployed: one access log line per request
	if v := os.Getenv("PBTS_BENCH_GATEWAY_LOG"); v != "" {
		logLevel = v
	}
	g := s.startGateway(t, map[string]string{"PBTS_POLL_INTERVAL": "1s", "PBTS_LOG_LEVEL": logLevel,
		"PBTS_PPROF_ADDR": "127.0.0.1:0"})
	var addrs []string
	for i := 0; i < 5; i++ { // the tracker's allowance of new agents per network
		a := s.register(t)
		addrs = append(addrs, a.Address())
	}
	tr := &http.Transport{MaxIdleConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	rest := func(ctx context.Context, i int) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", g.URL+"/v1/agents/"+addrs[i%len(addrs)], nil)
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("HTTP %d", res.StatusCode)
		}
		return err
	}
	direct := func(ctx context.Context, i int) error {
		_, err := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: addrs[i%len(addrs)]})
		return err
	}
	// measure runs calls from conc goroutines for d and returns requests/s
	// (calls have their own generous deadline: the round's end is not one).
	measure := func(call func(context.Context, int) error, d time.Duration) float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var n atomic.Int64
		var failed atomic.Value
		var wg sync.WaitGroup
		start := time.Now()
		end := start.Add(d)
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; time.Now().Before(end); i += conc {
					if err := call(ctx, i); err != nil {
						failed.Store(err)
						return
					}
					n.Add(1)
				}
			}(w)
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			t.Fatalf("a call failed during the load: %v", err)
		}
		return float64(n.Load()) / time.Since(start).Seconds()
	}
	measure(rest, round/3) // warm both paths: connections, caches
	measure(direct, round/3)
	if dir := os.Getenv("PBTS_BENCH_GATEWAY_PROFILE"); dir != "" { // where the gateway's time goes
		done := make(chan error, 1)
		go func() {
			res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", g.Addr("pprof"), int(round.Seconds())))
			if err == nil {
				defer res.Body.Close()
				var f *os.File
				if f, err = os.Create(dir + "/gateway.pprof"); err == nil {
					_, err = io.Copy(f, res.Body)
					f.Close()
				}
			}
			done <- err
		}()
		measure(rest, round+time.Second)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var restRPS, directRPS, overhead []float64
	for r := 0; r < 5; r++ {
		var a, b float64
		if r%2 == 0 { // alternate which goes first
			a, b = measure(rest, round), measure(direct, round)
		} else {
			b, a = measure(direct, round), measure(rest, round)
		}
		restRPS, directRPS, overhead = append(restRPS, a), append(directRPS, b), append(overhead, (b/a-1)*100)
		t.Logf("round %d: REST %.0f req/s, gRPC %.0f req/s", r, a, b)
	}
	med := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	fmt.Printf("figure gateway_rps %.0f req/s\n", med(restRPS))
	fmt.Printf("figure gateway_grpc_direct_rps %.0f req/s\n", med(directRPS))
	fmt.Printf("figure gateway_overhead_pct %.1f %%\n", med(overhead))
}
