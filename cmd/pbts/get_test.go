package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/testkit"
)

func (h *harness) registered(tracker string) {
	h.t.Helper()
	h.mustRun(testPrivHex+"\n", "key", "import", "--light")
	st := agent.State{Address: testAddr, Tracker: tracker, Passkey: "0123456789abcdef0123456789abcdef", AnnounceURL: "http://x/announce/0123456789abcdef0123456789abcdef"}
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
	dead := testkit.ClosedAddr
	h = newHarness(t)
	h.env["PBTS_TRACKER"] = dead
	h.registered(dead)
	code, out, _ = h.run("", "get", ih, "--out", t.TempDir(), "--json", "--timeout", "3s")
	if code != 1 || errKind(t, out) != "tracker_unreachable" {
		t.Fatalf("unreachable: %d %s", code, out)
	}
}
