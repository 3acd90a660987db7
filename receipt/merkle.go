package receipt

import (
	"errors"
	"slices"
)

// Merkle sentinel errors.
var (
	// ErrEmptyTree reports a tree over no digests (OpenZeppelin refuses it too).
	ErrEmptyTree = errors.New("receipt: merkle tree needs at least one digest")
	// ErrDuplicateLeaf reports a digest given twice; a batch never holds the same
	// receipt twice, so this is a caller bug.
	ErrDuplicateLeaf = errors.New("receipt: duplicate digest in merkle tree")
	// ErrNotInTree reports a proof request for a digest that is not a leaf.
	ErrNotInTree = errors.New("receipt: digest not in merkle tree")
)

// Tree is an OpenZeppelin StandardMerkleTree over receipt digests with leaf type
// bytes32, as built by @openzeppelin/merkle-tree:
//
//	leaf(d)      = keccak256(keccak256(abi.encode(d))) = keccak256(keccak256(d))
//	leaves       sorted ascending by hash
//	tree         array of 2n-1 nodes, tree[2n-2-i] = sortedLeaves[i]
//	tree[i]      = keccak256(sort(tree[2i+1], tree[2i+2]))  for i < n-1
//	root         = tree[0]
//
// A proof lists the sibling of each node on the path from the leaf to the root; it
// verifies with OpenZeppelin's MerkleProof.verify(proof, root, leaf) and with
// VerifyProof. A Tree is immutable and safe for concurrent use.
type Tree struct {
	nodes [][32]byte
	pos   map[[32]byte]int // digest -> index in nodes
}

// LeafHash returns the StandardMerkleTree leaf of a digest:
// keccak256(bytes.concat(keccak256(abi.encode(digest)))).
func LeafHash(digest [32]byte) [32]byte {
	h := getHasher()
	out := h.leaf(&digest)
	putHasher(h)
	return out
}

// leaf returns keccak256(keccak256(d)), hashing from the hasher's own buffer so
// that nothing escapes to the heap.
func (h *hasher) leaf(d *[32]byte) [32]byte {
	b := (*[32]byte)(h.pair[:32])
	*b = *d
	*b = h.sum(b[:])
	return h.sum(b[:])
}

type leafEntry struct {
	leaf, digest [32]byte
}

// build returns the node array and the sorted leaves.
func build(digests [][32]byte) ([][32]byte, []leafEntry, error) {
	n := len(digests)
	if n == 0 {
		return nil, nil, ErrEmptyTree
	}
	h := getHasher()
	defer putHasher(h)
	leaves := make([]leafEntry, n)
	for i := range digests {
		leaves[i] = leafEntry{leaf: h.leaf(&digests[i]), digest: digests[i]}
	}
	slices.SortFunc(leaves, func(a, b leafEntry) int {
		switch {
		case lessBytes32(&a.leaf, &b.leaf):
			return -1
		case lessBytes32(&b.leaf, &a.leaf):
			return 1
		}
		return 0
	})
	nodes := make([][32]byte, 2*n-1)
	for i := range leaves {
		if i > 0 && leaves[i].leaf == leaves[i-1].leaf {
			return nil, nil, ErrDuplicateLeaf
		}
		nodes[len(nodes)-1-i] = leaves[i].leaf
	}
	for i := n - 2; i >= 0; i-- {
		nodes[i] = h.sumPair(&nodes[2*i+1], &nodes[2*i+2])
	}
	return nodes, leaves, nil
}

// NewTree builds the tree over digests (in any order; the result does not depend
// on it). It fails with ErrEmptyTree or ErrDuplicateLeaf.
func NewTree(digests [][32]byte) (*Tree, error) {
	nodes, leaves, err := build(digests)
	if err != nil {
		return nil, err
	}
	pos := make(map[[32]byte]int, len(leaves))
	for i := range leaves {
		pos[leaves[i].digest] = len(nodes) - 1 - i
	}
	return &Tree{nodes: nodes, pos: pos}, nil
}

// MerkleRoot returns the root of the tree over digests without keeping the tree
// (what the chain writer needs for settle's receiptsRoot).
func MerkleRoot(digests [][32]byte) ([32]byte, error) {
	nodes, _, err := build(digests)
	if err != nil {
		return [32]byte{}, err
	}
	return nodes[0], nil
}

// Root returns the tree's root.
func (t *Tree) Root() [32]byte { return t.nodes[0] }

// Len returns the number of leaves.
func (t *Tree) Len() int { return len(t.pos) }

// Proof returns the proof for digest, siblings from the leaf up (OpenZeppelin's
// getProof order); a single-leaf tree has an empty proof. It fails with
// ErrNotInTree.
func (t *Tree) Proof(digest [32]byte) ([][32]byte, error) {
	i, ok := t.pos[digest]
	if !ok {
		return nil, ErrNotInTree
	}
	var proof [][32]byte
	for i > 0 {
		// The sibling of an odd (left) child is the next node, of an even (right)
		// child the previous one.
		if i%2 == 1 {
			proof = append(proof, t.nodes[i+1])
		} else {
			proof = append(proof, t.nodes[i-1])
		}
		i = (i - 1) / 2
	}
	return proof, nil
}

// VerifyProof reports whether proof proves digest against root, exactly as
// OpenZeppelin's MerkleProof.verify(proof, root, LeafHash(digest)) does.
func VerifyProof(root, digest [32]byte, proof [][32]byte) bool {
	h := getHasher()
	defer putHasher(h)
	node := h.leaf(&digest)
	for i := range proof {
		node = h.sumPair(&node, &proof[i])
	}
	return node == root
}
