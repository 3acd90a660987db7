// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @notice Test-side re-implementation of OpenZeppelin's StandardMerkleTree (leaf type bytes32,
/// sortLeaves = true): leaves sorted ascending, complete binary tree in an array with the leaves at
/// the end in reverse order, sorted-pair keccak256 for inner nodes.
library StandardMerkle {
    function leafHash(bytes32 digest) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest))));
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @return tree The array form of the tree (tree[0] is the root).
    /// @return sorted The leaf hashes in tree order (sorted[j] sits at tree[tree.length - 1 - j]).
    function build(bytes32[] memory digests) internal pure returns (bytes32[] memory tree, bytes32[] memory sorted) {
        uint256 n = digests.length;
        require(n > 0, "empty tree");
        sorted = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 h = leafHash(digests[i]);
            uint256 j = i;
            while (j > 0 && sorted[j - 1] > h) {
                sorted[j] = sorted[j - 1];
                --j;
            }
            sorted[j] = h;
        }
        tree = new bytes32[](2 * n - 1);
        for (uint256 i; i < n; ++i) {
            tree[tree.length - 1 - i] = sorted[i];
        }
        for (uint256 k = tree.length - n; k > 0; --k) {
            uint256 i = k - 1;
            tree[i] = hashPair(tree[2 * i + 1], tree[2 * i + 2]);
        }
    }

    function root(bytes32[] memory digests) internal pure returns (bytes32) {
        (bytes32[] memory tree,) = build(digests);
        return tree[0];
    }

    /// @notice Proof for `digest` (which must be in the tree).
    function proof(bytes32[] memory digests, bytes32 digest) internal pure returns (bytes32[] memory p) {
        (bytes32[] memory tree, bytes32[] memory sorted) = build(digests);
        return proofFrom(tree, sorted, digest);
    }

    /// @notice Proof for `digest` from an already built tree (see {build}).
    function proofFrom(bytes32[] memory tree, bytes32[] memory sorted, bytes32 digest)
        internal
        pure
        returns (bytes32[] memory p)
    {
        bytes32 h = leafHash(digest);
        uint256 idx = type(uint256).max;
        for (uint256 j; j < sorted.length; ++j) {
            if (sorted[j] == h) idx = tree.length - 1 - j;
        }
        require(idx != type(uint256).max, "not in tree");
        uint256 depth;
        for (uint256 i = idx; i > 0; i = (i - 1) / 2) {
            ++depth;
        }
        p = new bytes32[](depth);
        uint256 d;
        for (uint256 i = idx; i > 0; i = (i - 1) / 2) {
            p[d++] = tree[i % 2 == 1 ? i + 1 : i - 1];
        }
    }
}
