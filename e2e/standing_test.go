package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	gethcommon "github.com/ethereum/go-ethereum/common"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// signedReceipts are receiver's receipts for pieces [from, to) of a dataset
// that sender supplied whole.
func signedReceipts(t *testing.T, s *stack, ih [20]byte, sums [][32]byte, pieceLen int, sender, receiver agent, from, to int) []*pbtsv1.Receipt {
	t.Helper()
	now := uint64(time.Now().Unix())
	var rs []*pbtsv1.Receipt
	for i := from; i < to; i++ {
		r := receipt.Receipt{
			InfoHash: receipt.InfoHashFromV1(ih), Sender: gethcommon.HexToAddress(sender.Address()),
			Receiver: gethcommon.HexToAddress(receiver.Address()), PieceHash: sums[i],
			PieceIndex: uint32(i), PieceSize: uint32(pieceLen), Timestamp: now,
		}
		sig, err := receipt.Sign(s.Domain, r, receiver.Key)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, &pbtsv1.Receipt{
			InfoHash: "0x" + hex.EncodeToString(r.InfoHash[:]), Sender: r.Sender.Hex(), Receiver: r.Receiver.Hex(),
			PieceHash: "0x" + hex.EncodeToString(sums[i][:]), PieceIndex: r.PieceIndex, PieceSize: r.PieceSize,
			Timestamp: now, Signature: sig.Hex(),
		})
	}
	return rs
}

// submitAccepted submits rs until all are accepted: the swarm memberships
// are written off the announce path, so NOT_IN_SWARM is retried; any other
// refusal fails the test.
func submitAccepted(t *testing.T, ctx context.Context, s *stack, what string, rs []*pbtsv1.Receipt) {
	t.Helper()
	waitUntil(t, ctx, what+" accepted", func() bool {
		r, err := s.ReceiptsC.SubmitReceipts(ctx, &pbtsv1.SubmitReceiptsRequest{Receipts: rs})
		if err != nil {
			return false
		}
		for _, res := range r.Results {
			if res.Status == pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED {
				if res.Reason != pbtsv1.RefusalReason_REFUSAL_REASON_NOT_IN_SWARM {
					t.Fatalf("%s: receipt refused: %v", what, res)
				}
				return false
			}
		}
		return true
	})
}

// announceAs is announce with a chosen peer id (a fresh one skips the
// tracker's min-interval fast path, so the gate decides every time).
func announceAs(t *testing.T, base, passkey string, ih [20]byte, peerID string, left int) map[string]any {
	t.Helper()
	q := "info_hash=" + url.QueryEscape(string(ih[:])) + "&peer_id=" + url.QueryEscape(peerID) +
		"&port=6881&uploaded=0&downloaded=0&compact=1&left=" + strconv.Itoa(left)
	return getBencoded(t, base+"/announce/"+passkey+"?"+q)
}

