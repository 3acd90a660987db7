package receipt

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

func fuzzReceipt(info, sender, receiver, piece []byte, index, size uint32, ts uint64) Receipt {
	r := Receipt{PieceIndex: index, PieceSize: size, Timestamp: ts}
	copy(r.InfoHash[:], info)
	copy(r.Sender[:], sender)
	copy(r.Receiver[:], receiver)
	copy(r.PieceHash[:], piece)
	return r
}

// FuzzDigest checks the hand-written encoder against go-ethereum's reflection-based
// ABI packer for arbitrary field values.
func FuzzDigest(f *testing.F) {
	_, vs := loadShared(f)
	for _, v := range vs {
		f.Add(v.domain.ChainID, v.domain.Tracker[:], v.r.InfoHash[:], v.r.Sender[:], v.r.Receiver[:],
			v.r.PieceHash[:], v.r.PieceIndex, v.r.PieceSize, v.r.Timestamp)
	}
	f.Add(uint64(0), []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, uint32(0), uint32(0), uint64(0))
	f.Add(^uint64(0), []byte{0xff}, []byte{0xff}, []byte{0xff}, []byte{0xff}, []byte{0xff}, ^uint32(0), ^uint32(0), ^uint64(0))
	f.Fuzz(func(t *testing.T, chain uint64, tracker, info, sender, receiver, piece []byte, index, size uint32, ts uint64) {
		d := Domain{ChainID: chain}
		copy(d.Tracker[:], tracker)
		r := fuzzReceipt(info, sender, receiver, piece, index, size, ts)
		want := referenceEncode(t, d, r)
		if got := Encode(d, r); string(got[:]) != string(want) {
			t.Fatalf("Encode = %x, want %x", got, want)
		}
		if Digest(d, r) != crypto.Keccak256Hash(want) {
			t.Fatal("Digest differs from keccak256(abi.encode(...))")
		}
	})
}

// FuzzSignRecover: for arbitrary keys and receipts, a signature verifies for its
// receipt and not after any single-bit change of the receipt or the signature.
func FuzzSignRecover(f *testing.F) {
	f.Add([]byte("seed"), uint64(31337), []byte{1}, []byte{2}, uint32(3), uint32(16384), uint64(1708387200), uint16(0))
	f.Add([]byte{}, uint64(1), []byte{}, []byte{}, uint32(0), uint32(1), uint64(0), uint16(1000))
	f.Fuzz(func(t *testing.T, seed []byte, chain uint64, info, sender []byte, index, size uint32, ts uint64, flip uint16) {
		key, err := crypto.ToECDSA(crypto.Keccak256(seed))
		if err != nil {
			t.Skip() // not a valid scalar (probability ~2^-128)
		}
		d := Domain{ChainID: chain, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}
		r := fuzzReceipt(info, sender, nil, info, index, size, ts)
		r.Receiver = crypto.PubkeyToAddress(key.PublicKey)
		sig, err := Sign(d, r, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NormalizeSignature(sig[:]); err != nil {
			t.Fatalf("Sign produced a non-canonical signature: %v", err)
		}
		if err := Verify(d, r, sig[:]); err != nil {
			t.Fatalf("Verify own signature: %v", err)
		}
		// Flip one bit of the encoded receipt or of the signature.
		bit := int(flip) % (8 * (EncodedLen + SignatureLength))
		if bit < 8*EncodedLen {
			enc := Encode(d, r)
			enc[bit/8] ^= 1 << (bit % 8)
			d2, r2, ok := decodeForTest(&enc)
			if !ok {
				return // the bit is in padding: no receipt encodes to this
			}
			if err := Verify(d2, r2, sig[:]); !errors.Is(err, ErrWrongSigner) {
				t.Fatalf("Verify with bit %d of the receipt flipped = %v, want ErrWrongSigner", bit, err)
			}
			return
		}
		bit -= 8 * EncodedLen
		sig[bit/8] ^= 1 << (bit % 8)
		if err := Verify(d, r, sig[:]); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify with bit %d of the signature flipped = %v", bit, err)
		}
	})
}

// decodeForTest inverts Encode; ok is false when a padding byte is non-zero.
func decodeForTest(b *[EncodedLen]byte) (d Domain, r Receipt, ok bool) {
	word := func(i, pad int) []byte {
		w := b[32*i : 32*i+32]
		for _, c := range w[:pad] {
			if c != 0 {
				ok = false
			}
		}
		return w[pad:]
	}
	ok = true
	d.ChainID = binary.BigEndian.Uint64(word(0, 24))
	copy(d.Tracker[:], word(1, 12))
	copy(r.InfoHash[:], word(2, 0))
	copy(r.Sender[:], word(3, 12))
	copy(r.Receiver[:], word(4, 12))
	copy(r.PieceHash[:], word(5, 0))
	r.PieceIndex = binary.BigEndian.Uint32(word(6, 28))
	r.PieceSize = binary.BigEndian.Uint32(word(7, 28))
	r.Timestamp = binary.BigEndian.Uint64(word(8, 24))
	if ok && Encode(d, r) != *b {
		panic("decodeForTest is not the inverse of Encode")
	}
	return d, r, ok
}
