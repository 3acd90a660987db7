package service_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// clientFrom is a client of h whose connections come from the loopback
// address local (127.0.0.0/8 is all loopback on Linux), so that the service
// sees another client address.
func (h *harness) clientFrom(t *testing.T, local string) pbtsv1.ReceiptServiceClient {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	conn, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pbtsv1.NewReceiptServiceClient(conn)
}

// refusedWatch opens a watch that must be refused and returns its error.
func refusedWatch(t *testing.T, c pbtsv1.ReceiptServiceClient, req *pbtsv1.WatchReceiptsRequest) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.WatchReceipts(ctx, req)
	if err != nil {
		return err
	}
	_, err = st.Recv() // a refusal ends the stream at once; an active watch would wait for ctx
	return err
}

// One client address opening watches gets RESOURCE_EXHAUSTED past its
// limit; with every slot then taken (by it and a second client), a seeder
// watching its own receipts still gets in, displacing the first client's
// newest watch, and receives its receipts (issue 19).
func TestWatchSlotsUnderAttack(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(2, 4, pieceLen, 0)
	seeder, leecher := sw.agents[0], sw.agents[1]
	h := f.start(func(c *serviceConfig) { c.MaxWatchers, c.MaxWatchersPerAddress, c.MaxWatchersPerAgent = 6, 4, 6 })
	attacker, other := h.clientFrom(t, "127.0.0.2"), h.clientFrom(t, "127.0.0.3")

	var floods []*watcher
	for range 4 {
		floods = append(floods, openWatch(t, attacker, &pbtsv1.WatchReceiptsRequest{}))
	}
	err := refusedWatch(t, attacker, &pbtsv1.WatchReceiptsRequest{Sender: seeder.addr.Hex()})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "client 127.0.0.2 already holds 4 watches") {
		t.Fatalf("the attacker's fifth watch: %v, want RESOURCE_EXHAUSTED naming its address", err)
	}
	for range 2 {
		openWatch(t, other, &pbtsv1.WatchReceiptsRequest{})
	}
	// Six of six taken. The seeder, holding none, displaces the newest watch
	// of the client holding the most.
	own := h.watch(t, &pbtsv1.WatchReceiptsRequest{Sender: seeder.addr.Hex()})
	_, err = floods[3].stream.Recv()
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "give its slot") {
		t.Fatalf("the attacker's newest watch: %v, want RESOURCE_EXHAUSTED (displaced)", err)
	}
	x := f.receipt(sw.tr, 0, seeder, leecher, pieceLen)
	if resp := h.submit(t, x.proto(t)); resp.AcceptedCount != 1 {
		t.Fatalf("receipt: %v", outcomeOf(resp.Results[0]))
	}
	d := x.digest()
	if got := own.next(t, 1); got[0] != hexOf(d[:]) {
		t.Fatalf("the seeder's watch got %s, want %s", got[0], hexOf(d[:]))
	}
	for scope, want := range map[string]float64{"watch_address": 1, "watch_displaced": 1} {
		if n := h.metric("pbts_receipts_rate_limited_total", map[string]string{"scope": scope}); n != want {
			t.Errorf("rate_limited_total{%s} = %v, want %v", scope, n, want)
		}
	}
	if n := h.metric("pbts_receipts_watchers", nil); n != 6 {
		t.Errorf("watchers = %v, want 6", n)
	}
}
