package keystore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent/keystore"
)

// anvil's second account
const (
	testPrivHex = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
	testAddr    = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
)

func TestSaveLoadAddressRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "home", "key.json")
	key, err := keystore.ParsePrivateKey([]byte("  0x" + testPrivHex + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := keystore.Save(path, key, "pw", keystore.SaveOptions{Light: true})
	if err != nil || addr.Hex() != testAddr {
		t.Fatalf("Save: %s %v", addr.Hex(), err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", fi.Mode(), err)
	}
	if a, err := keystore.Address(path); err != nil || a != addr {
		t.Fatalf("Address: %s %v", a.Hex(), err)
	}
	back, err := keystore.Load(path, "pw")
	if err != nil || crypto.PubkeyToAddress(back.PublicKey) != addr {
		t.Fatalf("Load: %v", err)
	}
	if _, err := keystore.Load(path, "not it"); !errors.Is(err, keystore.ErrBadPassword) {
		t.Fatalf("wrong password: %v", err)
	}

	other, _ := crypto.GenerateKey()
	var exists *keystore.ExistsError
	if _, err := keystore.Save(path, other, "pw", keystore.SaveOptions{Light: true}); !errors.As(err, &exists) || exists.Address != addr || exists.Path != path {
		t.Fatalf("Save over an existing key: %v", err)
	}
	if a, err := keystore.Save(path, other, "pw", keystore.SaveOptions{Light: true, Overwrite: true}); err != nil || a != crypto.PubkeyToAddress(other.PublicKey) {
		t.Fatalf("Save with Overwrite: %v", err)
	}
}

func TestMissingAndForeignFiles(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.json")
	if _, err := keystore.Address(missing); !errors.Is(err, keystore.ErrNoKey) {
		t.Fatalf("Address of a missing file: %v", err)
	}
	if _, err := keystore.Load(missing, "pw"); !errors.Is(err, keystore.ErrNoKey) {
		t.Fatalf("Load of a missing file: %v", err)
	}
	foreign := filepath.Join(dir, "foreign.json")
	os.WriteFile(foreign, []byte(`{"hello":1}`), 0o600)
	if _, err := keystore.Address(foreign); err == nil || errors.Is(err, keystore.ErrNoKey) {
		t.Fatalf("Address of a foreign file: %v", err)
	}
}

func TestParsePrivateKeyRefusals(t *testing.T) {
	for _, s := range []string{"", "0x1234", testPrivHex[:63] + "g", "0x" + strings.Repeat("0", 64)} {
		if _, err := keystore.ParsePrivateKey([]byte(s)); err == nil {
			t.Errorf("accepted %q", s)
		}
	}
	if _, err := keystore.ParsePrivateKey([]byte("0X" + testPrivHex)); err != nil {
		t.Errorf("0X prefix: %v", err)
	}
}

func TestPasswordSources(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if _, err := keystore.Password("", getenv); !errors.Is(err, keystore.ErrNoPassword) {
		t.Fatalf("no source: %v", err)
	}
	env[keystore.PasswordEnv] = "from env"
	if p, err := keystore.Password("", getenv); err != nil || p != "from env" {
		t.Fatalf("env: %q %v", p, err)
	}
	f := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(f, []byte("from file\r\n"), 0o600)
	if p, err := keystore.Password(f, getenv); err != nil || p != "from file" {
		t.Fatalf("file (wins over env): %q %v", p, err)
	}
	if _, err := keystore.Password(f+".missing", getenv); err == nil {
		t.Fatal("a missing password file gave a password")
	}
}
