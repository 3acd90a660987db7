package bt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

// fakeLogic records what it was asked and answers with canned values.
type fakeLogic struct {
	mu        sync.Mutex
	announces []bt.AnnounceRequest
	scrapes   []bt.ScrapeRequest
	err       error
	fill      func(*bt.AnnounceResponse)
	files     []bt.ScrapeFile
}

func (f *fakeLogic) Announce(ctx context.Context, req *bt.AnnounceRequest, resp *bt.AnnounceResponse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.announces = append(f.announces, *req)
	if f.err != nil {
		return f.err
	}
	resp.Interval, resp.MinInterval = 15*time.Minute, 2*time.Minute
	resp.Complete, resp.Incomplete, resp.Downloaded = 3, 4, 5
	if f.fill != nil {
		f.fill(resp)
	}
	return nil
}

func (f *fakeLogic) Scrape(ctx context.Context, req *bt.ScrapeRequest, resp *bt.ScrapeResponse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scrapes = append(f.scrapes, bt.ScrapeRequest{Passkey: req.Passkey, InfoHashes: append([]bt.InfoHash(nil), req.InfoHashes...)})
	if f.err != nil {
		return f.err
	}
	resp.Files = append(resp.Files, f.files...)
	return nil
}

const passkey = "0123456789abcdef0123456789abcdef"

var (
	ih1 = bt.InfoHash{0: 1, 19: 0xaa}
	ih2 = bt.InfoHash{0: 2, 19: 0xbb}
	pid = bt.PeerID([]byte("-AR0001-abcdefghijkl"))
)

func announceURL(extra string) string {
	q := "info_hash=" + url.QueryEscape(string(ih1[:])) + "&peer_id=" + url.QueryEscape(string(pid[:])) +
		"&port=6881&uploaded=1&downloaded=2&left=3"
	if extra != "" {
		q += "&" + extra
	}
	return "/announce/" + passkey + "?" + q
}

