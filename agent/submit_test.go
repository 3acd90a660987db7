package agent

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// flakyReceipts is a receipts service double that refuses each receipt
// NOT_IN_SWARM for its first tries (the temporary refusal a membership not
// yet recorded caused; the real service cannot be made to give it on cue
// now that the tracker records memberships before answering), and refuses
// the receipts whose signature starts with "0xbad" for good.
type flakyReceipts struct {
	pbtsv1.UnimplementedReceiptServiceServer
	mu       sync.Mutex
	tries    map[string]int
	refusals int // tries refused before acceptance
	accepted map[string]bool
}

func (f *flakyReceipts) SubmitReceipts(_ context.Context, req *pbtsv1.SubmitReceiptsRequest) (*pbtsv1.SubmitReceiptsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &pbtsv1.SubmitReceiptsResponse{}
	for _, r := range req.Receipts {
		sig := r.GetSignature()
		f.tries[sig]++
		res := &pbtsv1.ReceiptResult{Status: pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED}
		switch {
		case strings.HasPrefix(sig, "0xbad"):
			res = &pbtsv1.ReceiptResult{Status: pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED, Reason: pbtsv1.RefusalReason_REFUSAL_REASON_BAD_SIGNATURE}
		case f.tries[sig] <= f.refusals:
			res = &pbtsv1.ReceiptResult{Status: pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED, Reason: pbtsv1.RefusalReason_REFUSAL_REASON_NOT_IN_SWARM}
		default:
			f.accepted[sig] = true
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

func startFlaky(t *testing.T, refusals int) (*flakyReceipts, pbtsv1.ReceiptServiceClient) {
	t.Helper()
	f := &flakyReceipts{tries: map[string]int{}, accepted: map[string]bool{}, refusals: refusals}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pbtsv1.RegisterReceiptServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return f, pbtsv1.NewReceiptServiceClient(cc)
}

// Receipts lost on a temporary refusal (issue 13, attack 7): before, the
// agent acknowledged and dropped every refused receipt, so the first
// receipts after a first announce (refused NOT_IN_SWARM) were lost. Now a
// receipt refused for a reason that can change is kept and sent again until
// it is accepted; one refused for good is dropped at once; and one refused
// for longer than retryFor is given up (the journal keeps what was never
// acknowledged for the next run).
func TestTemporaryRefusalsAreRetried(t *testing.T) {
	f, c := startFlaky(t, 2)
	now := time.Unix(1_800_000_000, 0)
	s := &submitter{timeout: 5 * time.Second, c: c, journalDir: t.TempDir(), now: func() time.Time { return now }}
	s.open("test")
	s.add(&pbtsv1.Receipt{Signature: "0x01", PieceIndex: 1})
	s.add(&pbtsv1.Receipt{Signature: "0xbad1", PieceIndex: 2})
	ctx := context.Background()
	s.sendOne(ctx)
	if acc, _, ref := s.counts(); acc != 0 || ref != 1 || s.pendingCount() != 1 {
		t.Fatalf("after the first try: accepted %d refused %d unacknowledged %d; want 0, 1 (for good), 1 (kept)", acc, ref, s.pendingCount())
	}
	s.requeueDue() // not due yet
	if s.sendOne(ctx); f.tries["0x01"] != 1 {
		t.Fatalf("sent again before retryEvery: %d tries", f.tries["0x01"])
	}
	for range 2 {
		now = now.Add(retryEvery)
		s.requeueDue()
		s.sendOne(ctx)
	}
	if acc, _, ref := s.counts(); acc != 1 || ref != 1 || s.pendingCount() != 0 || !f.accepted["0x01"] {
		t.Fatalf("after the refusals passed: accepted %d refused %d unacknowledged %d", acc, ref, s.pendingCount())
	}
	s.close()
	// Both acknowledged: the journal is gone, nothing is resent by the next run.
	if _, err := os.Stat(filepath.Join(s.journalDir, "test.jsonl")); !os.IsNotExist(err) {
		t.Errorf("journal kept after everything was acknowledged: %v", err)
	}

	// Refused for longer than retryFor: given up, left unacknowledged.
	f2, c2 := startFlaky(t, 1<<30)
	s2 := &submitter{timeout: 5 * time.Second, c: c2, journalDir: t.TempDir(), now: func() time.Time { return now }}
	s2.open("test")
	s2.add(&pbtsv1.Receipt{Signature: "0x02"})
	for i := 0; s2.pendingCount() > 0 && i < int(retryFor/retryEvery)+5; i++ {
		s2.requeueDue()
		s2.sendOne(ctx)
		now = now.Add(retryEvery)
	}
	if _, _, ref := s2.counts(); ref != 1 || s2.pendingCount() != 0 || f2.tries["0x02"] < int(retryFor/retryEvery) {
		t.Fatalf("never accepted: refused %d, unacknowledged %d after %d tries", ref, s2.pendingCount(), f2.tries["0x02"])
	}
	// A receipt kept when the run ends stays in the journal for the next.
	f3, c3 := startFlaky(t, 1<<30)
	s3 := &submitter{timeout: 5 * time.Second, c: c3, journalDir: t.TempDir(), now: func() time.Time { return now }}
	s3.open("test")
	s3.add(&pbtsv1.Receipt{Signature: "0x03"})
	s3.sendOne(ctx)
	s3.close()
	if b, err := os.ReadFile(filepath.Join(s3.journalDir, "test.jsonl")); err != nil || !strings.Contains(string(b), `"0x03"`) || strings.Contains(string(b), `"ack"`) || f3.tries["0x03"] != 1 {
		t.Fatalf("journal of a run that ended with a receipt kept: %q, %v", b, err)
	}
}
