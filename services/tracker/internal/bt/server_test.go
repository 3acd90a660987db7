package bt_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

// closeRecorder is a listener that records being closed: after a shutdown
// the test asks the listener itself, not the port (which another test's
// port-0 listener may have been given in the meantime).
type closeRecorder struct {
	net.Listener
	closed atomic.Bool
}

func (c *closeRecorder) Close() error {
	c.closed.Store(true)
	return c.Listener.Close()
}

// startServer runs a Server for logic on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T, logic bt.Logic, cfg bt.Config, scfg bt.ServerConfig, log *slog.Logger) (addr string, h *bt.Handler, stop func()) {
	addr, h, stop, _ = startServerListener(t, logic, cfg, scfg, log)
	return addr, h, stop
}

func startServerListener(t *testing.T, logic bt.Logic, cfg bt.Config, scfg bt.ServerConfig, log *slog.Logger) (addr string, h *bt.Handler, stop func(), ln *closeRecorder) {
	t.Helper()
	h = newHandler(t, logic, cfg, log)
	srv, err := bt.NewServer(h, scfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = &closeRecorder{Listener: l}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Serve did not return")
			}
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), h, stop, ln
}

// The lean server answers exactly like the Handler on net/http.
func TestServerMatchesHandler(t *testing.T) {
	fill := func(r *bt.AnnounceResponse) {
		r.IPv4 = append(r.IPv4, 192, 0, 2, 1, 0x1a, 0xe1)
		r.Peers = append(r.Peers, bt.Peer{ID: pid, Addr: netip.MustParseAddrPort("192.0.2.1:6881")})
	}
	addr, _, _ := startServer(t, &fakeLogic{fill: fill, files: []bt.ScrapeFile{{InfoHash: ih1, Complete: 1}}}, bt.DefaultConfig(), bt.DefaultServerConfig(), nil)
	ref := httptest.NewServer(newHandler(t, &fakeLogic{fill: fill, files: []bt.ScrapeFile{{InfoHash: ih1, Complete: 1}}}, bt.DefaultConfig(), nil))
	defer ref.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	for _, target := range []string{
		announceURL(""),
		announceURL("compact=0"),
		announceURL("compact=0&no_peer_id=1"),
		"/scrape/" + passkey + "?info_hash=" + strings.Repeat("%01", 20),
		"/announce/" + passkey + "?info_hash=%zz",
		"/announce?x=1",
		"/nothing",
	} {
		get := func(base string) (int, string) {
			resp, err := client.Get(base + target)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		code, body := get("http://" + addr)
		wantCode, wantBody := get(ref.URL)
		if code != wantCode || body != wantBody {
			t.Errorf("%s:\n server  %d %q\n handler %d %q", target, code, body, wantCode, wantBody)
		}
	}
}

type rawResponse struct {
	code   int
	header http.Header
	body   string
}

// roundTrip writes raw bytes on a new connection and reads n answers,
// then reports whether the server closed the connection.
func rawExchange(t *testing.T, addr, send string, n int) (resps []rawResponse, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, send); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for range n {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("reading answer %d: %v", len(resps)+1, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resps = append(resps, rawResponse{resp.StatusCode, resp.Header, string(b)})
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = r.ReadByte()
	return resps, err == io.EOF || errors.Is(err, syscall.ECONNRESET)
}

func TestServerProtocol(t *testing.T) {
	logic := &fakeLogic{}
	cfg := bt.DefaultConfig()
	cfg.RealIPHeader = "X-Real-IP"
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	addr, _, _ := startServer(t, logic, cfg, bt.DefaultServerConfig(), nil)
	get := func(target, proto string, headers ...string) string {
		return "GET " + target + " " + proto + "\r\nHost: x\r\nX-Real-IP: 198.51.100.7\r\n" + strings.Join(headers, "") + "\r\n"
	}
	ok := "d8:completei3e10:downloadedi5e10:incompletei4e8:intervali900e12:min intervali120e5:peers0:e"
	tests := []struct {
		name       string
		send       string
		n          int
		codes      []int
		bodyHas    string
		wantClosed bool
	}{
		{name: "keep-alive", send: get(announceURL(""), "HTTP/1.1"), n: 1, codes: []int{200}, bodyHas: ok},
		{name: "pipelined", send: get(announceURL(""), "HTTP/1.1") + get(announceURL("numwant=5"), "HTTP/1.1"), n: 2, codes: []int{200, 200}, bodyHas: ok},
		{name: "leading empty line", send: "\r\n" + get(announceURL(""), "HTTP/1.1"), n: 1, codes: []int{200}, bodyHas: ok},
		{name: "bare LF", send: strings.ReplaceAll(get(announceURL(""), "HTTP/1.1"), "\r\n", "\n"), n: 1, codes: []int{200}, bodyHas: ok},
		{name: "connection close", send: get(announceURL(""), "HTTP/1.1", "Connection: close\r\n"), n: 1, codes: []int{200}, bodyHas: ok, wantClosed: true},
		{name: "HTTP/1.0", send: get(announceURL(""), "HTTP/1.0"), n: 1, codes: []int{200}, bodyHas: ok, wantClosed: true},
		{name: "HTTP/1.0 keep-alive", send: get(announceURL(""), "HTTP/1.0", "Connection: Keep-Alive\r\n"), n: 1, codes: []int{200}, bodyHas: ok},
		{name: "absolute form", send: get("http://tracker.example:80"+announceURL(""), "HTTP/1.1"), n: 1, codes: []int{200}, bodyHas: ok},
		{name: "escaped path", send: get(strings.Replace(announceURL(""), "/announce/", "/ann%6Funce/", 1), "HTTP/1.1"), n: 1, codes: []int{200}, bodyHas: ok},
		{name: "bad path escape", send: get("/announce/%zz?x", "HTTP/1.1"), n: 1, codes: []int{400}, bodyHas: "malformed passkey"},
		{name: "POST", send: get(announceURL(""), "HTTP/1.1", "Content-Length: 0\r\n"), n: 1, codes: []int{200}, bodyHas: ok},
		{name: "method", send: strings.Replace(get(announceURL(""), "HTTP/1.1"), "GET", "PUT", 1), n: 1, codes: []int{405}, bodyHas: "method not allowed"},
		{name: "not found", send: get("/x", "HTTP/1.1"), n: 1, codes: []int{404}, bodyHas: "not found"},
		{name: "body", send: get(announceURL(""), "HTTP/1.1", "Content-Length: 3\r\n") + "abc", n: 1, codes: []int{400}, bodyHas: "with a body", wantClosed: true},
		{name: "chunked", send: get(announceURL(""), "HTTP/1.1", "Transfer-Encoding: chunked\r\n"), n: 1, codes: []int{400}, bodyHas: "with a body", wantClosed: true},
		{name: "garbage line", send: "HELLO\r\n\r\n", n: 1, codes: []int{400}, bodyHas: "bad HTTP request line", wantClosed: true},
		{name: "HTTP/2", send: get(announceURL(""), "HTTP/2.0"), n: 1, codes: []int{505}, bodyHas: "HTTP/1.0 and HTTP/1.1", wantClosed: true},
		{name: "folded header", send: get(announceURL(""), "HTTP/1.1", "X-A: 1\r\n continued\r\n"), n: 1, codes: []int{400}, bodyHas: "bad HTTP header", wantClosed: true},
		{name: "header without colon", send: get(announceURL(""), "HTTP/1.1", "nonsense\r\n"), n: 1, codes: []int{400}, bodyHas: "bad HTTP header", wantClosed: true},
		{name: "long request line", send: get("/announce/"+passkey+"?pad="+strings.Repeat("a", 20<<10), "HTTP/1.1"), n: 1, codes: []int{414}, bodyHas: "request line too long", wantClosed: true},
		{name: "long query under the line limit", send: get(announceURL("pad="+strings.Repeat("a", 8<<10)), "HTTP/1.1"), n: 1, codes: []int{200}, bodyHas: "query string too long"},
		{name: "many headers", send: get(announceURL(""), "HTTP/1.1", strings.Repeat("X-A: 1\r\n", 200)), n: 1, codes: []int{431}, bodyHas: "headers too large", wantClosed: true},
		{name: "huge header", send: get(announceURL(""), "HTTP/1.1", "X-A: "+strings.Repeat("b", 8<<10)+"\r\n"), n: 1, codes: []int{431}, bodyHas: "headers too large", wantClosed: true},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				resps, closed := rawExchange(t, addr, tc.send, tc.n)
				for i, r := range resps {
					if r.code != tc.codes[i] {
						t.Errorf("answer %d: status %d, want %d (%q)", i, r.code, tc.codes[i], r.body)
					}
					if !strings.Contains(r.body, tc.bodyHas) {
						t.Errorf("answer %d: body %q lacks %q", i, r.body, tc.bodyHas)
					}
					if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
						t.Errorf("Content-Type %q", ct)
					}
				}
				if closed != tc.wantClosed {
					t.Errorf("connection closed = %v, want %v", closed, tc.wantClosed)
				}
			})
		}
	})
	// the trusted proxy's header named the peer's address
	logic.mu.Lock()
	defer logic.mu.Unlock()
	if got := logic.announces[0].Addr.String(); got != "198.51.100.7:6881" {
		t.Errorf("peer address %s, want the X-Real-IP one", got)
	}
}

