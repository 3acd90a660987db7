package service_test

import (
	"context"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

const pieceLen = 16384

func TestSubmitAcceptsAndPersists(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(2, 4, pieceLen, 0)
	h := f.start()
	a, b := sw.agents[0], sw.agents[1]
	x := f.receipt(sw.tr, 1, a, b, 1000)
	resp := h.submit(t, x.proto(t))
	res := resp.Results[0]
	if got := outcomeOf(res); got != accepted {
		t.Fatalf("result = %v (%s), want ACCEPTED", got, res.Detail)
	}
	d := x.digest()
	if res.Digest != hexOf(d[:]) {
		t.Errorf("digest = %s, want %s", res.Digest, hexOf(d[:]))
	}
	if resp.AcceptedCount != 1 || resp.DuplicateCount != 0 || resp.RefusedCount != 0 {
		t.Errorf("counts = %d/%d/%d, want 1/0/0", resp.AcceptedCount, resp.DuplicateCount, resp.RefusedCount)
	}
	got, err := h.client.GetReceipt(context.Background(), &pbtsv1.GetReceiptRequest{Digest: res.Digest})
	if err != nil {
		t.Fatal(err)
	}
	rec := got.Record
	if rec.State != pbtsv1.SettlementState_SETTLEMENT_STATE_PENDING || rec.BatchId != 0 || len(rec.MerkleProof) != 0 {
		t.Errorf("record state = %v batch %d proof %v, want PENDING, 0, none", rec.State, rec.BatchId, rec.MerkleProof)
	}
	want := x.proto(t)
	if r := rec.Receipt; r.InfoHash != want.InfoHash || r.Sender != want.Sender || r.Receiver != want.Receiver ||
		r.PieceHash != want.PieceHash || r.PieceIndex != 1 || r.PieceSize != 1000 || r.Timestamp != want.Timestamp ||
		r.Signature != want.Signature {
		t.Errorf("stored receipt = %v, want %v", r, want)
	}
	// The row holds canonical bytes and the normalised signature.
	if n := f.count(`SELECT count(*) FROM receipts WHERE digest = $1 AND sender = $2 AND get_byte(signature, 64) IN (27, 28)`,
		d[:], a.addr[:]); n != 1 {
		t.Errorf("receipts rows = %d, want 1", n)
	}
}

// highS returns the malleable twin of sig (s -> n - s, v flipped), which
// recovers to the same key but must be refused.
func highS(sig receipt.Signature) receipt.Signature {
	n := crypto.S256().Params().N
	s := new(big.Int).SetBytes(sig[32:64])
	s.Sub(n, s)
	out := sig
	s.FillBytes(out[32:64])
	out[64] = 27 + 28 - out[64]
	return out
}

func TestRefusalReasons(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(3, 4, pieceLen, 100) // last piece is 16284 bytes
	a, b, c := sw.agents[0], sw.agents[1], sw.agents[2]
	outsider := f.agent() // registered, never in the swarm
	stranger := f.newKey()
	other := f.swarm(1, 2, pieceLen, 0) // a torrent b and c never joined
	h := f.start()

	type tc struct {
		name   string
		r      *pbtsv1.Receipt
		want   outcome
		detail string
	}
	var cases []tc
	add := func(name string, r *pbtsv1.Receipt, want outcome, detail string) {
		cases = append(cases, tc{name, r, want, detail})
	}
	valid := f.receipt(sw.tr, 0, a, b, pieceLen)
	add("valid", valid.proto(t), accepted, "")
	add("exact copy in the same request", valid.proto(t), duplicate, "")

	mal := pbtsv1.RefusalReason_REFUSAL_REASON_MALFORMED
	m := func(edit func(p *pbtsv1.Receipt), piece uint32) *pbtsv1.Receipt {
		p := f.receipt(sw.tr, piece, c, b, 10).proto(t)
		edit(p)
		return p
	}
	add("short info hash", m(func(p *pbtsv1.Receipt) { p.InfoHash = "0x1234" }, 1), refused(mal), "info_hash")
	add("info hash without 0x", m(func(p *pbtsv1.Receipt) { p.InfoHash = p.InfoHash[2:] + "00" }, 1), refused(mal), "info_hash")
	add("bad checksum", m(func(p *pbtsv1.Receipt) { p.Sender = flipCase(p.Sender) }, 1), refused(mal), "sender")
	add("missing receiver", m(func(p *pbtsv1.Receipt) { p.Receiver = "" }, 1), refused(mal), "receiver: required")
	add("zero sender", m(func(p *pbtsv1.Receipt) { p.Sender = common.Address{}.Hex() }, 1), refused(mal), "sender: zero address")
	add("bad piece hash digit", m(func(p *pbtsv1.Receipt) { p.PieceHash = p.PieceHash[:10] + "g" + p.PieceHash[11:] }, 1), refused(mal), "piece_hash")
	add("zero size", m(func(p *pbtsv1.Receipt) { p.PieceSize = 0 }, 1), refused(mal), "piece_size")
	add("short signature", m(func(p *pbtsv1.Receipt) { p.Signature = p.Signature[:128] }, 1), refused(mal), "signature")

	badSig := pbtsv1.RefusalReason_REFUSAL_REASON_BAD_SIGNATURE
	x := f.receipt(sw.tr, 1, a, b, 10)
	p := x.proto(t)
	p.Signature = highS(x.sig(t)).Hex()
	add("high s", p, refused(badSig), "high s")
	x = f.receipt(sw.tr, 1, a, c, 10)
	p = x.proto(t)
	sig := x.sig(t)
	sig[64] = 29
	p.Signature = sig.Hex()
	add("v 29", p, refused(badSig), "v")

	notReceiver := pbtsv1.RefusalReason_REFUSAL_REASON_SIGNER_NOT_RECEIVER
	x = f.receipt(sw.tr, 2, a, b, 10)
	x.key = c.key
	add("signed by someone else", x.proto(t), refused(notReceiver), "recovers to")
	x = f.receipt(sw.tr, 2, a, c, 10)
	wrong, _ := receipt.Sign(receipt.Domain{ChainID: 1, Tracker: testDomain.Tracker}, x.r, c.key)
	p = x.proto(t)
	p.Signature = wrong.Hex()
	add("signed for another chain", p, refused(notReceiver), "")
	x = f.receipt(sw.tr, 2, b, a, 10)
	p = x.proto(t)
	p.PieceSize = 11 // the signature covers 10
	add("field changed after signing", p, refused(notReceiver), "")

	add("self receipt", f.receipt(sw.tr, 3, b, b, 10).proto(t),
		refused(pbtsv1.RefusalReason_REFUSAL_REASON_SELF_RECEIPT), "")
	add("receiver unregistered", f.receipt(sw.tr, 3, a, stranger, 10).proto(t),
		refused(pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_UNREGISTERED), stranger.addr.Hex())
	add("sender unregistered", f.receipt(sw.tr, 3, stranger, b, 10).proto(t),
		refused(pbtsv1.RefusalReason_REFUSAL_REASON_SENDER_UNREGISTERED), stranger.addr.Hex())

	unknown := pbtsv1.RefusalReason_REFUSAL_REASON_UNKNOWN_TORRENT
	x = f.receipt(sw.tr, 0, a, c, 10)
	x.r.InfoHash[0] ^= 0xff
	add("unknown torrent", x.proto(t), refused(unknown), "")
	x = f.receipt(sw.tr, 0, c, a, 10)
	x.r.InfoHash[31] = 1 // not a left-aligned v1 hash
	add("v2 info hash", x.proto(t), refused(unknown), "")

	notInSwarm := pbtsv1.RefusalReason_REFUSAL_REASON_NOT_IN_SWARM
	add("sender not in swarm", f.receipt(sw.tr, 0, outsider, c, 10).proto(t), refused(notInSwarm), "sender")
	add("receiver not in swarm", f.receipt(sw.tr, 0, c, outsider, 10).proto(t), refused(notInSwarm), "receiver")
	x = f.receipt(other.tr, 0, other.agents[0], b, 10)
	add("receiver in another swarm only", x.proto(t), refused(notInSwarm), "receiver")

	x = f.receipt(sw.tr, 0, b, c, 10)
	x.r.PieceIndex = 4
	add("piece index out of range", x.proto(t), refused(pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_OUT_OF_RANGE), "4 pieces")
	x = f.receipt(sw.tr, 1, b, c, 10)
	x.r.PieceHash = sw.tr.hashes[2]
	add("piece hash of another piece", x.proto(t), refused(pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_HASH_MISMATCH), "")

	over := pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_OVERCREDITED
	add("size above piece length", f.receipt(sw.tr, 2, c, a, pieceLen+1).proto(t), refused(over), "16384")
	add("size above the short last piece", f.receipt(sw.tr, 3, c, a, pieceLen).proto(t), refused(over), "16284")
	add("exactly the short last piece", f.receipt(sw.tr, 3, a, c, pieceLen-100).proto(t), accepted, "")

	window := pbtsv1.RefusalReason_REFUSAL_REASON_TIMESTAMP_OUT_OF_WINDOW
	x = f.receipt(sw.tr, 2, b, a, 10)
	x.r.Timestamp -= 3601
	add("expired", x.proto(t), refused(window), "before")
	x = f.receipt(sw.tr, 2, c, b, 10)
	x.r.Timestamp += 3601
	add("future", x.proto(t), refused(window), "after")
	x = f.receipt(sw.tr, 2, a, c, 10)
	x.r.Timestamp -= 3599
	add("just inside the window", x.proto(t), accepted, "")

	first := f.receipt(sw.tr, 1, c, a, 100)
	add("first of two for one key", first.proto(t), accepted, "")
	second := first
	second.r.PieceSize = 200
	add("second, different, for the same key", second.proto(t),
		refused(pbtsv1.RefusalReason_REFUSAL_REASON_CONFLICTING_DUPLICATE), "receipts[")

	var req []*pbtsv1.Receipt
	for _, c := range cases {
		req = append(req, c.r)
	}
	resp := h.submit(t, req...)
	for i, c := range cases {
		r := resp.Results[i]
		if got := outcomeOf(r); got != c.want || !strings.Contains(r.Detail, c.detail) {
			t.Errorf("%s: got %v %q, want %v with detail containing %q", c.name, got, r.Detail, c.want, c.detail)
		}
		if c.want.reason != pbtsv1.RefusalReason_REFUSAL_REASON_MALFORMED && r.Digest == "" {
			t.Errorf("%s: no digest in the result", c.name)
		}
	}
	if n := f.count(`SELECT count(*) FROM receipts`); n != 4 {
		t.Errorf("receipts rows = %d, want the 4 accepted", n)
	}
	for _, m := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"status": "accepted"}, 4},
		{map[string]string{"status": "duplicate"}, 1},
		{map[string]string{"status": "refused", "reason": "malformed"}, 8},
		{map[string]string{"status": "refused", "reason": "piece_overcredited"}, 2},
		{map[string]string{"status": "refused", "reason": "not_in_swarm"}, 3},
	} {
		if got := h.metric("pbts_receipts_total", m.labels); got != m.want {
			t.Errorf("pbts_receipts_total%v = %v, want %v", m.labels, got, m.want)
		}
	}
	if got := h.metric("pbts_receipts_batch_size", nil); got != 1 {
		t.Errorf("batch size observations = %v, want 1", got)
	}
	if got := h.metric("pbts_receipts_database_up", nil); got != 1 {
		t.Errorf("pbts_receipts_database_up = %v, want 1", got)
	}

	// Across requests: the same receipt is a duplicate, another one for its
	// key a conflicting duplicate, whatever the spelling.
	again := valid.proto(t)
	again.InfoHash = strings.ToUpper(again.InfoHash[2:])
	again.InfoHash = "0x" + again.InfoHash
	conflict := valid
	conflict.r.Timestamp--
	if got := outcomeOf(h.submit(t, again).Results[0]); got != duplicate {
		t.Errorf("resubmitted: %v, want DUPLICATE", got)
	}
	res := h.submit(t, conflict.proto(t)).Results[0]
	if got := outcomeOf(res); got != refused(pbtsv1.RefusalReason_REFUSAL_REASON_CONFLICTING_DUPLICATE) ||
		!strings.Contains(res.Detail, "accepted before") {
		t.Errorf("conflicting: %v %q, want CONFLICTING_DUPLICATE", got, res.Detail)
	}
}

