package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type loadConfig struct {
	target             *url.URL
	prefix, suffix     string // the path around {passkey}
	duration, warmup   time.Duration
	workers            int
	sources            int
	torrents, peers    int
	maxRequests        int64
	seed               uint64
	maxFail            float64
	escHashes, escPIDs []string
	passkeys           []string
}

func loadMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	rawURL := fs.String("url", "", "announce URL; {passkey} is replaced by each peer's passkey (loopback hosts only)")
	var c loadConfig
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured duration")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load before it")
	fs.IntVar(&c.workers, "workers", 64, "concurrent keep-alive connections")
	fs.IntVar(&c.sources, "sources", 64, "loopback source addresses the connections come from, 127.1.0.1 to at most 127.1.0.250 (clients of the tracker's per-client rate limit); 0: the system's choice (127.0.0.1)")
	fs.IntVar(&c.torrents, "torrents", defaultTorrents, "torrents to pick info hashes from")
	fs.IntVar(&c.peers, "peers", defaultPeers, "peers (and passkeys) to pick from")
	fs.Int64Var(&c.maxRequests, "max-requests", 50_000_000, "stop after this many requests")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed")
	fs.Float64Var(&c.maxFail, "max-fail", 0.05, "exit non-zero when errors+refusals exceed this fraction of requests")
	cpuProfile := fs.String("cpuprofile", "", "write the generator's CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.sources < 0 || c.sources > 250 {
		return fmt.Errorf("-sources %d: want 0..250", c.sources)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if err := c.prepare(*rawURL); err != nil {
		return err
	}
	res := runLoad(ctx, &c)
	measured := res.ok + res.refused + res.errors
	secs := res.window.Seconds()
	if secs <= 0 {
		return errors.New("the load ended before the warm-up did")
	}
	fmt.Printf("requests %d ok %d refused %d errors %d connections %d seconds %.2f rps %d p50_us %d p99_us %d\n",
		measured, res.ok, res.refused, res.errors, res.dials, secs, int64(float64(res.ok+res.refused)/secs),
		res.hist.quantile(0.5), res.hist.quantile(0.99))
	if res.firstErr != nil {
		fmt.Fprintf(os.Stderr, "first error: %v\n", res.firstErr)
	}
	if measured == 0 {
		return errors.New("no request completed")
	}
	if bad := float64(res.refused+res.errors) / float64(measured); bad > c.maxFail {
		return fmt.Errorf("%.1f%% of requests failed or were refused (limit %.1f%%): is the target set up (whitelist, passkeys)?", 100*bad, 100*c.maxFail)
	}
	return nil
}

// prepare checks the target and settings and precomputes the escaped
// info hashes, peer ids and passkeys.
func (c *loadConfig) prepare(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("-url %q: want http://loopback-host:port/path", rawURL)
	}
	if err := loopbackOnly(u); err != nil {
		return err
	}
	if c.workers < 1 || c.torrents < 1 || c.peers < 1 || c.duration <= 0 {
		return errors.New("workers, torrents, peers and duration must be positive")
	}
	if u.Port() == "" {
		u.Host += ":80"
	}
	c.target = u
	var templated bool
	c.prefix, c.suffix, templated = strings.Cut(u.EscapedPath(), url.PathEscape("{passkey}"))
	c.passkeys = nil
	if templated {
		c.passkeys = make([]string, c.peers)
		for j := range c.passkeys {
			c.passkeys[j] = passkey(j)
		}
	}
	c.escHashes = make([]string, c.torrents)
	for i := range c.escHashes {
		h := infoHash(i)
		c.escHashes[i] = escapeAll(h[:])
	}
	c.escPIDs = make([]string, c.peers)
	for j := range c.escPIDs {
		p := peerID(j)
		c.escPIDs[j] = escapeAll(p[:])
	}
	return nil
}

// loopbackOnly refuses to aim load at anything but this machine.
func loopbackOnly(u *url.URL) error {
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.IsLoopback() {
		return fmt.Errorf("refusing to load %q: only loopback targets (127.0.0.0/8, ::1, localhost)", host)
	}
	return nil
}

