package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

type gateTracker struct {
	pbtsv1.UnimplementedDatasetServiceServer
}

func (gateTracker) GetTorrent(context.Context, *pbtsv1.GetTorrentRequest) (*httpbody.HttpBody, error) {
	return nil, status.Error(codes.PermissionDenied, "ratio 0.100 is below 0.500 after this download (settled up 1 MiB, down 10 MiB)")
}

func fakeTracker(t *testing.T, srv pbtsv1.DatasetServiceServer) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	pbtsv1.RegisterDatasetServiceServer(g, srv)
	go g.Serve(l)
	t.Cleanup(g.Stop)
	return l.Addr().String()
}

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

	// The ratio gate refuses: the figures are shown.
	h = newHarness(t)
	addr := fakeTracker(t, gateTracker{})
	h.env["PBTS_TRACKER"] = addr
	h.registered(addr)
	code, out, _ = h.run("", "get", ih, "--out", t.TempDir(), "--json")
	if code != 1 || errKind(t, out) != "insufficient_ratio" || !strings.Contains(out, "settled up 1 MiB, down 10 MiB") {
		t.Fatalf("ratio gate: %d %s", code, out)
	}
	_, _, errs := h.run("", "get", ih, "--out", t.TempDir())
	if !strings.HasPrefix(errs, "pbts: the tracker refuses this download (ratio gate): ratio 0.100") {
		t.Fatalf("ratio gate text: %s", errs)
	}

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

func TestTallyCapsAndDiscards(t *testing.T) {
	tl := &tally{pieces: map[int]map[peerKey]int64{}}
	a, b := peerKey{id: [20]byte{1}}, peerKey{id: [20]byte{2}}
	tl.add(3, a, 16384)
	tl.add(3, b, 16384)
	tl.add(3, a, 16384)
	m := tl.take(3)
	if m[a] != 32768 || m[b] != 16384 || len(tl.take(3)) != 0 {
		t.Fatalf("tally %v", m)
	}
}
