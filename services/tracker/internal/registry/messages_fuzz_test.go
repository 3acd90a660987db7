package registry

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

var (
	fzDomain = receipt.Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}
	fzNow    = time.Unix(1700000000, 0)
	// secp256k1's group order, for the high-S twin of a signature.
	fzN, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
)

// fzInvalid reports whether err is the InvalidArgument refusal of a
// malformed field (what a client must get for bad bytes, never Internal).
func fzInvalid(err error) bool {
	var ce *clientError
	return errors.As(err, &ce) && ce.code == codes.InvalidArgument && ce.field != ""
}

// fzHighS is the other signature of the same message (s -> n - s, v
// flipped): the malleable twin the tracker must refuse.
func fzHighS(sig receipt.Signature) string {
	s := new(big.Int).SetBytes(sig[32:64])
	s.Sub(fzN, s)
	out := sig
	s.FillBytes(out[32:64])
	out[64] ^= 1 // 27 <-> 28
	return out.Hex()
}

// FuzzRegisterAgentFields parses the untrusted fields of a RegisterAgent
// request (address, timestamp, signature) as registerAgent does and
// verifies the registration message. Properties: no panic; a malformed
// field is an InvalidArgument naming it; an accepted address is non-zero
// and its EIP-55 form parses back to it; an accepted signature is canonical
// (v 27/28, low s: its high-s twin is refused), and its hex parses back to
// it; a registration verifies only for the address that signed it, within
// the window, and not for another tracker or timestamp.
func FuzzRegisterAgentFields(f *testing.F) {
	key, err := crypto.ToECDSA(common.FromHex("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"))
	if err != nil {
		f.Fatal(err)
	}
	signer := crypto.PubkeyToAddress(key.PublicKey)
	ts := uint64(fzNow.Unix())
	sig, err := receipt.SignRegistration(fzDomain, ts, key)
	if err != nil {
		f.Fatal(err)
	}
	hexSig := sig.Hex()
	f.Add(signer.Hex(), ts, hexSig)
	f.Add(strings.ToLower(signer.Hex()), ts, hexSig)
	f.Add("0x"+strings.ToUpper(signer.Hex()[2:]), ts-299, hexSig)
	f.Add(signer.Hex(), ts+301, hexSig)                    // outside the window
	f.Add(signer.Hex(), uint64(0), hexSig)                 // no timestamp
	f.Add(signer.Hex(), ts, fzHighS(sig))                  // malleated
	f.Add(signer.Hex(), ts, hexSig[:130]+"0"+hexSig[131:]) // v = 0
	f.Add(signer.Hex(), ts, strings.ToUpper(hexSig[2:]))
	f.Add("0x"+strings.Repeat("0", 40), ts, hexSig)
	f.Add("0X"+signer.Hex()[2:], ts, hexSig)
	f.Add(" "+signer.Hex(), ts, hexSig+"00")
	f.Add("0x"+strings.Repeat("aB", 20), ^uint64(0), "0x"+strings.Repeat("f", 130))
	f.Add("", ts, "")
	f.Fuzz(func(t *testing.T, address string, ts uint64, signature string) {
		addr, sig, err := signedRequest(address, ts, signature)
		if err != nil {
			if !fzInvalid(err) {
				t.Fatalf("refusal %v is not an InvalidArgument naming the field", err)
			}
			return
		}
		if addr == (common.Address{}) {
			t.Fatal("accepted the zero address")
		}
		if a, err := parseAddress("address", addr.Hex()); err != nil || a != addr {
			t.Fatalf("%s does not parse back: %v", addr.Hex(), err)
		}
		if s, err := parseSignature("signature", sig.Hex()); err != nil || s != sig {
			t.Fatalf("signature %s does not parse back: %v", sig.Hex(), err)
		}
		if sig[64] != 27 && sig[64] != 28 {
			t.Fatalf("accepted v = %d", sig[64])
		}
		if _, err := parseSignature("signature", fzHighS(sig)); err == nil {
			t.Fatalf("both %s and its high-s twin are accepted", sig.Hex())
		}
		err = receipt.VerifyRegistration(fzDomain, addr, ts, sig[:], fzNow, 5*time.Minute)
		if err != nil {
			if unauthenticated("registration", err, ts) == err {
				t.Fatalf("verification failure %v has no client answer", err)
			}
			return
		}
		if addr != signer {
			t.Fatalf("registration of %s verified with a signature it did not make", addr.Hex())
		}
		if d := int64(ts) - fzNow.Unix(); d > 300 || d < -300 {
			t.Fatalf("verified a timestamp %d s from now", d)
		}
		other := fzDomain
		other.ChainID++
		if receipt.VerifyRegistration(other, addr, ts, sig[:], fzNow, 5*time.Minute) == nil {
			t.Fatal("a registration verified for another chain")
		}
		if receipt.VerifyRegistration(fzDomain, addr, ts+1, sig[:], fzNow, 5*time.Minute) == nil {
			t.Fatal("a registration verified for another timestamp")
		}
	})
}

