package bt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pbts/pbts/server"
)

// ServerConfig tunes Server. Start from DefaultServerConfig.
type ServerConfig struct {
	// ReadTimeout bounds the time a connection may take to deliver its next
	// complete request, idle time included; then it is closed.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one answer.
	WriteTimeout time.Duration
	// MaxConns bounds open connections; further ones wait in the kernel's
	// accept queue.
	MaxConns int
	// MaxConnsPerClient bounds the open connections of one client
	// (server.ClientKey of the connection's address: an IPv4 address, an
	// IPv6 /64), so that one cannot hold every MaxConns slot; a connection
	// over it is closed at once. The handler's trusted proxies and rate
	// limit exemptions (loopback by default) are not counted. 0: no bound.
	MaxConnsPerClient int
	// MaxHeaderBytes bounds the request line plus headers; it must leave
	// room for the handler's MaxQueryLength.
	MaxHeaderBytes int
	// ShutdownGrace is how long Serve waits for requests in flight after
	// its context ends.
	ShutdownGrace time.Duration
}

// DefaultServerConfig: 30s to send a request, 10s to take an answer,
// 16,384 connections, 128 per client (a NAT of a hundred clients keeping a
// keep-alive connection each), 16 KiB of request head, 5s of grace.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      10 * time.Second,
		MaxConns:          16384,
		MaxConnsPerClient: 128,
		MaxHeaderBytes:    16 << 10,
		ShutdownGrace:     5 * time.Second,
	}
}

// Validate reports every bad setting by name.
func (c ServerConfig) Validate() error {
	var errs []error
	if c.ReadTimeout < time.Second || c.WriteTimeout < time.Second {
		errs = append(errs, fmt.Errorf("read timeout %v and write timeout %v: want at least 1s", c.ReadTimeout, c.WriteTimeout))
	}
	if c.MaxConns < 1 {
		errs = append(errs, fmt.Errorf("max connections %d: want at least 1", c.MaxConns))
	}
	if c.MaxConnsPerClient < 0 {
		errs = append(errs, fmt.Errorf("max connections per client %d: want 0 (no bound) or more", c.MaxConnsPerClient))
	}
	if c.MaxHeaderBytes < 1<<10 || c.MaxHeaderBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("max header bytes %d out of range [1 KiB, 1 MiB]", c.MaxHeaderBytes))
	}
	if c.ShutdownGrace < 0 {
		errs = append(errs, errors.New("shutdown grace must not be negative"))
	}
	return errors.Join(errs...)
}

// Server is a lean HTTP/1.1 server for a dedicated announce port. It
// speaks just what BitTorrent clients use — GET with keep-alive (or
// HTTP/1.0 and Connection: close), pipelining, no request bodies — and
// answers through the Handler, so it behaves exactly like the Handler
// mounted on net/http while spending about half the CPU per announce
// (one read and one write per request, no per-request goroutine work).
// Anything it does not speak is answered with a bencoded failure and the
// connection closed.
type Server struct {
	h       *Handler
	cfg     ServerConfig
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	perConn map[netip.Addr]int // open connections by counted client (under mu)
	wg      sync.WaitGroup
	closing atomic.Bool
}

// NewServer returns a server answering through h.
func NewServer(h *Handler, cfg ServerConfig) (*Server, error) {
	if h == nil {
		return nil, errors.New("bt: nil handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxHeaderBytes < h.cfg.MaxQueryLength+512 {
		return nil, fmt.Errorf("max header bytes %d leave no room for queries of %d bytes", cfg.MaxHeaderBytes, h.cfg.MaxQueryLength)
	}
	return &Server{h: h, cfg: cfg, conns: map[net.Conn]struct{}{}, perConn: map[netip.Addr]int{}}, nil
}

// Serve accepts connections on ln until ctx ends; it then stops
// accepting, lets requests in flight finish within ShutdownGrace, closes
// every connection and returns nil. It returns early with an accept error
// other than a temporary one.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		s.closing.Store(true)
		ln.Close()
		s.wakeIdle()
	})
	defer stop()
	base := context.WithoutCancel(ctx) // requests in flight finish after ctx ends
	sem := make(chan struct{}, s.cfg.MaxConns)
	var err error
	var backoff time.Duration
accept:
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break accept
		}
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			<-sem
			if s.closing.Load() {
				err = nil
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.h.log.Warn("announce server: accept failed, retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			break
		}
		backoff = 0
		client, counted := s.client(c)
		if !s.open(c, client, counted) {
			c.Close() // over its client's share: the slot goes back at once
			s.h.stats.connsRefused.Add(1)
			<-sem
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-sem }()
			defer s.closed(c, client, counted)
			s.serveConn(base, c)
		}()
	}
	s.closing.Store(true)
	ln.Close()
	s.wakeIdle()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.ShutdownGrace):
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
	}
	return err
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// client is the connection's client key and whether the per-client cap
// counts it.
func (s *Server) client(c net.Conn) (netip.Addr, bool) {
	if s.cfg.MaxConnsPerClient == 0 {
		return netip.Addr{}, false
	}
	a := remoteAddr(c).Unmap().WithZone("")
	if !a.IsValid() || s.h.trusted(a) || s.h.exempt(a) {
		return a, false
	}
	return server.ClientKey(a), true
}

