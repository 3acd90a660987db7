package receipt_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/receipt"
)

// Pinned values were computed independently: digests with node + js-sha3 from the
// documented encoding, signatures with `cast wallet sign --private-key KEY "<text>"`
// (Foundry 1.7.1). The key is anvil's account 1.
const (
	pubKeyHex   = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
	pubAddress  = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
	pubTS       = 1708387200
	pinPieces   = "0x9357c59d3ff5027438ddab3b1655da04ba890e0a43fac9d9568f78941d4b5a1f"
	pinMeta     = "0x1e59a0745d6c76997ad4faf0a654a67c47c92e84afa5675522c4069f59aca764"
	pinMetaZero = "0xdaa77426c30c02a43d9fba4e841a6556c524d47030762eb14dc4af897e605d9b"
	pinPubSig   = "0xd0cd81b055b9765857ea4f0e393733740e5c6449c1c5c8bc2df34611a12455fb06cb2ae9a80554c5534605f4a61a1cb9db25e6ed15656f470b08a97c2aed63531b"
	pinRotSig   = "0xd5b486c0f4d62b60fb1041d2ca9ddb079b4b9f98dcfcea7ae7b080a38427dcab60e79cfa3069faa00bc765dadc58fc7d4c641cb57bc86faa4b04475ad7dd95c31b"
)

var pubDomain = receipt.Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}

func pinnedInfoHash() (ih [20]byte) {
	for i := range ih {
		ih[i] = byte(i)
	}
	return ih
}

func pinnedPieces() []byte {
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	return append(a[:], b[:]...)
}

func pinnedMeta() [32]byte {
	return receipt.MetadataDigest("Speech commands ünï", "Spoken words, 1 s each.", "audio", []string{"speech", "keyword-spotting"}, "CC-BY-4.0")
}

func hexOf(b [32]byte) string { return "0x" + hex.EncodeToString(b[:]) }

func TestDigestsPinned(t *testing.T) {
	if got := hexOf(receipt.PiecesDigest(pinnedPieces())); got != pinPieces {
		t.Errorf("PiecesDigest = %s, want %s", got, pinPieces)
	}
	if got := hexOf(pinnedMeta()); got != pinMeta {
		t.Errorf("MetadataDigest = %s, want %s", got, pinMeta)
	}
	if got := hexOf(receipt.MetadataDigest("", "", "", nil, "")); got != pinMetaZero {
		t.Errorf("MetadataDigest(empty) = %s, want %s", got, pinMetaZero)
	}
}

func TestMetadataDigestUnambiguous(t *testing.T) {
	type meta struct {
		name, desc, modality string
		tags                 []string
		license              string
	}
	// Each differs from the base by moving bytes between fields or tags, which a
	// plain concatenation would not notice.
	metas := []meta{
		{"ab", "c", "video", []string{"x", "y"}, "l"},
		{"a", "bc", "video", []string{"x", "y"}, "l"},
		{"ab", "c", "video", []string{"xy"}, "l"},
		{"ab", "c", "video", []string{"y", "x"}, "l"},
		{"ab", "c", "video", []string{"x", "y", ""}, "l"},
		{"ab", "c", "video", []string{"x"}, "yl"},
		{"ab", "c", "audio", []string{"x", "y"}, "l"},
		{"ab", "cvideo", "", []string{"x", "y"}, "l"},
		{"ab", "c", "video", nil, ""},
	}
	seen := map[[32]byte]int{}
	for i, m := range metas {
		d := receipt.MetadataDigest(m.name, m.desc, m.modality, m.tags, m.license)
		if j, ok := seen[d]; ok {
			t.Errorf("metadata %d and %d have the same digest", j, i)
		}
		seen[d] = i
	}
	// nil and empty tags are the same metadata.
	if receipt.MetadataDigest("a", "", "video", nil, "") != receipt.MetadataDigest("a", "", "video", []string{}, "") {
		t.Error("nil and empty tags differ")
	}
}

func TestPublishMessageText(t *testing.T) {
	want := "PBTS dataset publication\n" +
		"chain: 31337\n" +
		"tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3\n" +
		"publisher: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n" +
		"infohash: 0x000102030405060708090a0b0c0d0e0f10111213\n" +
		"pieces: " + pinPieces + "\n" +
		"metadata: " + pinMeta + "\n" +
		"timestamp: 1708387200"
	got := receipt.PublishMessage(pubDomain, common.HexToAddress(pubAddress), pinnedInfoHash(),
		receipt.PiecesDigest(pinnedPieces()), pinnedMeta(), pubTS)
	if got != want {
		t.Errorf("PublishMessage =\n%s\nwant\n%s", got, want)
	}
}

func TestRotationMessageText(t *testing.T) {
	want := "PBTS passkey rotation\n" +
		"chain: 31337\n" +
		"tracker: 0x5FbDB2315678afecb367f032d93F642f64180aa3\n" +
		"agent: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n" +
		"timestamp: 1708387200"
	if got := receipt.RotationMessage(pubDomain, common.HexToAddress(pubAddress), pubTS); got != want {
		t.Errorf("RotationMessage =\n%s\nwant\n%s", got, want)
	}
	if receipt.RotationMessage(pubDomain, common.HexToAddress(pubAddress), pubTS) ==
		receipt.RegistrationMessage(pubDomain, common.HexToAddress(pubAddress), pubTS) {
		t.Error("a registration signature would authorise a rotation")
	}
}

