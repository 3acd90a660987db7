package receipt

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// ErrBadHex matches every parse error of this package: ErrMissingPrefix,
// ErrHexLength, ErrHexDigit and ErrChecksum.
var ErrBadHex = errors.New("receipt: bad hex")

// Parse sentinel errors; each matches ErrBadHex with errors.Is.
var (
	// ErrMissingPrefix reports input that does not start with "0x".
	ErrMissingPrefix error = &kindError{"receipt: bad hex: missing 0x prefix", ErrBadHex}
	// ErrHexLength reports input with the wrong number of hex digits (nothing is
	// truncated or padded).
	ErrHexLength error = &kindError{"receipt: bad hex: wrong length", ErrBadHex}
	// ErrHexDigit reports a character that is not a hex digit.
	ErrHexDigit error = &kindError{"receipt: bad hex: invalid hex digit", ErrBadHex}
	// ErrChecksum reports a mixed-case address that is not valid EIP-55.
	ErrChecksum error = &kindError{"receipt: bad hex: mixed-case address fails EIP-55 checksum", ErrBadHex}
)

// decodeHex strictly decodes s ("0x" followed by exactly 2*len(dst) hex digits of
// either case) into dst. what names the value in errors.
func decodeHex(dst []byte, s, what string) error {
	if len(s) < 2 || s[0] != '0' || s[1] != 'x' {
		return fmt.Errorf("%w: %s", ErrMissingPrefix, what)
	}
	digits := s[2:]
	if len(digits) != 2*len(dst) {
		return fmt.Errorf("%w: %s needs %d hex digits after 0x, got %d", ErrHexLength, what, 2*len(dst), len(digits))
	}
	for i := range dst {
		hi, ok1 := fromHexChar(digits[2*i])
		lo, ok2 := fromHexChar(digits[2*i+1])
		if !ok1 || !ok2 {
			pos := 2 + 2*i
			if ok1 {
				pos++
			}
			return fmt.Errorf("%w: %s has %q at offset %d", ErrHexDigit, what, s[pos], pos)
		}
		dst[i] = hi<<4 | lo
	}
	return nil
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ParseAddress parses "0x" followed by exactly 40 hex digits. All-lowercase and
// all-uppercase digits are accepted as they are (no checksum); mixed case must be
// the EIP-55 checksum encoding, otherwise ErrChecksum (a mistyped checksummed
// address is refused rather than silently accepted). "0X", surrounding spaces and
// other lengths are refused.
func ParseAddress(s string) (common.Address, error) {
	var a common.Address
	if err := decodeHex(a[:], s, "address"); err != nil {
		return common.Address{}, err
	}
	var upper, lower bool
	for _, c := range s[2:] {
		upper = upper || 'A' <= c && c <= 'F'
		lower = lower || 'a' <= c && c <= 'f'
	}
	if upper && lower && a.Hex() != s {
		return common.Address{}, fmt.Errorf("%w: %s", ErrChecksum, s)
	}
	return a, nil
}

// ParseBytes32 parses "0x" followed by exactly 64 hex digits of either case
// (an info hash, a piece hash, a digest, a Merkle root).
func ParseBytes32(s string) ([32]byte, error) {
	var b [32]byte
	if err := decodeHex(b[:], s, "bytes32"); err != nil {
		return [32]byte{}, err
	}
	return b, nil
}

// ParseSignature parses "0x" followed by exactly 130 hex digits and returns the
// canonical signature (NormalizeSignature): errors match ErrBadHex or
// ErrBadSignature.
func ParseSignature(s string) (Signature, error) {
	var b [SignatureLength]byte
	if err := decodeHex(b[:], s, "signature"); err != nil {
		return Signature{}, err
	}
	return NormalizeSignature(b[:])
}
