package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/receipt"
)

// keyOutput is what key commands print with --json.
type keyOutput struct {
	Address string `json:"address"`
	KeyFile string `json:"key_file"`
	Created bool   `json:"created,omitempty"`
}

func (a *app) keyNew(args []string) error {
	var o opts
	fs := a.newFlagSet("key new", &o)
	light := fs.Bool("light", false, "light scrypt parameters (tests only; weak protection)")
	force := fs.Bool("force", false, "overwrite an existing key file (the old key is lost)")
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("key new", pos); err != nil {
		return err
	}
	pw, err := o.password(a.getenv)
	if err != nil {
		return err
	}
	priv, err := crypto.GenerateKey()
	if err != nil {
		return err
	}
	return a.storeKey(&o, priv, pw, *light, *force)
}

func (a *app) keyImport(args []string) error {
	var o opts
	fs := a.newFlagSet("key import", &o)
	light := fs.Bool("light", false, "light scrypt parameters (tests only; weak protection)")
	force := fs.Bool("force", false, "overwrite an existing key file (the old key is lost)")
	from := fs.String("from", "", "file holding the hex private key (default: read stdin)")
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("key import", pos); err != nil {
		return err
	}
	var raw []byte
	if *from != "" && *from != "-" {
		raw, err = os.ReadFile(*from)
	} else {
		raw, err = io.ReadAll(io.LimitReader(a.stdin, 4096))
	}
	if err != nil {
		return fmt.Errorf("read private key: %w", err)
	}
	priv, err := parsePrivateKey(raw)
	clear(raw)
	if err != nil {
		return err
	}
	pw, err := o.password(a.getenv)
	if err != nil {
		return err
	}
	return a.storeKey(&o, priv, pw, *light, *force)
}

// parsePrivateKey reads a 32-byte secp256k1 key as hex (optional 0x, white
// space around it ignored).
func parsePrivateKey(raw []byte) (*ecdsa.PrivateKey, error) {
	s := strings.TrimSpace(string(raw))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) != 64 {
		return nil, usageErrorf("the private key must be 64 hex digits (32 bytes), optionally prefixed by 0x; got %d characters", len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, usageErrorf("the private key is not hex")
	}
	defer clear(b)
	k, err := crypto.ToECDSA(b)
	if err != nil {
		return nil, usageErrorf("not a valid secp256k1 private key: %v", err)
	}
	return k, nil
}

func (a *app) storeKey(o *opts, priv *ecdsa.PrivateKey, pw string, light, force bool) error {
	if !force {
		if _, err := os.Stat(o.keyFile); err == nil {
			addr, _ := keyFileAddress(o.keyFile)
			return &cliError{kind: "key_exists", msg: fmt.Sprintf("%s already holds the key of %s; pass --force to replace it (the old key is lost unless backed up)", o.keyFile, addr.Hex())}
		}
	}
	n, p := keystore.StandardScryptN, keystore.StandardScryptP
	if light {
		n, p = keystore.LightScryptN, keystore.LightScryptP
	}
	k := &keystore.Key{Address: crypto.PubkeyToAddress(priv.PublicKey), PrivateKey: priv}
	// A random (version 4) UUID without importing a UUID module.
	if _, err := rand.Read(k.Id[:]); err != nil {
		return err
	}
	k.Id[6] = k.Id[6]&0x0f | 0x40
	k.Id[8] = k.Id[8]&0x3f | 0x80
	blob, err := keystore.EncryptKey(k, pw, n, p)
	if err != nil {
		return fmt.Errorf("encrypt key: %w", err)
	}
	if err := writeFileAtomic(o.keyFile, blob, 0o600); err != nil {
		return err
	}
	out := keyOutput{Address: k.Address.Hex(), KeyFile: o.keyFile, Created: true}
	if o.json {
		return writeJSON(a.stdout, out)
	}
	fmt.Fprintf(a.stdout, "address %s\nkey file %s\n", out.Address, out.KeyFile)
	if light {
		fmt.Fprintln(a.stderr, "warning: --light scrypt parameters protect the key weakly; use them for tests only")
	}
	return nil
}

func (a *app) keyShow(args []string) error {
	var o opts
	fs := a.newFlagSet("key show", &o)
	check := fs.Bool("check", false, "also decrypt the key to check the password")
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("key show", pos); err != nil {
		return err
	}
	var addr common.Address
	if *check {
		k, err := o.loadKey(a.getenv)
		if err != nil {
			return err
		}
		addr = crypto.PubkeyToAddress(k.PublicKey)
	} else if addr, err = keyFileAddress(o.keyFile); err != nil {
		return err
	}
	if o.json {
		return writeJSON(a.stdout, keyOutput{Address: addr.Hex(), KeyFile: o.keyFile})
	}
	fmt.Fprintln(a.stdout, addr.Hex())
	return nil
}

// errNoKey explains how to get a key.
func errNoKey(path string) error {
	return &cliError{kind: "no_key", msg: fmt.Sprintf("no agent key at %s: create one with `pbts key new` or `pbts key import`", path)}
}

// keyFileAddress reads the address of a keystore file without decrypting it.
func keyFileAddress(path string) (common.Address, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return common.Address{}, errNoKey(path)
	}
	if err != nil {
		return common.Address{}, err
	}
	var v struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(b, &v); err != nil || !common.IsHexAddress(v.Address) {
		return common.Address{}, fmt.Errorf("%s is not a keystore file", path)
	}
	return common.HexToAddress(v.Address), nil
}

// loadKey decrypts the keystore file.
func (o *opts) loadKey(getenv func(string) string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(o.keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoKey(o.keyFile)
	}
	if err != nil {
		return nil, err
	}
	pw, err := o.password(getenv)
	if err != nil {
		return nil, err
	}
	k, err := keystore.DecryptKey(b, pw)
	if errors.Is(err, keystore.ErrDecrypt) {
		return nil, &cliError{kind: "bad_password", msg: fmt.Sprintf("wrong password for %s", o.keyFile), err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.keyFile, err)
	}
	return k.PrivateKey, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory (created 0700 if missing), so a crash never leaves half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// signedRegistration is what `pbts key sign-registration` prints: the body
// of POST /v1/agents (or the seed's POST /register) on the REST gateway.
type signedRegistration struct {
	Address   string `json:"address"`
	Timestamp uint64 `json:"timestamp"`
	Signature string `json:"signature"`
}

// keySignRegistration signs a registration message for the tracker the
// options name and prints it as JSON, for clients of the REST gateway.
func (a *app) keySignRegistration(args []string) error {
	var o opts
	fs := a.newFlagSet("key sign-registration", &o)
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("key sign-registration", pos); err != nil {
		return err
	}
	d, err := o.domain()
	if err != nil {
		return err
	}
	k, err := o.loadKey(a.getenv)
	if err != nil {
		return err
	}
	ts := uint64(time.Now().Unix())
	sig, err := receipt.SignRegistration(d, ts, k)
	if err != nil {
		return err
	}
	return writeJSON(a.stdout, signedRegistration{Address: crypto.PubkeyToAddress(k.PublicKey).Hex(), Timestamp: ts, Signature: sig.Hex()})
}
