package agent_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/server/tlstest"
)

// TestDownloadOverTLS runs the tracker and the receipts service with TLS
// and mutual TLS on gRPC (--tls-cert, --tls-key, --tls-ca): two agents
// with client certificates register at grpcs:// addresses, are handed
// https announce URLs, and one downloads the other's dataset over
// BitTorrent with every receipt accepted. An agent without a client
// certificate gets nowhere, and the announce port answers nothing in clear,
// so a passkey never crosses the wire unencrypted.
func TestDownloadOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the stack")
	}
	ca := tlstest.NewCA(t, "pbts-stack")
	svc := ca.Issue("services")
	st := startExampleStackWith(&agent.TLSFiles{CA: ca.CertFile, Cert: svc.CertFile, Key: svc.KeyFile})
	defer st.Stop()
	if !strings.HasPrefix(st.Tracker, "grpcs://") || !strings.HasPrefix(st.Receipts, "grpcs://") {
		t.Fatalf("services at %s and %s, want grpcs://", st.Tracker, st.Receipts)
	}
	mine := ca.Issue("agents")
	st.agentTLS = agent.TLSFiles{CA: ca.CertFile, Cert: mine.CertFile, Key: mine.KeyFile}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice := stackAgent(t, ctx, st, "alice", 0)
	bob := stackAgent(t, ctx, st, "bob", 0)

	var state agent.State
	b, err := os.ReadFile(agent.StateFile(filepath.Join(st.dir, "bob")))
	if err == nil {
		err = json.Unmarshal(b, &state)
	}
	if err != nil || !strings.HasPrefix(state.AnnounceURL, "https://") {
		t.Fatalf("bob's announce URL %q (%v), want https://", state.AnnounceURL, err)
	}
	// The announce port speaks TLS only: a plaintext announce (the passkey
	// in clear) gets no tracker answer.
	plain := "http://" + strings.TrimPrefix(state.AnnounceURL, "https://")
	c := http.Client{Timeout: 10 * time.Second}
	if resp, err := c.Get(plain + "?info_hash=x"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plaintext announce answered 200")
		}
	}
	// A TLS client that trusts the CA reaches it.
	tc := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}}
	resp, err := tc.Get(state.AnnounceURL + "?info_hash=x")
	if err != nil {
		t.Fatalf("https announce: %v", err)
	}
	resp.Body.Close()

	const size, pieces = 2 << 20, 8
	ih, stop := publishAndSeed(t, ctx, st, alice, "over-tls", size, nil)
	waitSeeded(t, ctx, bob, "over-tls")
	got, err := bob.Get(ctx, ih, agent.GetOptions{Out: filepath.Join(st.dir, "out"), SubmitWait: time.Minute})
	if err != nil {
		t.Fatalf("get over TLS: %v", err)
	}
	if !got.Verified || got.ReceiptsSigned != pieces || got.ReceiptsAccepted != pieces || got.ReceiptsUnsent != 0 {
		t.Fatalf("get over TLS: %+v, want %d receipts signed and accepted", got, pieces)
	}
	if stats := stop(); stats == nil || stats.HandedTotal != pieces || stats.HandedRefused != 0 {
		t.Fatalf("seeder's stop report %+v, want %d receipts handed over, none refused", stats, pieces)
	}

	// Without a client certificate the services refuse the agent.
	key, _ := crypto.GenerateKey()
	stranger, err := agent.Open(ctx, agent.Config{Home: t.TempDir(), Key: key, Tracker: st.Tracker, Receipts: st.Receipts,
		Domain: st.Domain, TLSCA: ca.CertFile, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if _, err := stranger.Register(ctx); err == nil {
		t.Fatal("an agent without a client certificate registered at a mutual-TLS tracker")
	}
}
