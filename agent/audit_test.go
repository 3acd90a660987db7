package agent_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/agent/audittest"
	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// auditChain audits a chain through the agent's API, the receipts served
// over gRPC.
type auditChain struct {
	audittest.Chain
	addr string
}

func (ac *auditChain) audit(who *common.Address) *agent.AuditReport {
	ac.T.Helper()
	if ac.addr == "" {
		ac.addr = ac.R.Serve(ac.T)
	}
	a, err := agent.Open(context.Background(), agent.Config{Home: ac.T.TempDir(), Tracker: "127.0.0.1:1", Receipts: ac.addr, Domain: ac.Domain(), Timeout: 30 * time.Second})
	if err != nil {
		ac.T.Fatal(err)
	}
	defer a.Close()
	opts := agent.AuditOptions{RPCURL: ac.C.URL}
	if who != nil {
		opts.Agent = *who
	}
	rep, err := a.Audit(context.Background(), opts)
	if err != nil {
		ac.T.Fatalf("audit: %v", err)
	}
	return rep
}

func hasProblem(rep *agent.AuditReport, batch uint64, agent common.Address, check, expected, found string) bool {
	for _, p := range rep.Problems {
		if p.Batch == batch && (agent == common.Address{} || p.Agent == agent.Hex()) && p.Check == check &&
			(expected == "" || p.Expected == expected) && (found == "" || p.Found == found) {
			return true
		}
	}
	return false
}

func agentOf(rep *agent.AuditReport, a common.Address) *agent.AuditAgent {
	for i := range rep.Agents {
		if rep.Agents[i].Address == a.Hex() {
			return &rep.Agents[i]
		}
	}
	return nil
}

// TestAuditAgainstAnvil settles batches on a real chain (anvil), some of
// them wrong, and checks what the audit finds: agents imported from a
// referrer, a wrong delta, a wrong root, a tampered receipt, --agent.
func TestAuditAgainstAnvil(t *testing.T) {
	ctx := context.Background()
	c := anviltest.Start(t)
	old, err := chain.Deploy(ctx, c.Client, anviltest.Key(0), chain.DeployParams{InitialCredit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]*ecdsa.PrivateKey, 4)
	for i := range keys {
		keys[i], _ = crypto.GenerateKey()
	}
	addr := func(i int) common.Address { return crypto.PubkeyToAddress(keys[i].PublicKey) }
	x, w, y, z := addr(0), addr(1), addr(2), addr(3)
	// On the referrer: X and W registered, X credited 500 more.
	audittest.Transact(t, c, old.Tracker, audittest.ABI.PackRegisterBatch([]common.Address{x, w}))
	audittest.Transact(t, c, old.Tracker, audittest.ABI.PackSettle(big.NewInt(1), common.Hash{1}, []common.Address{x}, []*big.Int{big.NewInt(500)}, []*big.Int{big.NewInt(0)}))

	// The tracker under audit names it as referrer.
	d, err := chain.Deploy(ctx, c.Client, anviltest.Key(0), chain.DeployParams{InitialCredit: 2000, Referrer: old.Tracker, Factory: old.Factory})
	if err != nil {
		t.Fatal(err)
	}
	ac := &auditChain{Chain: audittest.Chain{T: t, C: c, D: d, R: audittest.NewReceipts()}}
	// Y is fresh (credit 2000), W is imported at registration, X at its first settle.
	audittest.Transact(t, c, d.Tracker, audittest.ABI.PackRegisterBatch([]common.Address{y, w}))
	ac.Settle(1, []audittest.Receipt{{From: x, To: keys[2], Size: 300}, {From: x, To: keys[2], Size: 200}, {From: w, To: keys[2], Size: 100}}, nil, nil, nil, nil)

	rep := ac.audit(nil)
	if !rep.OK || rep.BatchesAudited != 1 || rep.ReceiptsChecked != 3 || len(rep.Batches) != 1 || !rep.Batches[0].RootOK || rep.Batches[0].Agents != 3 {
		t.Fatalf("clean audit: %+v", rep)
	}
	if rep.FromBlockSource != "deployment" || rep.FromBlock != d.Block {
		t.Fatalf("from block %d (%s), deployed at %d", rep.FromBlock, rep.FromBlockSource, d.Block)
	}
	for _, want := range []struct {
		a        common.Address
		source   string
		up, down int64
	}{{x, "imported", 2000, 0}, {w, "imported", 1100, 0}, {y, "registered", 2000, 600}} {
		g := agentOf(rep, want.a)
		if g == nil || !g.OK || g.Source != want.source || g.ExpectedUpload.Int64() != want.up || g.ExpectedDownload.Int64() != want.down {
			t.Fatalf("agent %s: %+v; want %+v", want.a, g, want)
		}
	}

	// Batch 2 credits Y 60 bytes for a 50-byte receipt.
	ac.Settle(2, []audittest.Receipt{{From: y, To: keys[0], Size: 50}}, nil, []common.Address{x, y}, []int64{0, 60}, []int64{50, 0})
	// Batch 3 has the right deltas but another root.
	ac.Settle(3, []audittest.Receipt{{From: w, To: keys[0], Size: 70}}, &common.Hash{0xee}, nil, nil, nil)
	rep = ac.audit(nil)
	if rep.OK {
		t.Fatal("audit passed over a wrong delta and a wrong root")
	}
	for _, want := range []struct {
		batch           uint64
		agent           common.Address
		check, exp, got string
	}{
		{2, y, "upload_delta", "50", "60"},
		{2, common.Address{}, "total_upload", "50", "60"},
		{0, y, "upload_total", "2050", "2060"},
		{3, common.Address{}, "root", "", common.Hash{0xee}.Hex()},
	} {
		if !hasProblem(rep, want.batch, want.agent, want.check, want.exp, want.got) {
			t.Errorf("no %s problem for batch %d agent %s (%s vs %s) in %+v", want.check, want.batch, want.agent, want.exp, want.got, rep.Problems)
		}
	}
	if !rep.Batches[0].OK || rep.Batches[1].OK || rep.Batches[2].OK || rep.Batches[2].RootOK || !rep.Batches[1].RootOK {
		t.Fatalf("batch verdicts: %+v", rep.Batches)
	}

	// --agent: W is in batches 1 and 3 (bad root); Z is unknown here.
	rep = ac.audit(&w)
	if rep.OK || rep.BatchesAudited != 2 || len(rep.Agents) != 1 || !rep.Agents[0].OK || rep.Agents[0].ExpectedUpload.Int64() != 1170 {
		t.Fatalf("--agent W: %+v", rep)
	}
	rep = ac.audit(&z)
	if !rep.OK || rep.BatchesAudited != 0 || len(rep.Agents) != 1 || rep.Agents[0].ContractKnown || !strings.Contains(rep.Agents[0].Note, "no referrer") &&
		!strings.Contains(rep.Agents[0].Note, old.Tracker.Hex()) {
		t.Fatalf("--agent Z: %+v", rep)
	}

	// A receipt of batch 1 served with other bytes than were signed.
	ac.R.Update(1, 1, func(r *pbtsv1.ReceiptRecord) { r.Receipt.PieceSize = 201 })
	rep = ac.audit(&x)
	if rep.OK || !hasProblem(rep, 1, common.Address{}, "signature", y.Hex(), "") || !hasProblem(rep, 1, common.Address{}, "digest", "", "") ||
		!hasProblem(rep, 1, common.Address{}, "root", "", "") || !hasProblem(rep, 1, x, "upload_delta", "300", "500") {
		t.Fatalf("tampered receipt: %+v", rep.Problems)
	}
}
