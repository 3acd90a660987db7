package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/testkit"
)

const (
	testContract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
	// anvil's second account
	testPrivHex = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
	testAddr    = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
)

// harness runs commands in-process with a private environment.
type harness struct {
	t    *testing.T
	home string
	env  map[string]string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	return &harness{t: t, home: dir, env: map[string]string{
		"HOME":                  dir,
		"PBTS_KEY_PASSWORD":     "correct horse",
		"PBTS_TRACKER_CONTRACT": testContract,
	}}
}

func (h *harness) run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return h.env[k] }}
	code = a.run(context.Background(), args)
	return code, out.String(), errb.String()
}

func (h *harness) mustRun(stdin string, args ...string) string {
	h.t.Helper()
	code, out, errs := h.run(stdin, args...)
	if code != 0 {
		h.t.Fatalf("pbts %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

func errKind(t *testing.T, stdout string) string {
	t.Helper()
	v := decode[struct {
		Error struct{ Kind, Message string } `json:"error"`
	}](t, stdout)
	return v.Error.Kind
}

func TestKeyNewShowRoundTrip(t *testing.T) {
	h := newHarness(t)
	created := decode[keyOutput](t, h.mustRun("", "key", "new", "--light", "--json"))
	wantFile := filepath.Join(h.home, ".pbts", "key.json")
	if created.KeyFile != wantFile || !common.IsHexAddress(created.Address) || !created.Created {
		t.Fatalf("key new: %+v", created)
	}
	fi, err := os.Stat(wantFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi, err)
	}
	if di, _ := os.Stat(filepath.Dir(wantFile)); di.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode %v", di.Mode().Perm())
	}
	// show reads the address without the password...
	delete(h.env, "PBTS_KEY_PASSWORD")
	if got := strings.TrimSpace(h.mustRun("", "key", "show")); got != created.Address {
		t.Fatalf("key show = %q, want %q", got, created.Address)
	}
	// ...and --check decrypts, which needs it.
	code, out, _ := h.run("", "key", "show", "--check", "--json")
	if code != 1 || errKind(t, out) != "no_password" {
		t.Fatalf("show --check without password: %d %s", code, out)
	}
	h.env["PBTS_KEY_PASSWORD"] = "wrong"
	code, out, _ = h.run("", "key", "show", "--check", "--json")
	if code != 1 || errKind(t, out) != "bad_password" {
		t.Fatalf("show --check with a wrong password: %d %s", code, out)
	}
	h.env["PBTS_KEY_PASSWORD"] = "correct horse"
	shown := decode[keyOutput](t, h.mustRun("", "key", "show", "--check", "--json"))
	if shown.Address != created.Address {
		t.Fatalf("decrypted address %s, want %s", shown.Address, created.Address)
	}
	// A second key new does not clobber the key.
	code, out, _ = h.run("", "key", "new", "--light", "--json")
	if code != 1 || errKind(t, out) != "key_exists" {
		t.Fatalf("key new over an existing key: %d %s", code, out)
	}
	replaced := decode[keyOutput](t, h.mustRun("", "key", "new", "--light", "--force", "--json"))
	if replaced.Address == created.Address {
		t.Fatal("--force did not make a new key")
	}
}

func TestKeyImportStdinAndFile(t *testing.T) {
	h := newHarness(t)
	out := decode[keyOutput](t, h.mustRun("0x"+testPrivHex+"\n", "key", "import", "--light", "--json"))
	if out.Address != testAddr {
		t.Fatalf("import from stdin: %s, want %s", out.Address, testAddr)
	}
	// From a file, into an explicit --home, with the password from a file.
	dir := t.TempDir()
	kf := filepath.Join(dir, "priv.hex")
	pf := filepath.Join(dir, "pw.txt")
	os.WriteFile(kf, []byte(testPrivHex), 0o600)
	os.WriteFile(pf, []byte("from a file\n"), 0o600)
	delete(h.env, "PBTS_KEY_PASSWORD")
	home2 := filepath.Join(dir, "home2")
	out = decode[keyOutput](t, h.mustRun("", "key", "import", "--from", kf, "--home", home2, "--password-file", pf, "--light", "--json"))
	if out.Address != testAddr || out.KeyFile != filepath.Join(home2, "key.json") {
		t.Fatalf("import from file: %+v", out)
	}
	// The trailing newline of the password file is not part of the password.
	h.env["PBTS_KEY_PASSWORD"] = "from a file"
	if got := strings.TrimSpace(h.mustRun("", "key", "show", "--check", "--home", home2)); got != testAddr {
		t.Fatalf("decrypt with env password: %s", got)
	}
	// Garbage is refused with a usage error.
	code, _, errs := h.run("not a key", "key", "import", "--light", "--home", filepath.Join(dir, "h3"))
	if code != exitUsage || !strings.Contains(errs, "64 hex digits") {
		t.Fatalf("bad key: %d %s", code, errs)
	}
}

func TestPasswordNeverAFlag(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{
		{"key", "new", "--light", "--password", "hunter2"},
		{"key", "new", "--light", "--password=hunter2"},
		{"key", "import", "-password", "hunter2"},
		{"register", "--passphrase", "hunter2"},
		{"publish", "x", "--name", "n", "--pass=hunter2"},
	} {
		code, out, errs := h.run("", args...)
		if code != exitUsage || !strings.Contains(errs, "PBTS_KEY_PASSWORD") || !strings.Contains(errs, "--password-file") {
			t.Errorf("%v: exit %d stdout %q stderr %q", args, code, out, errs)
		}
		if strings.Contains(out+errs, "hunter2") {
			t.Errorf("%v: the password was echoed", args)
		}
	}
	if _, err := os.Stat(filepath.Join(h.home, ".pbts", "key.json")); err == nil {
		t.Fatal("a key was written")
	}
	// No password at all: a clear error, no key.
	delete(h.env, "PBTS_KEY_PASSWORD")
	code, out, _ := h.run("", "key", "new", "--light", "--json")
	if code != 1 || errKind(t, out) != "no_password" {
		t.Fatalf("no password: %d %s", code, out)
	}
}

func TestOptionsPrecedence(t *testing.T) {
	env := map[string]string{"HOME": "/h", "PBTS_TRACKER": "env:1", "PBTS_CHAIN_ID": "11155111", "PBTS_TRACKER_CONTRACT": testContract}
	getenv := func(k string) string { return env[k] }
	a := &app{stderr: &bytes.Buffer{}, getenv: getenv}
	var o opts
	fs := a.newFlagSet("x", &o)
	pos, err := a.parse(fs, &o, []string{"first", "--tracker", "flag:2", "second", "--", "--json"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, "|") != "first|second|--json" || o.json {
		t.Fatalf("positional %q json %v", pos, o.json)
	}
	if o.tracker != "flag:2" || o.chainID != 11155111 || o.home != "/h/.pbts" || o.keyFile != "/h/.pbts/key.json" {
		t.Fatalf("resolved %+v", o)
	}
	d, err := o.domain()
	if err != nil || d.Tracker != common.HexToAddress(testContract) || d.ChainID != 11155111 {
		t.Fatalf("domain %+v %v", d, err)
	}
	// Defaults, PBTS_HOME.
	env = map[string]string{"HOME": "/h", "PBTS_HOME": "/state"}
	o = opts{}
	fs = a.newFlagSet("x", &o)
	if _, err := a.parse(fs, &o, nil); err != nil {
		t.Fatal(err)
	}
	if o.tracker != defaultTracker || o.chainID != defaultChainID || o.keyFile != "/state/key.json" {
		t.Fatalf("defaults %+v", o)
	}
	if _, err := o.domain(); err == nil || !strings.Contains(err.Error(), "PBTS_TRACKER_CONTRACT") {
		t.Fatalf("missing contract: %v", err)
	}
	env["PBTS_CHAIN_ID"] = "nope"
	o = opts{}
	fs = a.newFlagSet("x", &o)
	if _, err := a.parse(fs, &o, nil); err == nil {
		t.Fatal("bad PBTS_CHAIN_ID accepted")
	}
}

// ---- against an in-process fake tracker (no services started) ----

// Register, publish, search and status against the real tracker (Postgres,
// anvil, the service binaries) are tested in e2e/cli_test.go.

func TestTrackerUnreachable(t *testing.T) {
	dead := testkit.ClosedAddr
	h := newHarness(t)
	code, out, _ := h.run("", "status", testAddr, "--tracker", dead, "--timeout", "5s", "--json")
	if code != 1 || errKind(t, out) != "tracker_unreachable" || !strings.Contains(out, "tracker unreachable at "+dead) {
		t.Fatalf("unreachable: %d %s", code, out)
	}
	code, _, errs := h.run("", "search", "x", "--tracker", dead, "--timeout", "5s")
	if code != 1 || !strings.HasPrefix(errs, "pbts: tracker unreachable at "+dead) {
		t.Fatalf("unreachable text: %d %s", code, errs)
	}
}

func TestUsage(t *testing.T) {
	h := newHarness(t)
	if code, _, _ := h.run(""); code != exitUsage {
		t.Fatal("no args")
	}
	if code, _, _ := h.run("", "bogus"); code != exitUsage {
		t.Fatal("unknown command")
	}
	code, out, _ := h.run("", "seed", "--json")
	if code != 1 || !strings.Contains(out, `"nothing_to_seed"`) {
		t.Fatalf("seed with nothing published: %d %s", code, out)
	}
	code, out, _ = h.run("", "get", "--json")
	if code != exitUsage || !strings.Contains(out, "INFOHASH") {
		t.Fatalf("get without a dataset: %d %s", code, out)
	}
	if code, _, _ := h.run("", "status", "--help"); code != 0 {
		t.Fatal("help")
	}
}