// TestFiguresNeverDropWhileSettling (issue 13, attack 9): an agent's figures
// as the tracker sees them (GetAgent, and so the gate) are settled + pending
// as of one moment. Before, right after a batch settled, the tracker showed
// the settled upload from before the batch with the pending upload already
// gone, and refused an honest agent whose access rested on those bytes. An
// agent whose access rests on its upload announces in a loop while its
// receipts settle in several batches: it is never refused, and neither its
// nor its downloader's figures ever drop.
func TestFiguresNeverDropWhileSettling(t *testing.T) {
	const (
		credit = 4 * MiB
		plen   = 256 * KiB
		groups = 16 // of 2 pieces: the leecher may vouch for 2 × 4 MiB = 32 pieces
		want   = 2 * (credit + 2*plen)
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newStack(t, credit)
	seeder, leecher := s.register(t), s.register(t)
	dir := t.TempDir()
	mi1, sums1, _ := dataset(t, dir, "clips.bin", 2*groups*plen, 11)
	ih1 := s.publish(t, seeder, mi1, sums1, "clips", pbtsv1.Modality_MODALITY_VIDEO, nil)
	// What the seeder wants to fetch: allowed once it has uploaded 512 KiB
	// (2 × (4 MiB + 512 KiB) = 9 MiB), refused before.
	mi2, sums2, _ := dataset(t, dir, "speech.bin", want, 12)
	ih2 := s.publish(t, leecher, mi2, sums2, "speech", pbtsv1.Modality_MODALITY_AUDIO, nil)

	if v := announceAs(t, s.Announce, seeder.Passkey, ih1, "-PB0001-seeder000000", 0); v["failure reason"] != nil {
		t.Fatalf("seeder announce: %v", v)
	}
	if v := announceAs(t, s.Announce, leecher.Passkey, ih1, "-PB0001-leecher00000", 2*groups*plen); v["failure reason"] != nil {
		t.Fatalf("leecher announce: %v", v)
	}
	if v := announceAs(t, s.Announce, seeder.Passkey, ih2, "-PB0001-want00000000", want); v["failure reason"] == nil {
		t.Fatalf("the seeder was allowed %d bytes on its credit alone: %v", want, v)
	}

	submit := func(from, to int) {
		t.Helper()
		rs := signedReceipts(t, s, ih1, sums1, plen, seeder, leecher, from, to)
		submitAccepted(t, ctx, s, fmt.Sprintf("receipts %d..%d", from, to), rs)
	}
	submit(0, 2)
	waitUntil(t, ctx, "the tracker to see the first upload", func() bool {
		r, err := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: seeder.Address()})
		return err == nil && r.Agent.SettledUploadBytes+r.Agent.PendingUploadBytes == credit+2*plen
	})

	type sample struct{ up, down uint64 }
	var (
		mu       sync.Mutex
		problems []string
		checks   int
	)
	report := func(format string, args ...any) {
		mu.Lock()
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // GetAgent never reports less than a moment before
		defer wg.Done()
		last := map[string]sample{}
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			for _, a := range []agent{seeder, leecher} {
				r, err := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: a.Address()})
				if err != nil {
					continue
				}
				g := r.Agent
				cur := sample{g.SettledUploadBytes + g.PendingUploadBytes, g.SettledDownloadBytes + g.PendingDownloadBytes}
				if prev := last[a.Address()]; cur.up < prev.up || cur.down < prev.down {
					report("%s: GetAgent up %d down %d after %d %d (settled %d/%d pending %d/%d)", a.Address(),
						cur.up, cur.down, prev.up, prev.down, g.SettledUploadBytes, g.SettledDownloadBytes, g.PendingUploadBytes, g.PendingDownloadBytes)
				}
				if os.Getenv("PBTS_TRACE") != "" && cur != last[a.Address()] { // PBTS_TRACE=1: every change, for diagnosis
					t.Logf("%s %s settled %d/%d pending %d/%d", time.Now().Format("15:04:05.000"), a.Address()[:8], g.SettledUploadBytes, g.SettledDownloadBytes, g.PendingUploadBytes, g.PendingDownloadBytes)
				}
				last[a.Address()] = cur
				mu.Lock()
				checks++
				mu.Unlock()
			}
		}
	}()
	go func() { // the gate never refuses the seeder again
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			id := fmt.Sprintf("-PB0001-loop%08d", i%40) // each id reused after 2 s: past the min interval
			if v := announceAs(t, s.Announce, seeder.Passkey, ih2, id, want); v["failure reason"] != nil {
				report("announce %d refused: %v", i, v["failure reason"])
			}
		}
	}()
	// The other groups, each settling in its own batch (the chainwriter
	// cuts a batch 500 ms after its oldest receipt). Halfway, the tracker's
	// chain endpoint goes away for a while (the chainwriter's stays): the
	// settlements it cannot see from the chain must not make it see less.
	for g := 1; g < groups; g++ {
		switch g {
		case groups / 4:
			s.TrackerChain.Point("")
		case 3 * groups / 4:
			s.TrackerChain.Point(s.Chain.URL)
		}
		select {
		case <-ctx.Done():
		case <-time.After(700 * time.Millisecond):
		}
		submit(2*g, 2*g+2)
	}
	waitUntil(t, ctx, "every receipt settled", func() bool {
		r, err := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: seeder.Address()})
		return err == nil && r.Agent.SettledUploadBytes == credit+2*groups*plen && r.Agent.PendingUploadBytes == 0
	})
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
	}
	close(stop)
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("%d problems in %d checks, first: %v", len(problems), checks, problems)
	}
	chainStatus, err := pbtsv1.NewChainwriterServiceClient(s.Writer.conn(t, "pbts.v1.ChainwriterService")).GetChainStatus(ctx, &pbtsv1.GetChainStatusRequest{})
	if err != nil || chainStatus.LastSettledBatchId < groups/2 {
		t.Fatalf("chain status %v, %v; want at least %d settled batches during the loop", chainStatus, err, groups/2)
	}
	t.Logf("%d GetAgent checks, %d batches settled", checks, chainStatus.LastSettledBatchId)
}