func newHandler(t *testing.T, logic bt.Logic, cfg bt.Config, log *slog.Logger) *bt.Handler {
	t.Helper()
	h, err := bt.NewHandler(logic, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func serve(h http.Handler, method, target, remote string, hdr http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = remote
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAnnounceEncoding(t *testing.T) {
	v4a := []byte{192, 0, 2, 1, 0x1a, 0xe1}
	v6a := append(netip.MustParseAddr("2001:db8::1").AsSlice(), 0xc8, 0xd5)
	head := "d8:completei3e10:downloadedi5e10:incompletei4e8:intervali900e12:min intervali120e"
	tests := []struct {
		name  string
		extra string
		fill  func(*bt.AnnounceResponse)
		want  string
	}{
		{
			name: "compact no peers", want: head + "5:peers0:e",
		},
		{
			name: "compact v4",
			fill: func(r *bt.AnnounceResponse) { r.IPv4 = append(r.IPv4, v4a...) },
			want: head + "5:peers6:" + string(v4a) + "e",
		},
		{
			name: "compact v4 and peers6",
			fill: func(r *bt.AnnounceResponse) {
				r.IPv4 = append(r.IPv4, v4a...)
				r.IPv6 = append(r.IPv6, v6a...)
			},
			want: head + "5:peers6:" + string(v4a) + "6:peers618:" + string(v6a) + "e",
		},
		{
			name: "dictionary model", extra: "compact=0",
			fill: func(r *bt.AnnounceResponse) {
				r.Peers = append(r.Peers,
					bt.Peer{ID: pid, Addr: netip.MustParseAddrPort("192.0.2.1:6881")},
					bt.Peer{ID: pid, Addr: netip.MustParseAddrPort("[2001:db8::1]:51413")})
			},
			want: head + "5:peersl" +
				"d2:ip9:192.0.2.17:peer id20:" + string(pid[:]) + "4:porti6881ee" +
				"d2:ip11:2001:db8::17:peer id20:" + string(pid[:]) + "4:porti51413ee" +
				"ee",
		},
		{
			name: "dictionary model without peer ids", extra: "compact=0&no_peer_id=1",
			fill: func(r *bt.AnnounceResponse) {
				r.Peers = append(r.Peers, bt.Peer{ID: pid, Addr: netip.MustParseAddrPort("192.0.2.1:6881")})
			},
			want: head + "5:peersld2:ip9:192.0.2.14:porti6881eeee",
		},
		{name: "dictionary model empty", extra: "compact=0", want: head + "5:peerslee"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logic := &fakeLogic{fill: tc.fill}
			w := serve(newHandler(t, logic, bt.DefaultConfig(), nil), "GET", announceURL(tc.extra), "10.1.2.3:5000", nil)
			if w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
			if got := w.Body.String(); got != tc.want {
				t.Errorf("body\n got %q\nwant %q", got, tc.want)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestAnnounceAddresses(t *testing.T) {
	cfg := bt.DefaultConfig()
	proxyCfg := cfg
	proxyCfg.RealIPHeader = "X-Forwarded-For"
	proxyCfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	privateCfg := cfg
	privateCfg.AllowPrivateHints = true
	tests := []struct {
		name       string
		cfg        bt.Config
		remote     string
		extra      string
		hdr        http.Header
		addr, hint string
	}{
		{name: "v4 connection", cfg: cfg, remote: "192.0.2.1:5000", addr: "192.0.2.1:6881"},
		{name: "v6 connection", cfg: cfg, remote: "[2001:db8::5]:5000", addr: "[2001:db8::5]:6881"},
		{name: "v4-mapped connection", cfg: cfg, remote: "[::ffff:192.0.2.1]:5000", addr: "192.0.2.1:6881"},
		{name: "v4 connection with ipv6 hint", cfg: cfg, remote: "192.0.2.1:5000", extra: "ipv6=2001:db8::9", addr: "192.0.2.1:6881", hint: "[2001:db8::9]:6881"},
		{name: "v6 connection with ipv4 hint and port", cfg: cfg, remote: "[2001:db8::5]:5000", extra: "ipv4=198.51.100.7:7000", addr: "[2001:db8::5]:6881", hint: "198.51.100.7:7000"},
		{name: "same-family hint ignored", cfg: cfg, remote: "192.0.2.1:5000", extra: "ipv4=198.51.100.7", addr: "192.0.2.1:6881"},
		{name: "garbage hint ignored", cfg: cfg, remote: "192.0.2.1:5000", extra: "ipv6=nonsense", addr: "192.0.2.1:6881"},
		{name: "loopback ipv6 hint ignored", cfg: cfg, remote: "192.0.2.1:5000", extra: "ipv6=::1", addr: "192.0.2.1:6881"},
		{name: "unique local ipv6 hint ignored", cfg: cfg, remote: "192.0.2.1:5000", extra: "ipv6=%5Bfd00::7%5D:22", addr: "192.0.2.1:6881"},
		{name: "link-local ipv6 hint ignored", cfg: cfg, remote: "192.0.2.1:5000", extra: "ipv6=fe80::1", addr: "192.0.2.1:6881"},
		{name: "multicast ipv6 hint ignored", cfg: cfg, remote: "192.0.2.1:5000", extra: "ipv6=ff02::1", addr: "192.0.2.1:6881"},
		{name: "unspecified ipv6 hint ignored", cfg: cfg, remote: "192.0.2.1:5000", extra: "ipv6=::", addr: "192.0.2.1:6881"},
		{name: "private ipv4 hint ignored", cfg: cfg, remote: "[2001:db8::5]:5000", extra: "ipv4=10.1.2.3:22", addr: "[2001:db8::5]:6881"},
		{name: "private 192.168 hint ignored", cfg: cfg, remote: "[2001:db8::5]:5000", extra: "ipv4=192.168.1.1", addr: "[2001:db8::5]:6881"},
		{name: "private 172.16 hint ignored", cfg: cfg, remote: "[2001:db8::5]:5000", extra: "ipv4=172.16.0.1", addr: "[2001:db8::5]:6881"},
		{name: "shared address space hint ignored", cfg: cfg, remote: "[2001:db8::5]:5000", extra: "ipv4=100.64.0.1", addr: "[2001:db8::5]:6881"},
		{name: "loopback ipv4 hint ignored", cfg: cfg, remote: "[2001:db8::5]:5000", extra: "ipv4=127.0.0.1:6379", addr: "[2001:db8::5]:6881"},
		{name: "mapped loopback hint ignored", cfg: cfg, remote: "[2001:db8::5]:5000", extra: "ipv4=::ffff:127.0.0.1", addr: "[2001:db8::5]:6881"},
		{name: "link-local ipv4 hint ignored", cfg: cfg, remote: "[2001:db8::5]:5000", extra: "ipv4=169.254.169.254:80", addr: "[2001:db8::5]:6881"},
		{name: "private hint kept when allowed", cfg: privateCfg, remote: "[2001:db8::5]:5000", extra: "ipv4=10.1.2.3:7000", addr: "[2001:db8::5]:6881", hint: "10.1.2.3:7000"},
		{name: "loopback hint kept when allowed", cfg: privateCfg, remote: "127.0.0.1:5000", extra: "ipv6=::1", addr: "127.0.0.1:6881", hint: "[::1]:6881"},
		{name: "link-local hint ignored even when allowed", cfg: privateCfg, remote: "[2001:db8::5]:5000", extra: "ipv4=169.254.169.254:80", addr: "[2001:db8::5]:6881"},
		{name: "ip param ignored", cfg: cfg, remote: "192.0.2.1:5000", extra: "ip=198.51.100.7", addr: "192.0.2.1:6881"},
		{name: "header ignored without trust", cfg: cfg, remote: "192.0.2.1:5000", hdr: http.Header{"X-Forwarded-For": {"198.51.100.7"}}, addr: "192.0.2.1:6881"},
		{name: "header from untrusted source", cfg: proxyCfg, remote: "192.0.2.1:5000", hdr: http.Header{"X-Forwarded-For": {"198.51.100.7"}}, addr: "192.0.2.1:6881"},
		{name: "header from trusted proxy", cfg: proxyCfg, remote: "10.0.0.2:5000", hdr: http.Header{"X-Forwarded-For": {"203.0.113.1, 198.51.100.7"}}, addr: "198.51.100.7:6881"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logic := &fakeLogic{}
			w := serve(newHandler(t, logic, tc.cfg, nil), "GET", announceURL(tc.extra), tc.remote, tc.hdr)
			if len(logic.announces) != 1 {
				t.Fatalf("logic not called: %q", w.Body.String())
			}
			req := logic.announces[0]
			if got := addrString(req.Addr); got != tc.addr {
				t.Errorf("Addr = %q, want %q", got, tc.addr)
			}
			if got := addrString(req.Hint); got != tc.hint {
				t.Errorf("Hint = %q, want %q", got, tc.hint)
			}
			if req.Passkey != passkey || req.InfoHash != ih1 || req.PeerID != pid || req.Port != 6881 {
				t.Errorf("request %+v", req)
			}
		})
	}
}

func addrString(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		target     string
		logicErr   error
		wantCode   int
		wantReason string
		wantCalled bool
	}{
		{name: "client error", target: announceURL(""), logicErr: bt.ClientError("unknown passkey: register"), wantCode: 200, wantReason: "unknown passkey: register", wantCalled: true},
		{name: "wrapped client error", target: announceURL(""), logicErr: fmt.Errorf("ctx: %w", bt.ClientError("torrent not in the PBTS catalog")), wantCode: 200, wantReason: "torrent not in the PBTS catalog", wantCalled: true},
		{name: "internal error hidden", target: announceURL(""), logicErr: errors.New("pq: connection refused to db.internal:5432"), wantCode: 200, wantReason: "internal server error", wantCalled: true},
		{name: "scrape internal error", target: "/scrape/" + passkey + "?info_hash=" + url.QueryEscape(string(ih1[:])), logicErr: errors.New("boom"), wantCode: 200, wantReason: "internal server error", wantCalled: true},
		{name: "malformed", target: "/announce/" + passkey + "?info_hash=%zz", wantCode: 200, wantReason: "malformed request: invalid percent-encoding in query string"},
		{name: "missing port", target: strings.Replace(announceURL(""), "port=6881", "x=1", 1), wantCode: 200, wantReason: "malformed request: missing port"},
		{name: "huge query", target: announceURL("pad=" + strings.Repeat("x", 5000)), wantCode: 200, wantReason: "malformed request: query string too long"},
		{name: "no passkey", target: "/announce?info_hash=x", wantCode: 200, wantReason: "missing passkey"},
		{name: "empty passkey", target: "/announce/?info_hash=x", wantCode: 200, wantReason: "malformed passkey"},
		{name: "passkey with a slash", target: "/announce/abc/def?info_hash=x", wantCode: 200, wantReason: "malformed passkey"},
		{name: "scrape without info_hash", target: "/scrape/" + passkey, wantCode: 200, wantReason: "scrape needs at least one info_hash"},
		{name: "other path", target: "/", wantCode: 404, wantReason: "not found"},
		{name: "POST", method: "POST", target: announceURL(""), wantCode: 405, wantReason: "method not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			logic := &fakeLogic{err: tc.logicErr}
			method := tc.method
			if method == "" {
				method = "GET"
			}
			w := serve(newHandler(t, logic, bt.DefaultConfig(), log), method, tc.target, "192.0.2.1:1", nil)
			if w.Code != tc.wantCode {
				t.Errorf("status %d, want %d", w.Code, tc.wantCode)
			}
			body := w.Body.String()
			if !strings.HasPrefix(body, "d14:failure reason") || !strings.HasSuffix(body, "e") || !strings.Contains(body, tc.wantReason) {
				t.Errorf("body %q, want a failure reason containing %q", body, tc.wantReason)
			}
			if !wellFormedFailure(body) {
				t.Errorf("body %q: bad string length", body)
			}
			called := len(logic.announces)+len(logic.scrapes) > 0
			if called != tc.wantCalled {
				t.Errorf("logic called = %v, want %v", called, tc.wantCalled)
			}
			if strings.Contains(logs.String(), passkey) {
				t.Errorf("passkey logged: %s", logs.String())
			}
			if tc.wantReason == "internal server error" {
				if !strings.Contains(logs.String(), "failed") {
					t.Errorf("internal error not logged: %q", logs.String())
				}
				if strings.Contains(body, "boom") || strings.Contains(body, "db.internal") {
					t.Errorf("internal detail leaked: %q", body)
				}
			}
		})
	}
}

// wellFormedFailure checks that the failure reason's length prefix is right.
func wellFormedFailure(body string) bool {
	rest, ok := strings.CutPrefix(body, "d14:failure reason")
	if !ok {
		return false
	}
	n, msg, ok := strings.Cut(rest, ":")
	return ok && fmt.Sprint(len(msg)-1) == n && strings.HasSuffix(msg, "e")
}

func TestScrape(t *testing.T) {
	logic := &fakeLogic{files: []bt.ScrapeFile{
		{InfoHash: ih2, Complete: 1, Incomplete: 2, Downloaded: 3},
		{InfoHash: ih1, Complete: 4, Incomplete: 5, Downloaded: 6},
		{InfoHash: ih2, Complete: 1, Incomplete: 2, Downloaded: 3}, // duplicate written once
	}}
	h := newHandler(t, logic, bt.DefaultConfig(), nil)
	target := "/scrape/" + passkey + "?info_hash=" + url.QueryEscape(string(ih2[:])) + "&info_hash=" + url.QueryEscape(string(ih1[:]))
	w := serve(h, "GET", target, "192.0.2.1:1", nil)
	want := "d5:filesd" +
		"20:" + string(ih1[:]) + "d8:completei4e10:downloadedi6e10:incompletei5ee" +
		"20:" + string(ih2[:]) + "d8:completei1e10:downloadedi3e10:incompletei2ee" +
		"ee"
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %q\nwant %q", got, want)
	}
	if len(logic.scrapes) != 1 || len(logic.scrapes[0].InfoHashes) != 2 || logic.scrapes[0].Passkey != passkey {
		t.Errorf("scrape request %+v", logic.scrapes)
	}
	logic.files = nil
	if got := serve(h, "GET", target, "192.0.2.1:1", nil).Body.String(); got != "d5:filesdee" {
		t.Errorf("empty scrape: %q", got)
	}
}

func TestStats(t *testing.T) {
	logic := &fakeLogic{}
	h := newHandler(t, logic, bt.DefaultConfig(), nil)
	serve(h, "GET", announceURL(""), "192.0.2.1:1", nil)
	serve(h, "GET", "/announce/"+passkey+"?bad=%", "192.0.2.1:1", nil)
	logic.err = bt.ClientError("no")
	serve(h, "GET", announceURL(""), "192.0.2.1:1", nil)
	logic.err = errors.New("internal")
	serve(h, "GET", "/scrape/"+passkey+"?info_hash="+url.QueryEscape(string(ih1[:])), "192.0.2.1:1", nil)
	want := bt.Stats{Announces: 3, Scrapes: 1, Malformed: 1, Refused: 1, Internal: 1}
	if got := h.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := bt.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*bt.Config)
		want string
	}{
		{"query too small", func(c *bt.Config) { c.MaxQueryLength = 10 }, "max query length"},
		{"query too big", func(c *bt.Config) { c.MaxQueryLength = 1 << 20 }, "max query length"},
		{"scrape zero", func(c *bt.Config) { c.MaxScrapeInfoHashes = 0 }, "max scrape info hashes"},
		{"header without proxies", func(c *bt.Config) { c.RealIPHeader = "X-Real-IP" }, "without trusted proxies"},
		{"proxies without header", func(c *bt.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, "without a real IP header"},
	} {
		c := bt.DefaultConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
		if _, err := bt.NewHandler(&fakeLogic{}, c, nil); err == nil {
			t.Errorf("%s: NewHandler accepted the config", tc.name)
		}
	}
}

func TestAppendAnnounceDoesNotAllocate(t *testing.T) {
	r := &bt.AnnounceResponse{Compact: true, IPv4: bytes.Repeat([]byte{1, 2, 3, 4, 5, 6}, 50), Interval: time.Minute}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = bt.AppendAnnounce(buf[:0], r, false) }); n != 0 {
		t.Errorf("AppendAnnounce allocates %v times", n)
	}
}

