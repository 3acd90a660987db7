package service_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
	"github.com/pbts/pbts/services/receipts/internal/service"
)

// watcher collects a WatchReceipts stream.
type watcher struct {
	stream grpc.ServerStreamingClient[pbtsv1.WatchReceiptsResponse]
	cancel context.CancelFunc
}

func (h *harness) watch(t *testing.T, req *pbtsv1.WatchReceiptsRequest) *watcher {
	t.Helper()
	return openWatch(t, h.client, req)
}

// openWatch opens a watch through c and waits until it is active.
func openWatch(t *testing.T, c pbtsv1.ReceiptServiceClient, req *pbtsv1.WatchReceiptsRequest) *watcher {
	t.Helper()
	// Bounded, so that a watcher waiting for records that never come fails
	// the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	st, err := c.WatchReceipts(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// Headers arrive once the subscription is active.
	if _, err := st.Header(); err != nil {
		t.Fatal(err)
	}
	return &watcher{stream: st, cancel: cancel}
}

// next returns the digests of the next n records.
func (w *watcher) next(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		m, err := w.stream.Recv()
		if err != nil {
			t.Fatalf("after %d records: %v", len(out), err)
		}
		out = append(out, m.Record.Digest)
	}
	return out
}

func TestWatchReceiptsFilters(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(3, 4, pieceLen, 0)
	a, b, c := sw.agents[0], sw.agents[1], sw.agents[2]
	h := f.start()
	all := h.watch(t, &pbtsv1.WatchReceiptsRequest{})
	fromA := h.watch(t, &pbtsv1.WatchReceiptsRequest{Sender: a.addr.Hex()})
	toB := h.watch(t, &pbtsv1.WatchReceiptsRequest{Receiver: strings.ToLower(b.addr.Hex())})
	aToB := h.watch(t, &pbtsv1.WatchReceiptsRequest{Sender: a.addr.Hex(), Receiver: b.addr.Hex()})

	rs := []rc{
		f.receipt(sw.tr, 0, a, b, 10), // all, fromA, toB, aToB
		f.receipt(sw.tr, 0, c, b, 10), // all, toB
		f.receipt(sw.tr, 0, a, c, 10), // all, fromA
		f.receipt(sw.tr, 1, b, a, 10), // all
	}
	bad := f.receipt(sw.tr, 2, a, b, 10)
	bad.r.PieceSize = pieceLen + 1 // refused: never streamed
	var req []*pbtsv1.Receipt
	for _, x := range rs {
		req = append(req, x.proto(t))
	}
	req = append(req, bad.proto(t), rs[0].proto(t)) // a duplicate is not streamed either
	h.submit(t, req...)
	// A marker every watcher sees last, so that nothing else may be pending.
	marker := f.receipt(sw.tr, 3, a, b, 10)
	h.submit(t, marker.proto(t))

	d := func(xs ...rc) []string {
		var out []string
		for _, x := range xs {
			dg := x.digest()
			out = append(out, hexOf(dg[:]))
		}
		return out
	}
	for name, tc := range map[string]struct {
		w    *watcher
		want []string
	}{
		"all":      {all, d(rs[0], rs[1], rs[2], rs[3], marker)},
		"sender":   {fromA, d(rs[0], rs[2], marker)},
		"receiver": {toB, d(rs[0], rs[1], marker)},
		"both":     {aToB, d(rs[0], marker)},
	} {
		got := tc.w.next(t, len(tc.want))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s watcher (-want +got):\n%s", name, diff)
		}
	}

	// The streamed record is the stored one.
	m, err := h.client.GetReceipt(context.Background(), &pbtsv1.GetReceiptRequest{Digest: d(marker)[0]})
	if err != nil {
		t.Fatal(err)
	}
	if m.Record.AcceptedAt.AsTime().IsZero() || m.Record.Receipt.Sender != a.addr.Hex() {
		t.Errorf("record = %v", m.Record)
	}
}

