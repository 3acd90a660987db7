package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestUploadNeeded(t *testing.T) {
	for _, c := range []struct{ up, down, size, num, den, want uint64 }{
		{4 << 20, 0, 8 << 20, 1, 2, 0},             // exactly at the ratio
		{4 << 20, 0, 8<<20 + 1, 1, 2, 1},           // one byte over: round up
		{4 << 20, 1060921, 9 << 20, 1, 2, 1054749}, // e2e/mcp_test.go's refusal
		{0, 0, 1, 1, 1, 1},                         // a free-rider
		{1 << 40, 1 << 20, 1 << 30, 1, 2, 0},       // plenty
		{^uint64(0) - 1, ^uint64(0), 1, 1, 1, 1},   // no overflow
	} {
		if got := uploadNeeded(c.up, c.down, c.size, c.num, c.den); got != c.want {
			t.Errorf("uploadNeeded(%d, %d, %d, %d/%d) = %d, want %d", c.up, c.down, c.size, c.num, c.den, got, c.want)
		}
	}
	if got := downloadAllowance(4<<20, 1<<20, 1, 2); got != 7<<20 {
		t.Errorf("downloadAllowance = %d, want %d", got, 7<<20)
	}
	if got := downloadAllowance(1, 5, 1, 2); got != 0 {
		t.Errorf("downloadAllowance below the ratio = %d, want 0", got)
	}
}

func TestMCPListenLoopbackOnly(t *testing.T) {
	for _, c := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:0", false, true}, {"localhost:7777", false, true}, {"[::1]:0", false, true},
		{"0.0.0.0:0", false, false}, {":8080", false, false}, {"192.168.1.5:0", false, false},
		{"0.0.0.0:0", true, true}, {"nonsense", false, false},
	} {
		if err := checkMCPListen(c.addr, c.remote); (err == nil) != c.ok {
			t.Errorf("checkMCPListen(%q, %v) = %v; want ok %v", c.addr, c.remote, err, c.ok)
		}
	}
	h := loopbackHostOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for host, want := range map[string]int{"127.0.0.1:4000": 204, "localhost:4000": 204, "[::1]:4000": 204, "evil.example:4000": 403, "evil.example": 403} {
		r := httptest.NewRequest("POST", "http://"+host+"/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %s: %d, want %d", host, w.Code, want)
		}
	}
}
