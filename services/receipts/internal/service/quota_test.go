package service_test

import (
	"sync"
	"testing"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// The collusion attack (issue 13, attack 1): agent A publishes a "dataset"
// and a second identity B, which A controls, signs receipts for every piece.
// The piece hashes are public, so B needs no data at all. Before the quota
// all 256 receipts were accepted and A gained 64 MiB; now B can vouch for no
// more than its own standing allows: its upload over the minimum ratio.
func TestCollusionBoundedByReceiverQuota(t *testing.T) {
	const (
		pieces = 256
		plen   = 1 << 18 // 256 KiB: 64 MiB in all
		credit = 16 << 20
	)
	f := newFixture(t)
	sw := f.swarm(3, pieces, plen, 0)
	a, b, c := sw.agents[0], sw.agents[1], sw.agents[2]
	f.setBase(b, credit, 0) // the initial credit of a fresh identity
	h := f.start()

	var rs []*pbtsv1.Receipt
	for i := range pieces {
		rs = append(rs, f.receipt(sw.tr, uint32(i), a, b, plen).proto(t))
	}
	// In requests of 64, as a client would send them.
	accepted, overQuota := 0, 0
	for lo := 0; lo < pieces; lo += 64 {
		resp := h.submit(t, rs[lo:lo+64]...)
		for _, r := range resp.Results {
			switch outcomeOf(r) {
			case outcome{status: pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED}:
				accepted++
			case refused(pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_OVER_QUOTA):
				overQuota++
			default:
				t.Fatalf("receipt %s: %v %s", r.Digest, outcomeOf(r), r.Detail)
			}
		}
	}
	// 16 MiB of credit at a minimum ratio of 1/2: 32 MiB, 128 pieces.
	if accepted != 128 || overQuota != 128 {
		t.Fatalf("accepted %d, over quota %d; want 128 and 128 (B may vouch for twice its credit)", accepted, overQuota)
	}
	if n := f.count(`SELECT count(*) FROM receipts WHERE receiver = $1`, b.addr[:]); n != 128 {
		t.Errorf("%d receipts stored for B, want 128 (the refused ones withdrawn)", n)
	}
	var credited int64
	for i := range pieces {
		credited += f.credited(sw.tr, b, uint32(i))
	}
	if credited != 128*plen {
		t.Errorf("piece credit %d bytes, want %d", credited, 128*plen)
	}
	if n := f.count(`SELECT upload_bytes FROM pending_totals WHERE agent = $1`, a.addr[:]); n != 128*plen {
		t.Errorf("A's pending upload %d, want %d: what B could vouch for and no more", n, 128*plen)
	}

	// Resent, the refused ones stay refused: the quota is not a race.
	resp := h.submit(t, rs[200])
	if got := outcomeOf(resp.Results[0]); got != refused(pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_OVER_QUOTA) {
		t.Fatalf("resent: %v", got)
	}
	// Once B has uploaded (C vouches for 1 MiB from B), B may vouch for 2 MiB more.
	for i := range 4 {
		if got := outcomeOf(h.submit(t, f.receipt(sw.tr, uint32(i), b, c, plen).proto(t)).Results[0]); got.status != pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED {
			t.Fatalf("C's receipt for B's upload: %v", got)
		}
	}
	resp = h.submit(t, rs[128:140]...)
	n := 0
	for _, r := range resp.Results {
		if outcomeOf(r).status == pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED {
			n++
		}
	}
	if n != 8 {
		t.Errorf("after uploading 1 MiB B vouched for %d more pieces, want 8 (2 MiB)", n)
	}
}

// Concurrent requests for one receiver cannot together pass its quota: the
// receiver's totals are locked while its quota is decided.
func TestReceiverQuotaUnderConcurrency(t *testing.T) {
	const plen = 16384
	f := newFixture(t)
	sw := f.swarm(5, 64, plen, 0)
	receiver := sw.agents[0]
	f.setBase(receiver, 10*plen, 0) // may download 20 pieces
	h := f.start()
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for s := 1; s < 5; s++ {
		wg.Add(1)
		go func(sender agent, first int) {
			defer wg.Done()
			var rs []*pbtsv1.Receipt
			for i := first; i < first+16; i++ {
				rs = append(rs, f.receipt(sw.tr, uint32(i), sender, receiver, plen).proto(t))
			}
			resp := h.submit(t, rs...)
			mu.Lock()
			accepted += int(resp.AcceptedCount)
			mu.Unlock()
		}(sw.agents[s], (s-1)*16)
	}
	wg.Wait()
	if accepted != 20 {
		t.Fatalf("%d receipts accepted from four concurrent senders, want exactly 20", accepted)
	}
	if n := f.count(`SELECT download_bytes FROM pending_totals WHERE agent = $1`, receiver.addr[:]); n != 20*plen {
		t.Errorf("receiver's pending download %d, want %d", n, 20*plen)
	}
}