func TestServerReadTimeout(t *testing.T) {
	scfg := bt.DefaultServerConfig()
	scfg.ReadTimeout = time.Second
	addr, _, _ := startServer(t, &fakeLogic{}, bt.DefaultConfig(), scfg, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /announce/") // and nothing more
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read: %v, want EOF from the server closing", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
}

func TestServerShutdown(t *testing.T) {
	addr, _, stop, ln := startServerListener(t, &fakeLogic{}, bt.DefaultConfig(), bt.DefaultServerConfig(), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET "+announceURL("")+" HTTP/1.1\r\n\r\n")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first answer: %v", err)
	}
	_, _ = io.ReadAll(resp.Body)
	start := time.Now()
	stop() // the idle keep-alive connection must not hold the server up
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v with an idle connection", d)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("idle connection after shutdown: %v, want EOF", err)
	}
	if !ln.closed.Load() {
		t.Error("the listener is still open after shutdown")
	}
}

func TestServerMaxConns(t *testing.T) {
	scfg := bt.DefaultServerConfig()
	scfg.MaxConns = 1
	addr, _, _ := startServer(t, &fakeLogic{}, bt.DefaultConfig(), scfg, nil)
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(first, "GET "+announceURL("")+" HTTP/1.1\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(first), nil); err != nil {
		t.Fatal(err)
	}
	second, err := net.Dial("tcp", addr) // queued by the kernel
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_, _ = io.WriteString(second, "GET "+announceURL("")+" HTTP/1.1\r\n\r\n")
	r := bufio.NewReader(second)
	_ = second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := r.Peek(1); err == nil {
		t.Fatal("a second connection was served beyond MaxConns")
	}
	first.Close()
	_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("second connection after the first closed: %v", err)
	}
}

