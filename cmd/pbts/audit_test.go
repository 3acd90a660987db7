package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent/audittest"
	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
)

// TestAuditCommand runs `pbts audit` in-process against anvil and the fake
// receipts service over gRPC: text and --json output, exit codes.
func TestAuditCommand(t *testing.T) {
	ctx := context.Background()
	c := anviltest.Start(t)
	d, err := chain.Deploy(ctx, c.Client, anviltest.Key(0), chain.DeployParams{InitialCredit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rs := audittest.NewReceipts()
	recAddr := rs.Serve(t)

	a, b := make([]*ecdsa.PrivateKey, 2), []common.Address{}
	for i := range a {
		a[i], _ = crypto.GenerateKey()
		b = append(b, crypto.PubkeyToAddress(a[i].PublicKey))
	}
	audittest.Transact(t, c, d.Tracker, audittest.ABI.PackRegisterBatch(b))
	ac := &audittest.Chain{T: t, C: c, D: d, R: rs}
	ac.Settle(1, []audittest.Receipt{{From: b[0], To: a[1], Size: 10}, {From: b[0], To: a[1], Size: 20}}, nil, nil, nil, nil)

	h := newHarness(t)
	h.env["PBTS_TRACKER_CONTRACT"] = d.Tracker.Hex()
	h.env["PBTS_RPC_URL"] = c.URL
	h.env["PBTS_RECEIPTS"] = recAddr
	out := h.mustRun("", "audit")
	if !strings.Contains(out, "batch 1: 2 receipts, root ok, 2 agents ok\n") || !strings.Contains(out, "audit ok: 1 batch (2 receipts) and 2 agent totals match") {
		t.Fatalf("audit output:\n%s", out)
	}
	// The deployment record names where to start: its block, not genesis
	// (nor a bisection); a record of another contract is not used.
	rec := filepath.Join(t.TempDir(), "contracts.json")
	writeRecord := func(dep chain.Deployment) {
		js, _ := json.Marshal(dep)
		if err := os.WriteFile(rec, js, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeRecord(d)
	h.env["PBTS_CONTRACTS"] = rec
	rep0 := decode[auditOutput](t, h.mustRun("", "audit", "--json"))
	if rep0.FromBlock != d.Block || rep0.FromBlockSource != rec || !rep0.OK {
		t.Fatalf("audit with a deployment record at block %d: from block %d (%s), ok %v", d.Block, rep0.FromBlock, rep0.FromBlockSource, rep0.OK)
	}
	other := d
	other.Tracker, other.Block = common.Address{1}, 1
	writeRecord(other)
	if rep0 = decode[auditOutput](t, h.mustRun("", "audit", "--json")); rep0.FromBlockSource == rec {
		t.Fatalf("a record of another contract was used: %+v", rep0.AuditReport)
	}
	delete(h.env, "PBTS_CONTRACTS")
	out = h.mustRun("", "audit", "--agent", b[1].Hex())
	if !strings.Contains(out, fmt.Sprintf("agent %s (registered, 1 batch): expected up 1000, down 30; contract up 1000, down 30: matches the contract", b[1].Hex())) {
		t.Fatalf("audit --agent output:\n%s", out)
	}

	ac.Settle(2, []audittest.Receipt{{From: b[1], To: a[0], Size: 5}}, nil, []common.Address{b[0], b[1]}, []int64{0, 5}, []int64{4, 0})
	code, out, errs := h.run("", "audit")
	if code != exitFail || !strings.Contains(out, "batch 2: 1 receipt, root ok, 1 of 2 agents ok — FAILED") ||
		!strings.Contains(out, fmt.Sprintf("batch 2, agent %s, download delta settled on chain differs from the receipts: expected 5, found 4", b[0].Hex())) ||
		!strings.HasPrefix(errs, "pbts: audit failed: ") {
		t.Fatalf("failing audit: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("pbts audit on a bad batch:\n%s%s", out, errs)
	code, out, _ = h.run("", "audit", "--json")
	rep := decode[auditOutput](t, out)
	if code != exitFail || rep.OK || rep.Error == nil || rep.Error.Kind != "audit_failed" || len(rep.Batches) != 2 || rep.ProblemCount == 0 {
		t.Fatalf("failing audit --json: exit %d\n%s", code, out)
	}
	code, out, _ = h.run("", "audit", "--json", "--agent", "0x123")
	if code != exitUsage || errKind(t, out) != "usage" {
		t.Fatalf("bad --agent: %d %s", code, out)
	}
	code, out, _ = h.run("", "audit", "--json", "--chain-id", "5")
	if code != exitFail || errKind(t, out) != "misconfigured" {
		t.Fatalf("wrong chain id: %d %s", code, out)
	}
}