func TestWatchReceiptsDropsSlowSubscriber(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(2, 400, pieceLen, 0)
	a, b := sw.agents[0], sw.agents[1]
	h := f.start(func(c *serviceConfig) { c.WatchBuffer = 2; c.MaxBatch = 256 })
	slow := h.watch(t, &pbtsv1.WatchReceiptsRequest{})
	// 400 records: far more than the stream's 64 KiB window and the
	// subscriber's buffer of 2 hold while the client reads nothing.
	for r := range 2 {
		var req []*pbtsv1.Receipt
		for i := range 200 {
			req = append(req, f.receipt(sw.tr, uint32(200*r+i), a, b, 10).proto(t))
		}
		done := make(chan struct{})
		go func() {
			h.submit(t, req...) // must not block on the subscriber
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("SubmitReceipts blocked on a slow watcher")
		}
	}
	var err error
	n := 0
	for err == nil {
		_, err = slow.stream.Recv()
		n++
	}
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "ListReceipts") {
		t.Errorf("slow watcher ended with %v after %d records, want ResourceExhausted pointing to ListReceipts", err, n-1)
	}
	if got := h.metric("pbts_receipts_watchers_dropped_total", nil); got != 1 {
		t.Errorf("pbts_receipts_watchers_dropped_total = %v, want 1", got)
	}
}