// FuzzPublishMetadata checks the catalog fields of a PublishDataset request
// (name, description, license, tags, modality) as they arrive over gRPC
// (the request is marshaled and unmarshaled first: what protobuf refuses
// never reaches the handler). Properties: no panic; refusals are
// InvalidArgument naming a field; accepted metadata holds every promise of
// the catalog (a trimmed name of 1 to 200 characters that is no info hash,
// bounded description and license, no control or bidirectional characters,
// 0 to 16 distinct [a-z0-9-]{1,32} tags, video or audio).
func FuzzPublishMetadata(f *testing.F) {
	f.Add("Big Buck Bunny", "An open movie.\nCC-BY.", "CC-BY-4.0", "animation\nopen-movie", int32(1))
	f.Add("lecture 3", "", "", "", int32(2))
	f.Add(" padded", "", "", "", int32(1))
	f.Add("0x"+strings.Repeat("ab", 20), "", "", "", int32(1))
	f.Add(strings.Repeat("ab", 20), "", "", "", int32(1))
	f.Add(strings.Repeat("é", 201), "", "", "", int32(1))
	f.Add("evil\u202egpj.exe", "", "", "", int32(1))
	f.Add("nul\x00", "tab\tok", "lic\n", "", int32(1))
	f.Add("dup", "", "", "a\na", int32(1))
	f.Add("caps", "", "", "Tag", int32(1))
	f.Add("many", "", "", strings.Repeat("t\n", 16)+"u", int32(1))
	f.Add("modality", "", "", "", int32(0))
	f.Add("modality", "", "", "", int32(-1))
	f.Add("bad utf-8 \xff", "", "", "", int32(1))
	f.Add("x", strings.Repeat("d", 4097), "", "", int32(2))
	r := &Registry{cfg: Config{Limits: DefaultLimits()}}
	l := r.cfg.Limits
	f.Fuzz(func(t *testing.T, name, description, license, tags string, modality int32) {
		in := &pbtsv1.PublishDatasetRequest{Name: name, Description: description, License: license, Modality: pbtsv1.Modality(modality)}
		if tags != "" {
			in.Tags = strings.Split(tags, "\n")
		}
		wire, err := proto.Marshal(in)
		if err != nil {
			return // not valid UTF-8: no client can send it
		}
		req := &pbtsv1.PublishDatasetRequest{}
		if err := proto.Unmarshal(wire, req); err != nil {
			t.Fatalf("unmarshal of a marshaled request: %v", err)
		}
		m, err := r.checkMetadata(req)
		if err != nil {
			if !fzInvalid(err) {
				t.Fatalf("refusal %v is not an InvalidArgument naming the field", err)
			}
			return
		}
		switch n := utf8.RuneCountInString(m.name); {
		case m.name == "" || strings.TrimSpace(m.name) != m.name || n > l.MaxNameChars:
			t.Fatalf("accepted name %q", m.name)
		case len(m.description) > l.MaxDescriptionBytes || utf8.RuneCountInString(m.license) > l.MaxLicenseChars:
			t.Fatalf("accepted a description of %d bytes, a license of %q", len(m.description), m.license)
		case m.modality != 1 && m.modality != 2:
			t.Fatalf("accepted modality %d", m.modality)
		case len(m.tags) > l.MaxTags:
			t.Fatalf("accepted %d tags", len(m.tags))
		}
		if _, ok := parseInfoHash(m.name); ok {
			t.Fatalf("accepted name %q: it reads as an info hash", m.name)
		}
		for _, s := range []struct {
			text      string
			multiline bool
		}{{m.name, false}, {m.license, false}, {m.description, true}} {
			for _, c := range s.text {
				if c == 0 || c >= 0x202a && c <= 0x202e || c >= 0x2066 && c <= 0x2069 ||
					unicode.IsControl(c) && !(s.multiline && (c == '\n' || c == '\r' || c == '\t')) {
					t.Fatalf("accepted %U in %q", c, s.text)
				}
			}
		}
		seen := map[string]bool{}
		for _, tag := range m.tags {
			if seen[tag] || tag == "" || len(tag) > l.MaxTagChars || strings.Trim(tag, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
				t.Fatalf("accepted tag %q of %q", tag, m.tags)
			}
			seen[tag] = true
		}
		if receipt.MetadataDigest(m.name, m.description, modalityNames[m.modality], m.tags, m.license) ==
			receipt.MetadataDigest(m.name+m.description, "", modalityNames[m.modality], m.tags, m.license) && m.description != "" {
			t.Fatal("the signed metadata digest does not separate name and description")
		}
	})
}
