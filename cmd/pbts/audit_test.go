package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// fakeReceipts serves ListReceipts (by batch or by agent) from memory, two
// records a page so that the audit's paging is exercised. The receipts
// service itself is tested against Postgres in its module; e2e/audit_test.go
// runs the audit against the real services.
type fakeReceipts struct {
	pbtsv1.UnimplementedReceiptServiceServer
	mu      sync.Mutex
	batches map[uint64][]*pbtsv1.ReceiptRecord
}

func (f *fakeReceipts) ListReceipts(_ context.Context, req *pbtsv1.ListReceiptsRequest, _ ...grpc.CallOption) (*pbtsv1.ListReceiptsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []*pbtsv1.ReceiptRecord
	ids := make([]uint64, 0, len(f.batches))
	for id := range f.batches {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if req.GetBatchId() != 0 && id != req.GetBatchId() {
			continue
		}
		for _, r := range f.batches[id] {
			if a := req.GetAgent(); a != "" && !strings.EqualFold(a, r.Receipt.Sender) && !strings.EqualFold(a, r.Receipt.Receiver) {
				continue
			}
			all = append(all, r)
		}
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		start, _ = strconv.Atoi(tok)
	}
	end := min(start+2, len(all))
	resp := &pbtsv1.ListReceiptsResponse{Records: all[start:end]}
	if end < len(all) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// serverAdapter exposes the fake as a gRPC server (its method set lacks the
// variadic options).
type serverAdapter struct{ *fakeReceipts }

func (s serverAdapter) ListReceipts(ctx context.Context, req *pbtsv1.ListReceiptsRequest) (*pbtsv1.ListReceiptsResponse, error) {
	return s.fakeReceipts.ListReceipts(ctx, req)
}

type auditChain struct {
	t  *testing.T
	c  *anviltest.Chain
	d  chain.Deployment
	rs *fakeReceipts
}

func (ac *auditChain) domain() receipt.Domain {
	return receipt.Domain{ChainID: ac.d.ChainID, Tracker: ac.d.Tracker}
}

func transact(t *testing.T, c *anviltest.Chain, to common.Address, data []byte) *types.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := bind.NewKeyedTransactor(anviltest.Key(0), big.NewInt(31337))
	opts.Context = ctx
	tx, err := bind.Transact(auditABI.Instance(c.Client, to), opts, data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := bind.WaitMined(ctx, c.Client, tx.Hash())
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("tx %s: %v %v", tx.Hash(), r, err)
	}
	return r
}

type testReceipt struct {
	from common.Address
	to   *ecdsa.PrivateKey
	size uint32
}

// settle records the receipts as batch id in the fake service and settles
// id on chain with root and deltas (nil: the receipts' own).
func (ac *auditChain) settle(id uint64, rs []testReceipt, root *common.Hash, agents []common.Address, up, down []int64) {
	t := ac.t
	t.Helper()
	var (
		recs    []*pbtsv1.ReceiptRecord
		digests [][32]byte
		deltas  = map[common.Address][2]int64{}
	)
	for i, tr := range rs {
		r := receipt.Receipt{
			InfoHash: [32]byte{0xab, byte(id)}, Sender: tr.from, Receiver: crypto.PubkeyToAddress(tr.to.PublicKey),
			PieceHash: [32]byte{byte(i)}, PieceIndex: uint32(i), PieceSize: tr.size, Timestamp: 1_700_000_000 + uint64(i),
		}
		sig, err := receipt.Sign(ac.domain(), r, tr.to)
		if err != nil {
			t.Fatal(err)
		}
		dg := receipt.Digest(ac.domain(), r)
		digests = append(digests, dg)
		recs = append(recs, &pbtsv1.ReceiptRecord{
			Receipt: &pbtsv1.Receipt{
				InfoHash: hexBytes(r.InfoHash[:]), Sender: r.Sender.Hex(), Receiver: r.Receiver.Hex(), PieceHash: hexBytes(r.PieceHash[:]),
				PieceIndex: r.PieceIndex, PieceSize: r.PieceSize, Timestamp: r.Timestamp, Signature: sig.Hex(),
			},
			Digest: hexBytes(dg[:]), State: pbtsv1.SettlementState_SETTLEMENT_STATE_SETTLED, BatchId: id,
		})
		s, d := deltas[r.Sender], deltas[r.Receiver]
		s[0] += int64(r.PieceSize)
		d[1] += int64(r.PieceSize)
		deltas[r.Sender], deltas[r.Receiver] = s, d
	}
	ac.rs.mu.Lock()
	ac.rs.batches[id] = recs
	ac.rs.mu.Unlock()
	if root == nil {
		rt, err := receipt.MerkleRoot(digests)
		if err != nil {
			t.Fatal(err)
		}
		h := common.Hash(rt)
		root = &h
	}
	if agents == nil {
		for a := range deltas {
			agents = append(agents, a)
		}
		slices.SortFunc(agents, func(a, b common.Address) int { return a.Cmp(b) })
		for _, a := range agents {
			up, down = append(up, deltas[a][0]), append(down, deltas[a][1])
		}
	}
	bigs := func(v []int64) []*big.Int {
		out := make([]*big.Int, len(v))
		for i, x := range v {
			out[i] = big.NewInt(x)
		}
		return out
	}
	transact(t, ac.c, ac.d.Tracker, auditABI.PackSettle(new(big.Int).SetUint64(id), *root, agents, bigs(up), bigs(down)))
}