// Serve runs the lean Server for a *Handler and net/http for anything
// else (a mux); both stop when the context ends.
func TestServe(t *testing.T) {
	h := newHandler(t, &fakeLogic{}, bt.DefaultConfig(), nil)
	mux := http.NewServeMux()
	mux.Handle("/announce/", h)
	for name, handler := range map[string]http.Handler{"handler": h, "mux": mux} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- bt.Serve(ctx, ln, handler, time.Second) }()
			resp, err := http.Get("http://" + ln.Addr().String() + announceURL(""))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "d8:complete") {
				t.Errorf("status %d, body %q", resp.StatusCode, body)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not stop")
			}
		})
	}
}

func BenchmarkHandlerAnnounce(b *testing.B) {
	logic := &nopLogic{}
	h, _ := bt.NewHandler(logic, bt.DefaultConfig(), nil)
	r := httptest.NewRequest("GET", announceURL("event=started&numwant=50&compact=1"), nil)
	r.RemoteAddr = "192.0.2.1:1234"
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

type nopLogic struct{}

var fifty [300]byte

func (nopLogic) Announce(ctx context.Context, req *bt.AnnounceRequest, resp *bt.AnnounceResponse) error {
	resp.IPv4 = append(resp.IPv4, fifty[:]...)
	return nil
}

func (nopLogic) Scrape(ctx context.Context, req *bt.ScrapeRequest, resp *bt.ScrapeResponse) error {
	return nil
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}
