package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gethcommon "github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/testkit"
)

// gateway is the REST gateway of a stack, as a process.
type gateway struct {
	*service
	URL string
}

// startGateway runs the gateway over the stack's services (extra PBTS_*
// settings override the defaults).
func (s *stack) startGateway(t *testing.T, extra map[string]string) *gateway {
	t.Helper()
	env := map[string]string{
		"PBTS_HTTP_ADDR": "127.0.0.1:0", "PBTS_TRACKER_ADDR": s.Tracker.GRPCAddr, "PBTS_RECEIPTS_ADDR": s.Receipts.GRPCAddr,
		"PBTS_CHAINWRITER_ADDR": s.Writer.GRPCAddr, "PBTS_POLL_INTERVAL": "100ms", "PBTS_HEARTBEAT": "200ms",
		"PBTS_CORS_ORIGINS": "http://dash.example", "PBTS_PUBLIC_RPC_URL": s.Chain.URL,
	}
	for k, v := range extra {
		env[k] = v
	}
	g := start(t, "gateway", env)
	return &gateway{service: g, URL: "http://" + g.Addr("http")}
}

// call does one REST request; body may be nil, a string or a value to
// encode as JSON. It returns the status, the headers and the body.
func (g *gateway) call(t *testing.T, method, path string, body any, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case proto.Message:
		j, err := protojson.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	case io.Reader: // sent chunked, without a Content-Length
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, g.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// same calls a REST route and checks its JSON is the gRPC answer's.
func (g *gateway) same(t *testing.T, method, path string, body any, grpcAnswer proto.Message, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("gRPC for %s %s: %v", method, path, err)
	}
	code, _, b := g.call(t, method, path, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	got := grpcAnswer.ProtoReflect().New().Interface()
	if err := protojson.Unmarshal(b, got); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, b)
	}
	if !proto.Equal(got, grpcAnswer) {
		t.Errorf("%s %s:\nREST %v\ngRPC %v", method, path, got, grpcAnswer)
	}
}

// apiErr is the REST error body.
type apiErr struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

func (g *gateway) wantError(t *testing.T, method, path string, body any, status, code int, substr string) apiErr {
	t.Helper()
	got, _, b := g.call(t, method, path, body)
	var e apiErr
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s %s: %d, body %q is not the error shape", method, path, got, b)
	}
	if got != status || e.Code != code || !strings.Contains(e.Message, substr) || e.Details == nil {
		t.Fatalf("%s %s: %d %s; want HTTP %d, code %d, a message with %q and details", method, path, got, b, status, code, substr)
	}
	return e
}

func registrationBody(t *testing.T, s *stack) (map[string]any, *agent) {
	t.Helper()
	key, _ := crypto.GenerateKey()
	ts := uint64(time.Now().Unix())
	sig, err := receipt.SignRegistration(s.Domain, ts, key)
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{Key: key}
	return map[string]any{"address": a.Address(), "timestamp": ts, "signature": sig.Hex()}, a
}