// flipCase breaks an EIP-55 checksum by changing the case of one letter.
func flipCase(s string) string {
	b := []byte(s)
	for i := 2; i < len(b); i++ {
		switch {
		case 'a' <= b[i] && b[i] <= 'f':
			b[i] -= 'a' - 'A'
			return string(b)
		case 'A' <= b[i] && b[i] <= 'F':
			b[i] += 'a' - 'A'
			return string(b)
		}
	}
	panic("no letter")
}

func fieldViolation(t *testing.T, err error) string {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.FieldViolations) > 0 {
			return br.FieldViolations[0].Field
		}
	}
	return ""
}

func TestInvalidRequests(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(2, 2, pieceLen, 0)
	a, b := sw.agents[0], sw.agents[1]
	h := f.start(func(c *serviceConfig) { c.MaxBatch = 4 })
	ctx := context.Background()
	valid := f.receipt(sw.tr, 0, a, b, 10).proto(t)
	badSender := f.receipt(sw.tr, 1, a, b, 10).proto(t)
	badSender.Sender = "0x12"

	var tooMany []*pbtsv1.Receipt
	for i := range 5 {
		tooMany = append(tooMany, f.receipt(sw.tr, uint32(i%2), a, b, uint32(i+1)).proto(t))
	}
	for _, tc := range []struct {
		name      string
		call      func() error
		field     string
		inMessage string
	}{
		{"empty batch", func() error {
			_, err := h.client.SubmitReceipts(ctx, &pbtsv1.SubmitReceiptsRequest{})
			return err
		}, "receipts", "at least one"},
		{"oversized batch", func() error {
			_, err := h.client.SubmitReceipts(ctx, &pbtsv1.SubmitReceiptsRequest{Receipts: tooMany})
			return err
		}, "receipts", "5 receipts exceed the limit of 4"},
		{"only malformed receipts", func() error {
			_, err := h.client.SubmitReceipts(ctx, &pbtsv1.SubmitReceiptsRequest{Receipts: []*pbtsv1.Receipt{badSender}})
			return err
		}, "receipts[0].sender", "hex"},
		{"get: bad digest", func() error {
			_, err := h.client.GetReceipt(ctx, &pbtsv1.GetReceiptRequest{Digest: "0xzz"})
			return err
		}, "digest", ""},
		{"list: bad agent", func() error {
			_, err := h.client.ListReceipts(ctx, &pbtsv1.ListReceiptsRequest{Agent: "nope"})
			return err
		}, "agent", ""},
		{"list: bad info hash", func() error {
			_, err := h.client.ListReceipts(ctx, &pbtsv1.ListReceiptsRequest{InfoHash: "0x00"})
			return err
		}, "info_hash", ""},
		{"list: negative page size", func() error {
			_, err := h.client.ListReceipts(ctx, &pbtsv1.ListReceiptsRequest{PageSize: -1})
			return err
		}, "page_size", ""},
		{"list: garbage token", func() error {
			_, err := h.client.ListReceipts(ctx, &pbtsv1.ListReceiptsRequest{PageToken: "!!"})
			return err
		}, "page_token", ""},
		{"list: overlong token", func() error {
			_, err := h.client.ListReceipts(ctx, &pbtsv1.ListReceiptsRequest{PageToken: strings.Repeat("A", 129)})
			return err
		}, "page_token", "too long"},
		{"pending: missing agent", func() error {
			_, err := h.client.GetPendingTotals(ctx, &pbtsv1.GetPendingTotalsRequest{})
			return err
		}, "agent", ""},
		{"watch: bad receiver", func() error {
			st, err := h.client.WatchReceipts(ctx, &pbtsv1.WatchReceiptsRequest{Receiver: "0x" + strings.Repeat("g", 40)})
			if err != nil {
				return err
			}
			_, err = st.Recv()
			return err
		}, "receiver", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("err = %v, want InvalidArgument", err)
			}
			if got := fieldViolation(t, err); got != tc.field {
				t.Errorf("field violation = %q, want %q", got, tc.field)
			}
			if msg := status.Convert(err).Message(); !strings.HasPrefix(msg, tc.field+": ") || !strings.Contains(msg, tc.inMessage) {
				t.Errorf("message = %q, want it to start with %q and contain %q", msg, tc.field+": ", tc.inMessage)
			}
		})
	}
	if n := f.count(`SELECT count(*) FROM receipts`); n != 0 {
		t.Fatalf("%d receipts persisted by refused requests, want 0", n)
	}
	// A malformed receipt beside a good one is refused alone.
	resp := h.submit(t, valid, badSender)
	if outcomeOf(resp.Results[0]) != accepted || outcomeOf(resp.Results[1]) != refused(pbtsv1.RefusalReason_REFUSAL_REASON_MALFORMED) {
		t.Errorf("results = %v, %v; want ACCEPTED, MALFORMED", outcomeOf(resp.Results[0]), outcomeOf(resp.Results[1]))
	}
	if _, err := h.client.GetReceipt(ctx, &pbtsv1.GetReceiptRequest{Digest: "0x" + strings.Repeat("ab", 32)}); status.Code(err) != codes.NotFound {
		t.Errorf("GetReceipt of an unknown digest: %v, want NotFound", err)
	}
}