func escapeAll(b []byte) string {
	const hexdig = "0123456789ABCDEF"
	out := make([]byte, 0, 3*len(b))
	for _, c := range b {
		out = append(out, '%', hexdig[c>>4], hexdig[c&15])
	}
	return string(out)
}

type loadResult struct {
	ok, refused, errors, dials int64
	window                     time.Duration // measured wall time
	hist                       histogram
	firstErr                   error
}

func runLoad(ctx context.Context, c *loadConfig) loadResult {
	start := time.Now()
	measureFrom := start.Add(c.warmup)
	end := measureFrom.Add(c.duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var (
		mu    sync.Mutex
		total loadResult
		sent  atomic.Int64
		wg    sync.WaitGroup
	)
	for w := range c.workers {
		wg.Go(func() {
			wk := &worker{cfg: c, rng: rand.New(rand.NewPCG(c.seed, uint64(w))), deadline: end.Add(10 * time.Second)}
			if c.sources > 0 {
				wk.src = &net.TCPAddr{IP: net.IPv4(127, 1, 0, byte(1+w%c.sources))}
			}
			wk.run(ctx, &sent, measureFrom, end)
			wk.close()
			mu.Lock()
			defer mu.Unlock()
			total.ok += wk.res.ok
			total.refused += wk.res.refused
			total.errors += wk.res.errors
			total.dials += wk.res.dials
			total.hist.add(&wk.res.hist)
			if total.firstErr == nil {
				total.firstErr = wk.res.firstErr
			}
		})
	}
	wg.Wait()
	finished := time.Now()
	if finished.After(end) {
		finished = end
	}
	total.window = finished.Sub(measureFrom)
	return total
}

// worker drives one keep-alive connection with raw HTTP/1.1.
type worker struct {
	cfg      *loadConfig
	rng      *rand.Rand
	deadline time.Time
	conn     net.Conn
	src      *net.TCPAddr // the source address, or nil
	r        *bufio.Reader
	reused   bool // the connection has carried a response
	// closes: the server closed a reused connection once, so it is assumed
	// to close after every answer (opentracker does) and a new connection
	// is opened for each request instead of first failing on the old one.
	closes bool
	req    []byte
	body   []byte
	res    loadResult
}

func (w *worker) run(ctx context.Context, sent *atomic.Int64, measureFrom, end time.Time) {
	for ctx.Err() == nil {
		if sent.Add(1) > w.cfg.maxRequests {
			return
		}
		w.buildRequest()
		t0 := time.Now()
		status, body, err := w.roundTrip()
		t1 := time.Now()
		if t0.Before(measureFrom) || t1.After(end) {
			continue
		}
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			w.res.errors++
			if w.res.firstErr == nil {
				w.res.firstErr = err
			}
			time.Sleep(10 * time.Millisecond)
		case status != 200 || len(body) == 0 || body[0] != 'd':
			w.res.errors++
			if w.res.firstErr == nil {
				w.res.firstErr = fmt.Errorf("status %d, body %.100q", status, body)
			}
		case bytes.Contains(body, []byte("14:failure reason")):
			w.res.refused++
			w.res.hist.record(t1.Sub(t0))
		default:
			w.res.ok++
			w.res.hist.record(t1.Sub(t0))
		}
	}
}

// buildRequest writes a random peer's announce of a random torrent.
func (w *worker) buildRequest() {
	c := w.cfg
	t := w.rng.IntN(c.torrents)
	p := w.rng.IntN(c.peers)
	b := append(w.req[:0], "GET "...)
	b = append(b, c.prefix...)
	if c.passkeys != nil {
		b = append(b, c.passkeys[p]...)
		b = append(b, c.suffix...)
	}
	b = append(b, "?info_hash="...)
	b = append(b, c.escHashes[t]...)
	b = append(b, "&peer_id="...)
	b = append(b, c.escPIDs[p]...)
	b = append(b, "&port="...)
	b = strconv.AppendInt(b, int64(peerPort(p)), 10)
	b = append(b, "&uploaded="...)
	b = strconv.AppendUint(b, w.rng.Uint64N(gib), 10)
	b = append(b, "&downloaded="...)
	b = strconv.AppendUint(b, w.rng.Uint64N(gib), 10)
	var left uint64
	ev := ""
	switch r := w.rng.IntN(100); {
	case r < 3:
		ev = "&event=started"
	case r < 4:
		ev = "&event=stopped"
	case r < 5 && !seeder(p):
		ev = "&event=completed"
	}
	if !seeder(p) && ev != "&event=completed" {
		left = 1 + w.rng.Uint64N(torrentSize-1)
	}
	b = append(b, "&left="...)
	b = strconv.AppendUint(b, left, 10)
	b = append(b, "&numwant=50&compact=1&key=bench"...)
	b = append(b, ev...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.target.Host...)
	b = append(b, "\r\nUser-Agent: announce-bench/1\r\n\r\n"...)
	w.req = b
}