// TestGatewayRoutes: every REST route once against the real services, its
// JSON equal to the gRPC answer's.
func TestGatewayRoutes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newStack(t, 4*MiB)
	g := s.startGateway(t, nil)

	// Registration through REST, then the agent through both.
	body, a := registrationBody(t, s)
	code, _, b := g.call(t, "POST", "/v1/agents", body)
	var reg pbtsv1.RegisterAgentResponse
	if code != 200 || protojson.Unmarshal(b, &reg) != nil || reg.Passkey == "" {
		t.Fatalf("POST /v1/agents: %d %s", code, b)
	}
	a.Passkey = reg.Passkey
	seeder := s.register(t)
	ga, err := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: a.Address()})
	g.same(t, "GET", "/v1/agents/"+a.Address(), nil, ga, err)
	la, err := s.Agents.ListAgents(ctx, &pbtsv1.ListAgentsRequest{PageSize: 5})
	g.same(t, "GET", "/v1/agents?pageSize=5", nil, la, err)
	ts := uint64(time.Now().Unix()) + 1
	rsig, _ := receipt.SignRotation(s.Domain, ts, a.Key)
	code, _, b = g.call(t, "POST", "/v1/agents/"+a.Address()+":rotatePasskey", map[string]any{"timestamp": ts, "signature": rsig.Hex()})
	var rot pbtsv1.RotatePasskeyResponse
	if code != 200 || protojson.Unmarshal(b, &rot) != nil || rot.Passkey == "" || rot.Passkey == a.Passkey {
		t.Fatalf("rotate: %d %s", code, b)
	}
	a.Passkey = rot.Passkey
	li, err := s.Agents.ListInvitations(ctx, &pbtsv1.ListInvitationsRequest{Inviter: a.Address()})
	g.same(t, "GET", "/v1/agents/"+a.Address()+"/invitations", nil, li, err)
	invitee := gethcommon.HexToAddress("0x00000000000000000000000000000000000000aa")
	isig, _ := receipt.SignInvitation(s.Domain, invitee, ts, a.Key)
	g.wantError(t, "POST", "/v1/invitations", map[string]any{"inviter": a.Address(), "invitee": invitee.Hex(), "timestamp": ts, "signature": isig.Hex()},
		400, 9, "not in good standing") // FailedPrecondition: it has uploaded nothing

	// A dataset: publish, search, get, pieces, swarm, torrent, resolve.
	dir := t.TempDir()
	mi, sums, _ := dataset(t, dir, "gw.bin", 2*MiB, 31)
	ih := s.publish(t, seeder, mi, sums, "gateway clip", pbtsv1.Modality_MODALITY_VIDEO, []string{"gw"})
	ihHex := "0x" + hex.EncodeToString(ih[:])
	sd, err := s.Datasets.SearchDatasets(ctx, &pbtsv1.SearchDatasetsRequest{Query: "gateway"})
	g.same(t, "GET", "/v1/datasets?query=gateway", nil, sd, err)
	gd, err := s.Datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: ihHex})
	g.same(t, "GET", "/v1/datasets/"+ihHex, nil, gd, err)
	gp, err := s.Datasets.GetPieceHashes(ctx, &pbtsv1.GetPieceHashesRequest{InfoHash: ihHex})
	g.same(t, "GET", "/v1/datasets/"+ihHex+"/pieces", nil, gp, err)
	announceAs(t, s.Announce, seeder.Passkey, ih, "-PB0001-gwseed000000", 0)
	announceAs(t, s.Announce, a.Passkey, ih, "-PB0001-gwleech00000", 2*MiB)
	gs, err := s.Datasets.GetSwarm(ctx, &pbtsv1.GetSwarmRequest{InfoHash: ihHex})
	g.same(t, "GET", "/v1/datasets/"+ihHex+"/swarm", nil, gs, err)
	code, hdr, torrent := g.call(t, "POST", "/v1/datasets/"+ihHex+":torrent", map[string]any{"passkey": a.Passkey})
	gt, err := s.Datasets.GetTorrent(ctx, &pbtsv1.GetTorrentRequest{InfoHash: ihHex, Passkey: a.Passkey})
	if code != 200 || err != nil || hdr.Get("Content-Type") != "application/x-bittorrent" || !bytes.Equal(torrent, gt.Data) {
		t.Fatalf("torrent: %d %s (%d bytes, gRPC %d, %v)", code, hdr.Get("Content-Type"), len(torrent), len(gt.GetData()), err)
	}
	rp, err := s.Datasets.ResolvePeer(ctx, &pbtsv1.ResolvePeerRequest{InfoHash: ihHex, Passkey: a.Passkey, PeerId: "0x" + hex.EncodeToString([]byte("-PB0001-gwseed000000"))})
	g.same(t, "POST", "/v1/datasets/"+ihHex+":resolvePeer", map[string]any{"passkey": a.Passkey, "peerId": "0x" + hex.EncodeToString([]byte("-PB0001-gwseed000000"))}, rp, err)

	// Receipts: submit through REST, then get, list, pending; the watch stream.
	watch, err := http.Get(g.URL + "/v1/receipts:watch?sender=" + seeder.Address())
	if err != nil || watch.StatusCode != 200 {
		t.Fatalf("watch: %v %v", watch, err)
	}
	defer watch.Body.Close()
	rs := signedReceipts(t, s, ih, sums, 256*KiB, seeder, *a, 0, 2)
	var sub pbtsv1.SubmitReceiptsResponse
	waitUntil(t, ctx, "receipts accepted through REST", func() bool {
		code, _, b := g.call(t, "POST", "/v1/receipts:submit", &pbtsv1.SubmitReceiptsRequest{Receipts: rs})
		return code == 200 && protojson.Unmarshal(b, &sub) == nil && sub.AcceptedCount+sub.DuplicateCount == 2
	})
	line, err := bufio.NewReader(watch.Body).ReadBytes('\n')
	var watched struct {
		Result json.RawMessage `json:"result"`
	}
	if err != nil || json.Unmarshal(line, &watched) != nil || !bytes.Contains(watched.Result, []byte(sub.Results[0].Digest)) {
		t.Fatalf("watch stream line %q: %v", line, err)
	}
	gr, err := s.ReceiptsC.GetReceipt(ctx, &pbtsv1.GetReceiptRequest{Digest: sub.Results[0].Digest})
	g.same(t, "GET", "/v1/receipts/"+sub.Results[0].Digest, nil, gr, err)
	lr, err := s.ReceiptsC.ListReceipts(ctx, &pbtsv1.ListReceiptsRequest{Agent: seeder.Address()})
	g.same(t, "GET", "/v1/receipts?agent="+seeder.Address(), nil, lr, err)
	pt, err := s.ReceiptsC.GetPendingTotals(ctx, &pbtsv1.GetPendingTotalsRequest{Agent: a.Address()})
	g.same(t, "GET", "/v1/agents/"+a.Address()+"/pending", nil, pt, err)
	var rstats *pbtsv1.GetReceiptStatsResponse
	waitUntil(t, ctx, "receipt stats counting both", func() bool { // a cached count, up to a second old
		rstats, err = s.ReceiptsC.GetReceiptStats(ctx, &pbtsv1.GetReceiptStatsRequest{})
		return err == nil && rstats.ReceiptsAccepted >= 2 && rstats.BytesAccepted >= 2*256*KiB
	})
	g.same(t, "GET", "/v1/receipts:stats", nil, rstats, err)
	ti, err := s.Agents.GetTrackerInfo(ctx, &pbtsv1.GetTrackerInfoRequest{})
	if err != nil || ti.Agents != 2 || ti.Datasets != 1 || ti.DatasetBytes != 2*MiB || ti.Seeders != 1 || ti.Leechers != 1 || ti.MinRatio != 0.5 {
		t.Fatalf("tracker info %v, %v", ti, err)
	}
	g.same(t, "GET", "/v1/tracker", nil, ti, err)

	// The chainwriter.
	cw := pbtsv1.NewChainwriterServiceClient(s.Writer.conn(t, "pbts.v1.ChainwriterService"))
	waitUntil(t, ctx, "a settled batch", func() bool {
		st, err := cw.GetChainStatus(ctx, &pbtsv1.GetChainStatusRequest{})
		return err == nil && st.LastSettledBatchId >= 1 && st.PendingReceipts == 0
	})
	lb, err := cw.ListBatches(ctx, &pbtsv1.ListBatchesRequest{PageSize: 10})
	g.same(t, "GET", "/v1/batches?pageSize=10", nil, lb, err)
	code, _, b = g.call(t, "GET", "/v1/chain/status", nil)
	var cs pbtsv1.GetChainStatusResponse
	if code != 200 || protojson.Unmarshal(b, &cs) != nil || cs.Contract != s.Deploy.Tracker.Hex() || cs.ChainId != s.Deploy.ChainID ||
		cs.InitialCredit != s.Deploy.InitialCredit || len(cs.Referrers) != 0 {
		t.Fatalf("chain status: %d %s", code, b)
	}
	if code, _, b := g.call(t, "GET", "/v1/config", nil); code != 200 || !bytes.Equal(b, []byte(`{"chainRpcUrl":"`+s.Chain.URL+`"}`+"\n")) {
		t.Fatalf("config: %d %s", code, b)
	}

	// OpenAPI, health, CORS, gzip.
	code, _, b = g.call(t, "GET", "/openapi.json", nil)
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if code != 200 || json.Unmarshal(b, &doc) != nil || doc.Paths["/v1/receipts:submit"] == nil || doc.Paths["/v1/batches"] == nil {
		t.Fatalf("openapi: %d %.200s", code, b)
	}
	if code, _, b := g.call(t, "GET", "/readyz", nil); code != 200 || !bytes.Contains(b, []byte(`"ready":true`)) {
		t.Fatalf("readyz: %d %s", code, b)
	}
	if code, hdr, _ := g.call(t, "OPTIONS", "/v1/agents", nil, "Origin", "http://dash.example", "Access-Control-Request-Method", "GET"); code != 204 ||
		hdr.Get("Access-Control-Allow-Origin") != "http://dash.example" {
		t.Fatalf("CORS preflight: %d %v", code, hdr)
	}
	if _, hdr, _ := g.call(t, "GET", "/v1/agents", nil, "Origin", "http://evil.example"); hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS for an origin not configured: %v", hdr)
	}
	req, _ := http.NewRequest("GET", g.URL+"/v1/agents?pageSize=50", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %v %v", res, err)
	}
	res.Body.Close()
	// The access log masks what is secret.
	if out := g.Out.String(); strings.Contains(out, a.Passkey) || strings.Contains(out, rsig.Hex()) {
		t.Fatal("the gateway logged a passkey or a signature")
	}
}

