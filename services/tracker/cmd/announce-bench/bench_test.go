package main

import (
	"bufio"
	"context"
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:6969/announce", true},
		{"http://127.0.0.2:6969/announce", true},
		{"http://[::1]:6969/announce", true},
		{"http://localhost:6969/announce", true},
		{"http://192.168.1.10:6969/announce", false},
		{"http://example.org/announce", false},
		{"http://0.0.0.0:6969/announce", false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if err := loopbackOnly(u); (err == nil) != tc.ok {
			t.Errorf("loopbackOnly(%s) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
	if err := loadMain(context.Background(), []string{"-url", "http://10.0.0.1/announce", "-duration", "1ms"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("load against 10.0.0.1: %v", err)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q        float64
		min, max int64
	}{{0.5, 500, 580}, {0.99, 990, 1100}} {
		if got := h.quantile(tc.q); got < tc.min || got > tc.max {
			t.Errorf("quantile(%v) = %d, want %d..%d", tc.q, got, tc.min, tc.max)
		}
	}
}

func testConfig(t *testing.T, rawURL string) *loadConfig {
	t.Helper()
	c := &loadConfig{duration: 300 * time.Millisecond, warmup: 50 * time.Millisecond, workers: 4,
		torrents: 100, peers: 1000, maxRequests: 1 << 30, seed: 1}
	if err := c.prepare(rawURL); err != nil {
		t.Fatal(err)
	}
	return c
}

// The generator against the real stack: announces succeed, and only the
// agents the gate is meant to refuse are refused.
func TestLoadAgainstStack(t *testing.T) {
	st, err := newStack(100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	h, err := bt.NewHandler(st.tracker, bt.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	res := runLoad(context.Background(), testConfig(t, srv.URL+"/announce/{passkey}"))
	if res.ok < 10 || res.errors != 0 || res.firstErr != nil {
		t.Fatalf("ok %d refused %d errors %d (%v)", res.ok, res.refused, res.errors, res.firstErr)
	}
	if res.refused > res.ok/20 {
		t.Errorf("refused %d of %d", res.refused, res.ok+res.refused)
	}
	if res.dials != 4 {
		t.Errorf("%d connections for 4 keep-alive workers", res.dials)
	}
}

// A server that closes every connection after one answer without saying
// so (opentracker's way) costs reconnects, not errors.
func TestLoadAgainstClosingServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				body := "d8:intervali1800e5:peers0:e"
				_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 27\r\n\r\n" + body))
			}()
		}
	}()
	res := runLoad(context.Background(), testConfig(t, "http://"+ln.Addr().String()+"/announce"))
	if res.ok < 10 || res.errors != 0 {
		t.Fatalf("ok %d errors %d (%v)", res.ok, res.errors, res.firstErr)
	}
	if res.dials < res.ok {
		t.Errorf("%d dials for %d answers from a closing server", res.dials, res.ok)
	}
}
