package bt

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pbts/pbts/server"
)

// Paths the handler serves; each is followed by "/<passkey>".
const (
	AnnouncePath = "/announce"
	ScrapePath   = "/scrape"
)

// internalFailure is what a client sees for any error that is not a ClientError.
const internalFailure = "internal server error"

var (
	errNoAddr        = ClientError("cannot determine the peer's address")
	errNotFound      = ClientError("not found: announce to /announce/<passkey>, scrape at /scrape/<passkey>")
	errMethod        = ClientError("method not allowed: use GET")
	contentTypeValue = []string{"text/plain; charset=utf-8"}
	cacheValue       = []string{"no-store"}
	allowValue       = []string{"GET"}
)

// Handler answers /announce/<passkey> and /scrape/<passkey> for any
// transport: it is an http.Handler (mount it on a mux for both prefixes,
// mux.Handle("/announce/", h); mux.Handle("/scrape/", h), or use it as a
// server's whole handler), and the core of Server, the lean HTTP/1.1 server
// for a dedicated announce port. Other paths get a bencoded 404.
type Handler struct {
	logic Logic
	cfg   Config
	log   *slog.Logger
	stats counters
	pool  sync.Pool      // *exchange, for the net/http path
	limit *clientLimiter // nil: no rate limit
	seq   atomic.Uint64  // announces seen, for the sampled log
}

// exchange is one request's scratch space: parsed forms, answers and the
// encoded body. The net/http path pools them; Server keeps one per
// connection.
type exchange struct {
	areq  AnnounceRequest
	aresp AnnounceResponse
	sreq  ScrapeRequest
	sresp ScrapeResponse
	body  []byte
}

func newExchange() *exchange {
	return &exchange{
		aresp: AnnounceResponse{IPv4: make([]byte, 0, 50*6), IPv6: make([]byte, 0, 8*18)},
		body:  make([]byte, 0, 1024),
	}
}

// maxKeptBody bounds the buffer an exchange keeps between requests.
const maxKeptBody = 64 << 10

// NewHandler returns a frontend for logic. A nil log discards.
func NewHandler(logic Logic, cfg Config, log *slog.Logger) (*Handler, error) {
	if logic == nil {
		return nil, errors.New("bt: nil logic")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{logic: logic, cfg: cfg, log: log, limit: newClientLimiter(cfg)}
	h.pool.New = func() any { return newExchange() }
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := h.pool.Get().(*exchange)
	defer h.pool.Put(x)
	var conn netip.Addr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		conn = ap.Addr()
	}
	var forwarded string
	if h.cfg.RealIPHeader != "" {
		forwarded = r.Header.Get(h.cfg.RealIPHeader)
	}
	code := h.respond(r.Context(), x, r.Method, r.URL.Path, r.URL.RawQuery, conn, forwarded)
	hdr := w.Header()
	hdr["Content-Type"] = contentTypeValue
	hdr["Cache-Control"] = cacheValue
	hdr["Date"] = nil // no Date header: clients do not need it and formatting it costs
	if code == http.StatusMethodNotAllowed {
		hdr["Allow"] = allowValue
	}
	if code != http.StatusOK {
		w.WriteHeader(code)
	}
	_, _ = w.Write(x.body)
}

// respond answers one request into x.body and returns the HTTP status.
// path is the decoded path, query the raw query string, conn the
// connection's remote address and forwarded the value of the configured
// real-IP header (if any).
func (h *Handler) respond(ctx context.Context, x *exchange, method, path, query string, conn netip.Addr, forwarded string) int {
	if cap(x.body) > maxKeptBody {
		x.body = nil
	}
	x.body = x.body[:0]
	var announce bool
	var passkey string
	switch {
	case strings.HasPrefix(path, AnnouncePath+"/"):
		announce, passkey = true, path[len(AnnouncePath)+1:]
	case strings.HasPrefix(path, ScrapePath+"/"):
		passkey = path[len(ScrapePath)+1:]
	case path == AnnouncePath || path == ScrapePath:
		h.malformed(x, errMissingPasskey)
		return http.StatusOK
	default:
		x.body = AppendFailure(x.body, string(errNotFound))
		return http.StatusNotFound
	}
	if method != http.MethodGet {
		x.body = AppendFailure(x.body, string(errMethod))
		return http.StatusMethodNotAllowed
	}
	if announce {
		h.announce(ctx, x, passkey, query, conn, forwarded)
	} else {
		h.scrape(ctx, x, passkey, query, conn, forwarded)
	}
	return http.StatusOK
}