// TestGatewayErrors: each error class's status and body, the body limit,
// the timeout, a backend down.
func TestGatewayErrors(t *testing.T) {
	s := newStack(t, 4*MiB)
	g := s.startGateway(t, map[string]string{"PBTS_BODY_LIMIT": "4096"})
	e := g.wantError(t, "GET", "/v1/agents/0x1234", nil, 400, 3, "address")
	if d := fmt.Sprintf("%s", e.Details); !strings.Contains(d, "BadRequest") {
		t.Errorf("no field violation in the details: %s", d)
	}
	g.wantError(t, "GET", "/v1/agents/0x00000000000000000000000000000000000000a1", nil, 404, 5, "not registered")
	body, _ := registrationBody(t, s)
	other, _ := crypto.GenerateKey()
	wrong, _ := receipt.SignRegistration(s.Domain, body["timestamp"].(uint64), other)
	body["signature"] = wrong.Hex() // well-formed, another key's
	g.wantError(t, "POST", "/v1/agents", body, 401, 16, "signature")
	body["signature"] = "0x" + strings.Repeat("11", 65) // v = 17: malformed
	g.wantError(t, "POST", "/v1/agents", body, 400, 3, "signature")
	g.wantError(t, "GET", "/v1/nosuch", nil, 404, 5, "no such route")
	g.wantError(t, "POST", "/v1/receipts:submit", strings.Repeat("x", 5000), 413, 8, "over the limit")
	chunked := io.MultiReader(strings.NewReader(`{"receipts":[{"infoHash":"`), strings.NewReader(strings.Repeat("ab", 4000)+`"}]}`))
	g.wantError(t, "POST", "/v1/receipts:submit", chunked, 413, 8, "over the limit")

	// A backend down: 503 naming it, and /readyz says which.
	down := s.startGateway(t, map[string]string{"PBTS_CHAINWRITER_ADDR": testkit.ClosedAddr})
	down.wantError(t, "GET", "/v1/chain/status", nil, 503, 14, "chainwriter is unavailable")
	if code, _, b := down.call(t, "GET", "/readyz", nil); code != 503 || !bytes.Contains(b, []byte("chainwriter unreachable")) {
		t.Fatalf("readyz with the chainwriter down: %d %s", code, b)
	}
	// A backend that accepts and never answers: the route's deadline.
	hang := hangingListener(t)
	slow := s.startGateway(t, map[string]string{"PBTS_RECEIPTS_ADDR": hang, "PBTS_TIMEOUT": "300ms"})
	slow.wantError(t, "GET", "/v1/receipts/0x"+strings.Repeat("ab", 32), nil, 504, 4, "did not answer in time")
	if out := g.Out.String(); strings.Contains(out, "connection refused") && strings.Contains(out, "\"message\"") {
		t.Error("an internal cause reached a client")
	}
}

