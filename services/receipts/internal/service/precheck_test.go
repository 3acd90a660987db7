package service_test

import (
	"testing"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

const recoveries = "pbts_receipts_signature_recoveries_total"

// Garbage costs no signature recovery: every receipt below is signed by its
// receiver, so each would cost one, but each fails a cheap check first
// (issue 19). A valid receipt then costs exactly one: the counter counts.
func TestGarbageCostsNoRecovery(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(3, 8, pieceLen, 100)
	a, b := sw.agents[0], sw.agents[1]
	stranger := f.newKey() // never registered
	h := f.start()

	var rs []*pbtsv1.Receipt
	var want []pbtsv1.RefusalReason
	add := func(x rc, r pbtsv1.RefusalReason) {
		for range 8 { // the same garbage again costs nothing either
			rs = append(rs, x.proto(t))
			want = append(want, r)
		}
	}
	x := f.receipt(sw.tr, 0, a, b, 10)
	x.r.InfoHash[0] ^= 0xff
	add(x, pbtsv1.RefusalReason_REFUSAL_REASON_UNKNOWN_TORRENT)
	x = f.receipt(sw.tr, 1, a, b, 10)
	x.r.PieceHash[0] ^= 0xff
	add(x, pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_HASH_MISMATCH)
	x = f.receipt(sw.tr, 1, a, b, 10)
	x.r.PieceIndex = 8
	add(x, pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_OUT_OF_RANGE)
	add(f.receipt(sw.tr, 7, a, b, pieceLen), pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_OVERCREDITED)
	add(f.receipt(sw.tr, 2, a, stranger, 10), pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_UNREGISTERED)
	add(f.receipt(sw.tr, 2, stranger, b, 10), pbtsv1.RefusalReason_REFUSAL_REASON_SENDER_UNREGISTERED)
	x = f.receipt(sw.tr, 3, a, b, 10)
	x.r.Timestamp -= 7200
	add(x, pbtsv1.RefusalReason_REFUSAL_REASON_TIMESTAMP_OUT_OF_WINDOW)

	for round := range 2 { // the second time from the negative cache
		resp := h.submit(t, rs...)
		for i, r := range resp.Results {
			if got := outcomeOf(r); got != refused(want[i]) {
				t.Fatalf("round %d, receipt %d: %v %s, want %v", round, i, got, r.Detail, want[i])
			}
		}
		if n := h.metric(recoveries, nil); n != 0 {
			t.Fatalf("round %d: %v signature recoveries for a batch of garbage, want 0", round, n)
		}
	}
	if got := outcomeOf(h.submit(t, f.receipt(sw.tr, 0, a, b, 10).proto(t)).Results[0]); got != accepted {
		t.Fatalf("valid receipt: %v", got)
	}
	if n := h.metric(recoveries, nil); n != 1 {
		t.Fatalf("%v signature recoveries after one valid receipt, want 1", n)
	}
}