func (h *Handler) announce(ctx context.Context, x *exchange, passkey, query string, conn netip.Addr, forwarded string) {
	h.stats.announces.Add(1)
	req := &x.areq
	*req = AnnounceRequest{}
	if !validPasskey(passkey) {
		h.malformed(x, errBadPasskey)
		return
	}
	ipv4, ipv6, err := parseAnnounce(query, h.cfg.MaxQueryLength, req)
	if err != nil {
		h.malformed(x, err)
		return
	}
	req.Passkey = passkey
	remote, ok := h.clientAddr(conn, forwarded)
	if !ok {
		h.malformed(x, errNoAddr)
		return
	}
	if !h.allow(x, remote) {
		h.logAnnounce(ctx, req, remote, nil, "rate limited")
		return
	}
	req.Addr = netip.AddrPortFrom(remote, req.Port)
	if remote.Is4() {
		req.Hint, _ = parseHint(ipv6, req.Port, true)
	} else {
		req.Hint, _ = parseHint(ipv4, req.Port, false)
	}
	if req.Hint.IsValid() && !h.cfg.AllowPrivateHints && !public(req.Hint.Addr()) {
		req.Hint = netip.AddrPort{}
		h.stats.hintsIgnored.Add(1)
	}
	x.aresp.Reset()
	x.aresp.Compact = req.Compact
	if err := h.logic.Announce(ctx, req, &x.aresp); err != nil {
		x.body = h.failure(ctx, x.body, "announce", req.InfoHash, err)
		outcome := internalFailure
		var ce ClientError
		if errors.As(err, &ce) {
			outcome = string(ce)
		}
		h.logAnnounce(ctx, req, remote, &x.aresp.Agent, outcome)
		return
	}
	x.body = AppendAnnounce(x.body, &x.aresp, req.NoPeerID)
	h.logAnnounce(ctx, req, remote, &x.aresp.Agent, "ok")
}

// logAnnounce logs one announce: every one at debug level, one in
// AnnounceLogEvery at info level. It names the announcer by its agent (nil
// or zero: not known yet) and its client key, never by the passkey.
func (h *Handler) logAnnounce(ctx context.Context, req *AnnounceRequest, remote netip.Addr, agent *[20]byte, outcome string) {
	lvl := slog.LevelDebug
	if n := h.seq.Add(1); h.cfg.AnnounceLogEvery > 0 && n%uint64(h.cfg.AnnounceLogEvery) == 0 {
		lvl = slog.LevelInfo
	}
	if !h.log.Enabled(ctx, lvl) {
		return
	}
	who := ""
	if agent != nil && *agent != ([20]byte{}) {
		who = "0x" + hex.EncodeToString(agent[:])
	}
	h.log.LogAttrs(ctx, lvl, "announce",
		slog.String("agent", who), slog.String("info_hash", req.InfoHash.String()),
		slog.String("event", req.Event.String()), slog.Uint64("left", req.Left),
		slog.String("client", server.ClientKey(remote).String()), slog.String("peer_client", req.PeerID.ClientPrefix()),
		slog.String("outcome", outcome))
}

