package receipt

import (
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// abiArgs is the digest's tuple, for the reflection-based reference encoder.
var abiArgs = func() abi.Arguments {
	ty := func(s string) abi.Argument {
		t, err := abi.NewType(s, "", nil)
		if err != nil {
			panic(err)
		}
		return abi.Argument{Type: t}
	}
	return abi.Arguments{
		ty("uint256"), ty("address"), ty("bytes32"), ty("address"), ty("address"),
		ty("bytes32"), ty("uint256"), ty("uint256"), ty("uint256"),
	}
}()

// referenceEncode is abi.encode(...) by go-ethereum's reflection-based packer.
func referenceEncode(t testing.TB, d Domain, r Receipt) []byte {
	t.Helper()
	u := func(v uint64) *big.Int { return new(big.Int).SetUint64(v) }
	b, err := abiArgs.Pack(u(d.ChainID), d.Tracker, r.InfoHash, r.Sender, r.Receiver,
		r.PieceHash, u(uint64(r.PieceIndex)), u(uint64(r.PieceSize)), u(r.Timestamp))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeMatchesABIPacker(t *testing.T) {
	_, vs := loadShared(t)
	max := Receipt{PieceIndex: math.MaxUint32, PieceSize: math.MaxUint32, Timestamp: math.MaxUint64}
	for i := range max.InfoHash {
		max.InfoHash[i], max.PieceHash[i] = 0xff, 0xff
	}
	for i := range max.Sender {
		max.Sender[i], max.Receiver[i] = 0xff, 0xff
	}
	cases := []struct {
		name string
		d    Domain
		r    Receipt
	}{
		{"zero", Domain{}, Receipt{}},
		{"max", Domain{ChainID: math.MaxUint64, Tracker: max.Sender}, max},
		{"vector0", vs[0].domain, vs[0].r},
		{"vector2", vs[2].domain, vs[2].r},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := referenceEncode(t, tc.d, tc.r)
			got := Encode(tc.d, tc.r)
			if string(got[:]) != string(want) {
				t.Fatalf("Encode = %x\nwant     %x", got, want)
			}
			if Digest(tc.d, tc.r) != crypto.Keccak256Hash(want) {
				t.Fatal("Digest differs from keccak256 of the reference encoding")
			}
		})
	}
}

// TestDigestFieldSensitivity changes each field (domain included) and checks that
// the digest changes and that the original signature no longer verifies, with
// ErrWrongSigner (the recovered address is someone else's).
func TestDigestFieldSensitivity(t *testing.T) {
	_, vs := loadShared(t)
	v := vs[1]
	cases := []struct {
		name string
		mut  func(*Domain, *Receipt)
	}{
		{"chainId", func(d *Domain, _ *Receipt) { d.ChainID = 1 }},
		{"chainId+1", func(d *Domain, _ *Receipt) { d.ChainID++ }},
		{"tracker", func(d *Domain, _ *Receipt) { d.Tracker[19] ^= 1 }},
		{"infohash", func(_ *Domain, r *Receipt) { r.InfoHash[31] ^= 1 }},
		{"sender", func(_ *Domain, r *Receipt) { r.Sender[0] ^= 0x80 }},
		{"receiver swapped with sender", func(_ *Domain, r *Receipt) { r.Sender, r.Receiver = r.Receiver, r.Sender }},
		{"pieceHash", func(_ *Domain, r *Receipt) { r.PieceHash[0] ^= 1 }},
		{"pieceIndex", func(_ *Domain, r *Receipt) { r.PieceIndex++ }},
		{"pieceSize", func(_ *Domain, r *Receipt) { r.PieceSize-- }},
		{"timestamp", func(_ *Domain, r *Receipt) { r.Timestamp++ }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, r := v.domain, v.r
			tc.mut(&d, &r)
			if Digest(d, r) == v.digest {
				t.Fatal("digest unchanged")
			}
			got, err := Recover(d, r, v.sig[:])
			if err != nil {
				t.Fatalf("Recover: %v", err)
			}
			if got == v.r.Receiver || got == r.Receiver {
				t.Fatalf("tampered receipt recovers to the receiver %s", got)
			}
			err = Verify(d, r, v.sig[:])
			if !errors.Is(err, ErrWrongSigner) || !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify = %v, want ErrWrongSigner", err)
			}
		})
	}
}