// hangingListener accepts connections and never says a word (a backend
// that is stuck), until the test ends.
func hangingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	ID, Kind string
	Data     []byte
}

// sseStream reads events from GET /v1/events.
type sseStream struct {
	res *http.Response
	ch  chan sseEvent
}

func (g *gateway) events(t *testing.T, lastID string) *sseStream {
	t.Helper()
	req, _ := http.NewRequest("GET", g.URL+"/v1/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /v1/events: %v %v", res, err)
	}
	st := &sseStream{res: res, ch: make(chan sseEvent, 256)}
	t.Cleanup(func() { res.Body.Close() })
	go func() {
		defer close(st.ch)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.Kind != "" {
					st.ch <- e
				}
				e = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				e.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.Kind = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.Data = []byte(line[6:])
			}
		}
	}()
	return st
}

// next waits for the next event of kind (skipping others).
func (st *sseStream) next(t *testing.T, kind string, timeout time.Duration) sseEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-st.ch:
			if !ok {
				t.Fatalf("event stream ended waiting for %q", kind)
			}
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %q event within %v", kind, timeout)
		}
	}
}

// TestGatewayEvents: a receipt submitted through REST appears as an event,
// its settlement appears with the transaction, a new agent appears, and a
// reconnect with Last-Event-ID gets what it missed.
func TestGatewayEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newStack(t, 4*MiB)
	g := s.startGateway(t, nil)
	st := g.events(t, "")
	seeder := s.register(t)
	ag := st.next(t, "agent", 30*time.Second)
	if !bytes.Contains(ag.Data, []byte(seeder.Address())) {
		t.Fatalf("agent event %s, want %s", ag.Data, seeder.Address())
	}
	leecher := s.register(t)
	mi, sums, _ := dataset(t, t.TempDir(), "ev.bin", 1*MiB, 41)
	ih := s.publish(t, seeder, mi, sums, "events", pbtsv1.Modality_MODALITY_AUDIO, nil)
	announceAs(t, s.Announce, seeder.Passkey, ih, "-PB0001-evseed000000", 0)
	announceAs(t, s.Announce, leecher.Passkey, ih, "-PB0001-evleech00000", 1*MiB)
	rs := signedReceipts(t, s, ih, sums, 256*KiB, seeder, leecher, 0, 1)
	var sub pbtsv1.SubmitReceiptsResponse
	waitUntil(t, ctx, "the receipt accepted", func() bool {
		code, _, b := g.call(t, "POST", "/v1/receipts:submit", &pbtsv1.SubmitReceiptsRequest{Receipts: rs})
		return code == 200 && protojson.Unmarshal(b, &sub) == nil && sub.AcceptedCount == 1
	})
	re := st.next(t, "receipt", 30*time.Second)
	var rec pbtsv1.ReceiptRecord
	if err := protojson.Unmarshal(re.Data, &rec); err != nil || rec.Digest != sub.Results[0].Digest {
		t.Fatalf("receipt event %s: %v", re.Data, err)
	}
	be := st.next(t, "batch", 60*time.Second)
	var batch pbtsv1.Batch
	if err := protojson.Unmarshal(be.Data, &batch); err != nil || batch.TxHash == "" || batch.BlockNumber == 0 ||
		batch.State != pbtsv1.BatchState_BATCH_STATE_SETTLED || batch.ReceiptCount < 1 || batch.Root == "" {
		t.Fatalf("batch event %s: %v", be.Data, err)
	}
	// Resume: what came after the receipt event is replayed (the batch).
	resumed := g.events(t, re.ID)
	if e := resumed.next(t, "batch", 10*time.Second); e.ID != be.ID {
		t.Fatalf("resumed at %s: got %s, want %s", re.ID, e.ID, be.ID)
	}
	// An id from another gateway process (or too old): reset.
	stale := g.events(t, "zzzz-5")
	stale.next(t, "reset", 10*time.Second)
}

