package gw

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

func testHub(t *testing.T, buffer int) *hub {
	t.Helper()
	return newHub(2, buffer, slog.New(slog.DiscardHandler))
}

func publishN(h *hub, n int) {
	for i := 0; i < n; i++ {
		h.publish("agent", &pbtsv1.Agent{Address: fmt.Sprint(i)})
	}
}

// A client that reconnects with the last id it saw gets exactly what it
// missed; one whose id is gone (fell off the buffer, another gateway
// process, garbage) is told to reset rather than shown a silent gap.
func TestHubResume(t *testing.T) {
	h := testHub(t, 4)
	publishN(h, 3)
	s, backlog, reset, err := h.subscribe(h.epoch + "-1")
	if err != nil || reset || len(backlog) != 2 || backlog[0].id != 2 || backlog[1].id != 3 {
		t.Fatalf("resume after 1: %v reset=%v err=%v", backlog, reset, err)
	}
	h.unsubscribe(s)
	publishN(h, 3) // ids 4..6; the buffer keeps 3..6
	for _, last := range []string{h.epoch + "-1", "otherepoch-5", h.epoch + "-99", "garbage", h.epoch + "-x"} {
		s, backlog, reset, err := h.subscribe(last)
		if err != nil || !reset || backlog != nil {
			t.Errorf("Last-Event-ID %q: backlog %v reset=%v err=%v; want a reset", last, backlog, reset, err)
		}
		h.unsubscribe(s)
	}
	s, backlog, reset, err = h.subscribe(h.epoch + "-2") // 3 is the oldest kept: nothing is missing
	if err != nil || reset || len(backlog) != 4 || backlog[0].id != 3 {
		t.Fatalf("resume after 2: %v reset=%v err=%v", backlog, reset, err)
	}
	h.unsubscribe(s)
	s, backlog, reset, _ = h.subscribe(h.epoch + "-6")
	if reset || len(backlog) != 0 {
		t.Fatalf("up to date: %v reset=%v", backlog, reset)
	}
	// An event published now reaches the subscriber, once.
	publishN(h, 1)
	if e := <-s.ch; e.id != 7 {
		t.Fatalf("live event %d, want 7", e.id)
	}
}

// A subscriber that does not read is cut off (its channel closed) instead
// of holding up the others or growing without bound; the limit on streams
// holds.
func TestHubSlowSubscriberAndLimit(t *testing.T) {
	h := testHub(t, 8)
	slow, _, _, _ := h.subscribe("")
	fast, _, _, _ := h.subscribe("")
	if _, _, _, err := h.subscribe(""); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third stream with a limit of 2: %v", err)
	}
	got := 0
	for i := 0; i < subBuffer+10; i++ {
		publishN(h, 1)
		<-fast.ch
		got++
	}
	n := 0
	for range slow.ch { // closed after subBuffer events
		n++
	}
	if n != subBuffer || !slow.dropped || got != subBuffer+10 || h.subscribers() != 1 {
		t.Fatalf("slow got %d (dropped %v), fast %d, subscribers %d", n, slow.dropped, got, h.subscribers())
	}
	h.unsubscribe(slow) // no double close
	h.close()
	if _, _, _, err := h.subscribe(""); status.Code(err) != codes.Unavailable {
		t.Fatalf("subscribe after close: %v", err)
	}
}

