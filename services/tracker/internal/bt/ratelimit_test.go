package bt_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

func refusedByLimit(body string) bool {
	return strings.Contains(body, "too many requests from your address")
}

// A client announcing faster than its bucket allows is refused with a
// failure reason (HTTP 200, as every refusal) without reaching the logic;
// other addresses of its IPv6 /64 share its bucket, other clients do not,
// and loopback is exempt by default.
func TestAnnounceRateLimit(t *testing.T) {
	cfg := bt.DefaultConfig()
	cfg.AnnounceRate, cfg.AnnounceBurst = 0.001, 5 // no refill within the test
	logic := &fakeLogic{}
	h := newHandler(t, logic, cfg, nil)
	for i := range 5 {
		if w := serve(h, "GET", announceURL(""), "198.51.100.1:5000", nil); refusedByLimit(w.Body.String()) {
			t.Fatalf("announce %d within the burst refused: %q", i, w.Body.String())
		}
	}
	w := serve(h, "GET", announceURL(""), "198.51.100.1:5001", nil)
	if w.Code != http.StatusOK || !refusedByLimit(w.Body.String()) || !strings.HasPrefix(w.Body.String(), "d14:failure reason") {
		t.Fatalf("6th announce: %d %q; want 200 and the rate limit's failure reason", w.Code, w.Body.String())
	}
	if len(logic.announces) != 5 {
		t.Errorf("logic saw %d announces; want the 5 allowed", len(logic.announces))
	}
	if w := serve(h, "GET", "/scrape/"+passkey+"?info_hash="+url.QueryEscape(string(ih1[:])), "198.51.100.1:5002", nil); !refusedByLimit(w.Body.String()) {
		t.Errorf("scrape over the limit: %q; want refused as well", w.Body.String())
	}
	if w := serve(h, "GET", announceURL(""), "198.51.100.2:5000", nil); refusedByLimit(w.Body.String()) {
		t.Errorf("another IPv4 client refused: %q", w.Body.String())
	}
	// One IPv6 subscriber (a /64) is one client however many addresses it uses.
	for i := range 5 {
		serve(h, "GET", announceURL(""), fmt.Sprintf("[2001:db8:1:2::%x]:5000", i+1), nil)
	}
	if w := serve(h, "GET", announceURL(""), "[2001:db8:1:2:ffff::9]:5000", nil); !refusedByLimit(w.Body.String()) {
		t.Errorf("6th announce from the same /64: %q; want refused", w.Body.String())
	}
	if w := serve(h, "GET", announceURL(""), "[2001:db8:1:3::1]:5000", nil); refusedByLimit(w.Body.String()) {
		t.Errorf("another /64 refused: %q", w.Body.String())
	}
	for range 20 {
		if w := serve(h, "GET", announceURL(""), "127.0.0.1:5000", nil); refusedByLimit(w.Body.String()) {
			t.Fatalf("loopback refused although exempt: %q", w.Body.String())
		}
	}
	if st := h.Stats(); st.RateLimited != 3 {
		t.Errorf("RateLimited = %d; want 3", st.RateLimited)
	}

	// Behind a trusted proxy the forwarded client is counted, not the proxy.
	pcfg := cfg
	pcfg.RealIPHeader, pcfg.TrustedProxies = "X-Real-IP", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	ph := newHandler(t, &fakeLogic{}, pcfg, nil)
	for i := range 20 {
		hdr := http.Header{"X-Real-Ip": {fmt.Sprintf("203.0.113.%d", i+1)}}
		if w := serve(ph, "GET", announceURL(""), "10.0.0.2:5000", hdr); refusedByLimit(w.Body.String()) {
			t.Fatalf("client %d behind the proxy refused: %q", i, w.Body.String())
		}
	}
}

// The bucket refills at the configured rate, and no limit at 0.
func TestAnnounceRateLimitRefills(t *testing.T) {
	cfg := bt.DefaultConfig()
	cfg.AnnounceRate, cfg.AnnounceBurst = 4, 1
	h := newHandler(t, &fakeLogic{}, cfg, nil)
	serve(h, "GET", announceURL(""), "198.51.100.1:5000", nil)
	start := time.Now()
	if w := serve(h, "GET", announceURL(""), "198.51.100.1:5000", nil); !refusedByLimit(w.Body.String()) {
		t.Fatalf("second announce at once: %q; want refused", w.Body.String())
	}
	for {
		w := serve(h, "GET", announceURL(""), "198.51.100.1:5000", nil)
		if !refusedByLimit(w.Body.String()) {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("the bucket did not refill within 5s at 4/s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("refilled after %v; want about 250ms at 4/s", d)
	}

	cfg.AnnounceRate = 0
	off := newHandler(t, &fakeLogic{}, cfg, nil)
	for range 1000 {
		if w := serve(off, "GET", announceURL(""), "198.51.100.1:5000", nil); refusedByLimit(w.Body.String()) {
			t.Fatal("refused with the limit off")
		}
	}
}

// Announcing from very many addresses keeps the limiter's memory bounded
// (it forgets clients past RateLimitClients) and still limits a client
// that floods (its bucket stays while it is not full).
func TestAnnounceRateLimitBounded(t *testing.T) {
	cfg := bt.DefaultConfig()
	cfg.AnnounceRate, cfg.AnnounceBurst, cfg.RateLimitClients = 0.001, 2, 64
	h := newHandler(t, &fakeLogic{}, cfg, nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				serve(h, "GET", announceURL(""), fmt.Sprintf("10.%d.%d.%d:5000", g, i>>8, i&255), nil)
			}
		}()
	}
	wg.Wait()
	if st := h.Stats(); st.Announces != 20000 || st.RateLimited != 0 {
		t.Errorf("stats %+v; want 20000 announces, none limited (each address announced once)", st)
	}
	if n := h.LimitedClients(); n > 64+64 {
		t.Errorf("limiter remembers %d clients; want at most about 64", n)
	}
}