// TestConcurrentReplays submits one receipt 64 times at once, spelled in
// different ways: exactly one is accepted and credited.
func TestConcurrentReplays(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(2, 2, pieceLen, 0)
	a, b := sw.agents[0], sw.agents[1]
	h := f.start()
	x := f.receipt(sw.tr, 1, a, b, 5000)
	base := x.proto(t)
	variants := []func(p *pbtsv1.Receipt){
		func(p *pbtsv1.Receipt) {},
		func(p *pbtsv1.Receipt) { p.InfoHash = "0x" + strings.ToUpper(p.InfoHash[2:]) },
		func(p *pbtsv1.Receipt) { p.Sender = strings.ToLower(p.Sender) },
		func(p *pbtsv1.Receipt) { p.Receiver = "0x" + strings.ToUpper(p.Receiver[2:]) },
		func(p *pbtsv1.Receipt) { p.PieceHash = "0x" + strings.ToUpper(p.PieceHash[2:]) },
		func(p *pbtsv1.Receipt) { p.Signature = "0x" + strings.ToUpper(p.Signature[2:]) },
		func(p *pbtsv1.Receipt) { // v as a raw recovery id (0/1)
			sig := x.sig(t)
			sig[64] -= 27
			p.Signature = sig.Hex()
		},
	}
	const n = 64
	results := make([]*pbtsv1.ReceiptResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		p := &pbtsv1.Receipt{
			InfoHash: base.InfoHash, Sender: base.Sender, Receiver: base.Receiver, PieceHash: base.PieceHash,
			PieceIndex: base.PieceIndex, PieceSize: base.PieceSize, Timestamp: base.Timestamp, Signature: base.Signature,
		}
		variants[i%len(variants)](p)
		wg.Go(func() {
			<-start
			resp, err := h.client.SubmitReceipts(context.Background(), &pbtsv1.SubmitReceiptsRequest{Receipts: []*pbtsv1.Receipt{p}})
			if err != nil {
				errs[i] = err
				return
			}
			results[i] = resp.Results[0]
		})
	}
	close(start)
	wg.Wait()
	var nAccepted, nDup int
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		switch outcomeOf(results[i]) {
		case accepted:
			nAccepted++
		case duplicate:
			nDup++
		default:
			t.Errorf("request %d: %v %q", i, outcomeOf(results[i]), results[i].Detail)
		}
	}
	if nAccepted != 1 || nDup != n-1 {
		t.Errorf("accepted %d, duplicate %d; want 1 and %d", nAccepted, nDup, n-1)
	}
	if c := f.count(`SELECT count(*) FROM receipts`); c != 1 {
		t.Errorf("receipts rows = %d, want 1", c)
	}
	if c := f.count(`SELECT credited FROM piece_credit`); c != 5000 {
		t.Errorf("piece credit = %d, want 5000", c)
	}
	tot, err := h.client.GetPendingTotals(context.Background(), &pbtsv1.GetPendingTotalsRequest{Agent: a.addr.Hex()})
	if err != nil {
		t.Fatal(err)
	}
	if tot.UploadBytes != 5000 || tot.ReceiptCount != 1 {
		t.Errorf("sender totals = %v, want 5000 bytes in 1 receipt", tot)
	}
}

