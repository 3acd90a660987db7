package receipt

import (
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// SignatureLength is the length of a signature: r (32) || s (32) || v (1).
const SignatureLength = 65

// Signature is an Ethereum signature r||s||v. Signatures produced by this package
// (and by NormalizeSignature) have v in {27, 28} and a low s.
type Signature [SignatureLength]byte

// Hex returns the signature as 0x-prefixed lowercase hex.
func (s Signature) Hex() string { return "0x" + hex.EncodeToString(s[:]) }

// String returns s.Hex().
func (s Signature) String() string { return s.Hex() }

// kindError is a sentinel error that also matches a broader sentinel.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// ErrBadSignature matches every reason a signature does not authenticate a
// message: malformed (ErrSignatureLength, ErrRecoveryID, ErrSignatureRange,
// ErrHighS), unrecoverable, or made by someone else (ErrWrongSigner).
var ErrBadSignature = errors.New("receipt: bad signature")

// Signature sentinel errors; each matches ErrBadSignature with errors.Is.
var (
	// ErrSignatureLength reports a signature that is not 65 bytes.
	ErrSignatureLength error = &kindError{"receipt: bad signature: length is not 65 bytes", ErrBadSignature}
	// ErrRecoveryID reports a v byte outside {27, 28, 0, 1}.
	ErrRecoveryID error = &kindError{"receipt: bad signature: v is not 27 or 28", ErrBadSignature}
	// ErrSignatureRange reports r or s equal to zero or not below the curve order.
	ErrSignatureRange error = &kindError{"receipt: bad signature: r or s out of range", ErrBadSignature}
	// ErrHighS reports a malleable signature whose s is above secp256k1n/2.
	ErrHighS error = &kindError{"receipt: bad signature: malleable high s", ErrBadSignature}
	// ErrWrongSigner reports a well-formed signature by an address other than the
	// expected signer (the receipt's receiver, the registering agent, ...). Any
	// change to a signed field, the domain included, ends here.
	ErrWrongSigner error = &kindError{"receipt: bad signature: signer is not the expected address", ErrBadSignature}
)

// ErrNilKey is returned when signing with a nil private key.
var ErrNilKey = errors.New("receipt: nil private key")

var (
	// secp256k1N is the order of the secp256k1 group.
	secp256k1N = [32]byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
	}
	// secp256k1HalfN is floor(secp256k1N / 2), the largest accepted s (EIP-2).
	secp256k1HalfN = [32]byte{
		0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
	}
)

// NormalizeSignature validates sig and returns its canonical form with v in
// {27, 28}. It accepts v in {27, 28} and the raw recovery ids {0, 1} (mapped to 27
// and 28), and refuses wrong lengths, r or s of zero or not below the curve order,
// and s above secp256k1n/2. Store the canonical form: it is the one that verifies
// with ecrecover and OpenZeppelin's ECDSA on chain.
func NormalizeSignature(sig []byte) (Signature, error) {
	var s Signature
	if len(sig) != SignatureLength {
		return s, fmt.Errorf("%w (got %d)", ErrSignatureLength, len(sig))
	}
	copy(s[:], sig)
	switch s[64] {
	case 27, 28:
	case 0, 1:
		s[64] += 27
	default:
		return s, fmt.Errorf("%w (got %d)", ErrRecoveryID, sig[64])
	}
	r, sv := (*[32]byte)(s[0:32]), (*[32]byte)(s[32:64])
	if isZero32(r) || isZero32(sv) || !lessBytes32(r, &secp256k1N) || !lessBytes32(sv, &secp256k1N) {
		return s, ErrSignatureRange
	}
	if lessBytes32(&secp256k1HalfN, sv) {
		return s, ErrHighS
	}
	return s, nil
}

func isZero32(b *[32]byte) bool { return *b == [32]byte{} }

// PersonalHash returns the EIP-191 hash of a 32-byte message:
// keccak256("\x19Ethereum Signed Message:\n32" ++ digest). A receipt signature signs
// PersonalHash(Digest(d, r)).
func PersonalHash(digest [32]byte) [32]byte {
	h := getHasher()
	out := h.personal(&digest)
	putHasher(h)
	return out
}

