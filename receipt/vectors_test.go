package receipt

import (
	"crypto/ecdsa"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// sharedVectors is ../testdata/receipts.json, pinned by an independent
// implementation (ethers + @openzeppelin/merkle-tree, checked with cast).
type sharedVectors struct {
	Keys []struct {
		PrivateKey string `json:"privateKey"`
		Address    string `json:"address"`
	} `json:"keys"`
	Receipts []struct {
		ChainID    uint64 `json:"chainId"`
		Tracker    string `json:"tracker"`
		InfoHash   string `json:"infohash"`
		Sender     string `json:"sender"`
		Receiver   string `json:"receiver"`
		PieceHash  string `json:"pieceHash"`
		PieceIndex uint32 `json:"pieceIndex"`
		PieceSize  uint32 `json:"pieceSize"`
		Timestamp  uint64 `json:"timestamp"`
		Digest     string `json:"digest"`
		Signature  string `json:"signature"`
	} `json:"receipts"`
	Merkle struct {
		Root   string `json:"root"`
		Leaves []struct {
			Digest   string   `json:"digest"`
			LeafHash string   `json:"leafHash"`
			Proof    []string `json:"proof"`
		} `json:"leaves"`
	} `json:"merkle"`
}

// vector is one parsed receipt vector.
type vector struct {
	domain Domain
	r      Receipt
	digest [32]byte
	sig    Signature
	key    *ecdsa.PrivateKey // the receiver's key
	// senderKey is the sender's key, a key that must not verify.
	senderKey *ecdsa.PrivateKey
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// must returns v, panicking (and so failing the test) on error. For fixtures.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func b32(t testing.TB, s string) [32]byte { t.Helper(); return must(ParseBytes32(s)) }

func addr(t testing.TB, s string) common.Address { t.Helper(); return must(ParseAddress(s)) }

func loadShared(t testing.TB) (sharedVectors, []vector) {
	t.Helper()
	var sv struct {
		About string `json:"about"`
		sharedVectors
	}
	readJSON(t, "../testdata/receipts.json", &sv)
	keys := map[common.Address]*ecdsa.PrivateKey{}
	for _, k := range sv.Keys {
		key := must(crypto.ToECDSA(hexutil.MustDecode(k.PrivateKey)))
		if got := crypto.PubkeyToAddress(key.PublicKey); got != addr(t, k.Address) {
			t.Fatalf("key list: %s derives %s", k.Address, got)
		}
		keys[addr(t, k.Address)] = key
	}
	var vs []vector
	for _, x := range sv.Receipts {
		v := vector{
			domain: Domain{ChainID: x.ChainID, Tracker: addr(t, x.Tracker)},
			r: Receipt{
				InfoHash:   b32(t, x.InfoHash),
				Sender:     addr(t, x.Sender),
				Receiver:   addr(t, x.Receiver),
				PieceHash:  b32(t, x.PieceHash),
				PieceIndex: x.PieceIndex,
				PieceSize:  x.PieceSize,
				Timestamp:  x.Timestamp,
			},
			digest: b32(t, x.Digest),
			sig:    must(ParseSignature(x.Signature)),
		}
		if v.sig.Hex() != x.Signature {
			t.Fatalf("vector signature %s is not canonical (got %s)", x.Signature, v.sig.Hex())
		}
		v.key = keys[v.r.Receiver]
		v.senderKey = keys[v.r.Sender]
		if v.key == nil || v.senderKey == nil || v.key.D.Cmp(v.senderKey.D) == 0 {
			t.Fatalf("need distinct keys for receiver %s and sender %s", v.r.Receiver, v.r.Sender)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		t.Fatal("no receipt vectors")
	}
	return sv.sharedVectors, vs
}

func TestVectorDigests(t *testing.T) {
	_, vs := loadShared(t)
	for i, v := range vs {
		if got := Digest(v.domain, v.r); got != v.digest {
			t.Errorf("receipt %d: Digest = %x, want %x", i, got, v.digest)
		}
		enc := Encode(v.domain, v.r)
		if got := crypto.Keccak256Hash(enc[:]); got != v.digest {
			t.Errorf("receipt %d: keccak(Encode) = %x, want %x", i, got, v.digest)
		}
	}
}

func TestVectorSign(t *testing.T) {
	_, vs := loadShared(t)
	for i, v := range vs {
		sig, err := Sign(v.domain, v.r, v.key)
		if err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if sig != v.sig {
			t.Errorf("receipt %d: Sign = %s, want %s (RFC 6979 signing must be deterministic)", i, sig, v.sig)
		}
	}
}

func TestVectorRecover(t *testing.T) {
	_, vs := loadShared(t)
	for i, v := range vs {
		got, err := Recover(v.domain, v.r, v.sig[:])
		if err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if got != v.r.Receiver {
			t.Errorf("receipt %d: Recover = %s, want receiver %s", i, got, v.r.Receiver)
		}
		if err := Verify(v.domain, v.r, v.sig[:]); err != nil {
			t.Errorf("receipt %d: Verify: %v", i, err)
		}
		// The same signature with the raw recovery id {0,1} is accepted too.
		raw := v.sig
		raw[64] -= 27
		if err := Verify(v.domain, v.r, raw[:]); err != nil {
			t.Errorf("receipt %d: Verify with v=%d: %v", i, raw[64], err)
		}
	}
}

func TestVectorMerkle(t *testing.T) {
	sv, vs := loadShared(t)
	var digests [][32]byte
	for _, v := range vs {
		digests = append(digests, v.digest)
	}
	tree := must(NewTree(digests))
	wantRoot := b32(t, sv.Merkle.Root)
	if tree.Root() != wantRoot {
		t.Fatalf("Root = %x, want %x", tree.Root(), wantRoot)
	}
	if got := must(MerkleRoot(digests)); got != wantRoot {
		t.Fatalf("MerkleRoot = %x, want %x", got, wantRoot)
	}
	if len(sv.Merkle.Leaves) != len(digests) {
		t.Fatalf("%d merkle leaves for %d receipts", len(sv.Merkle.Leaves), len(digests))
	}
	for i, l := range sv.Merkle.Leaves {
		d := b32(t, l.Digest)
		if d != digests[i] {
			t.Errorf("leaf %d: digest %x is not receipt %d's %x", i, d, i, digests[i])
		}
		if got, want := LeafHash(d), b32(t, l.LeafHash); got != want {
			t.Errorf("leaf %d: LeafHash = %x, want %x", i, got, want)
		}
		proof := must(tree.Proof(d))
		var want [][32]byte
		for _, p := range l.Proof {
			want = append(want, b32(t, p))
		}
		if !equalProofs(proof, want) {
			t.Errorf("leaf %d: Proof = %x, want %x", i, proof, want)
		}
		if !VerifyProof(wantRoot, d, want) {
			t.Errorf("leaf %d: vector proof does not verify", i)
		}
	}
}

func equalProofs(a, b [][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOZTrees reproduces trees of 1..17, 64, 100 and 257 leaves built by
// @openzeppelin/merkle-tree itself (testdata/gen_oz_trees.js).
func TestOZTrees(t *testing.T) {
	var f struct {
		About string `json:"about"`
		Trees []struct {
			Digests []string `json:"digests"`
			Root    string   `json:"root"`
			Proofs  []struct {
				Index int      `json:"index"`
				Proof []string `json:"proof"`
			} `json:"proofs"`
		} `json:"trees"`
	}
	readJSON(t, "testdata/oz_trees.json", &f)
	if len(f.Trees) < 20 {
		t.Fatalf("only %d trees", len(f.Trees))
	}
	for _, tc := range f.Trees {
		digests := make([][32]byte, len(tc.Digests))
		for i, d := range tc.Digests {
			digests[i] = b32(t, d)
		}
		tree := must(NewTree(digests))
		root := b32(t, tc.Root)
		if tree.Root() != root {
			t.Errorf("%d leaves: root %x, want %x", len(digests), tree.Root(), root)
			continue
		}
		for _, p := range tc.Proofs {
			var want [][32]byte
			for _, s := range p.Proof {
				want = append(want, b32(t, s))
			}
			got := must(tree.Proof(digests[p.Index]))
			if !equalProofs(got, want) {
				t.Errorf("%d leaves, digest %d: proof %x, want %x", len(digests), p.Index, got, want)
			}
		}
	}
}