func TestRestartKeepsDuplicates(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(2, 2, pieceLen, 0)
	a, b := sw.agents[0], sw.agents[1]
	x := f.receipt(sw.tr, 0, a, b, 700)
	h1 := f.start()
	if got := outcomeOf(h1.submit(t, x.proto(t)).Results[0]); got != accepted {
		t.Fatalf("first instance: %v, want ACCEPTED", got)
	}
	h1.stop()

	h2 := f.start()
	p := x.proto(t)
	p.Sender = strings.ToLower(p.Sender)
	conflict := x
	conflict.r.PieceSize = 701
	resp := h2.submit(t, p, conflict.proto(t))
	if got := outcomeOf(resp.Results[0]); got != duplicate {
		t.Errorf("after restart: %v, want DUPLICATE", got)
	}
	if got := outcomeOf(resp.Results[1]); got != refused(pbtsv1.RefusalReason_REFUSAL_REASON_CONFLICTING_DUPLICATE) {
		t.Errorf("conflicting after restart: %v, want CONFLICTING_DUPLICATE", got)
	}
	tot, err := h2.client.GetPendingTotals(context.Background(), &pbtsv1.GetPendingTotalsRequest{Agent: b.addr.Hex()})
	if err != nil {
		t.Fatal(err)
	}
	if tot.DownloadBytes != 700 || tot.ReceiptCount != 1 {
		t.Errorf("receiver totals = %v, want 700 bytes in 1 receipt", tot)
	}
}

