package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func (h *harness) registered(tracker string) {
	h.t.Helper()
	h.mustRun(testPrivHex+"\n", "key", "import", "--light")
	st := agentState{Address: testAddr, Tracker: tracker, Passkey: "0123456789abcdef0123456789abcdef", AnnounceURL: "http://x/announce/0123456789abcdef0123456789abcdef"}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(h.home, ".pbts", "agent.json"), b, 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func TestGetErrorsAPersonUnderstands(t *testing.T) {
	ih := "0x" + strings.Repeat("ab", 20)

	// Not registered: no passkey stored.
	h := newHarness(t)
	h.mustRun(testPrivHex+"\n", "key", "import", "--light")
	code, out, _ := h.run("", "get", ih, "--out", t.TempDir(), "--json")
	if code != 1 || errKind(t, out) != "unregistered" {
		t.Fatalf("unregistered: %d %s", code, out)
	}

	// The ratio gate's refusal (PermissionDenied with the figures) is checked
	// against the real tracker in e2e/cli_test.go.

	// Tracker unreachable.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	h = newHarness(t)
	h.env["PBTS_TRACKER"] = dead
	h.registered(dead)
	code, out, _ = h.run("", "get", ih, "--out", t.TempDir(), "--json", "--timeout", "3s")
	if code != 1 || errKind(t, out) != "tracker_unreachable" {
		t.Fatalf("unreachable: %d %s", code, out)
	}
}

func TestTallySumsPerPeerAndTakesOnce(t *testing.T) {
	tl := &tally{pieces: map[int]map[peerKey]peerBytes{}}
	a, b := peerKey{id: [20]byte{1}}, peerKey{id: [20]byte{2}}
	tl.add(3, a, nil, 16384)
	tl.add(3, b, nil, 16384)
	tl.add(3, a, nil, 16384)
	tl.add(4, a, nil, 100)
	m := tl.take(3)
	if m[a].n != 32768 || m[b].n != 16384 || len(m) != 2 || len(tl.take(3)) != 0 || tl.take(4)[a].n != 100 {
		t.Fatalf("tally %v", m)
	}
}
