package receipt

import (
	"errors"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func TestParseAddress(t *testing.T) {
	const checksummed = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	want := common.HexToAddress(checksummed)
	cases := []struct {
		in   string
		want error
	}{
		{checksummed, nil},
		{strings.ToLower(checksummed), nil},
		{"0x" + strings.ToUpper(checksummed[2:]), nil},
		{"0x70997970c51812dc3A010C7d01b50e0d17dc79C8", ErrChecksum},    // one letter lowered
		{"0x70997970C51812DC3A010C7d01b50e0d17dc79C8", ErrChecksum},    // one letter raised
		{"70997970C51812dc3A010C7d01b50e0d17dc79C8", ErrMissingPrefix}, // no prefix
		{"0X70997970C51812dc3A010C7d01b50e0d17dc79C8", ErrMissingPrefix},
		{" 0x70997970C51812dc3A010C7d01b50e0d17dc79C8", ErrMissingPrefix},
		{"0x70997970C51812dc3A010C7d01b50e0d17dc79C8 ", ErrHexLength},
		{"", ErrMissingPrefix},
		{"0x", ErrHexLength},
		{"0x70997970C51812dc3A010C7d01b50e0d17dc79C", ErrHexLength},    // 39 digits
		{"0x70997970C51812dc3A010C7d01b50e0d17dc79C8a", ErrHexLength},  // 41
		{"0x0070997970C51812dc3A010C7d01b50e0d17dc79C8", ErrHexLength}, // 42: no truncation
		{"0x70997970C51812dc3A010C7d01b50e0d17dc79Cg", ErrHexDigit},
		{"0x7099797gC51812dc3A010C7d01b50e0d17dc79C8", ErrHexDigit},
	}
	for _, tc := range cases {
		got, err := ParseAddress(tc.in)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("ParseAddress(%q) = %v, want %v", tc.in, err, tc.want)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadHex) {
				t.Errorf("ParseAddress(%q) = %v, does not match ErrBadHex", tc.in, err)
			}
			if got != (common.Address{}) {
				t.Errorf("ParseAddress(%q) returned %s with an error", tc.in, got)
			}
		} else if got != want {
			t.Errorf("ParseAddress(%q) = %s, want %s", tc.in, got, want)
		}
	}
	// The error names the offending character and offset.
	_, err := ParseAddress("0x7099797gC51812dc3A010C7d01b50e0d17dc79C8")
	if !strings.Contains(err.Error(), `'g' at offset 9`) {
		t.Errorf("error %q does not locate the bad digit", err)
	}
}

func TestParseBytes32(t *testing.T) {
	const h = "0x07e453e21d1b9e7182c2c9cdbd2cba0bffb672c5000000000000000000000000"
	cases := []struct {
		in   string
		want error
	}{
		{h, nil},
		{strings.ToUpper(h[:2]) + h[2:], ErrMissingPrefix},
		{"0x" + strings.ToUpper(h[2:]), nil},
		{"0x07E453e21d1b9e7182c2c9cdbd2cba0bffb672c5000000000000000000000000", nil}, // no checksum for bytes32
		{h[:len(h)-1], ErrHexLength},
		{h + "0", ErrHexLength},
		{h + "00", ErrHexLength},
		{"0x07e453e21d1b9e7182c2c9cdbd2cba0bffb672c5", ErrHexLength}, // a v1 info hash is not padded silently
		{h[:10] + "z" + h[11:], ErrHexDigit},
		{h[:10] + "é" + h[12:], ErrHexDigit},
	}
	want := InfoHashFromV1([20]byte(common.FromHex("07e453e21d1b9e7182c2c9cdbd2cba0bffb672c5")))
	for _, tc := range cases {
		got, err := ParseBytes32(tc.in)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) || (err != nil && !errors.Is(err, ErrBadHex)) {
			t.Errorf("ParseBytes32(%q) = %v, want %v", tc.in, err, tc.want)
			continue
		}
		if err == nil && got != want {
			t.Errorf("ParseBytes32(%q) = %x", tc.in, got)
		}
	}
}

func TestParseSignature(t *testing.T) {
	_, vs := loadShared(t)
	good := vs[0].sig.Hex()
	raw := vs[0].sig
	raw[64] -= 27
	cases := []struct {
		in   string
		want error
	}{
		{good, nil},
		{raw.Hex(), nil}, // v=0/1 is normalised
		{good[:len(good)-2], ErrHexLength},
		{good + "00", ErrHexLength},
		{good[2:], ErrMissingPrefix},
		{good[:len(good)-2] + "1d", ErrRecoveryID},
		{highS(vs[0].sig).Hex(), ErrHighS},
	}
	for _, tc := range cases {
		got, err := ParseSignature(tc.in)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("ParseSignature(%q) = %v, want %v", tc.in, err, tc.want)
			continue
		}
		if err == nil && got != vs[0].sig {
			t.Errorf("ParseSignature(%q) = %s, want %s", tc.in, got, vs[0].sig)
		}
	}
}
