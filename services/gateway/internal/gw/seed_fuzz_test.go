package gw

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// fzReceipts is a receipts service that keeps what it was sent and
// accepts every receipt but those of piece 7, which it refuses.
type fzReceipts struct {
	pbtsv1.UnimplementedReceiptServiceServer
	mu   sync.Mutex
	got  []*pbtsv1.SubmitReceiptsRequest
	fail bool
}

func (s *fzReceipts) SubmitReceipts(ctx context.Context, req *pbtsv1.SubmitReceiptsRequest) (*pbtsv1.SubmitReceiptsResponse, error) {
	s.mu.Lock()
	s.got = append(s.got, proto.Clone(req).(*pbtsv1.SubmitReceiptsRequest))
	s.mu.Unlock()
	resp := &pbtsv1.SubmitReceiptsResponse{}
	for _, r := range req.GetReceipts() {
		res := &pbtsv1.ReceiptResult{Status: pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED, Digest: "0x" + strings.Repeat("ab", 32)}
		if r.GetPieceIndex() == 7 {
			res = &pbtsv1.ReceiptResult{Status: pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED,
				Reason: pbtsv1.RefusalReason(1), Detail: "piece 7 is refused here: " + r.GetSender()}
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

// take returns and forgets what the service was sent.
func (s *fzReceipts) take() []*pbtsv1.SubmitReceiptsRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.got
	s.got = nil
	return got
}

// fzGateway is the real gateway (New, Handler) with a receipts service in
// the process; the other backends are never reached.
func fzGateway(tb testing.TB) (http.Handler, *fzReceipts) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	fake := &fzReceipts{}
	srv := grpc.NewServer()
	pbtsv1.RegisterReceiptServiceServer(srv, fake)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	tb.Cleanup(srv.Stop)
	cfg := Config{HTTPAddr: "127.0.0.1:0", TrackerAddr: "127.0.0.1:1", ReceiptsAddr: ln.Addr().String(), ChainwriterAddr: "127.0.0.1:1",
		BodyLimit: 64 << 10, Timeout: 10 * time.Second, MaxSubscribers: 4, EventsBuffer: 16, Heartbeat: time.Second, PollInterval: time.Second}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	g, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), newHTTPMetrics(prometheus.NewRegistry()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(g.Close)
	return g.Handler(), fake
}

func fzPost(h http.Handler, path string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = "192.0.2.1:1234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// fzSeedJSON is a receipt in the seed's JSON field names (/report).
func fzSeedJSON(r *pbtsv1.Receipt) []byte {
	b, _ := json.Marshal(seedReceipt{InfoHash: r.GetInfoHash(), Sender: r.GetSender(), Receiver: r.GetReceiver(), PieceHash: r.GetPieceHash(),
		PieceIndex: r.GetPieceIndex(), PieceSize: r.GetPieceSize(), Timestamp: r.GetTimestamp(), Signature: r.GetSignature()})
	return b
}

// FuzzReceiptAliases posts arbitrary bodies to the seed's receipt alias
// (POST /report, JSON of the seed's field names) and to the REST route
// (POST /v1/receipts:submit, protojson), through the whole gateway to a
// receipts service in the process. Properties: no panic; every answer is
// JSON; a body the gateway cannot read is a 4xx, never a 5xx; /report passes
// on exactly one receipt; and a receipt either route passed on, sent again
// through the other route, reaches the service as the same proto (the alias
// and the REST API convert receipts alike).
func FuzzReceiptAliases(f *testing.F) {
	good := &pbtsv1.Receipt{InfoHash: "0x" + strings.Repeat("11", 32), Sender: "0x" + strings.Repeat("22", 20), Receiver: "0x" + strings.Repeat("33", 20),
		PieceHash: "0x" + strings.Repeat("44", 32), PieceIndex: 3, PieceSize: 262144, Timestamp: 1700000000, Signature: "0x" + strings.Repeat("55", 65)}
	refused := proto.Clone(good).(*pbtsv1.Receipt)
	refused.PieceIndex = 7
	f.Add(fzSeedJSON(good))
	f.Add(fzSeedJSON(refused))
	rest, _ := protojson.Marshal(&pbtsv1.SubmitReceiptsRequest{Receipts: []*pbtsv1.Receipt{good, refused}})
	f.Add(rest)
	f.Add([]byte(`{"receipts":[{"infoHash":"x","pieceIndex":"4294967295","timestamp":"18446744073709551615"}]}`))
	f.Add([]byte(`{"infohash":"0x11","pieceIndex":4294967296}`))
	f.Add([]byte(`{"infohash":"0x11","pieceIndex":-1,"timestamp":1e3}`))
	f.Add([]byte(`{"infohash":"\ud800\xff","sender":"\u0000"}`))
	f.Add([]byte(`{"unknown":1}`))
	f.Add([]byte(`{"infohash":"a"} {"infohash":"b"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Add([]byte(`{"receipts":null}`))
	f.Add([]byte(strings.Repeat("[", 10000)))
	h, fake := fzGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fake.take()
		for _, path := range []string{"/report", "/v1/receipts:submit"} {
			w := fzPost(h, path, body)
			if w.Code >= 500 || !json.Valid(w.Body.Bytes()) {
				t.Fatalf("POST %s %q: %d %q", path, body, w.Code, w.Body.Bytes())
			}
			got := fake.take()
			if len(got) > 1 {
				t.Fatalf("POST %s: %d calls to the receipts service", path, len(got))
			}
			if len(got) == 0 {
				if w.Code < 400 {
					t.Fatalf("POST %s answered %d without asking the receipts service", path, w.Code)
				}
				continue
			}
			rs := got[0].GetReceipts()
			if path == "/report" && len(rs) != 1 {
				t.Fatalf("/report passed on %d receipts", len(rs))
			}
			if len(rs) == 0 {
				continue
			}
			// The first receipt through the other route.
			var again []byte
			other := "/v1/receipts:submit"
			if path == "/report" {
				again, _ = protojson.Marshal(&pbtsv1.SubmitReceiptsRequest{Receipts: rs[:1]})
			} else {
				again, other = fzSeedJSON(rs[0]), "/report"
			}
			if w := fzPost(h, other, again); w.Code >= 500 {
				t.Fatalf("POST %s of a receipt %s passed on: %d %q", other, path, w.Code, w.Body.Bytes())
			}
			back := fake.take()
			if len(back) != 1 || len(back[0].GetReceipts()) != 1 || !proto.Equal(back[0].GetReceipts()[0], rs[0]) {
				t.Fatalf("receipt %v passed on by %s reaches the service through %s as %v", rs[0], path, other, back)
			}
		}
	})
}