// TestDomainSeparation: a receipt signed for one tracker is refused by another
// tracker and on another chain, while the untouched receipt still verifies.
func TestDomainSeparation(t *testing.T) {
	_, vs := loadShared(t)
	v := vs[0]
	other := []Domain{
		{ChainID: 11155111, Tracker: v.domain.Tracker},
		{ChainID: v.domain.ChainID, Tracker: common.HexToAddress("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")},
		{},
	}
	for _, d := range other {
		if err := Verify(d, v.r, v.sig[:]); !errors.Is(err, ErrWrongSigner) {
			t.Errorf("domain %+v: Verify = %v, want ErrWrongSigner", d, err)
		}
		sig := must(Sign(d, v.r, v.key))
		if sig == v.sig {
			t.Errorf("domain %+v: same signature as the original domain", d)
		}
		if err := Verify(d, v.r, sig[:]); err != nil {
			t.Errorf("domain %+v: own signature: %v", d, err)
		}
		if err := Verify(v.domain, v.r, sig[:]); !errors.Is(err, ErrWrongSigner) {
			t.Errorf("domain %+v: signature verifies in the original domain: %v", d, err)
		}
	}
	if err := Verify(v.domain, v.r, v.sig[:]); err != nil {
		t.Fatal(err)
	}
}

func TestSignedByWrongKey(t *testing.T) {
	_, vs := loadShared(t)
	v := vs[0]
	sender := v.senderKey // a key that is not the receiver's
	sig := must(Sign(v.domain, v.r, sender))
	if err := Verify(v.domain, v.r, sig[:]); !errors.Is(err, ErrWrongSigner) {
		t.Fatalf("Verify = %v, want ErrWrongSigner", err)
	}
	if _, err := Sign(v.domain, v.r, nil); !errors.Is(err, ErrNilKey) {
		t.Fatalf("Sign(nil key) = %v, want ErrNilKey", err)
	}
}

func TestValidate(t *testing.T) {
	a := common.HexToAddress("0x1")
	b := common.HexToAddress("0x2")
	cases := []struct {
		name string
		r    Receipt
		want error
	}{
		{"ok", Receipt{Sender: a, Receiver: b, PieceSize: 1}, nil},
		{"zero sender", Receipt{Receiver: b, PieceSize: 1}, ErrZeroAddress},
		{"zero receiver", Receipt{Sender: a, PieceSize: 1}, ErrZeroAddress},
		{"self", Receipt{Sender: a, Receiver: a, PieceSize: 1}, ErrSelfReceipt},
		{"zero size", Receipt{Sender: a, Receiver: b}, ErrZeroSize},
	}
	for _, tc := range cases {
		if err := tc.r.Validate(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: Validate = %v, want %v", tc.name, err, tc.want)
		}
	}
	dcases := []struct {
		d    Domain
		want error
	}{
		{Domain{ChainID: 1, Tracker: a}, nil},
		{Domain{Tracker: a}, ErrInvalidDomain},
		{Domain{ChainID: 1}, ErrInvalidDomain},
	}
	for _, tc := range dcases {
		if err := tc.d.Validate(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%+v: Validate = %v, want %v", tc.d, err, tc.want)
		}
	}
}

func TestKey(t *testing.T) {
	_, vs := loadShared(t)
	// vectors 1 and 2: same torrent, receiver and piece, different senders.
	k1, k2 := vs[1].r.Key(), vs[2].r.Key()
	if k1 == k2 {
		t.Fatal("different senders share a key")
	}
	if [56]byte(k1[:56]) != [56]byte(k2[:56]) {
		t.Fatal("same piece download has different key prefixes")
	}
	if k0 := vs[0].r.Key(); [56]byte(k0[:56]) == [56]byte(k1[:56]) {
		t.Fatal("different pieces share a key prefix")
	}
	r := vs[1].r
	r.Timestamp++
	r.PieceSize++
	r.PieceHash[0]++
	if r.Key() != k1 {
		t.Fatal("key depends on timestamp, size or piece hash")
	}
	want := "07e453e21d1b9e7182c2c9cdbd2cba0bffb672c5000000000000000000000000" +
		"70997970c51812dc3a010c7d01b50e0d17dc79c8" + "0000002a" + "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
	if got := common.Bytes2Hex(k1[:]); got != want {
		t.Fatalf("Key = %s\nwant  %s", got, want)
	}
}

func TestInfoHashFromV1(t *testing.T) {
	var v1 [20]byte
	copy(v1[:], common.FromHex("07e453e21d1b9e7182c2c9cdbd2cba0bffb672c5"))
	_, vs := loadShared(t)
	if got := InfoHashFromV1(v1); got != vs[0].r.InfoHash {
		t.Fatalf("InfoHashFromV1 = %x, want %x", got, vs[0].r.InfoHash)
	}
}

func TestZeroAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	_, vs := loadShared(t)
	v := vs[0]
	var sink [32]byte
	cases := map[string]func(){
		"Digest":       func() { sink = Digest(v.domain, v.r) },
		"PersonalHash": func() { sink = PersonalHash(v.digest) },
		"LeafHash":     func() { sink = LeafHash(v.digest) },
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
	_ = sink
}
