package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// exhaustedErr checks err is RESOURCE_EXHAUSTED with a message containing
// want and a retry delay.
func exhaustedErr(t *testing.T, err error, want string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), want) {
		t.Fatalf("got %v, want RESOURCE_EXHAUSTED containing %q", err, want)
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			return
		}
	}
	t.Errorf("no RetryInfo with a delay in %v", st.Details())
}

func (h *harness) try(rs ...*pbtsv1.Receipt) (*pbtsv1.SubmitReceiptsResponse, error) {
	return h.client.SubmitReceipts(context.Background(), &pbtsv1.SubmitReceiptsRequest{Receipts: rs})
}

// A client address may submit its burst at once, then its rate; a request
// counts at least 8 receipts.
func TestSubmitRatePerAddress(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(3, 128, pieceLen, 0)
	a, b := sw.agents[0], sw.agents[1]
	h := f.start(func(c *serviceConfig) { c.SubmitRatePerAddress, c.SubmitBurstPerAddress = 16, 64 })
	piece := uint32(0)
	next := func(n int) []*pbtsv1.Receipt {
		var rs []*pbtsv1.Receipt
		for range n {
			rs = append(rs, f.receipt(sw.tr, piece, a, b, 10).proto(t))
			piece++
		}
		return rs
	}
	if resp := h.submit(t, next(64)...); resp.AcceptedCount != 64 {
		t.Fatalf("the burst: %d accepted", resp.AcceptedCount)
	}
	_, err := h.try(next(1)...)
	exhaustedErr(t, err, "client 127.0.0.1 is over its submit rate")
	if n := h.metric("pbts_receipts_rate_limited_total", map[string]string{"scope": "submit_address"}); n != 1 {
		t.Errorf("rate_limited_total{submit_address} = %v, want 1", n)
	}
	f.clock.Advance(time.Second) // 16 tokens: two requests of one (8 each), not three
	h.submit(t, next(1)...)
	h.submit(t, next(1)...)
	_, err = h.try(next(1)...)
	exhaustedErr(t, err, "127.0.0.1")
	f.clock.Advance(time.Second)
	if resp := h.submit(t, next(16)...); resp.AcceptedCount != 16 {
		t.Fatalf("after a second: %d of 16 accepted", resp.AcceptedCount)
	}
}

// A receiver over its rate is refused before any signature is recovered;
// another receiver from the same address is not; and forgeries naming a
// receiver do not spend its allowance.
func TestSubmitRatePerAgent(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(4, 256, pieceLen, 0)
	a, b, c, d := sw.agents[0], sw.agents[1], sw.agents[2], sw.agents[3]
	h := f.start(func(cfg *serviceConfig) { cfg.SubmitRatePerAgent, cfg.SubmitBurstPerAgent = 1, 64 })
	batch := func(lo int, n int, receiver agent, forgedBy *agent) []*pbtsv1.Receipt {
		var rs []*pbtsv1.Receipt
		for i := lo; i < lo+n; i++ {
			x := f.receipt(sw.tr, uint32(i), a, receiver, 10)
			if forgedBy != nil {
				x.key = forgedBy.key
			}
			rs = append(rs, x.proto(t))
		}
		return rs
	}
	// 64 forgeries naming c, twice: refused, and c's allowance is intact.
	for range 2 {
		resp := h.submit(t, batch(0, 64, c, &d)...)
		if resp.RefusedCount != 64 || outcomeOf(resp.Results[0]) != refused(pbtsv1.RefusalReason_REFUSAL_REASON_SIGNER_NOT_RECEIVER) {
			t.Fatalf("forgeries: %d refused, first %v", resp.RefusedCount, outcomeOf(resp.Results[0]))
		}
	}
	if resp := h.submit(t, batch(0, 64, c, nil)...); resp.AcceptedCount != 64 {
		t.Fatalf("c's own 64 after forgeries naming it: %d accepted", resp.AcceptedCount)
	}
	if resp := h.submit(t, batch(0, 64, b, nil)...); resp.AcceptedCount != 64 {
		t.Fatalf("b's burst: %d accepted", resp.AcceptedCount)
	}
	before := h.metric(recoveries, nil)
	_, err := h.try(batch(64, 64, b, nil)...)
	exhaustedErr(t, err, "receiver "+b.addr.Hex()+" is over its submit rate")
	if n := h.metric(recoveries, nil); n != before {
		t.Errorf("%v signatures recovered for a receiver over its rate, want none", n-before)
	}
	if n := h.metric("pbts_receipts_rate_limited_total", map[string]string{"scope": "submit_agent"}); n != 1 {
		t.Errorf("rate_limited_total{submit_agent} = %v, want 1", n)
	}
	// Mixed with b's, d's receipts are refused too (the request is refused
	// whole); alone they pass.
	_, err = h.try(append(batch(64, 1, d, nil), batch(65, 1, b, nil)...)...)
	exhaustedErr(t, err, b.addr.Hex())
	if resp := h.submit(t, batch(64, 1, d, nil)...); resp.AcceptedCount != 1 {
		t.Fatalf("d's receipt: %v", outcomeOf(resp.Results[0]))
	}
	f.clock.Advance(2 * time.Second)
	if resp := h.submit(t, batch(64, 2, b, nil)...); resp.AcceptedCount != 2 {
		t.Fatalf("b after 2 s: %d of 2 accepted", resp.AcceptedCount)
	}
}