// open registers c, unless its client already has MaxConnsPerClient open.
func (s *Server) open(c net.Conn, client netip.Addr, counted bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if counted {
		if s.perConn[client] >= s.cfg.MaxConnsPerClient {
			return false
		}
		s.perConn[client]++
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) closed(c net.Conn, client netip.Addr, counted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if counted {
		if s.perConn[client]--; s.perConn[client] <= 0 {
			delete(s.perConn, client)
		}
	}
}

func remoteAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr()
	}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr()
	}
	return netip.Addr{}
}

// wakeIdle interrupts every connection's wait for a request; each then
// sees that the server is closing.
func (s *Server) wakeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.SetReadDeadline(time.Now())
	}
}

// conn is one client connection's state.
type conn struct {
	s      *Server
	c      net.Conn
	remote netip.Addr
	r      *bufio.Reader
	x      *exchange
	line   []byte // the request line (a copy)
	fwd    []byte // the real-IP header's value (a copy)
	out    []byte // the answer being written
	path   string // the last path, reused while the bytes repeat
	// deadlines, refreshed at most once a second
	readBy, writeBy time.Time
}

// request is what readRequest learned of one request's head.
type request struct {
	method, target []byte
	keepAlive      bool
	http10         bool
}

// errors answered before the connection is closed
type framingError struct {
	code   int
	reason string
}

func (e *framingError) Error() string { return e.reason }

var (
	errLineTooLong = &framingError{http.StatusRequestURITooLong, "malformed request: request line too long"}
	errHeadTooLong = &framingError{http.StatusRequestHeaderFieldsTooLarge, "malformed request: headers too large"}
	errBadLine     = &framingError{http.StatusBadRequest, "malformed request: bad HTTP request line"}
	errBadHeader   = &framingError{http.StatusBadRequest, "malformed request: bad HTTP header"}
	errBody        = &framingError{http.StatusBadRequest, "malformed request: requests with a body are not accepted"}
	errVersion     = &framingError{http.StatusHTTPVersionNotSupported, "malformed request: only HTTP/1.0 and HTTP/1.1 are spoken here"}
)

const maxHeaderLines = 100

func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	cn := &conn{s: s, c: nc, x: newExchange(), r: bufio.NewReaderSize(nc, 4<<10)}
	defer func() {
		if r := recover(); r != nil {
			s.h.log.Error("announce connection panic", "panic", r, "stack", string(debug.Stack()))
		}
		nc.Close()
	}()
	cn.remote = remoteAddr(nc)
	for {
		now := time.Now()
		if cn.r.Buffered() == 0 && cn.readBy.Sub(now) < s.cfg.ReadTimeout-time.Second {
			cn.readBy = now.Add(s.cfg.ReadTimeout)
			_ = nc.SetReadDeadline(cn.readBy)
		}
		if s.closing.Load() && cn.r.Buffered() == 0 {
			return
		}
		req, err := cn.readRequest()
		if err != nil {
			var fe *framingError
			if errors.As(err, &fe) {
				cn.x.body = AppendFailure(cn.x.body[:0], fe.reason)
				cn.h().stats.malformed.Add(1)
				if cn.write(fe.code, false, false) == nil {
					cn.lingeringClose()
				}
			}
			return
		}
		code := cn.serve(ctx, req)
		keep := req.keepAlive && !s.closing.Load()
		if err := cn.write(code, keep, req.http10); err != nil || !keep {
			return
		}
	}
}

func (cn *conn) h() *Handler { return cn.s.h }

// lingeringClose half-closes the connection and discards what the client
// still sends for a moment, so that closing with unread input (which makes
// the kernel reset the connection) does not destroy the answer in flight.
func (cn *conn) lingeringClose() {
	if tc, ok := cn.c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_ = cn.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.CopyN(io.Discard, cn.c, 256<<10)
}

// serve routes one request to the handler and returns the status.
func (cn *conn) serve(ctx context.Context, req request) int {
	target := req.target
	if i := bytes.Index(target, []byte("://")); i > 0 && target[0] != '/' { // absolute-form
		target = target[i+3:]
		j := bytes.IndexByte(target, '/')
		if j < 0 {
			target = []byte("/")
		} else {
			target = target[j:]
		}
	}
	if i := bytes.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	rawPath, query, _ := bytes.Cut(target, []byte("?"))
	path, ok := cn.pathString(rawPath)
	if !ok {
		cn.x.body = AppendFailure(cn.x.body[:0], string(errBadPasskey))
		cn.h().stats.malformed.Add(1)
		return http.StatusBadRequest
	}
	// The query and the header value are only read during respond (the
	// handler copies what it keeps), so they may alias the line buffers.
	return cn.h().respond(ctx, cn.x, unsafeString(req.method), path, unsafeString(query), cn.remote, unsafeString(cn.fwd))
}

