package announce_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

// serveLean runs bt.Serve (the lean bt.Server) for h on 127.0.0.1:0 until
// the test ends and returns its base URL.
func serveLean(t *testing.T, h *bt.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bt.Serve(ctx, ln, h, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// newServer serves e's tracker through the real frontend: the lean
// bt.Server, or the Handler on net/http.
func (e *env) newServer(lean bool) string {
	h, err := bt.NewHandler(e.tracker, bt.DefaultConfig(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if lean {
		return serveLean(e.t, h)
	}
	srv := httptest.NewServer(h)
	e.t.Cleanup(srv.Close)
	return srv.URL
}

// get fetches url and decodes the bencoded answer into a generic value.
func get(t *testing.T, u string) map[string]any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := bencode.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %q is not bencode: %v", redact(u), body, err)
	}
	return v
}

func redact(u string) string {
	if i := strings.Index(u, "?"); i >= 0 {
		u = u[:i]
	}
	return u[:strings.LastIndexByte(u, '/')] + "/<passkey>"
}

func announceQuery(h bt.InfoHash, id bt.PeerID, port int, left uint64, extra string) string {
	q := "info_hash=" + url.QueryEscape(string(h[:])) + "&peer_id=" + url.QueryEscape(string(id[:])) +
		"&port=" + strconv.Itoa(port) + "&uploaded=0&downloaded=0&left=" + strconv.FormatUint(left, 10)
	if extra != "" {
		q += "&" + extra
	}
	return q
}

func TestHTTPStack(t *testing.T) {
	for _, lean := range []bool{true, false} {
		t.Run(map[bool]string{true: "bt.Server", false: "net/http"}[lean], func(t *testing.T) { testHTTPStack(t, lean) })
	}
}

func testHTTPStack(t *testing.T, lean bool) {
	e := newEnv(t, nil)
	srv := struct{ URL string }{e.newServer(lean)}
	ann := func(n int, h bt.InfoHash, left uint64, extra string) map[string]any {
		return get(t, srv.URL+"/announce/"+pk(n)+"?"+announceQuery(h, pid(n), 7000+n, left, extra))
	}

	v := ann(1, ih(1), 0, "event=started&ipv6=2001:db8::1")
	if v["interval"] != int64(900) || v["min interval"] != int64(120) || v["complete"] != int64(1) || v["peers"] != "" {
		t.Errorf("first announce: %v", v)
	}
	v = ann(2, ih(1), 100, "event=started")
	if v["complete"] != int64(1) || v["incomplete"] != int64(1) {
		t.Errorf("second announce: %v", v)
	}
	if want := "\x7f\x00\x00\x01\x1b\x59"; v["peers"] != want { // 127.0.0.1:7001
		t.Errorf("peers = %q, want %q", v["peers"], want)
	}
	if p6, _ := v["peers6"].(string); len(p6) != 18 || !strings.HasSuffix(p6, "\x1b\x59") {
		t.Errorf("peers6 = %q", v["peers6"])
	}

	v = ann(2, ih(1), 100, "compact=0")
	peers, _ := v["peers"].([]any)
	if len(peers) != 2 {
		t.Fatalf("dictionary peers: %v", v["peers"])
	}
	ips := map[string]bool{}
	for _, p := range peers {
		d := p.(map[string]any)
		ips[d["ip"].(string)] = true
		if d["port"] != int64(7001) || d["peer id"] != raw(pid(1)) {
			t.Errorf("dictionary peer %v", d)
		}
	}
	if !ips["127.0.0.1"] || !ips["2001:db8::1"] {
		t.Errorf("dictionary peer ips %v", ips)
	}

	// completion from left reaching 0, then a scrape of several torrents
	e.clock.Advance(time.Hour)
	ann(2, ih(1), 0, "")
	ann(3, ih(2), 50, "")
	v = get(t, srv.URL+"/scrape/"+pk(1)+"?info_hash="+url.QueryEscape(raw(ih(1)))+
		"&info_hash="+url.QueryEscape(raw(ih(2)))+"&info_hash="+url.QueryEscape(raw(ih(99))))
	files, _ := v["files"].(map[string]any)
	if len(files) != 2 {
		t.Fatalf("scrape files: %v", v)
	}
	f1 := files[raw(ih(1))].(map[string]any)
	f2 := files[raw(ih(2))].(map[string]any)
	if f1["complete"] != int64(2) || f1["incomplete"] != int64(0) || f1["downloaded"] != int64(1) {
		t.Errorf("scrape of torrent 1: %v", f1)
	}
	if f2["complete"] != int64(0) || f2["incomplete"] != int64(1) || f2["downloaded"] != int64(0) {
		t.Errorf("scrape of torrent 2: %v", f2)
	}

	// refusals arrive as failure reasons
	e.gate.Set(agent(4), GiB, 3*GiB)
	for _, tc := range []struct {
		url, want string
	}{
		{srv.URL + "/announce/unknownkey?" + announceQuery(ih(1), pid(9), 7009, 0, ""), "unknown passkey: register with `pbts register`"},
		{srv.URL + "/announce/" + pk(1) + "?" + announceQuery(ih(99), pid(1), 7001, 0, ""), "torrent not in the PBTS catalog"},
		{srv.URL + "/announce/" + pk(4) + "?" + announceQuery(ih(1), pid(4), 7004, 2*GiB, ""),
			"insufficient ratio: uploaded 1.0 GiB, downloaded 3.0 GiB + 2.0 GiB left; need uploaded/(downloaded+left) >= 0.50; seed to earn credit"},
		{srv.URL + "/announce/" + pk(1) + "?info_hash=abc", "malformed request: info_hash must be 20 bytes, got 3"},
		{srv.URL + "/scrape/" + pk(1), "scrape needs at least one info_hash"},
	} {
		v := get(t, tc.url)
		if r, _ := v["failure reason"].(string); !strings.HasPrefix(r, tc.want) || len(v) != 1 {
			t.Errorf("GET %s: %v, want failure reason %q", redact(tc.url), v, tc.want)
		}
	}
}

func raw[T bt.InfoHash | bt.PeerID](v T) string { return string(v[:]) }