// TestBatchAtomicity: a request is applied whole or not at all. The database
// is made to fail after the receipts and piece credits are written (a
// trigger on pending_totals raises for one agent, which is the last write of
// the transaction): nothing may remain, and the same request succeeds once
// the fault is removed.
func TestBatchAtomicity(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(3, 8, pieceLen, 0)
	a, b, c := sw.agents[0], sw.agents[1], sw.agents[2]
	h := f.start()
	var req []*pbtsv1.Receipt
	for i := range 8 {
		req = append(req, f.receipt(sw.tr, uint32(i), a, b, 100).proto(t))
		req = append(req, f.receipt(sw.tr, uint32(i), b, c, 100).proto(t))
	}
	f.exec(`CREATE FUNCTION fail_for_agent() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.agent = '\x` + strings.ToLower(c.addr.Hex()[2:]) + `'::bytea THEN
				RAISE EXCEPTION 'injected fault';
			END IF;
			RETURN NEW;
		END $$`)
	f.exec(`CREATE TRIGGER fail_for_agent BEFORE INSERT OR UPDATE ON pending_totals
		FOR EACH ROW EXECUTE FUNCTION fail_for_agent()`)
	_, err := h.client.SubmitReceipts(context.Background(), &pbtsv1.SubmitReceiptsRequest{Receipts: req})
	if status.Code(err) != codes.Internal {
		t.Fatalf("with the fault: %v, want Internal", err)
	}
	for _, table := range []string{"receipts", "piece_credit", "pending_totals"} {
		if n := f.count(`SELECT count(*) FROM ` + table); n != 0 {
			t.Errorf("%s has %d rows after the failed request, want 0", table, n)
		}
	}
	f.exec(`DROP TRIGGER fail_for_agent ON pending_totals`)
	resp := h.submit(t, req...)
	if resp.AcceptedCount != uint32(len(req)) {
		t.Errorf("after the fault: %d accepted, want %d", resp.AcceptedCount, len(req))
	}
}

