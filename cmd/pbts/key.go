package main

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent/keystore"
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
	priv, err := keystore.ParsePrivateKey(raw)
	clear(raw)
	if err != nil {
		return usageErrorf("%v", err)
	}
	pw, err := o.password(a.getenv)
	if err != nil {
		return err
	}
	return a.storeKey(&o, priv, pw, *light, *force)
}

func (a *app) storeKey(o *opts, priv *ecdsa.PrivateKey, pw string, light, force bool) error {
	addr, err := keystore.Save(o.keyFile, priv, pw, keystore.SaveOptions{Light: light, Overwrite: force})
	var exists *keystore.ExistsError
	if errors.As(err, &exists) {
		return &cliError{kind: "key_exists", msg: exists.Error() + "; pass --force to replace it (the old key is lost unless backed up)", err: err}
	}
	if err != nil {
		return err
	}
	out := keyOutput{Address: addr.Hex(), KeyFile: o.keyFile, Created: true}
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
	} else if addr, err = o.keyAddress(); err != nil {
		return err
	}
	if o.json {
		return writeJSON(a.stdout, keyOutput{Address: addr.Hex(), KeyFile: o.keyFile})
	}
	fmt.Fprintln(a.stdout, addr.Hex())
	return nil
}

// errNoKey explains how to get a key.
func errNoKey(path string, err error) error {
	return &cliError{kind: "no_key", msg: fmt.Sprintf("no agent key at %s: create one with `pbts key new` or `pbts key import`", path), err: err}
}

// keyAddress reads the address of the keystore file without decrypting it.
func (o *opts) keyAddress() (common.Address, error) {
	addr, err := keystore.Address(o.keyFile)
	if errors.Is(err, keystore.ErrNoKey) {
		return addr, errNoKey(o.keyFile, err)
	}
	return addr, err
}

// loadKey decrypts the keystore file.
func (o *opts) loadKey(getenv func(string) string) (*ecdsa.PrivateKey, error) {
	if _, err := os.Stat(o.keyFile); errors.Is(err, fs.ErrNotExist) {
		return nil, errNoKey(o.keyFile, err)
	}
	pw, err := o.password(getenv)
	if err != nil {
		return nil, err
	}
	k, err := keystore.Load(o.keyFile, pw)
	switch {
	case errors.Is(err, keystore.ErrNoKey):
		return nil, errNoKey(o.keyFile, err)
	case errors.Is(err, keystore.ErrBadPassword):
		return nil, &cliError{kind: "bad_password", msg: fmt.Sprintf("wrong password for %s", o.keyFile), err: err}
	}
	return k, err
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
