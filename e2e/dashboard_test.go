package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// needFile fails under CI (and skips elsewhere) when a build product the
// test runs on is missing.
func needFile(t *testing.T, path, how string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (%s)", path, how)
		}
		t.Skipf("%s is missing (%s)", path, how)
	}
}

// TestDashboard runs the dashboard in Debian's chromium (web/e2e/dashboard.mjs,
// playwright-core) against the real stack, served by the gateway: the page
// loads without console errors or warnings; a free-rider shows as blocked
// with the tracker's reason; a real `pbts get` from a `pbts seed` moves the
// sender's uploaded and the receiver's downloaded figures on screen without a
// reload; a settled receipt of that transfer verifies on chain in the
// browser; an injected EIP-1193 wallet (backed by a test key) connects,
// signs the registration message and registers, and the passkey it is shown
// works at the tracker; no page is wider than a phone's screen.
//
// Screenshots go to $PBTS_E2E_ARTIFACTS (else a temporary directory named in
// the log); PBTS_README_SHOT=path writes the README's screenshot too (make
// screenshot).
func TestDashboard(t *testing.T) {
	requireTools(t, "node", "chromium")
	root := repoRoot(t)
	dist := filepath.Join(root, "web", "dist")
	needFile(t, filepath.Join(dist, "index.html"), "make web builds the dashboard")
	needFile(t, filepath.Join(root, "web", "node_modules", "playwright-core"), "cd web && npm ci")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	const credit = 4 * MiB
	s := newStack(t, credit)
	g := s.startGateway(t, map[string]string{"PBTS_STATIC_DIR": dist})

	// A free-rider: it spent its credit (2x the initial upload credit, all
	// the ratio allows) on a dataset and never uploaded.
	pub, fr := s.register(t), s.register(t)
	mi, sums, _ := dataset(t, t.TempDir(), "spent.bin", 2*credit, 71)
	ih := s.publish(t, pub, mi, sums, "what the free-rider took", pbtsv1.Modality_MODALITY_VIDEO, []string{"driving"})
	announceAs(t, s.Announce, pub.Passkey, ih, "-PB0001-frpub0000000", 0)
	announceAs(t, s.Announce, fr.Passkey, ih, "-PB0001-frleech00000", 2*credit)
	rs := signedReceipts(t, s, ih, sums, 256*KiB, pub, fr, 0, len(sums))
	submitAccepted(t, ctx, s, "the free-rider's receipts", rs)
	waitUntil(t, ctx, "the tracker to see the free-rider blocked", func() bool {
		a, err := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: fr.Address()})
		return err == nil && !a.Agent.CanLeech
	})

	// Two pbts agents: A publishes and seeds, B will download while the page watches.
	seederCLI, leechCLI := newCLI(t, s), newCLI(t, s)
	seederAddr, leechAddr := cliAgent(t, seederCLI), cliAgent(t, leechCLI)
	const size = 2*MiB + 4321
	src := filepath.Join(t.TempDir(), "street-sounds.wav")
	if err := os.WriteFile(src, randomBytes(size), 0o644); err != nil {
		t.Fatal(err)
	}
	var published struct {
		InfoHash string `json:"info_hash"`
	}
	seederCLI.json(&published, "publish", src, "--name", "street sounds", "--modality", "audio", "--tags", "city,field",
		"--piece-length", fmt.Sprint(256*KiB), "--no-seed")
	seedOut := seederCLI.background("seed", "--listen", "127.0.0.1:0")
	waitUntil(t, ctx, "the seeder in the swarm", func() bool {
		d, err := s.Datasets.GetDataset(ctx, &pbtsv1.GetDatasetRequest{InfoHash: published.InfoHash})
		return strings.Contains(seedOut.String(), "seeding "+published.InfoHash) && err == nil && d.Dataset.Seeders == 1
	})

	walletKey, _ := crypto.GenerateKey()
	walletAddr := crypto.PubkeyToAddress(walletKey.PublicKey).Hex()
	shots := os.Getenv("PBTS_E2E_ARTIFACTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "pbts-dashboard-shots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	cmd := exec.CommandContext(ctx, "node", filepath.Join("e2e", "dashboard.mjs"))
	cmd.Dir = filepath.Join(root, "web")
	cmd.Env = append(os.Environ(), "PBTS_DASHBOARD_URL="+g.URL, "PBTS_SENDER="+seederAddr, "PBTS_RECEIVER="+leechAddr,
		"PBTS_FREERIDER="+fr.Address(), fmt.Sprintf("PBTS_TRANSFER_BYTES=%d", size),
		fmt.Sprintf("PBTS_WALLET_KEY=%x", crypto.FromECDSA(walletKey)), fmt.Sprintf("PBTS_CHAIN_ID=%d", s.Deploy.ChainID),
		"PBTS_SHOTS="+shots)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("dashboard.mjs log:\n%s", tailString(stderr.String(), 6000))
		}
	}()

	var passkey string
	ok := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		t.Logf("browser: %s", line)
		switch {
		case line == "wait transfer":
			outDir := t.TempDir()
			code, out, errs := leechCLI.run("", "get", published.InfoHash, "--out", outDir, "--listen", "127.0.0.1:0", "--json")
			if code != 0 {
				t.Fatalf("pbts get: exit %d\n%s\n%s", code, out, errs)
			}
			got, err := os.ReadFile(filepath.Join(outDir, "street-sounds.wav"))
			if err != nil || len(got) != size {
				t.Fatalf("downloaded %d bytes, want %d: %v", len(got), size, err)
			}
			io.WriteString(stdin, "go transfer\n")
		case strings.HasPrefix(line, "registered "):
			passkey = strings.TrimPrefix(line, "registered ")
		case line == "ok":
			ok = true
		case strings.HasPrefix(line, "fail "):
			t.Errorf("in the browser: %s", strings.ReplaceAll(strings.TrimPrefix(line, "fail "), " | ", "\n"))
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil || !ok {
		t.Fatalf("dashboard.mjs: %v (ok line seen: %v)", err, ok)
	}

	// The wallet's registration is real: the tracker knows the address and
	// takes the passkey the page showed.
	if _, err := s.Agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: walletAddr}); err != nil {
		t.Fatalf("the wallet registered in the browser is unknown to the tracker: %v", err)
	}
	if v := announce(t, s.Announce, passkey, ih, 0); strings.Contains(fmt.Sprint(v["failure reason"]), "passkey") {
		t.Fatalf("announce with the passkey the page showed: %v", v)
	}
	if v := announce(t, s.Announce, strings.Repeat("0", len(passkey)), ih, 0); !strings.Contains(fmt.Sprint(v["failure reason"]), "unknown passkey") {
		t.Fatalf("announce with a made-up passkey: %v; want unknown passkey (else the check above proves nothing)", v)
	}
	if p := os.Getenv("PBTS_README_SHOT"); p != "" {
		t.Logf("README screenshot: %s", p)
	}
}