func TestPieceByteBound(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(12, 4, pieceLen, 4000) // last piece: 12384 bytes
	ag := sw.agents
	recv := ag[0]
	h := f.start()
	over := refused(pbtsv1.RefusalReason_REFUSAL_REASON_PIECE_OVERCREDITED)

	t.Run("one request, several senders", func(t *testing.T) {
		// 40% + 40% fit, the third 40% does not; 20% then fills the piece
		// exactly, and one more byte is refused.
		p := uint32(0)
		q := uint32(pieceLen * 4 / 10)
		resp := h.submit(t,
			f.receipt(sw.tr, p, ag[1], recv, q).proto(t),
			f.receipt(sw.tr, p, ag[2], recv, q).proto(t),
			f.receipt(sw.tr, p, ag[3], recv, q).proto(t))
		want := []outcome{accepted, accepted, over}
		for i := range want {
			if got := outcomeOf(resp.Results[i]); got != want[i] {
				t.Errorf("sender %d: %v %q, want %v", i+1, got, resp.Results[i].Detail, want[i])
			}
		}
		resp = h.submit(t,
			f.receipt(sw.tr, p, ag[4], recv, pieceLen-2*q).proto(t),
			f.receipt(sw.tr, p, ag[5], recv, 1).proto(t))
		if outcomeOf(resp.Results[0]) != accepted || outcomeOf(resp.Results[1]) != over {
			t.Errorf("filling: %v, %v; want ACCEPTED, OVERCREDITED", outcomeOf(resp.Results[0]), outcomeOf(resp.Results[1]))
		}
		if c := f.credited(sw.tr, recv, 0); c != pieceLen {
			t.Errorf("credited = %d, want %d", c, pieceLen)
		}
	})

	t.Run("concurrent requests", func(t *testing.T) {
		// Ten senders each claim half of piece 1, and of the short last piece
		// 3, in separate concurrent requests: two fit in each.
		var wg sync.WaitGroup
		var mu sync.Mutex
		count := map[uint32]int{}
		for i := 1; i <= 10; i++ {
			for _, piece := range []uint32{1, 3} {
				x := f.receipt(sw.tr, piece, ag[i], recv, sw.tr.pieceSize(piece)/2)
				p := x.proto(t)
				wg.Go(func() {
					resp, err := h.client.SubmitReceipts(context.Background(), &pbtsv1.SubmitReceiptsRequest{Receipts: []*pbtsv1.Receipt{p}})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					switch got := outcomeOf(resp.Results[0]); got {
					case accepted:
						count[piece]++
					case over:
					default:
						t.Errorf("piece %d: %v", piece, got)
					}
				})
			}
		}
		wg.Wait()
		for _, piece := range []uint32{1, 3} {
			if count[piece] != 2 {
				t.Errorf("piece %d: %d accepted, want 2", piece, count[piece])
			}
			if c := f.credited(sw.tr, recv, piece); c != int64(sw.tr.pieceSize(piece)/2*2) {
				t.Errorf("piece %d credited = %d, want %d", piece, c, sw.tr.pieceSize(piece)/2*2)
			}
			if c := f.count(`SELECT count(*) FROM receipts WHERE piece_index = $1`, int64(piece)); c != 2 {
				t.Errorf("piece %d: %d receipts stored, want 2", piece, c)
			}
		}
	})

	t.Run("other receivers have their own bound", func(t *testing.T) {
		resp := h.submit(t, f.receipt(sw.tr, 0, ag[1], ag[6], pieceLen).proto(t))
		if got := outcomeOf(resp.Results[0]); got != accepted {
			t.Errorf("another receiver's full piece: %v, want ACCEPTED", got)
		}
	})
}