// X-Forwarded-For is believed only from a trusted proxy, and only up to
// the first hop that is not one: a client cannot pick its address (and so
// its per-address registration allowance) by sending the header itself.
func TestClientIP(t *testing.T) {
	g := &Gateway{}
	g.cfg.RegisterFlags(flag.NewFlagSet("gateway", flag.ContinueOnError)) // the defaults
	g.cfg.TrustedProxies = "10.0.0.0/8, fd00::/8"
	if err := g.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ remote, xff, want string }{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},                  // not from a proxy: ignored
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},                    // the ingress says who
		{"10.1.2.3:5000", "1.1.1.1, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // the client's own claim (1.1.1.1) is left of the real one
		{"10.1.2.3:5000", "10.9.9.9", "10.9.9.9"},                            // all trusted: the farthest proxy
		{"10.1.2.3:5000", "198.51.100.1, junk", "10.1.2.3"},                  // unparseable: stop at the last good hop
		{"[fd00::1]:5000", "2001:db8::5", "2001:db8::5"},
		{"[::ffff:10.1.2.3]:5000", "198.51.100.2", "198.51.100.2"}, // v4-mapped
	} {
		r := httptest.NewRequest("GET", "/v1/agents", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := g.clientIP(r).String(); got != c.want {
			t.Errorf("remote %s, X-Forwarded-For %q: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func TestMaskedURL(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/datasets/0xab:torrent?passkey=s3cret": "/v1/datasets/0xab:torrent?passkey=%2A%2A%2A",
		"/announce/s3cret?info_hash=x":             "/announce/***?info_hash=x",
		"/v1/x?signature=0xs3cret&pageSize=2":      "/v1/x?pageSize=2&signature=%2A%2A%2A",
	} {
		u, _ := url.Parse(in)
		if got := maskedURL(u); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("maskedURL(%s) = %s, want %s", in, got, want)
		}
	}
}

// What a backend says about its insides (addresses, SQL, dial errors) stays
// in the gateway; every error leaves with a machine-readable detail.
func TestPublicStatus(t *testing.T) {
	g := &Gateway{byServ: map[string]*backend{"pbts.v1.ReceiptService": {name: "receipts service"}}}
	const m = "/pbts.v1.ReceiptService/GetReceipt"
	for _, c := range []struct {
		in       *status.Status
		code     codes.Code
		contains string
	}{
		{status.New(codes.Unavailable, "connection error: desc = \"transport: dial tcp 10.0.0.5:7002: connect: connection refused\""), codes.Unavailable, "receipts service is unavailable"},
		{status.New(codes.Internal, "pq: relation receipts does not exist at 10.0.0.9"), codes.Internal, "internal error in the receipts service"},
		{status.New(codes.DeadlineExceeded, "context deadline exceeded"), codes.DeadlineExceeded, "did not answer in time"},
		{status.New(codes.NotFound, "receipt 0xab not found"), codes.NotFound, "receipt 0xab not found"},
	} {
		got := withInfo(g.publicStatus(c.in, m), g.backendName(m))
		if got.Code() != c.code || !strings.Contains(got.Message(), c.contains) || strings.Contains(got.Message(), "10.0.0") {
			t.Errorf("%v -> %v", c.in, got)
		}
		ds := got.Details()
		info, ok := ds[0].(*errdetails.ErrorInfo)
		if len(ds) != 1 || !ok || info.Reason == "" || info.Metadata["service"] != "receipts service" {
			t.Errorf("%v: details %v", c.in, ds)
		}
	}
	// Details a backend gave (a field violation) are kept, not replaced.
	st, _ := status.New(codes.InvalidArgument, "digest: bad").WithDetails(&errdetails.BadRequest{})
	if ds := withInfo(st, "x").Details(); len(ds) != 1 {
		t.Fatalf("details %v", ds)
	}
}

// The static directory (the dashboard) serves its files and index.html,
// never a listing, a dot-file or anything outside it; API paths stay API.
func TestStaticFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": "<h1>dash</h1>", "app.js": "let x", ".env": "SECRET=1", "empty/.keep": ""} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(filepath.Dir(dir), "outside.txt"), []byte("OUTSIDE-CONTENT"), 0o644)
	var cfg Config
	cfg.RegisterFlags(flag.NewFlagSet("gateway", flag.ContinueOnError))
	cfg.StaticDir = dir
	cfg.TrackerAddr, cfg.ReceiptsAddr, cfg.ChainwriterAddr = "127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1" // never dialed here
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, c := range []struct {
		method, path string
		code         int
		has          string
	}{
		{"GET", "/", 200, "<h1>dash</h1>"},
		{"GET", "/app.js", 200, "let x"},
		{"GET", "/.env", 404, "no such route"},
		{"GET", "/empty/", 404, "no such route"},
		{"GET", "/../outside.txt", 307, ""}, // ServeMux cleans the path: to /outside.txt, a 404
		{"GET", "/%2e%2e/outside.txt", 404, "no such route"},
		{"GET", "/outside.txt", 404, "no such route"},
		{"POST", "/app.js", 405, "not allowed"},
		{"GET", "/v1/nosuch", 404, "no such route"},
		{"GET", "/healthz", 200, "ok"},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(c.method, "/", nil)
		r.URL, _ = url.Parse(c.path)
		g.Handler().ServeHTTP(w, r)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.has) || strings.Contains(w.Body.String(), "SECRET") || strings.Contains(w.Body.String(), "OUTSIDE-CONTENT") {
			t.Errorf("%s %s: %d %q; want %d with %q", c.method, c.path, w.Code, w.Body.String(), c.code, c.has)
		}
	}
}
