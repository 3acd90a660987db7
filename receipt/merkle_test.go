package receipt

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

func randomDigests(rng *rand.Rand, n int) [][32]byte {
	ds := make([][32]byte, n)
	for i := range ds {
		for j := 0; j < 32; j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				ds[i][j+k] = byte(v >> (8 * k))
			}
		}
	}
	return ds
}

func TestMerkleErrors(t *testing.T) {
	if _, err := NewTree(nil); !errors.Is(err, ErrEmptyTree) {
		t.Errorf("NewTree(nil) = %v", err)
	}
	if _, err := MerkleRoot([][32]byte{}); !errors.Is(err, ErrEmptyTree) {
		t.Errorf("MerkleRoot(empty) = %v", err)
	}
	ds := randomDigests(rand.New(rand.NewPCG(1, 2)), 5)
	dup := append(slices.Clone(ds), ds[3])
	if _, err := NewTree(dup); !errors.Is(err, ErrDuplicateLeaf) {
		t.Errorf("NewTree(duplicate) = %v", err)
	}
	if _, err := MerkleRoot(dup); !errors.Is(err, ErrDuplicateLeaf) {
		t.Errorf("MerkleRoot(duplicate) = %v", err)
	}
	tree := must(NewTree(ds))
	var outsider [32]byte
	outsider[0] = 1
	if _, err := tree.Proof(outsider); !errors.Is(err, ErrNotInTree) {
		t.Errorf("Proof(non-member) = %v", err)
	}
	// A non-member does not verify with any member's proof.
	for _, d := range ds {
		if VerifyProof(tree.Root(), outsider, must(tree.Proof(d))) {
			t.Errorf("non-member verifies with the proof of %x", d)
		}
	}
	// A leaf hash or an internal node given as a "digest" does not verify either
	// (the double leaf hash stops second-preimage tricks).
	p := must(tree.Proof(ds[0]))
	if VerifyProof(tree.Root(), LeafHash(ds[0]), p) {
		t.Error("a leaf hash verifies as a digest")
	}
	if VerifyProof(tree.Root(), ds[0], p[1:]) {
		t.Error("a truncated proof verifies")
	}
	if VerifyProof(tree.Root(), ds[0], append(slices.Clone(p), p[0])) {
		t.Error("an extended proof verifies")
	}
	bad := slices.Clone(p)
	bad[0][5] ^= 1
	if VerifyProof(tree.Root(), ds[0], bad) {
		t.Error("a tampered proof verifies")
	}
}

func TestMerkleSingleLeaf(t *testing.T) {
	_, vs := loadShared(t)
	d := vs[0].digest
	tree := must(NewTree([][32]byte{d}))
	// OpenZeppelin: the root of a one-leaf tree is the leaf hash, the proof is empty.
	if tree.Root() != LeafHash(d) {
		t.Fatalf("single-leaf root %x, want leaf hash %x", tree.Root(), LeafHash(d))
	}
	want := crypto.Keccak256Hash(crypto.Keccak256(d[:]))
	if tree.Root() != want {
		t.Fatalf("single-leaf root %x, want keccak(keccak(d)) %x", tree.Root(), want)
	}
	p := must(tree.Proof(d))
	if len(p) != 0 {
		t.Fatalf("proof %x, want empty", p)
	}
	if !VerifyProof(tree.Root(), d, nil) || tree.Len() != 1 {
		t.Fatal("single leaf does not verify")
	}
}

// refRoot is a direct transcription of @openzeppelin/merkle-tree's makeMerkleTree
// (array layout, reverse leaf order) used as an oracle.
func refRoot(digests [][32]byte) [32]byte {
	leaves := make([][32]byte, len(digests))
	for i, d := range digests {
		leaves[i] = crypto.Keccak256Hash(crypto.Keccak256(d[:]))
	}
	slices.SortFunc(leaves, func(a, b [32]byte) int { return slices.Compare(a[:], b[:]) })
	tree := make([][32]byte, 2*len(leaves)-1)
	for i, l := range leaves {
		tree[len(tree)-1-i] = l
	}
	for i := len(tree) - 1 - len(leaves); i >= 0; i-- {
		a, b := tree[2*i+1], tree[2*i+2]
		if slices.Compare(a[:], b[:]) > 0 {
			a, b = b, a
		}
		tree[i] = crypto.Keccak256Hash(a[:], b[:])
	}
	return tree[0]
}

// TestMerkleProperties: for 1..N leaves every member's proof verifies, no proof
// verifies a non-member, the root is independent of input order and matches the
// oracle, and proofs are at most ceil(log2 n) long.
func TestMerkleProperties(t *testing.T) {
	n := 130
	if testing.Short() {
		n = 40
	}
	rng := rand.New(rand.NewPCG(7, 11))
	outsider := randomDigests(rng, 1)[0]
	for size := 1; size <= n; size++ {
		ds := randomDigests(rng, size)
		tree := must(NewTree(ds))
		root := tree.Root()
		if root != refRoot(ds) {
			t.Fatalf("%d leaves: root differs from the oracle", size)
		}
		if r := must(MerkleRoot(ds)); r != root {
			t.Fatalf("%d leaves: MerkleRoot differs from NewTree", size)
		}
		shuffled := slices.Clone(ds)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if must(MerkleRoot(shuffled)) != root {
			t.Fatalf("%d leaves: root depends on input order", size)
		}
		if tree.Len() != size {
			t.Fatalf("Len = %d, want %d", tree.Len(), size)
		}
		maxDepth := 0
		for 1<<maxDepth < size {
			maxDepth++
		}
		for i, d := range ds {
			p := must(tree.Proof(d))
			if !VerifyProof(root, d, p) {
				t.Fatalf("%d leaves: proof of leaf %d does not verify", size, i)
			}
			if len(p) > maxDepth {
				t.Fatalf("%d leaves: proof of %d nodes, more than %d", size, len(p), maxDepth)
			}
			if VerifyProof(root, outsider, p) {
				t.Fatalf("%d leaves: non-member verifies with leaf %d's proof", size, i)
			}
		}
	}
}
