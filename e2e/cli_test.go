package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/ethereum/go-ethereum/crypto"
)

// pbtsCLI runs the built pbts command with its own home and the stack's settings.
type pbtsCLI struct {
	t    *testing.T
	home string
	env  []string
}

func newCLI(t *testing.T, s *stack) *pbtsCLI {
	home := t.TempDir()
	return &pbtsCLI{t: t, home: home, env: append(os.Environ(),
		"HOME="+home, "PBTS_KEY_PASSWORD=correct horse battery",
		"PBTS_TRACKER="+s.Tracker.GRPCAddr, "PBTS_TRACKER_CONTRACT="+s.Deploy.Tracker.Hex(),
		"PBTS_RECEIPTS="+s.Receipts.GRPCAddr, fmt.Sprintf("PBTS_CHAIN_ID=%d", s.Deploy.ChainID))}
}

func (c *pbtsCLI) run(stdin string, args ...string) (int, string, string) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(binaries(c.t), "pbts"), args...)
	cmd.Env, cmd.Stdin = c.env, strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func (c *pbtsCLI) json(v any, args ...string) {
	c.t.Helper()
	code, out, errs := c.run("", append(args, "--json")...)
	if code != 0 {
		c.t.Fatalf("pbts %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("pbts %s: bad JSON %q: %v", strings.Join(args, " "), out, err)
	}
}

// background runs a long-lived pbts command (publish or get --seed) until
// the test ends, and returns its output so far on demand.
func (c *pbtsCLI) background(args ...string) *syncBuffer {
	c.t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(filepath.Join(binaries(c.t), "pbts"), args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = c.env, out, out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	t := c.t
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("pbts %s did not stop within 15s of SIGTERM", args[0])
		}
		if t.Failed() {
			t.Logf("pbts %s output:\n%s", strings.Join(args, " "), tailString(out.String(), 3000))
		}
	})
	return out
}

// TestCLIAgainstTheStack drives the pbts command against the real tracker:
// key import, register, publish, search and status.
func TestCLIAgainstTheStack(t *testing.T) {
	s := newStack(t, 8*MiB)
	cli := newCLI(t, s)
	key, _ := crypto.GenerateKey()
	addr := crypto.PubkeyToAddress(key.PublicKey).Hex()
	if code, out, errs := cli.run(fmt.Sprintf("%x\n", crypto.FromECDSA(key)), "key", "import", "--light"); code != 0 {
		t.Fatalf("key import: %d %s %s", code, out, errs)
	}

	// Before registering, the tracker says who is unknown.
	code, out, _ := cli.run("", "status", "--json")
	if code != 1 || !strings.Contains(out, `"unregistered"`) {
		t.Fatalf("status before register: exit %d %s", code, out)
	}

	var reg struct {
		Address           string `json:"address"`
		AlreadyRegistered bool   `json:"already_registered"`
		PasskeyStored     bool   `json:"passkey_stored"`
		Passkey           string `json:"passkey"`
	}
	cli.json(&reg, "register")
	if reg.Address != addr || reg.AlreadyRegistered || !reg.PasskeyStored || reg.Passkey != "" {
		t.Fatalf("register: %+v (the passkey must be stored, not printed)", reg)
	}
	cli.json(&reg, "register")
	if !reg.AlreadyRegistered || !reg.PasskeyStored {
		t.Fatalf("second register: %+v", reg)
	}

	data := filepath.Join(t.TempDir(), "tone.wav")
	os.WriteFile(data, bytes.Repeat([]byte("pbts audio "), 200_000), 0o644)
	var pub struct {
		InfoHash    string `json:"info_hash"`
		PieceCount  int    `json:"piece_count"`
		TotalBytes  int64  `json:"total_bytes"`
		TorrentFile string `json:"torrent_file"`
	}
	cli.json(&pub, "publish", data, "--name", "cli tone", "--modality", "audio", "--tags", "tone,test", "--license", "CC0-1.0", "--no-seed")
	if pub.TotalBytes != 2_200_000 || pub.PieceCount != 9 {
		t.Fatalf("publish: %+v", pub)
	}
	mi, err := metainfo.LoadFromFile(pub.TorrentFile)
	if err != nil {
		t.Fatal(err)
	}
	if "0x"+mi.HashInfoBytes().HexString() != pub.InfoHash || !strings.HasPrefix(mi.Announce, s.Announce+"/announce/") {
		t.Fatalf("local torrent %s announce %q", mi.HashInfoBytes().HexString(), mi.Announce)
	}

	var found struct {
		Datasets []struct {
			InfoHash  string `json:"info_hash"`
			Name      string `json:"name"`
			Publisher string `json:"publisher"`
		} `json:"datasets"`
	}
	cli.json(&found, "search", "tone", "--modality", "audio", "--tags", "test")
	if len(found.Datasets) != 1 || found.Datasets[0].Name != "cli tone" || !strings.EqualFold(found.Datasets[0].InfoHash, pub.InfoHash) || found.Datasets[0].Publisher != addr {
		t.Fatalf("search: %+v", found)
	}

	var st struct {
		Address            string `json:"address"`
		SettledUploadBytes uint64 `json:"settled_upload_bytes"`
		CanLeech           bool   `json:"can_leech"`
	}
	cli.json(&st, "status")
	if st.Address != addr || st.SettledUploadBytes != 8*MiB || !st.CanLeech {
		t.Fatalf("status: %+v; want the 8 MiB initial credit and leeching allowed", st)
	}

	// Another agent with only its 8 MiB credit asks for 20 MiB: the CLI
	// shows the tracker's refusal with the figures.
	big := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(big, bytes.Repeat([]byte("0123456789abcdef"), 20*MiB/16), 0o644)
	var bigPub struct {
		InfoHash string `json:"info_hash"`
	}
	cli.json(&bigPub, "publish", big, "--name", "cli big", "--modality", "video", "--license", "CC0-1.0", "--no-seed")
	poor := newCLI(t, s)
	pkey, _ := crypto.GenerateKey()
	if code, out, errs := poor.run(fmt.Sprintf("%x\n", crypto.FromECDSA(pkey)), "key", "import", "--light"); code != 0 {
		t.Fatalf("key import: %d %s %s", code, out, errs)
	}
	poor.json(&reg, "register")
	code, out, _ = poor.run("", "get", bigPub.InfoHash, "--out", t.TempDir(), "--json")
	var refusal struct {
		Error struct{ Kind, Message string } `json:"error"`
	}
	json.Unmarshal([]byte(out), &refusal)
	if code != 1 || refusal.Error.Kind != "insufficient_ratio" ||
		!strings.Contains(refusal.Error.Message, "insufficient ratio: uploaded 8.0 MiB, downloaded 0 B + 20.0 MiB left") {
		t.Fatalf("get beyond the ratio: exit %d %s", code, out)
	}
}