// TestGatewaySeedPaths: the seed's /register, /report and /reputation.
func TestGatewaySeedPaths(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := newStack(t, 4*MiB)
	g := s.startGateway(t, nil)
	body, leecher := registrationBody(t, s)
	code, _, b := g.call(t, "POST", "/register", body)
	var reg pbtsv1.RegisterAgentResponse
	if code != 200 || protojson.Unmarshal(b, &reg) != nil || reg.Passkey == "" {
		t.Fatalf("POST /register: %d %s", code, b)
	}
	leecher.Passkey = reg.Passkey
	seeder := s.register(t)
	mi, sums, _ := dataset(t, t.TempDir(), "seed.bin", 1*MiB, 51)
	ih := s.publish(t, seeder, mi, sums, "seed paths", pbtsv1.Modality_MODALITY_AUDIO, nil)
	announceAs(t, s.Announce, seeder.Passkey, ih, "-PB0001-spseed000000", 0)
	announceAs(t, s.Announce, leecher.Passkey, ih, "-PB0001-spleech00000", 1*MiB)
	r := signedReceipts(t, s, ih, sums, 256*KiB, seeder, *leecher, 0, 1)[0]
	report := map[string]any{"infohash": r.InfoHash, "sender": r.Sender, "receiver": r.Receiver, "pieceHash": r.PieceHash,
		"pieceIndex": r.PieceIndex, "pieceSize": r.PieceSize, "timestamp": r.Timestamp, "signature": r.Signature}
	waitUntil(t, ctx, "POST /report accepted", func() bool {
		code, _, b := g.call(t, "POST", "/report", report)
		return code == 200 && bytes.Contains(b, []byte("RECEIPT_STATUS_ACCEPTED"))
	})
	if code, _, b := g.call(t, "POST", "/report", report); code != 200 || !bytes.Contains(b, []byte("RECEIPT_STATUS_DUPLICATE")) {
		t.Fatalf("the same report again: %d %s", code, b)
	}
	report["pieceSize"] = r.PieceSize + 1
	g.wantError(t, "POST", "/report", report, 400, 3, "receipt refused")
	var rep struct {
		Address  string `json:"address"`
		Uploaded string `json:"uploaded"`
	}
	waitUntil(t, ctx, "GET /reputation counting the report", func() bool { // the tracker's standing cache is short, not zero
		code, _, b = g.call(t, "GET", "/reputation/"+seeder.Address(), nil)
		return code == 200 && json.Unmarshal(b, &rep) == nil && rep.Address == seeder.Address() && rep.Uploaded == fmt.Sprint(4*MiB+256*KiB)
	})
	g.wantError(t, "POST", "/register", `{"address": 1}`, 400, 3, "body")

	// The README's flow: `pbts key sign-registration` prints the body curl posts.
	cli := newCLI(t, s)
	key, _ := crypto.GenerateKey()
	if code, out, errs := cli.run(fmt.Sprintf("%x\n", crypto.FromECDSA(key)), "key", "import", "--light"); code != 0 {
		t.Fatalf("key import: %d %s %s", code, out, errs)
	}
	code, out, errs := cli.run("", "key", "sign-registration")
	if code != 0 {
		t.Fatalf("key sign-registration: %d %s %s", code, out, errs)
	}
	if code, _, b = g.call(t, "POST", "/v1/agents", out); code != 200 || protojson.Unmarshal(b, &reg) != nil ||
		!strings.Contains(out, crypto.PubkeyToAddress(key.PublicKey).Hex()) || reg.Passkey == "" {
		t.Fatalf("POST /v1/agents with %s: %d %s", out, code, b)
	}
}

