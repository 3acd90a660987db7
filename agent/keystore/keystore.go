// Package keystore keeps a PBTS agent's identity: its secp256k1 key (the
// agent's Ethereum address), stored as an Ethereum keystore (v3) file
// encrypted with a password, and where that password comes from (a file or
// the PBTS_KEY_PASSWORD environment variable, never a command-line value).
package keystore

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	gethks "github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent/atomicfile"
)

var (
	// ErrNoKey is returned (wrapped, with the path) where there is no keystore file.
	ErrNoKey = errors.New("no agent key")
	// ErrBadPassword is returned (wrapped, with the path) where the password does not decrypt the key.
	ErrBadPassword = errors.New("wrong password")
	// ErrNoPassword is returned by Password where neither a file nor the environment gives one.
	ErrNoPassword = errors.New("no keystore password: give a password file or set " + PasswordEnv)
)

// PasswordEnv is the environment variable a keystore password may come from.
const PasswordEnv = "PBTS_KEY_PASSWORD"

// ExistsError is Save's refusal to replace a key file.
type ExistsError struct {
	Path    string
	Address common.Address // the key it holds (zero if unreadable)
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s already holds the key of %s", e.Path, e.Address.Hex())
}

// SaveOptions tune Save.
type SaveOptions struct {
	// Light uses light scrypt parameters: fast, and weak protection (tests only).
	Light bool
	// Overwrite replaces an existing key file (its key is lost).
	Overwrite bool
}

// ParsePrivateKey reads a 32-byte secp256k1 key as hex (optional 0x, white
// space around it ignored).
func ParsePrivateKey(raw []byte) (*ecdsa.PrivateKey, error) {
	s := strings.TrimSpace(string(raw))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) != 64 {
		return nil, fmt.Errorf("the private key must be 64 hex digits (32 bytes), optionally prefixed by 0x; got %d characters", len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("the private key is not hex")
	}
	defer clear(b)
	k, err := crypto.ToECDSA(b)
	if err != nil {
		return nil, fmt.Errorf("not a valid secp256k1 private key: %v", err)
	}
	return k, nil
}

// Save encrypts key with password into the keystore file path (0600,
// written atomically). Unless opts.Overwrite, an existing file is an
// *ExistsError.
func Save(path string, key *ecdsa.PrivateKey, password string, opts SaveOptions) (common.Address, error) {
	if !opts.Overwrite {
		if _, err := os.Stat(path); err == nil {
			addr, _ := Address(path)
			return common.Address{}, &ExistsError{Path: path, Address: addr}
		}
	}
	n, p := gethks.StandardScryptN, gethks.StandardScryptP
	if opts.Light {
		n, p = gethks.LightScryptN, gethks.LightScryptP
	}
	k := &gethks.Key{Address: crypto.PubkeyToAddress(key.PublicKey), PrivateKey: key}
	// A random (version 4) UUID without importing a UUID module.
	if _, err := rand.Read(k.Id[:]); err != nil {
		return common.Address{}, err
	}
	k.Id[6] = k.Id[6]&0x0f | 0x40
	k.Id[8] = k.Id[8]&0x3f | 0x80
	blob, err := gethks.EncryptKey(k, password, n, p)
	if err != nil {
		return common.Address{}, fmt.Errorf("encrypt key: %w", err)
	}
	if err := atomicfile.Write(path, blob, 0o600); err != nil {
		return common.Address{}, err
	}
	return k.Address, nil
}

// Address reads the address of a keystore file without decrypting it.
func Address(path string) (common.Address, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return common.Address{}, fmt.Errorf("%w at %s", ErrNoKey, path)
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

// Load decrypts the keystore file path.
func Load(path, password string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoKey, path)
	}
	if err != nil {
		return nil, err
	}
	k, err := gethks.DecryptKey(b, password)
	if errors.Is(err, gethks.ErrDecrypt) {
		return nil, fmt.Errorf("%w for %s", ErrBadPassword, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k.PrivateKey, nil
}

// Password reads a keystore password from file (one trailing newline
// dropped) or, when file is "", from getenv(PasswordEnv); ErrNoPassword
// when neither gives one.
func Password(file string, getenv func(string) string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read password file: %w", err)
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
	}
	if p := getenv(PasswordEnv); p != "" {
		return p, nil
	}
	return "", ErrNoPassword
}