func TestExpiredDuplicate(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(2, 2, pieceLen, 0)
	a, b := sw.agents[0], sw.agents[1]
	h := f.start()
	x := f.receipt(sw.tr, 0, a, b, 10)
	if got := outcomeOf(h.submit(t, x.proto(t)).Results[0]); got != accepted {
		t.Fatalf("%v, want ACCEPTED", got)
	}
	f.clock.Advance(2 * time.Hour)
	late := f.receipt(sw.tr, 1, a, b, 10)
	late.r.Timestamp = x.r.Timestamp
	resp := h.submit(t, x.proto(t), late.proto(t))
	if got := outcomeOf(resp.Results[0]); got != duplicate {
		t.Errorf("expired but stored: %v, want DUPLICATE", got)
	}
	if got := outcomeOf(resp.Results[1]); got != refused(pbtsv1.RefusalReason_REFUSAL_REASON_TIMESTAMP_OUT_OF_WINDOW) {
		t.Errorf("expired and new: %v, want TIMESTAMP_OUT_OF_WINDOW", got)
	}
}

// TestCatalogNegativesRechecked: an agent that registers (or joins the
// swarm) after a refusal is accepted without a restart.
func TestCatalogNegativesRechecked(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(2, 2, pieceLen, 0)
	a := sw.agents[0]
	late := f.newKey()
	h := f.start()
	x := f.receipt(sw.tr, 0, a, late, 10)
	if got := outcomeOf(h.submit(t, x.proto(t)).Results[0]); got != refused(pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_UNREGISTERED) {
		t.Fatalf("%v, want RECEIVER_UNREGISTERED", got)
	}
	f.register(late)
	// Remembered as unknown for negativeTTL, then asked again.
	if got := outcomeOf(h.submit(t, x.proto(t)).Results[0]); got != refused(pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_UNREGISTERED) {
		t.Fatalf("within the negative TTL: %v, want RECEIVER_UNREGISTERED still", got)
	}
	f.clock.Advance(negativeTTL)
	if got := outcomeOf(h.submit(t, x.proto(t)).Results[0]); got != refused(pbtsv1.RefusalReason_REFUSAL_REASON_NOT_IN_SWARM) {
		t.Fatalf("%v, want NOT_IN_SWARM", got)
	}
	f.join(sw.tr, late)
	if got := outcomeOf(h.submit(t, x.proto(t)).Results[0]); got != accepted {
		t.Fatalf("%v, want ACCEPTED", got)
	}
}

func TestLargeBatch(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(4, 300, pieceLen, 0)
	h := f.start(func(c *serviceConfig) { c.MaxBatch = 1200 })
	var req []*pbtsv1.Receipt
	for p := range 300 {
		for k := 1; k < 4; k++ {
			req = append(req, f.receipt(sw.tr, uint32(p), sw.agents[k], sw.agents[(k+1)%4], pieceLen/3).proto(t))
		}
	}
	resp := h.submit(t, req...)
	if resp.AcceptedCount != uint32(len(req)) {
		for i, r := range resp.Results {
			if outcomeOf(r) != accepted {
				t.Fatalf("receipt %d: %v %s", i, outcomeOf(r), r.Detail)
			}
		}
	}
	resp = h.submit(t, req...)
	if resp.DuplicateCount != uint32(len(req)) {
		t.Errorf("resubmitted: %d duplicates, want %d", resp.DuplicateCount, len(req))
	}
}