// TestGatewayForeignClient: a client that is not this codebase (Node and
// ethers, messages built from DESIGN.md's text) registers, reports a
// receipt and reads the reputation through the seed's paths.
func TestGatewayForeignClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := newStack(t, 4*MiB)
	g := s.startGateway(t, nil)
	script := filepath.Join(repoRoot(t), "e2e", "seedclient", "client.mjs")
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
		cmd.Dir = repoRoot(t) // node_modules/ethers
		cmd.Env = append(os.Environ(), "PBTS_GATEWAY="+g.URL, fmt.Sprintf("PBTS_CHAIN_ID=%d", s.Deploy.ChainID), "PBTS_TRACKER_CONTRACT="+s.Deploy.Tracker.Hex())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node client.mjs %s: %v\n%s", args[0], err, out)
		}
		return out
	}
	var reg struct {
		Address, PrivateKey, Passkey string
	}
	if err := json.Unmarshal(run("register"), &reg); err != nil || reg.Passkey == "" {
		t.Fatalf("register: %+v %v", reg, err)
	}
	seeder := s.register(t)
	mi, sums, _ := dataset(t, t.TempDir(), "node.bin", 1*MiB, 61)
	ih := s.publish(t, seeder, mi, sums, "foreign client", pbtsv1.Modality_MODALITY_AUDIO, nil)
	announceAs(t, s.Announce, seeder.Passkey, ih, "-PB0001-ndseed000000", 0)
	announceAs(t, s.Announce, reg.Passkey, ih, "-PB0001-ndleech00000", 1*MiB)
	ih32 := receipt.InfoHashFromV1(ih)
	r, _ := json.Marshal(map[string]any{"infohash": "0x" + hex.EncodeToString(ih32[:]), "sender": seeder.Address(),
		"pieceHash": "0x" + hex.EncodeToString(sums[2][:]), "pieceIndex": 2, "pieceSize": 256 * KiB})
	var rep struct {
		Status int `json:"status"`
		Body   struct {
			Status string `json:"status"`
			Digest string `json:"digest"`
		} `json:"body"`
	}
	waitUntil(t, ctx, "the report accepted", func() bool {
		return json.Unmarshal(run("report", reg.PrivateKey, string(r)), &rep) == nil && rep.Status == 200 && rep.Body.Status == "RECEIPT_STATUS_ACCEPTED"
	})
	// The Go encoding of the same receipt has the same digest: one definition.
	got, err := s.ReceiptsC.GetReceipt(ctx, &pbtsv1.GetReceiptRequest{Digest: rep.Body.Digest})
	if err != nil || got.Record.Receipt.Receiver != gethcommon.HexToAddress(reg.Address).Hex() {
		t.Fatalf("the receipt the Node client reported: %v, %v", got, err)
	}
	var repu struct {
		Status int `json:"status"`
		Body   struct {
			Downloaded string `json:"downloaded"`
		} `json:"body"`
	}
	waitUntil(t, ctx, "the reputation counting the report", func() bool {
		return json.Unmarshal(run("reputation", reg.Address), &repu) == nil && repu.Status == 200 && repu.Body.Downloaded == fmt.Sprint(256*KiB)
	})
}