func (ac *auditChain) audit(agent *common.Address) *auditReport {
	ac.t.Helper()
	au := &auditor{eth: ac.c.Client, rc: ac.rs, domain: ac.domain(), agent: agent, timeout: 30 * time.Second, from: -1, rpcURL: ac.c.URL, recAddr: "fake"}
	rep, err := au.run(context.Background())
	if err != nil {
		ac.t.Fatalf("audit: %v", err)
	}
	return rep
}

func hasProblem(rep *auditReport, batch uint64, agent common.Address, check, expected, found string) bool {
	for _, p := range rep.Problems {
		if p.Batch == batch && (agent == common.Address{} || p.Agent == agent.Hex()) && p.Check == check &&
			(expected == "" || p.Expected == expected) && (found == "" || p.Found == found) {
			return true
		}
	}
	return false
}

func agentOf(rep *auditReport, a common.Address) *auditAgent {
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
	transact(t, c, old.Tracker, auditABI.PackRegisterBatch([]common.Address{x, w}))
	transact(t, c, old.Tracker, auditABI.PackSettle(big.NewInt(1), common.Hash{1}, []common.Address{x}, []*big.Int{big.NewInt(500)}, []*big.Int{big.NewInt(0)}))

	// The tracker under audit names it as referrer.
	d, err := chain.Deploy(ctx, c.Client, anviltest.Key(0), chain.DeployParams{InitialCredit: 2000, Referrer: old.Tracker, Factory: old.Factory})
	if err != nil {
		t.Fatal(err)
	}
	ac := &auditChain{t: t, c: c, d: d, rs: &fakeReceipts{batches: map[uint64][]*pbtsv1.ReceiptRecord{}}}
	// Y is fresh (credit 2000), W is imported at registration, X at its first settle.
	transact(t, c, d.Tracker, auditABI.PackRegisterBatch([]common.Address{y, w}))
	ac.settle(1, []testReceipt{{x, keys[2], 300}, {x, keys[2], 200}, {w, keys[2], 100}}, nil, nil, nil, nil)

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
	ac.settle(2, []testReceipt{{y, keys[0], 50}}, nil, []common.Address{x, y}, []int64{0, 60}, []int64{50, 0})
	// Batch 3 has the right deltas but another root.
	ac.settle(3, []testReceipt{{w, keys[0], 70}}, &common.Hash{0xee}, nil, nil, nil)
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
		{3, common.Address{}, "root", "", hexBytes(common.Hash{0xee}.Bytes())},
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
	ac.rs.mu.Lock()
	ac.rs.batches[1][1].Receipt.PieceSize = 201
	ac.rs.mu.Unlock()
	rep = ac.audit(&x)
	if rep.OK || !hasProblem(rep, 1, common.Address{}, "signature", y.Hex(), "") || !hasProblem(rep, 1, common.Address{}, "digest", "", "") ||
		!hasProblem(rep, 1, common.Address{}, "root", "", "") || !hasProblem(rep, 1, x, "upload_delta", "300", "500") {
		t.Fatalf("tampered receipt: %+v", rep.Problems)
	}
}

// TestAuditCommand runs `pbts audit` in-process against anvil and the fake
// receipts service over gRPC: text and --json output, exit codes.
func TestAuditCommand(t *testing.T) {
	ctx := context.Background()
	c := anviltest.Start(t)
	d, err := chain.Deploy(ctx, c.Client, anviltest.Key(0), chain.DeployParams{InitialCredit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rs := &fakeReceipts{batches: map[uint64][]*pbtsv1.ReceiptRecord{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pbtsv1.RegisterReceiptServiceServer(srv, serverAdapter{rs})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	a, b := make([]*ecdsa.PrivateKey, 2), []common.Address{}
	for i := range a {
		a[i], _ = crypto.GenerateKey()
		b = append(b, crypto.PubkeyToAddress(a[i].PublicKey))
	}
	transact(t, c, d.Tracker, auditABI.PackRegisterBatch(b))
	ac := &auditChain{t: t, c: c, d: d, rs: rs}
	ac.settle(1, []testReceipt{{b[0], a[1], 10}, {b[0], a[1], 20}}, nil, nil, nil, nil)

	h := newHarness(t)
	h.env["PBTS_TRACKER_CONTRACT"] = d.Tracker.Hex()
	h.env["PBTS_RPC_URL"] = c.URL
	h.env["PBTS_RECEIPTS"] = lis.Addr().String()
	out := h.mustRun("", "audit")
	if !strings.Contains(out, "batch 1: 2 receipts, root ok, 2 agents ok\n") || !strings.Contains(out, "audit ok: 1 batch (2 receipts) and 2 agent totals match") {
		t.Fatalf("audit output:\n%s", out)
	}
	out = h.mustRun("", "audit", "--agent", b[1].Hex())
	if !strings.Contains(out, fmt.Sprintf("agent %s (registered, 1 batch): expected up 1000, down 30; contract up 1000, down 30: matches the contract", b[1].Hex())) {
		t.Fatalf("audit --agent output:\n%s", out)
	}

	ac.settle(2, []testReceipt{{b[1], a[0], 5}}, nil, []common.Address{b[0], b[1]}, []int64{0, 5}, []int64{4, 0})
	code, out, errs := h.run("", "audit")
	if code != exitFail || !strings.Contains(out, "batch 2: 1 receipt, root ok, 1 of 2 agents ok — FAILED") ||
		!strings.Contains(out, fmt.Sprintf("batch 2, agent %s, download delta settled on chain differs from the receipts: expected 5, found 4", b[0].Hex())) ||
		!strings.HasPrefix(errs, "pbts: audit failed: ") {
		t.Fatalf("failing audit: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("pbts audit on a bad batch:\n%s%s", out, errs)
	code, out, _ = h.run("", "audit", "--json")
	rep := decode[auditReport](t, out)
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
