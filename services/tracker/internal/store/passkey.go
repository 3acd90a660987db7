package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/database"
)

// PasskeyLen is the length of a passkey: 32 lowercase hex digits (128 random bits).
const PasskeyLen = 32

// NewPasskey returns a fresh random passkey and its hash (the only thing stored).
func NewPasskey() (passkey string, hash [32]byte) {
	var b [PasskeyLen / 2]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	passkey = hex.EncodeToString(b[:])
	return passkey, HashPasskey(passkey)
}

// HashPasskey returns sha256 of the passkey. Passkeys are 128-bit random
// secrets, so an unsalted fast hash is enough: the table reveals nothing.
func HashPasskey(passkey string) [32]byte { return sha256.Sum256([]byte(passkey)) }

// WellFormedPasskey tells whether s looks like a passkey NewPasskey made; others
// are refused without a database query.
func WellFormedPasskey(s string) bool {
	if len(s) != PasskeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

type passkeyEntry struct{ addr common.Address }

// AgentByPasskey returns the agent whose passkey this is, or
// database.ErrNotFound. It is the announce path's lookup: answers are cached by
// sha256(passkey) (bounded, Options.PasskeyCacheSize); a rotation through this
// Store evicts the old passkey at once, a rotation by another process is seen
// within Options.PasskeyCacheTTL. Unknown passkeys are not cached.
func (s *Store) AgentByPasskey(ctx context.Context, passkey string) (common.Address, error) {
	if !WellFormedPasskey(passkey) {
		return common.Address{}, database.ErrNotFound
	}
	h := HashPasskey(passkey)
	if e, ok := s.passkeys.get(h); ok {
		return e.addr, nil
	}
	gen := s.passkeys.generation()
	var addr []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT address FROM agents WHERE passkey_hash = $1`, h[:]).Scan(&addr)
	if err != nil {
		if err = notFound(err); !errors.Is(err, database.ErrNotFound) {
			return common.Address{}, fmt.Errorf("agent by passkey: %w", err)
		}
		return common.Address{}, err
	}
	a := common.BytesToAddress(addr)
	s.passkeys.putIf(gen, h, passkeyEntry{a})
	return a, nil
}