// pathString returns the decoded path as a string of its own (a passkey
// within it may be kept by the logic), reusing the previous one when a
// keep-alive client repeats it.
func (cn *conn) pathString(raw []byte) (string, bool) {
	if string(raw) == cn.path { // compiles to a comparison without allocating
		return cn.path, true
	}
	p := string(raw)
	if bytes.IndexByte(raw, '%') >= 0 {
		var err error
		if p, err = url.PathUnescape(p); err != nil {
			return "", false
		}
	}
	if len(p) == 0 || p[0] != '/' {
		return "", false
	}
	cn.path = p
	return p, true
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// readRequest reads one request head. Bodies are refused.
func (cn *conn) readRequest() (request, error) {
	var req request
	limit := cn.s.cfg.MaxHeaderBytes
	var line []byte
	var err error
	for range 4 { // tolerate a few empty lines before the request line
		if line, err = cn.readLine(&cn.line, limit); err != nil {
			return req, err
		}
		if len(line) > 0 {
			break
		}
	}
	if len(line) == 0 {
		return req, errBadLine
	}
	limit -= len(line)
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 {
		return req, errBadLine
	}
	switch string(proto) {
	case "HTTP/1.1":
		req.keepAlive = true
	case "HTTP/1.0":
		req.http10 = true
	default:
		if bytes.HasPrefix(proto, []byte("HTTP/")) {
			return req, errVersion
		}
		return req, errBadLine
	}
	req.method, req.target = method, target
	cn.fwd = cn.fwd[:0]
	realIP := cn.h().cfg.RealIPHeader
	for n := 0; ; n++ {
		if n == maxHeaderLines {
			return req, errHeadTooLong
		}
		h, err := cn.r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return req, errHeadTooLong
			}
			return req, err
		}
		if limit -= len(h); limit < 0 {
			return req, errHeadTooLong
		}
		h = trimEOL(h)
		if len(h) == 0 {
			break
		}
		if h[0] == ' ' || h[0] == '\t' {
			return req, errBadHeader // obsolete line folding
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok || len(k) == 0 {
			return req, errBadHeader
		}
		v = bytes.TrimSpace(v)
		switch {
		case equalFold(k, "Connection"):
			for tok := range bytes.SplitSeq(v, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				switch {
				case equalFold(tok, "close"):
					req.keepAlive = false
				case equalFold(tok, "keep-alive") && req.http10:
					req.keepAlive = true
				}
			}
		case equalFold(k, "Content-Length"):
			if n, err := strconv.ParseUint(string(v), 10, 63); err != nil || n > 0 {
				return req, errBody
			}
		case equalFold(k, "Transfer-Encoding"):
			return req, errBody
		case realIP != "" && equalFold(k, realIP):
			cn.fwd = append(cn.fwd[:0], v...)
		}
	}
	return req, nil
}

// readLine reads a line into *buf (so it survives further reads), without
// its end of line.
func (cn *conn) readLine(buf *[]byte, limit int) ([]byte, error) {
	*buf = (*buf)[:0]
	for {
		frag, err := cn.r.ReadSlice('\n')
		if len(*buf)+len(frag) > limit {
			return nil, errLineTooLong
		}
		*buf = append(*buf, frag...)
		if err == nil {
			return trimEOL(*buf), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// write sends the status line, headers and cn.x.body in one write.
func (cn *conn) write(code int, keepAlive, http10 bool) error {
	b := append(cn.out[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(cn.x.body)), 10)
	switch {
	case !keepAlive:
		b = append(b, "\r\nConnection: close"...)
	case http10:
		b = append(b, "\r\nConnection: keep-alive"...)
	}
	if code == http.StatusMethodNotAllowed {
		b = append(b, "\r\nAllow: GET"...)
	}
	b = append(b, "\r\n\r\n"...)
	b = append(b, cn.x.body...)
	if cap(b) <= maxKeptBody {
		cn.out = b
	} else {
		cn.out = nil
	}
	if now := time.Now(); cn.writeBy.Sub(now) < cn.s.cfg.WriteTimeout-time.Second {
		cn.writeBy = now.Add(cn.s.cfg.WriteTimeout)
		_ = cn.c.SetWriteDeadline(cn.writeBy)
	}
	_, err := cn.c.Write(b)
	return err
}

// Serve serves h on ln until ctx ends, then shuts down, waiting at most
// grace for requests in flight. When h is a *Handler (a dedicated announce
// port) the lean Server answers, with DefaultServerConfig; any other
// handler (a mux serving more) runs on net/http with NewHTTPServer's
// limits.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	if bh, ok := h.(*Handler); ok {
		cfg := DefaultServerConfig()
		cfg.ShutdownGrace = grace
		srv, err := NewServer(bh, cfg)
		if err != nil {
			return err
		}
		return srv.Serve(ctx, ln)
	}
	srv := NewHTTPServer(h)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
