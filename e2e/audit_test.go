package e2e

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	gethcommon "github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/contracts/bindings"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// auditReport is the part of `pbts audit --json` the tests read.
type auditReport struct {
	OK              bool   `json:"ok"`
	LastBatchID     uint64 `json:"last_batch_id"`
	BatchesAudited  int    `json:"batches_audited"`
	ReceiptsChecked int    `json:"receipts_checked"`
	Batches         []struct {
		ID       uint64 `json:"batch_id"`
		Receipts int    `json:"receipts"`
		RootOK   bool   `json:"root_ok"`
		OK       bool   `json:"ok"`
	} `json:"batches"`
	Agents []struct {
		Address          string `json:"address"`
		Source           string `json:"source"`
		ExpectedUpload   uint64 `json:"expected_upload"`
		ExpectedDownload uint64 `json:"expected_download"`
		ContractUpload   uint64 `json:"contract_upload"`
		ContractDownload uint64 `json:"contract_download"`
		OK               bool   `json:"ok"`
	} `json:"agents"`
	Problems []struct {
		Batch    uint64 `json:"batch_id"`
		Agent    string `json:"agent"`
		Check    string `json:"check"`
		Expected string `json:"expected"`
		Found    string `json:"found"`
	} `json:"problems"`
	Error *struct{ Kind, Message string } `json:"error"`
}

func (r *auditReport) has(batch uint64, agent, check, expected, found string) bool {
	for _, p := range r.Problems {
		if p.Batch == batch && (agent == "" || p.Agent == agent) && p.Check == check &&
			(expected == "" || p.Expected == expected) && (found == "" || p.Found == found) {
			return true
		}
	}
	return false
}

// audit runs `pbts audit --json` and decodes its report.
func (c *pbtsCLI) audit(args ...string) (int, *auditReport, string) {
	c.t.Helper()
	code, out, errs := c.run("", append([]string{"audit", "--json"}, args...)...)
	var r auditReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		c.t.Fatalf("pbts audit --json %s: exit %d, bad JSON %v\n%s\n%s", strings.Join(args, " "), code, err, out, errs)
	}
	return code, &r, out
}

// keyedCLIAgent imports a fresh key into cli and registers it.
func keyedCLIAgent(t *testing.T, cli *pbtsCLI) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, _ := crypto.GenerateKey()
	if code, out, errs := cli.run(fmt.Sprintf("%x\n", crypto.FromECDSA(key)), "key", "import", "--light"); code != 0 {
		t.Fatalf("key import: %d %s %s", code, out, errs)
	}
	var reg struct {
		PasskeyStored bool `json:"passkey_stored"`
	}
	cli.json(&reg, "register")
	if !reg.PasskeyStored {
		t.Fatalf("register: %+v", reg)
	}
	return key, crypto.PubkeyToAddress(key.PublicKey).Hex()
}

// serviceEnv is the last value of k in a service's environment.
func serviceEnv(t *testing.T, s *service, k string) string {
	t.Helper()
	v := ""
	for _, kv := range s.Cmd.Env {
		if strings.HasPrefix(kv, k+"=") {
			v = strings.TrimPrefix(kv, k+"=")
		}
	}
	if v == "" {
		t.Fatalf("%s has no %s", s.Name, k)
	}
	return v
}

