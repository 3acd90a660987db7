package gw

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
)

// streaming reports the routes that stream (no deadline, no gzip).
func streaming(r *http.Request) bool {
	return r.URL.Path == "/v1/events" || strings.HasSuffix(r.URL.Path, ":watch")
}

// limit bounds each request: its body (a larger one is refused before it
// is read whole) and, but for streams, its duration.
func (g *Gateway) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > g.cfg.BodyLimit {
			g.tooLarge(w, r, fmt.Sprintf("request body of %d bytes is over the limit of %d", r.ContentLength, g.cfg.BodyLimit))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, g.cfg.BodyLimit)
		}
		if !streaming(r) {
			ctx, cancel := context.WithTimeout(r.Context(), g.cfg.Timeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers preflight requests and marks responses for the configured
// origins only.
func (g *Gateway) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (g.cfg.origins["*"] || g.cfg.origins[origin]) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Content-Type")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Last-Event-ID, X-Request-Id")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// gzipResponses compresses responses for clients that accept it, but
// streams (flushed event by event).
func gzipResponses(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if streaming(r) || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

type gzipWriter struct {
	http.ResponseWriter
	zw          *gzip.Writer
	wroteHeader bool
}

func (g *gzipWriter) WriteHeader(code int) {
	if g.wroteHeader {
		return
	}
	g.wroteHeader = true
	h := g.Header()
	if code != http.StatusNoContent && code != http.StatusNotModified && h.Get("Content-Encoding") == "" {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		h.Del("Content-Length")
		g.zw = gzip.NewWriter(g.ResponseWriter)
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		return g.zw.Write(p)
	}
	return g.ResponseWriter.Write(p)
}

func (g *gzipWriter) Flush() {
	if g.zw != nil {
		g.zw.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (g *gzipWriter) close() {
	if g.zw != nil {
		g.zw.Close()
	}
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += int64(n)
	return n, err
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := s.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("not a hijacker")
}

// secretParams are query parameters masked in logs.
var secretParams = []string{"passkey", "signature"}

// maskedURL is the request's path and query with secrets masked: a passkey
// or signature in the query, and a passkey as a path segment (announce URLs
// have them there, should one be sent here).
func maskedURL(u *url.URL) string {
	path := u.Path
	if i := strings.Index(path, "/announce/"); i >= 0 {
		path = path[:i] + "/announce/***"
	}
	if u.RawQuery == "" {
		return path
	}
	q := u.Query()
	for _, k := range secretParams {
		if q.Has(k) {
			q.Set(k, "***")
		}
	}
	return path + "?" + q.Encode()
}

// accessLog logs one line per request (secrets masked) and counts it.
func (g *Gateway) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		g.log.Info("http", "method", r.Method, "url", maskedURL(r.URL), "status", sw.code, "bytes", sw.bytes,
			"ms", time.Since(start).Milliseconds(), "client", g.clientIP(r).String())
		if g.metrics != nil && (!strings.HasPrefix(r.URL.Path, "/v1/") || r.URL.Path == "/v1/events") {
			route := r.URL.Path
			switch {
			case strings.HasPrefix(route, "/reputation/"):
				route = "/reputation/{address}"
			case route == "/healthz", route == "/readyz", route == "/openapi.json", route == "/register", route == "/report", route == "/v1/events":
			default:
				route = "static"
			}
			g.metrics.observe(r.Method, route, sw.code, time.Since(start))
		}
	})
}

// routeMetrics counts the REST API's routes by their pattern.
func (g *Gateway) routeMetrics(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next(sw, r, params)
		if g.metrics != nil {
			pattern, _ := runtime.HTTPPathPattern(r.Context())
			if sw.code == 0 {
				sw.code = http.StatusOK
			}
			g.metrics.observe(r.Method, pattern, sw.code, time.Since(start))
		}
	}
}

// clientIP is the address of the client: the connection's, or, when that
// is a trusted proxy, the right-most address of X-Forwarded-For that is
// not one.
func (g *Gateway) clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap()
	if !g.trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if h = h.Unmap(); !g.trusted(h) {
			return h
		}
		ip = h
	}
	return ip
}

func (g *Gateway) trusted(ip netip.Addr) bool {
	for _, p := range g.cfg.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// httpMetrics are the gateway's Prometheus series.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	subs     prometheus.GaugeFunc
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pbts_gateway_requests_total", Help: "REST requests by method, route and HTTP status."},
			[]string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pbts_gateway_request_seconds", Help: "REST request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"method", "route"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency)
	}
	return m
}

func (m *httpMetrics) observe(method, route string, code int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}