func TestWatchEndsOnShutdown(t *testing.T) {
	f := newFixture(t)
	h := f.start()
	w := h.watch(t, &pbtsv1.WatchReceiptsRequest{})
	if got := h.metric("pbts_receipts_watchers", nil); got != 1 {
		t.Errorf("pbts_receipts_watchers = %v, want 1", got)
	}
	done := make(chan struct{})
	go func() { h.stopRun(); close(done) }()
	_, err := w.stream.Recv()
	if status.Code(err) != codes.Unavailable {
		t.Errorf("watch at shutdown: %v, want Unavailable", err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("shutdown did not finish")
	}
}

func TestListReceiptsPaging(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(3, 30, pieceLen, 0)
	a, b, c := sw.agents[0], sw.agents[1], sw.agents[2]
	other := f.swarm(2, 5, pieceLen, 0)
	h := f.start()
	var all []string
	var allRC []rc
	var withC []string
	for i := range 25 {
		var x rc
		switch i % 3 {
		case 0:
			x = f.receipt(sw.tr, uint32(i), a, b, 10)
		case 1:
			x = f.receipt(sw.tr, uint32(i), b, c, 10)
			withC = append(withC, hexOf(ptr(x.digest())[:]))
		default:
			x = f.receipt(sw.tr, uint32(i), c, a, 10)
			withC = append(withC, hexOf(ptr(x.digest())[:]))
		}
		all = append(all, hexOf(ptr(x.digest())[:]))
		allRC = append(allRC, x)
		h.submit(t, x.proto(t)) // one per request: acceptance order is request order
	}
	for i := range 5 {
		h.submit(t, f.receipt(other.tr, uint32(i), other.agents[0], other.agents[1], 10).proto(t))
	}

	list := func(req *pbtsv1.ListReceiptsRequest) (pages [][]string) {
		t.Helper()
		for {
			resp, err := h.client.ListReceipts(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var page []string
			for _, r := range resp.Records {
				page = append(page, r.Digest)
			}
			pages = append(pages, page)
			if resp.NextPageToken == "" {
				return pages
			}
			if len(pages) > 100 {
				t.Fatal("no end of pages")
			}
			req.PageToken = resp.NextPageToken
		}
	}
	flat := func(pages [][]string) []string {
		var out []string
		for _, p := range pages {
			out = append(out, p...)
		}
		return out
	}
	ih := sw.tr.ih32()
	pages := list(&pbtsv1.ListReceiptsRequest{InfoHash: hexOf(ih[:]), PageSize: 10})
	if len(pages) != 3 || len(pages[0]) != 10 || len(pages[2]) != 5 {
		t.Errorf("page sizes = %d pages, want 10+10+5", len(pages))
	}
	// By torrent alone: key order (receiver, piece index, sender).
	slices.SortFunc(allRC, func(x, y rc) int {
		kx, ky := x.r.Key(), y.r.Key()
		return bytes.Compare(kx[:], ky[:])
	})
	var byKey []string
	for _, x := range allRC {
		byKey = append(byKey, hexOf(ptr(x.digest())[:]))
	}
	if diff := cmp.Diff(byKey, flat(pages)); diff != "" {
		t.Errorf("by info hash (-want +got):\n%s", diff)
	}
	// With another filter, acceptance order again.
	if diff := cmp.Diff(withC, flat(list(&pbtsv1.ListReceiptsRequest{InfoHash: hexOf(ih[:]), Agent: c.addr.Hex(), PageSize: 3}))); diff != "" {
		t.Errorf("by info hash and agent (-want +got):\n%s", diff)
	}
	_ = all
	if diff := cmp.Diff(withC, flat(list(&pbtsv1.ListReceiptsRequest{Agent: c.addr.Hex(), PageSize: 4}))); diff != "" {
		t.Errorf("by agent (-want +got):\n%s", diff)
	}
	if got := flat(list(&pbtsv1.ListReceiptsRequest{PageSize: 7})); len(got) != 30 {
		t.Errorf("unfiltered: %d records, want 30", len(got))
	}
	// Page sizes above the maximum (50 here) are capped.
	resp, err := h.client.ListReceipts(context.Background(), &pbtsv1.ListReceiptsRequest{PageSize: 1000, InfoHash: hexOf(ih[:])})
	if err != nil || len(resp.Records) != 25 {
		t.Errorf("capped page: %v, %v", len(resp.GetRecords()), err)
	}
	// A token only works with its filters.
	first, err := h.client.ListReceipts(context.Background(), &pbtsv1.ListReceiptsRequest{Agent: a.addr.Hex(), PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.client.ListReceipts(context.Background(), &pbtsv1.ListReceiptsRequest{Agent: b.addr.Hex(), PageSize: 2, PageToken: first.NextPageToken})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("token with other filters: %v, want InvalidArgument", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestPendingTotalsAndSettlement plays the chainwriter: a batch row, its
// receipts' batch_id, then settlement. The pending totals drop by the
// settled receipts, and GetReceipt serves a proof against the batch root.
func TestPendingTotalsAndSettlement(t *testing.T) {
	f := newFixture(t)
	sw := f.swarm(3, 10, pieceLen, 0)
	a, b, c := sw.agents[0], sw.agents[1], sw.agents[2]
	h := f.start()
	var rs []rc
	for i := range 5 {
		rs = append(rs, f.receipt(sw.tr, uint32(i), a, b, 1000))
		rs = append(rs, f.receipt(sw.tr, uint32(i), c, b, 500))
	}
	rs = append(rs, f.receipt(sw.tr, 7, b, a, 64))
	var req []*pbtsv1.Receipt
	for _, x := range rs {
		req = append(req, x.proto(t))
	}
	h.submit(t, req...)
	totals := func(x agent) [3]uint64 {
		t.Helper()
		r, err := h.client.GetPendingTotals(context.Background(), &pbtsv1.GetPendingTotalsRequest{Agent: strings.ToLower(x.addr.Hex())})
		if err != nil {
			t.Fatal(err)
		}
		if r.Agent != x.addr.Hex() {
			t.Errorf("agent = %s, want %s", r.Agent, x.addr.Hex())
		}
		return [3]uint64{r.UploadBytes, r.DownloadBytes, r.ReceiptCount}
	}
	check := func(when string, want map[string][3]uint64) {
		t.Helper()
		for name, x := range map[string]agent{"a": a, "b": b, "c": c} {
			if got := totals(x); got != want[name] {
				t.Errorf("%s: %s totals = %v, want %v", when, name, got, want[name])
			}
		}
	}
	check("pending", map[string][3]uint64{"a": {5000, 64, 6}, "b": {64, 7500, 11}, "c": {2500, 0, 5}})
	stats := func(when string, want *pbtsv1.GetReceiptStatsResponse) {
		t.Helper()
		got, err := h.client.GetReceiptStats(context.Background(), &pbtsv1.GetReceiptStatsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("%s: stats = %v, want %v", when, got, want)
		}
	}
	pendingStats := &pbtsv1.GetReceiptStatsResponse{ReceiptsAccepted: 11, ReceiptsPending: 11, BytesAccepted: 7564}
	stats("pending", pendingStats)
	if got := totals(f.newKey()); got != ([3]uint64{}) {
		t.Errorf("unknown agent totals = %v, want zero", got)
	}

	// Batch 1: the five a->b receipts.
	var ds [][32]byte
	for i := 0; i < 10; i += 2 {
		ds = append(ds, rs[i].digest())
	}
	root, err := receipt.MerkleRoot(ds)
	if err != nil {
		t.Fatal(err)
	}
	args := make([][]byte, len(ds))
	for i := range ds {
		args[i] = ds[i][:]
	}
	f.exec(`INSERT INTO receipt_batches (id, root, receipt_count) VALUES (1, $1, 5)`, root[:])
	f.exec(`UPDATE receipts SET batch_id = 1 WHERE digest = ANY($1)`, args)
	check("batched", map[string][3]uint64{"a": {5000, 64, 6}, "b": {64, 7500, 11}, "c": {2500, 0, 5}})

	get := func(d [32]byte) *pbtsv1.ReceiptRecord {
		t.Helper()
		r, err := h.client.GetReceipt(context.Background(), &pbtsv1.GetReceiptRequest{Digest: hexOf(d[:])})
		if err != nil {
			t.Fatal(err)
		}
		return r.Record
	}
	rec := get(ds[2])
	if rec.State != pbtsv1.SettlementState_SETTLEMENT_STATE_BATCHED || rec.BatchId != 1 || rec.BatchRoot != hexOf(root[:]) {
		t.Errorf("batched record: state %v batch %d root %s", rec.State, rec.BatchId, rec.BatchRoot)
	}
	verifyProof(t, rec, root, ds[2])

	tx := [32]byte{0xaa}
	f.exec(`UPDATE receipt_batches SET tx_hash = $1, block_number = 42, settled_at = now() WHERE id = 1`, tx[:])
	check("settled", map[string][3]uint64{"a": {0, 64, 1}, "b": {64, 2500, 6}, "c": {2500, 0, 5}})
	stats("settled, within the cache's second", pendingStats)
	f.clock.Advance(time.Second)
	stats("settled", &pbtsv1.GetReceiptStatsResponse{ReceiptsAccepted: 11, ReceiptsSettled: 5, ReceiptsPending: 6, BytesAccepted: 7564, BytesSettled: 5000})
	rec = get(ds[4])
	if rec.State != pbtsv1.SettlementState_SETTLEMENT_STATE_SETTLED || rec.TxHash != hexOf(tx[:]) || rec.BlockNumber != 42 || rec.SettledAt == nil {
		t.Errorf("settled record: %v", rec)
	}
	verifyProof(t, rec, root, ds[4])
	if rec := get(rs[1].digest()); rec.State != pbtsv1.SettlementState_SETTLEMENT_STATE_PENDING || len(rec.MerkleProof) != 0 {
		t.Errorf("unbatched record: %v", rec)
	}
	resp, err := h.client.ListReceipts(context.Background(), &pbtsv1.ListReceiptsRequest{BatchId: 1})
	if err != nil || len(resp.Records) != 5 {
		t.Errorf("list batch 1: %d records, %v; want 5", len(resp.GetRecords()), err)
	}

	// A reorg (settled_at cleared) puts the bytes back.
	f.exec(`UPDATE receipt_batches SET block_number = NULL, settled_at = NULL WHERE id = 1`)
	check("unsettled", map[string][3]uint64{"a": {5000, 64, 6}, "b": {64, 7500, 11}, "c": {2500, 0, 5}})
}

func verifyProof(t *testing.T, rec *pbtsv1.ReceiptRecord, root, digest [32]byte) {
	t.Helper()
	var proof [][32]byte
	for _, p := range rec.MerkleProof {
		b, err := receipt.ParseBytes32(p)
		if err != nil {
			t.Fatal(err)
		}
		proof = append(proof, b)
	}
	if len(proof) == 0 || !receipt.VerifyProof(root, digest, proof) {
		t.Errorf("proof %v does not prove 0x%x against 0x%x", rec.MerkleProof, digest, root)
	}
}

// TestStartsWithoutDatabase runs the real wiring (server.New + Setup) with no
// Postgres behind the URL: the server is healthy, the receipt service is not
// and answers UNAVAILABLE.
func TestStartsWithoutDatabase(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New("receipts", server.Config{GRPCAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig("postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := service.Setup(&cfg)(ctx, srv, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- srv.Run(ctx) }()
	go func() { done <- run(ctx) }()
	conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && r.Status == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server health = %v, %v; want SERVING", r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service.HealthName})
	if err != nil || r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("%s health = %v, %v; want NOT_SERVING", service.HealthName, r, err)
	}
	client := pbtsv1.NewReceiptServiceClient(conn)
	_, err = client.SubmitReceipts(ctx, &pbtsv1.SubmitReceiptsRequest{Receipts: []*pbtsv1.Receipt{{}}})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("SubmitReceipts without a database: %v, want Unavailable", err)
	}
	_, err = client.GetPendingTotals(ctx, &pbtsv1.GetPendingTotalsRequest{Agent: testDomain.Tracker.Hex()})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("GetPendingTotals without a database: %v, want Unavailable", err)
	}
	cancel()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stopped with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("did not stop within 10s")
		}
	}
}

func TestHealthFollowsDatabase(t *testing.T) {
	f := newFixture(t)
	h := f.start() // start waits for the SERVING report
	_, err := h.client.GetPendingTotals(context.Background(), &pbtsv1.GetPendingTotalsRequest{Agent: testDomain.Tracker.Hex()})
	if err != nil {
		t.Errorf("GetPendingTotals: %v", err)
	}
}

func TestDomainMismatchStops(t *testing.T) {
	f := newFixture(t)
	f.start().stop()
	h := startService(t, f.url, f.clock, false, func(c *serviceConfig) { c.ChainID = 1 })
	select {
	case err := <-h.done:
		if !errors.Is(err, ledger.ErrDomainMismatch) {
			t.Errorf("Run = %v, want ErrDomainMismatch", err)
		}
		h.done <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("service with another domain did not stop")
	}
}

func TestConfigNamesBadSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-tracker-contract="}, "PBTS_TRACKER_CONTRACT"},
		{[]string{"-tracker-contract=0x12"}, "PBTS_TRACKER_CONTRACT"},
		{[]string{"-chain-id=0"}, "PBTS_CHAIN_ID"},
		{[]string{"-database-url=postgres://u:secret@h:notaport/db"}, "PBTS_DATABASE_URL"},
		{[]string{"-timestamp-window=0s"}, "PBTS_TIMESTAMP_WINDOW"},
		{[]string{"-max-batch=0"}, "PBTS_MAX_BATCH"},
		{[]string{"-max-batch=100000"}, "PBTS_MAX_BATCH"},
		{[]string{"-max-page-size=0"}, "PBTS_MAX_PAGE_SIZE"},
		{[]string{"-watch-buffer=0"}, "PBTS_WATCH_BUFFER"},
		{[]string{"-db-max-conns=1"}, "PBTS_DB_MAX_CONNS"},
		{[]string{"-db-writers=0"}, "PBTS_DB_WRITERS"},
		{[]string{"-db-writers=17"}, "PBTS_DB_WRITERS"},
		{nil, ""},
	} {
		var c service.Config
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		c.RegisterFlags(fs)
		args := append([]string{"-tracker-contract=" + testDomain.Tracker.Hex()}, tc.args...)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("defaults: %v", err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: err = %v, want one naming %s", tc.args, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("%v: error shows the password: %v", tc.args, err)
		}
		if tc.want == "" {
			var buf strings.Builder
			slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
			if strings.Contains(buf.String(), "postgres://") || !strings.Contains(buf.String(), "config.database=127.0.0.1:5432/pbts") {
				t.Errorf("logged config: %s; want the database's host, port and name only", buf.String())
			}
		}
	}
}