func TestSignaturesMatchCast(t *testing.T) {
	key, err := crypto.HexToECDSA(pubKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	if a := crypto.PubkeyToAddress(key.PublicKey); a.Hex() != pubAddress {
		t.Fatalf("key address %s", a.Hex())
	}
	pieces, meta := receipt.PiecesDigest(pinnedPieces()), pinnedMeta()
	sig, err := receipt.SignPublication(pubDomain, pinnedInfoHash(), pieces, meta, pubTS, key)
	if err != nil || sig.Hex() != pinPubSig {
		t.Errorf("SignPublication = %s, %v; want cast's %s", sig.Hex(), err, pinPubSig)
	}
	sig, err = receipt.SignRotation(pubDomain, pubTS, key)
	if err != nil || sig.Hex() != pinRotSig {
		t.Errorf("SignRotation = %s, %v; want cast's %s", sig.Hex(), err, pinRotSig)
	}
	if _, err := receipt.SignRotation(pubDomain, pubTS, nil); !errors.Is(err, receipt.ErrNilKey) {
		t.Errorf("SignRotation(nil key) = %v", err)
	}
	if _, err := receipt.SignPublication(pubDomain, pinnedInfoHash(), pieces, meta, pubTS, nil); !errors.Is(err, receipt.ErrNilKey) {
		t.Errorf("SignPublication(nil key) = %v", err)
	}
}

func TestVerifyPublication(t *testing.T) {
	now := time.Unix(pubTS+10, 0)
	publisher := common.HexToAddress(pubAddress)
	sig, err := receipt.ParseSignature(pinPubSig)
	if err != nil {
		t.Fatal(err)
	}
	ih, pieces, meta := pinnedInfoHash(), receipt.PiecesDigest(pinnedPieces()), pinnedMeta()
	otherIH := ih
	otherIH[19] ^= 1
	tests := []struct {
		name    string
		d       receipt.Domain
		signer  common.Address
		ih      [20]byte
		pieces  [32]byte
		meta    [32]byte
		now     time.Time
		wantErr error
	}{
		{"valid", pubDomain, publisher, ih, pieces, meta, now, nil},
		{"other chain", receipt.Domain{ChainID: 1, Tracker: pubDomain.Tracker}, publisher, ih, pieces, meta, now, receipt.ErrWrongSigner},
		{"other tracker", receipt.Domain{ChainID: 31337, Tracker: common.Address{1}}, publisher, ih, pieces, meta, now, receipt.ErrWrongSigner},
		{"other publisher", pubDomain, common.Address{2}, ih, pieces, meta, now, receipt.ErrWrongSigner},
		{"other info hash", pubDomain, publisher, otherIH, pieces, meta, now, receipt.ErrWrongSigner},
		{"other pieces", pubDomain, publisher, ih, receipt.PiecesDigest(pinnedPieces()[:32]), meta, now, receipt.ErrWrongSigner},
		{"other metadata", pubDomain, publisher, ih, pieces, receipt.MetadataDigest("x", "", "audio", nil, ""), now, receipt.ErrWrongSigner},
		{"expired", pubDomain, publisher, ih, pieces, meta, time.Unix(pubTS+301, 0), receipt.ErrExpired},
		{"future", pubDomain, publisher, ih, pieces, meta, time.Unix(pubTS-301, 0), receipt.ErrFutureTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := receipt.VerifyPublication(tt.d, tt.signer, tt.ih, tt.pieces, tt.meta, pubTS, sig[:], tt.now, 5*time.Minute)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("VerifyPublication = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyRotation(t *testing.T) {
	agent := common.HexToAddress(pubAddress)
	sig, err := receipt.ParseSignature(pinRotSig)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(pubTS, 0)
	if err := receipt.VerifyRotation(pubDomain, agent, pubTS, sig[:], now, time.Minute); err != nil {
		t.Errorf("valid rotation: %v", err)
	}
	if err := receipt.VerifyRotation(pubDomain, agent, pubTS+1, sig[:], now, time.Minute); !errors.Is(err, receipt.ErrWrongSigner) {
		t.Errorf("other timestamp: %v, want ErrWrongSigner", err)
	}
	if err := receipt.VerifyRotation(pubDomain, agent, pubTS, sig[:], now.Add(2*time.Minute), time.Minute); !errors.Is(err, receipt.ErrExpired) {
		t.Errorf("expired: %v, want ErrExpired", err)
	}
	// A registration signature is not a rotation signature.
	key, _ := crypto.HexToECDSA(pubKeyHex)
	reg, err := receipt.SignRegistration(pubDomain, pubTS, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := receipt.VerifyRotation(pubDomain, agent, pubTS, reg[:], now, time.Minute); !errors.Is(err, receipt.ErrWrongSigner) {
		t.Errorf("registration signature as rotation: %v, want ErrWrongSigner", err)
	}
}