// One client cannot hold more than MaxConnsPerClient connections: one
// more is closed at once, another client is served meanwhile, and a slot
// freed is taken again.
func TestServerMaxConnsPerClient(t *testing.T) {
	cfg := bt.DefaultConfig()
	cfg.RateLimitExempt = nil // count loopback
	scfg := bt.DefaultServerConfig()
	scfg.MaxConnsPerClient = 3
	addr, h, _ := startServer(t, &fakeLogic{}, cfg, scfg, nil)
	from := func(src string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		return d.Dial("tcp", addr)
	}
	// served reports whether c answers an announce.
	served := func(c net.Conn) bool {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET "+announceURL("")+" HTTP/1.1\r\n\r\n"); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		return err == nil && resp.StatusCode == 200
	}
	var held []net.Conn
	for i := range 3 {
		c, err := from("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !served(c) {
			t.Fatalf("connection %d within the cap not served", i+1)
		}
		held = append(held, c)
	}
	over, err := from("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	if served(over) {
		t.Fatal("a 4th connection of one client was served beyond MaxConnsPerClient")
	}
	other, err := from("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if !served(other) {
		t.Fatal("another client was not served while the first was at its cap")
	}
	if n := h.Stats().ConnsRefused; n != 1 {
		t.Errorf("ConnsRefused = %d; want 1", n)
	}
	held[0].Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := from("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		ok := served(c)
		c.Close()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slot of a closed connection was not freed within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type panicLogic struct{ fakeLogic }

func (p *panicLogic) Announce(ctx context.Context, req *bt.AnnounceRequest, resp *bt.AnnounceResponse) error {
	panic("logic bug")
}

func TestServerSurvivesPanic(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	addr, _, _ := startServer(t, &panicLogic{}, bt.DefaultConfig(), bt.DefaultServerConfig(), log)
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "GET "+announceURL("")+" HTTP/1.1\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("after a panic: %v, want the connection closed", err)
		}
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "logic bug") {
		t.Errorf("panic not logged: %q", logs.String())
	}
	if strings.Contains(logs.String(), passkey) {
		t.Error("passkey logged")
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestServerConfigValidate(t *testing.T) {
	if err := bt.DefaultServerConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mod := range []func(*bt.ServerConfig){
		func(c *bt.ServerConfig) { c.ReadTimeout = 0 },
		func(c *bt.ServerConfig) { c.WriteTimeout = time.Millisecond },
		func(c *bt.ServerConfig) { c.MaxConns = 0 },
		func(c *bt.ServerConfig) { c.MaxHeaderBytes = 10 },
		func(c *bt.ServerConfig) { c.ShutdownGrace = -1 },
		func(c *bt.ServerConfig) { c.MaxConnsPerClient = -1 },
	} {
		c := bt.DefaultServerConfig()
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
	h := newHandler(t, &fakeLogic{}, bt.DefaultConfig(), nil)
	c := bt.DefaultServerConfig()
	c.MaxHeaderBytes = 2 << 10 // smaller than the 4 KiB queries the handler accepts
	if _, err := bt.NewServer(h, c); err == nil {
		t.Error("NewServer accepted a header limit below the query limit")
	}
}

// A keep-alive connection idle for longer than the write timeout still
// gets its next answer (deadlines count from the request, not the last one).
func TestServerIdleThenRequest(t *testing.T) {
	scfg := bt.DefaultServerConfig()
	scfg.ReadTimeout, scfg.WriteTimeout = 5*time.Second, time.Second
	addr, _, _ := startServer(t, &fakeLogic{}, bt.DefaultConfig(), scfg, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := range 2 {
		if i == 1 {
			time.Sleep(1500 * time.Millisecond)
		}
		_, _ = io.WriteString(c, "GET "+announceURL("")+" HTTP/1.1\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("answer %d: %v", i, err)
		}
		_, _ = io.ReadAll(resp.Body)
	}
}