// TextHash returns the EIP-191 hash of an arbitrary message:
// keccak256("\x19Ethereum Signed Message:\n" ++ decimal len(msg) ++ msg), the hash
// personal_sign (ethers signMessage, cast wallet sign) signs.
func TextHash(msg []byte) [32]byte {
	var prefix [len("\x19Ethereum Signed Message:\n") + 20]byte
	p := append(prefix[:0], "\x19Ethereum Signed Message:\n"...)
	p = strconv.AppendInt(p, int64(len(msg)), 10)
	h := getHasher()
	h.k.Reset()
	h.k.Write(p)
	h.k.Write(msg)
	h.k.Read(h.out[:])
	out := h.out
	putHasher(h)
	return out
}

// signHash signs a 32-byte hash with RFC 6979 deterministic nonces (libsecp256k1)
// and returns r||s||v with v in {27, 28} and a low s.
func signHash(hash *[32]byte, key *ecdsa.PrivateKey) (Signature, error) {
	var s Signature
	if key == nil || key.D == nil {
		return s, ErrNilKey
	}
	raw, err := crypto.Sign(hash[:], key)
	if err != nil {
		return s, fmt.Errorf("receipt: sign: %w", err)
	}
	copy(s[:], raw)
	s[64] += 27
	return s, nil
}

// recoverHash returns the address that signed hash, after NormalizeSignature's
// checks.
func recoverHash(hash *[32]byte, sig []byte) (common.Address, error) {
	s, err := NormalizeSignature(sig)
	if err != nil {
		return common.Address{}, err
	}
	s[64] -= 27
	pub, err := crypto.Ecrecover(hash[:], s[:])
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if len(pub) != 65 || pub[0] != 4 {
		return common.Address{}, fmt.Errorf("%w: unexpected public key encoding", ErrBadSignature)
	}
	h := getHasher()
	sum := h.sum(pub[1:])
	putHasher(h)
	var a common.Address
	copy(a[:], sum[12:])
	return a, nil
}

// Sign signs receipt r for domain d with the receiver's key: an EIP-191
// personal_sign of Digest(d, r). Signing is deterministic (RFC 6979), the result
// has v in {27, 28} and a low s. The key is not checked against r.Receiver; Verify
// is.
func Sign(d Domain, r Receipt, key *ecdsa.PrivateKey) (Signature, error) {
	h := PersonalHash(Digest(d, r))
	return signHash(&h, key)
}

// Recover returns the address that signed receipt r for domain d. It refuses
// malformed signatures (see NormalizeSignature) with errors matching
// ErrBadSignature. Any change to the receipt or the domain yields a different
// (meaningless) address, not an error: compare with the expected signer, or use
// Verify.
func Recover(d Domain, r Receipt, sig []byte) (common.Address, error) {
	h := PersonalHash(Digest(d, r))
	return recoverHash(&h, sig)
}

// Verify checks that sig is a valid signature of receipt r for domain d by
// r.Receiver. Errors match ErrBadSignature; ErrWrongSigner means well-formed but
// signed by someone else or for other content.
func Verify(d Domain, r Receipt, sig []byte) error {
	a, err := Recover(d, r, sig)
	if err != nil {
		return err
	}
	if a != r.Receiver {
		return ErrWrongSigner
	}
	return nil
}

// SignText signs msg with EIP-191 personal_sign (TextHash), as a wallet's
// personal_sign or `cast wallet sign "<msg>"` does. The result has v in {27, 28}.
func SignText(msg string, key *ecdsa.PrivateKey) (Signature, error) {
	h := TextHash([]byte(msg))
	return signHash(&h, key)
}

// RecoverText returns the address that personal_signed msg.
func RecoverText(msg string, sig []byte) (common.Address, error) {
	h := TextHash([]byte(msg))
	return recoverHash(&h, sig)
}

// VerifyText checks that sig is signer's personal_sign of msg. Errors match
// ErrBadSignature.
func VerifyText(msg string, signer common.Address, sig []byte) error {
	a, err := RecoverText(msg, sig)
	if err != nil {
		return err
	}
	if a != signer {
		return ErrWrongSigner
	}
	return nil
}