func (h *Handler) scrape(ctx context.Context, x *exchange, passkey, query string, conn netip.Addr, forwarded string) {
	h.stats.scrapes.Add(1)
	x.sreq = ScrapeRequest{InfoHashes: x.sreq.InfoHashes[:0]}
	x.sresp = ScrapeResponse{Files: x.sresp.Files[:0]}
	if !validPasskey(passkey) {
		h.malformed(x, errBadPasskey)
		return
	}
	if err := parseScrape(query, h.cfg.MaxQueryLength, h.cfg.MaxScrapeInfoHashes, &x.sreq); err != nil {
		h.malformed(x, err)
		return
	}
	if remote, ok := h.clientAddr(conn, forwarded); ok && !h.allow(x, remote) {
		return
	}
	x.sreq.Passkey = passkey
	if err := h.logic.Scrape(ctx, &x.sreq, &x.sresp); err != nil {
		x.body = h.failure(ctx, x.body, "scrape", x.sreq.InfoHashes[0], err)
		return
	}
	x.body = AppendScrape(x.body, &x.sresp)
}

// allow applies the per-client rate limit to the client at a, answering
// a refusal into x when it is over.
func (h *Handler) allow(x *exchange, a netip.Addr) bool {
	if h.limit == nil || h.limit.allow(a) {
		return true
	}
	h.stats.rateLimited.Add(1)
	x.body = AppendFailure(x.body, string(h.limit.reason))
	return false
}

func (h *Handler) malformed(x *exchange, err error) {
	h.stats.malformed.Add(1)
	x.body = AppendFailure(x.body, err.Error())
}

// failure encodes err: a ClientError's text, or (logged) a generic reason.
func (h *Handler) failure(ctx context.Context, b []byte, op string, ih InfoHash, err error) []byte {
	var ce ClientError
	if errors.As(err, &ce) {
		h.stats.refused.Add(1)
		return AppendFailure(b, string(ce))
	}
	h.stats.internal.Add(1)
	lvl := slog.LevelError
	if ctx.Err() != nil {
		lvl = slog.LevelDebug // the client went away
	}
	h.log.Log(ctx, lvl, op+" failed", "info_hash", ih.String(), "err", err)
	return AppendFailure(b, internalFailure)
}

// clientAddr is the client's address: the connection's, or the configured
// header's (its last comma-separated element) when the connection comes
// from a trusted proxy.
func (h *Handler) clientAddr(conn netip.Addr, forwarded string) (netip.Addr, bool) {
	a := conn.Unmap().WithZone("")
	if !a.IsValid() {
		return netip.Addr{}, false
	}
	if h.cfg.RealIPHeader != "" && h.trusted(a) {
		v := forwarded
		if i := strings.LastIndexByte(v, ','); i >= 0 {
			v = v[i+1:]
		}
		fa, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return netip.Addr{}, false
		}
		a = fa.Unmap().WithZone("")
	}
	return a, true
}

func (h *Handler) trusted(a netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Stats are the handler's request counters since it was made.
type Stats struct {
	Announces, Scrapes uint64
	// Malformed requests, refusals by the logic (ClientErrors) and
	// internal errors (answered generically and logged).
	Malformed, Refused, Internal uint64
	// ConnsRefused counts connections closed as over their client's cap
	// (ServerConfig.MaxConnsPerClient).
	ConnsRefused uint64
	// RateLimited counts requests refused by the per-client rate limit.
	RateLimited uint64
	// HintsIgnored counts BEP 7 hints dropped as private or loopback.
	HintsIgnored uint64
}

type counters struct {
	announces, scrapes, malformed, refused, internal, hintsIgnored, rateLimited, connsRefused atomic.Uint64
}

// LimitedClients is how many clients the rate limit remembers (0 when it
// is off): bounded by Config.RateLimitClients.
func (h *Handler) LimitedClients() int { return h.limit.clients() }

// Stats returns the counters (for metrics).
func (h *Handler) Stats() Stats {
	return Stats{
		Announces: h.stats.announces.Load(),
		Scrapes:   h.stats.scrapes.Load(),
		Malformed: h.stats.malformed.Load(),
		Refused:   h.stats.refused.Load(),
		Internal:  h.stats.internal.Load(),

		HintsIgnored: h.stats.hintsIgnored.Load(),
		RateLimited:  h.stats.rateLimited.Load(),
		ConnsRefused: h.stats.connsRefused.Load(),
	}
}

// NewHTTPServer returns a net/http server for h with the timeouts and
// header limit a public tracker needs (for mounting Handler on a mux that
// serves more; a dedicated announce port is better served by Server).
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
}