// TestAuditSettledTransferAndBadBatches: after a real transfer between two
// CLI agents has settled, `pbts audit` passes; it then names the batch
// when a receipt served by the receipts service no longer matches what was
// signed and settled, and when the tracker authority settles batches whose
// deltas or root do not match their receipts.
func TestAuditSettledTransferAndBadBatches(t *testing.T) {
	s := newStack(t, 64*MiB)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seederCLI, leechCLI := newCLI(t, s), newCLI(t, s)
	leechCLI.env = append(leechCLI.env, "PBTS_RECEIPTS="+s.Receipts.GRPCAddr)
	_, seederAddr := keyedCLIAgent(t, seederCLI)
	leechKey, leechAddr := keyedCLIAgent(t, leechCLI)
	bystander := s.register(t) // registered, in no batch

	// A real transfer: `pbts seed` serves, `pbts get` downloads and signs.
	const size = 2*MiB + 777
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(11, 12))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	src := filepath.Join(t.TempDir(), "audit-clip.wav")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	pubArgs := []string{"publish", src, "--name", "audit clip", "--modality", "audio", "--piece-length", fmt.Sprint(256 * KiB), "--no-seed"}
	var pub struct {
		InfoHash   string `json:"info_hash"`
		PieceCount int    `json:"piece_count"`
	}
	seederCLI.json(&pub, pubArgs...)
	seedOut := seederCLI.background("seed", "--listen", "127.0.0.1:0")
	waitUntil(t, ctx, "the seeder in the swarm", func() bool {
		d, err := s.Datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: pub.InfoHash})
		return strings.Contains(seedOut.String(), "seeding "+pub.InfoHash) && err == nil && d.Dataset.Seeders == 1
	})
	if code, out, errs := leechCLI.run("", "get", pub.InfoHash, "--out", t.TempDir(), "--listen", "127.0.0.1:0", "--json"); code != 0 {
		t.Fatalf("pbts get: exit %d\n%s\n%s", code, out, errs)
	}
	waitUntil(t, ctx, "settlement on chain", func() bool {
		l, err1 := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: leechAddr})
		u, err2 := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: seederAddr})
		b, err3 := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: bystander.Address()})
		return err1 == nil && err2 == nil && err3 == nil &&
			l.Agent.SettledDownloadBytes == size && l.Agent.PendingDownloadBytes == 0 &&
			u.Agent.SettledUploadBytes == 64*MiB+size && u.Agent.PendingUploadBytes == 0 &&
			b.Agent.ChainRegistration == pbtsv1.ChainRegistration_CHAIN_REGISTRATION_CONFIRMED
	})

	// The audit passes: text, --json and --agent.
	auditor := newCLI(t, s)
	auditor.env = append(auditor.env, "PBTS_RPC_URL="+s.Chain.URL, "PBTS_RECEIPTS="+s.Receipts.GRPCAddr)
	code, out, errs := auditor.run("", "audit")
	if code != 0 || !strings.Contains(out, "audit ok: ") || !regexp.MustCompile(`(?m)^batch 1: \d+ receipts?, root ok, 2 agents ok$`).MatchString(out) {
		t.Fatalf("audit after the transfer: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("pbts audit after the transfer:\n%s", out)
	code, rep, out := auditor.audit()
	if code != 0 || !rep.OK || rep.ReceiptsChecked != pub.PieceCount || rep.BatchesAudited != int(rep.LastBatchID) || rep.LastBatchID == 0 {
		t.Fatalf("audit --json after the transfer: exit %d\n%s", code, out)
	}
	want := map[string][2]uint64{seederAddr: {64*MiB + size, 0}, leechAddr: {64 * MiB, size}, bystander.Address(): {64 * MiB, 0}}
	for _, a := range rep.Agents {
		w, ok := want[a.Address]
		if !ok || !a.OK || a.Source != "registered" || a.ExpectedUpload != w[0] || a.ExpectedDownload != w[1] || a.ContractUpload != w[0] || a.ContractDownload != w[1] {
			t.Fatalf("agent totals %+v; want %v", a, want)
		}
		delete(want, a.Address)
	}
	if len(want) != 0 {
		t.Fatalf("agents missing from the audit: %v", want)
	}
	if code, rep, out := auditor.audit("--agent", leechAddr); code != 0 || !rep.OK || len(rep.Agents) != 1 || rep.Agents[0].ExpectedDownload != size {
		t.Fatalf("audit --agent: exit %d\n%s", code, out)
	}

	// 1. A settled receipt altered in the receipts database: its bytes no
	// longer match the signature, the batch's root or the settled deltas.
	db, err := pgx.Connect(ctx, serviceEnv(t, s.Receipts, "PBTS_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	var (
		rowID, batch int64
		pieceSize    int64
	)
	if err := db.QueryRow(ctx, `SELECT id, batch_id, piece_size FROM receipts WHERE batch_id IS NOT NULL ORDER BY id LIMIT 1`).Scan(&rowID, &batch, &pieceSize); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE receipts SET piece_size = piece_size - 1 WHERE id = $1`, rowID); err != nil {
		t.Fatal(err)
	}
	code, rep, out = auditor.audit()
	if code != 1 || rep.OK || rep.Error == nil || rep.Error.Kind != "audit_failed" ||
		!rep.has(uint64(batch), "", "signature", leechAddr, "") || !rep.has(uint64(batch), "", "root", "", "") ||
		!rep.has(uint64(batch), seederAddr, "upload_delta", "", "") {
		t.Fatalf("audit of a tampered receipt: exit %d\n%s", code, out)
	}
	code, out, errs = auditor.run("", "audit")
	if code != 1 || !regexp.MustCompile(fmt.Sprintf(`(?m)^batch %d: \d+ receipts? \(1 bad\), root MISMATCH, .*FAILED$`, batch)).MatchString(out) ||
		!strings.HasPrefix(errs, "pbts: audit failed: ") || !strings.Contains(errs, fmt.Sprintf("batch %d", batch)) {
		t.Fatalf("text audit of a tampered receipt: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("pbts audit with a tampered receipt:\n%s%s", out, errs)
	if _, err := db.Exec(ctx, `UPDATE receipts SET piece_size = $2 WHERE id = $1`, rowID, pieceSize); err != nil {
		t.Fatal(err)
	}
	if code, rep, out := auditor.audit(); code != 0 || !rep.OK {
		t.Fatalf("audit after restoring the receipt: exit %d\n%s", code, out)
	}

	// 2. The tracker authority (the chainwriter's key) settles two batches
	// itself: real receipts signed by the leecher, recorded as the service
	// would record them, but batch N+1 credits the seeder more than its
	// receipts say and batch N+2 commits to another root.
	next := rep.LastBatchID + 1
	inflated := s.settleDirectly(t, ctx, db, next, leechKey, seederAddr, []uint32{1000, 2000}, func(root *[32]byte, up, down map[string]int64) {
		up[seederAddr] += 4096
	})
	s.settleDirectly(t, ctx, db, next+1, leechKey, seederAddr, []uint32{500}, func(root *[32]byte, up, down map[string]int64) {
		*root = crypto.Keccak256Hash([]byte("not the receipts"))
	})
	code, rep, out = auditor.audit()
	if code != 1 || rep.OK || rep.LastBatchID != next+1 ||
		!rep.has(next, seederAddr, "upload_delta", "3000", fmt.Sprint(3000+4096)) ||
		!rep.has(next, "", "total_upload", "3000", fmt.Sprint(3000+4096)) ||
		!rep.has(next+1, "", "root", "", crypto.Keccak256Hash([]byte("not the receipts")).Hex()) ||
		!rep.has(0, seederAddr, "upload_total", fmt.Sprint(64*MiB+size+3500), fmt.Sprint(64*MiB+size+3500+4096)) {
		t.Fatalf("audit of the bad batches (settled in %s): exit %d\n%s", inflated.Hex(), code, out)
	}
	for _, b := range rep.Batches {
		if b.OK != (b.ID < next) || b.RootOK != (b.ID != next+1) {
			t.Fatalf("batch %d verdict ok=%v root_ok=%v\n%s", b.ID, b.OK, b.RootOK, out)
		}
	}
	code, out, errs = auditor.run("", "audit")
	t.Logf("pbts audit with bad batches:\n%s%s", out, errs)
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("batch %d, agent %s, upload delta", next, seederAddr)) {
		t.Fatalf("text audit of the bad batches: exit %d\n%s\n%s", code, out, errs)
	}
	// --agent audits the batches that name the agent: the bystander's are fine.
	if code, rep, out := auditor.audit("--agent", bystander.Address()); code != 0 || !rep.OK || rep.BatchesAudited != 0 {
		t.Fatalf("audit --agent of an agent in no batch: exit %d\n%s", code, out)
	}
	if code, rep, out := auditor.audit("--agent", leechAddr); code != 1 || !rep.has(next+1, "", "root", "", "") || rep.has(0, leechAddr, "download_total", "", "") {
		t.Fatalf("audit --agent of the leecher: exit %d\n%s", code, out)
	}
}

// settleDirectly records receipts from sender to the holder of receiverKey
// as batch id in the receipts database (settled, as the chainwriter leaves
// a batch) and settles id on chain with the tracker authority's key; tamper
// may change the root and the deltas first. It returns the transaction hash.
func (s *stack) settleDirectly(t *testing.T, ctx context.Context, db *pgx.Conn, id uint64, receiverKey *ecdsa.PrivateKey, sender string,
	sizes []uint32, tamper func(root *[32]byte, up, down map[string]int64)) gethcommon.Hash {
	t.Helper()
	receiver := crypto.PubkeyToAddress(receiverKey.PublicKey)
	type row struct {
		r   receipt.Receipt
		sig receipt.Signature
		dg  [32]byte
	}
	var (
		rows    []row
		digests [][32]byte
		total   int64
		up      = map[string]int64{}
		down    = map[string]int64{}
	)
	for i, size := range sizes {
		r := receipt.Receipt{
			InfoHash: crypto.Keccak256Hash([]byte(fmt.Sprintf("audit batch %d", id))), Sender: gethcommon.HexToAddress(sender), Receiver: receiver,
			PieceHash: crypto.Keccak256Hash([]byte{byte(i)}), PieceIndex: uint32(i), PieceSize: size, Timestamp: uint64(time.Now().Unix()),
		}
		sig, err := receipt.Sign(s.Domain, r, receiverKey)
		if err != nil {
			t.Fatal(err)
		}
		dg := receipt.Digest(s.Domain, r)
		rows, digests = append(rows, row{r, sig, dg}), append(digests, dg)
		up[r.Sender.Hex()] += int64(size)
		down[r.Receiver.Hex()] += int64(size)
		total += int64(size)
	}
	root, err := receipt.MerkleRoot(digests)
	if err != nil {
		t.Fatal(err)
	}
	tamper(&root, up, down)
	agents := []gethcommon.Address{gethcommon.HexToAddress(sender), receiver}
	slices.SortFunc(agents, func(a, b gethcommon.Address) int { return a.Cmp(b) })
	var ups, downs []*big.Int
	for _, a := range agents {
		ups, downs = append(ups, big.NewInt(up[a.Hex()])), append(downs, big.NewInt(down[a.Hex()]))
	}
	trackerABI := bindings.NewReputationTracker()
	opts := bind.NewKeyedTransactor(anviltest.Key(0), new(big.Int).SetUint64(s.Deploy.ChainID))
	opts.Context = ctx
	tx, err := bind.Transact(trackerABI.Instance(s.Chain.Client, s.Deploy.Tracker), opts,
		trackerABI.PackSettle(new(big.Int).SetUint64(id), root, agents, ups, downs))
	if err != nil {
		t.Fatalf("settle batch %d: %v", id, err)
	}
	rcpt, err := bind.WaitMined(ctx, s.Chain.Client, tx.Hash())
	if err != nil || rcpt.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("settle batch %d: %v %v", id, rcpt, err)
	}
	_, err = db.Exec(ctx, `INSERT INTO receipt_batches (id, root, receipt_count, agent_count, total_bytes, tx_hash, block_number, settled_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())`, int64(id), root[:], len(rows), len(agents), total, tx.Hash().Bytes(), rcpt.BlockNumber.Int64())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rows {
		_, err := db.Exec(ctx, `INSERT INTO receipts (digest, info_hash, receiver, piece_index, sender, piece_hash, piece_size, signed_ts, signature, accepted_at, batch_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), $10)`,
			w.dg[:], w.r.InfoHash[:], w.r.Receiver.Bytes(), int64(w.r.PieceIndex), w.r.Sender.Bytes(), w.r.PieceHash[:],
			int64(w.r.PieceSize), int64(w.r.Timestamp), w.sig[:], int64(id))
		if err != nil {
			t.Fatal(err)
		}
	}
	return tx.Hash()
}