func (w *worker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn, w.reused = nil, false
	}
}

func (w *worker) dial() error {
	d := net.Dialer{Timeout: 5 * time.Second}
	if w.src != nil {
		d.LocalAddr = w.src
	}
	conn, err := d.Dial("tcp", w.cfg.target.Host)
	if err != nil {
		return err
	}
	w.res.dials++
	_ = conn.SetDeadline(w.deadline)
	w.conn, w.reused = conn, false
	if w.r == nil {
		w.r = bufio.NewReaderSize(conn, 16<<10)
	} else {
		w.r.Reset(conn)
	}
	return nil
}

func (w *worker) roundTrip() (status int, body []byte, err error) {
	for {
		if w.conn == nil {
			if err := w.dial(); err != nil {
				return 0, nil, err
			}
		}
		reused := w.reused
		var closeAfter bool
		if _, err = w.conn.Write(w.req); err == nil {
			status, body, closeAfter, err = w.readResponse()
		}
		if err == nil {
			w.reused = true
			if closeAfter || w.closes {
				w.close()
			}
			return status, body, nil
		}
		w.close()
		if !reused || !closedByPeer(err) {
			return 0, nil, err
		}
		w.closes = true // the server closed an idle connection: retry on a new one
	}
}

func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// readResponse reads one HTTP/1.x response into w.body.
func (w *worker) readResponse() (status int, body []byte, closeAfter bool, err error) {
	line, err := w.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	closeAfter = line[7] == '0' // HTTP/1.0 without keep-alive
	length := -1
	for {
		h, err := w.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, _ := bytes.Cut(h, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil || length < 0 || length > 1<<20 {
				return 0, nil, false, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Connection")):
			closeAfter = bytes.EqualFold(v, []byte("close"))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			return 0, nil, false, errors.New("chunked answers are not supported")
		}
	}
	if length < 0 {
		w.body, err = io.ReadAll(io.LimitReader(w.r, 1<<20))
		return status, w.body, true, err
	}
	if cap(w.body) < length {
		w.body = make([]byte, length)
	}
	w.body = w.body[:length]
	_, err = io.ReadFull(w.r, w.body)
	return status, w.body, closeAfter, err
}

// histogram counts latencies in buckets of 1/8 of a power of two microseconds.
type histogram struct{ n [64 * 8]int64 }

func (h *histogram) record(d time.Duration) {
	us := uint64(d / time.Microsecond)
	if us == 0 {
		us = 1
	}
	e := bits.Len64(us) - 1 // 2^e <= us < 2^(e+1)
	sub := 0
	if e >= 3 {
		sub = int((us >> (e - 3)) & 7)
	} else {
		sub = int(us<<(3-e)) & 7
	}
	h.n[e*8+sub]++
}

func (h *histogram) add(o *histogram) {
	for i := range h.n {
		h.n[i] += o.n[i]
	}
}

// quantile returns the upper bound (µs) of the bucket holding quantile q.
func (h *histogram) quantile(q float64) int64 {
	var total int64
	for _, c := range h.n {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := int64(q * float64(total))
	var acc int64
	for i, c := range h.n {
		acc += c
		if acc > rank {
			e, sub := i/8, i%8
			return int64((8 + sub + 1) << e >> 3)
		}
	}
	return 0
}
