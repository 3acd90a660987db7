package receipt

import (
	"sync"

	"github.com/ethereum/go-ethereum/crypto"
)

// personalPrefix32 is the EIP-191 (version 0x45) prefix for a 32-byte message.
const personalPrefix32 = "\x19Ethereum Signed Message:\n32"

// hasher bundles a reusable keccak state with the scratch buffers the hot paths
// need, so that hashing allocates nothing once the pool is warm.
type hasher struct {
	k    crypto.KeccakState
	buf  [EncodedLen]byte
	pair [64]byte
	pers [len(personalPrefix32) + 32]byte
	out  [32]byte
}

var hashers = sync.Pool{New: func() any {
	h := &hasher{k: crypto.NewKeccakState()}
	copy(h.pers[:], personalPrefix32)
	return h
}}

func getHasher() *hasher { return hashers.Get().(*hasher) }

func putHasher(h *hasher) { hashers.Put(h) }

// sum returns keccak256(data).
func (h *hasher) sum(data []byte) [32]byte {
	h.k.Reset()
	h.k.Write(data)
	h.k.Read(h.out[:])
	return h.out
}

// sumPair returns keccak256(min(a,b) ++ max(a,b)), OpenZeppelin's commutative
// node hash.
func (h *hasher) sumPair(a, b *[32]byte) [32]byte {
	if lessBytes32(b, a) {
		a, b = b, a
	}
	copy(h.pair[:32], a[:])
	copy(h.pair[32:], b[:])
	return h.sum(h.pair[:])
}

// personal returns the EIP-191 hash of a 32-byte message.
func (h *hasher) personal(digest *[32]byte) [32]byte {
	copy(h.pers[len(personalPrefix32):], digest[:])
	return h.sum(h.pers[:])
}

// lessBytes32 reports whether a < b as big-endian unsigned integers.
func lessBytes32(a, b *[32]byte) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
