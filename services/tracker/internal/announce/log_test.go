package announce_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/testkit"
)

// logServer serves e's tracker through a Handler logging to a buffer at lvl.
func (e *env) logServer(lvl slog.Level, every int) (string, *testkit.Buffer) {
	var buf testkit.Buffer
	cfg := bt.DefaultConfig()
	cfg.AnnounceLogEvery = every
	h, err := bt.NewHandler(e.tracker, cfg, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: lvl})))
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	e.t.Cleanup(srv.Close)
	return srv.URL, &buf
}

// At debug level every announce is logged with the agent, info hash,
// event, left, client key and outcome (verified, fast path and refused
// alike), and the passkey never.
func TestAnnounceLogDebug(t *testing.T) {
	e := newEnv(t, nil)
	url, buf := e.logServer(slog.LevelDebug, 0)
	get(t, url+"/announce/"+pk(7)+"?"+announceQuery(ih(1), pid(7), 7007, 0, "event=started")) // verified
	get(t, url+"/announce/"+pk(7)+"?"+announceQuery(ih(1), pid(7), 7007, 0, ""))              // fast path
	get(t, url+"/announce/"+pk(999)+"?"+announceQuery(ih(1), pid(9), 7009, 5, ""))            // unknown passkey
	out := buf.String()
	lines := strings.Count(out, "msg=announce ")
	if lines != 3 {
		t.Fatalf("%d announce lines; want 3:\n%s", lines, out)
	}
	for _, want := range []string{
		"agent=" + agent(7).String(), "info_hash=" + ih(1).String(), "event=started", "left=0",
		"client=127.0.0.1", "peer_client=-TE0001-", "outcome=ok", `outcome="unknown passkey`, "left=5",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "agent="+agent(7).String()) != 2 {
		t.Errorf("the fast-path announce does not name its agent:\n%s", out)
	}
	for _, secret := range []string{pk(7), pk(999), "passkey0"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows a passkey %q:\n%s", secret, out)
		}
	}
}

// At info level one announce in AnnounceLogEvery is logged; 0 logs none.
func TestAnnounceLogSampled(t *testing.T) {
	for _, tc := range []struct{ every, want int }{{3, 3}, {0, 0}, {1, 9}} {
		e := newEnv(t, nil)
		url, buf := e.logServer(slog.LevelInfo, tc.every)
		for n := 1; n <= 9; n++ {
			get(t, url+"/announce/"+pk(n)+"?"+announceQuery(ih(1), pid(n), 7000+n, 0, ""))
		}
		out := buf.String()
		if got := strings.Count(out, "level=INFO msg=announce "); got != tc.want {
			t.Errorf("every %d: %d announce lines; want %d:\n%s", tc.every, got, tc.want, out)
		}
		if strings.Contains(out, "passkey0") {
			t.Errorf("the log shows a passkey:\n%s", out)
		}
	}
}
