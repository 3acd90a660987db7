package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gethcommon "github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/chain"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/testkit"
)

// cliAgent imports a fresh key into cli and registers it; it returns the address.
func cliAgent(t *testing.T, cli *pbtsCLI) string {
	t.Helper()
	key, _ := crypto.GenerateKey()
	if code, out, errs := cli.run(fmt.Sprintf("%x\n", crypto.FromECDSA(key)), "key", "import", "--light"); code != 0 {
		t.Fatalf("key import: %d %s %s", code, out, errs)
	}
	var reg struct {
		Address       string `json:"address"`
		PasskeyStored bool   `json:"passkey_stored"`
	}
	cli.json(&reg, "register")
	if !reg.PasskeyStored {
		t.Fatalf("register: %+v", reg)
	}
	return crypto.PubkeyToAddress(key.PublicKey).Hex()
}

// TestTransferWithReceipts: agent A publishes and seeds with `pbts seed`,
// agent B downloads with `pbts get`, which signs and submits one receipt per
// verified piece; the bytes settle on chain.
func TestTransferWithReceipts(t *testing.T) {
	s := newStack(t, 64*MiB)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	seederCLI, leechCLI := newCLI(t, s), newCLI(t, s)
	seederAddr, leechAddr := cliAgent(t, seederCLI), cliAgent(t, leechCLI)

	const size = 8*MiB + 12345 // a short last piece
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	src := filepath.Join(t.TempDir(), "field-recording.wav")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var pub struct {
		InfoHash    string `json:"info_hash"`
		PieceCount  int    `json:"piece_count"`
		PieceLength int64  `json:"piece_length"`
	}
	seederCLI.json(&pub, "publish", src, "--name", "field recording", "--modality", "audio", "--tags", "field,test", "--piece-length", fmt.Sprint(256*KiB), "--no-seed")

	// A seeds in the background until the test ends.
	seedOut := seederCLI.background("seed", "--listen", "127.0.0.1:0")
	waitUntil(t, ctx, "pbts seed to verify its data", func() bool {
		return strings.Contains(seedOut.String(), "seeding "+pub.InfoHash)
	})
	waitUntil(t, ctx, "the seeder in the swarm", func() bool {
		d, err := s.Datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: pub.InfoHash})
		return err == nil && d.Dataset.Seeders == 1
	})

	// B downloads.
	outDir := t.TempDir()
	code, out, errs := leechCLI.run("", "get", pub.InfoHash, "--out", outDir, "--listen", "127.0.0.1:0", "--json")
	if code != 0 {
		t.Fatalf("pbts get: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	// --json prints progress lines first, then the summary object.
	var sum struct {
		Bytes             int64 `json:"bytes"`
		Pieces            int   `json:"pieces"`
		Verified          bool  `json:"verified"`
		ReceiptsSigned    int   `json:"receipts_signed"`
		ReceiptsAccepted  int   `json:"receipts_accepted"`
		ReceiptsDuplicate int   `json:"receipts_duplicate"`
		ReceiptsRefused   int   `json:"receipts_refused"`
		ReceiptsUnsent    int   `json:"receipts_unsent"`
	}
	i := strings.Index(out, "{")
	if i < 0 || json.Unmarshal([]byte(out[i:]), &sum) != nil {
		t.Fatalf("pbts get output has no JSON summary:\n%s\nstderr:\n%s", out, errs)
	}
	t.Logf("pbts get summary %+v\nprogress (stderr):\n%s", sum, tailString(errs, 1500))
	got, err := os.ReadFile(filepath.Join(outDir, "field-recording.wav"))
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("downloaded file differs (%d bytes, want %d): %v", len(got), len(data), err)
	}
	// One sender: one receipt per piece, all accepted.
	if sum.Bytes != size || !sum.Verified || sum.Pieces != pub.PieceCount || sum.ReceiptsSigned != pub.PieceCount ||
		sum.ReceiptsAccepted != pub.PieceCount || sum.ReceiptsRefused != 0 || sum.ReceiptsUnsent != 0 {
		t.Fatalf("summary %+v; want %d pieces, each with one accepted receipt\nstderr:\n%s", sum, pub.PieceCount, errs)
	}

	// The receipts service credits A with the file's size and debits B.
	var listed uint64
	req := &pbtsv1.ListReceiptsRequest{Agent: leechAddr, InfoHash: "0x" + strings.TrimPrefix(pub.InfoHash, "0x") + strings.Repeat("0", 24), PageSize: 1000}
	lr, err := s.ReceiptsC.ListReceipts(ctx, req)
	if err != nil {
		t.Fatalf("ListReceipts: %v", err)
	}
	for _, rec := range lr.Records {
		if rec.Receipt.Sender != seederAddr || rec.Receipt.Receiver != leechAddr {
			t.Fatalf("receipt %+v: want sender %s receiver %s", rec.Receipt, seederAddr, leechAddr)
		}
		listed += uint64(rec.Receipt.PieceSize)
	}
	if listed != size || len(lr.Records) != pub.PieceCount {
		t.Fatalf("ListReceipts: %d records for %d bytes; want %d for %d", len(lr.Records), listed, pub.PieceCount, size)
	}

	// Agent C downloads while the receipts service is unreachable: the
	// receipts stay in its journal and the next `pbts get` resends them.
	lateCLI := newCLI(t, s)
	lateAddr := cliAgent(t, lateCLI)
	code, out, errs = lateCLI.run("", "get", pub.InfoHash, "--out", t.TempDir(), "--listen", "127.0.0.1:0", "--json",
		"--receipts", testkit.ClosedAddr, "--submit-wait", "2s")
	type getSummary struct {
		Verified       bool `json:"verified"`
		ReceiptsSigned int  `json:"receipts_signed"`
		ReceiptsUnsent int  `json:"receipts_unsent"`
		JournalResent  int  `json:"journal_resent"`
		ReceiptsDup    int  `json:"receipts_duplicate"`
		ReceiptsAcc    int  `json:"receipts_accepted"`
	}
	var late getSummary
	if i := strings.Index(out, "{"); code != 0 || i < 0 || json.Unmarshal([]byte(out[i:]), &late) != nil ||
		!late.Verified || late.ReceiptsSigned != pub.PieceCount || late.ReceiptsUnsent != pub.PieceCount {
		t.Fatalf("get with the receipts service down: exit %d %+v\n%s\n%s", code, late, out, errs)
	}
	if !strings.Contains(errs, "receipts are kept in the journal") {
		t.Fatalf("no journal notice on stderr:\n%s", errs)
	}
	lateCLI.env = append(lateCLI.env, "PBTS_RECEIPTS="+s.Receipts.GRPCAddr)
	code, out, errs = lateCLI.run("", "get", pub.InfoHash, "--out", t.TempDir(), "--listen", "127.0.0.1:0", "--json")
	late = getSummary{}
	// The journal's receipts are accepted first; this run's own receipts for the same pieces are then duplicates.
	if i := strings.Index(out, "{"); code != 0 || i < 0 || json.Unmarshal([]byte(out[i:]), &late) != nil ||
		late.JournalResent != pub.PieceCount || late.ReceiptsUnsent != 0 || late.ReceiptsAcc+late.ReceiptsDup != pub.PieceCount {
		t.Fatalf("second get: exit %d %+v\n%s\n%s", code, late, out, errs)
	}
	t.Logf("second get of C: %+v", late)

	// After settlement the tracker's view and the contract agree.
	waitUntil(t, ctx, "settlement on chain", func() bool {
		l, err1 := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: leechAddr})
		c, err3 := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: lateAddr})
		u, err2 := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: seederAddr})
		return err1 == nil && err2 == nil && err3 == nil &&
			l.Agent.SettledDownloadBytes == size && l.Agent.PendingDownloadBytes == 0 &&
			c.Agent.SettledDownloadBytes == size && c.Agent.PendingDownloadBytes == 0 &&
			u.Agent.SettledUploadBytes == 64*MiB+2*size && u.Agent.PendingUploadBytes == 0
	})
	for _, c := range []struct {
		addr     string
		up, down uint64
	}{{seederAddr, 64*MiB + 2*size, 0}, {leechAddr, 64 * MiB, size}, {lateAddr, 64 * MiB, size}} {
		rep, err := chain.ReadReputation(ctx, s.Chain.Client, s.Deploy.Tracker, gethcommon.HexToAddress(c.addr))
		if err != nil || rep.Upload != c.up || rep.Download != c.down {
			t.Fatalf("on-chain figures of %s: %+v, %v; want %d up, %d down", c.addr, rep, err, c.up, c.down)
		}
	}
}
