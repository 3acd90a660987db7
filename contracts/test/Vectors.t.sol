// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.sol";
import {StandardMerkle} from "./StandardMerkle.sol";
import {ReputationTracker} from "../src/ReputationTracker.sol";

/// @notice Reproduces every value of ../testdata/receipts.json (computed independently with ethers and
/// OpenZeppelin merkle-tree): key addresses, receipt digests, EIP-191 signatures, leaf hashes, proofs, root.
contract VectorsTest is Base {
    string internal json;
    uint256 internal nReceipts;
    uint256 internal nKeys;
    uint256 internal nLeaves;

    function setUp() public {
        json = vm.readFile("../testdata/receipts.json");
        nReceipts = _count(".receipts");
        nKeys = _count(".keys");
        nLeaves = _count(".merkle.leaves");
    }

    function _count(string memory array) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(array, "[", vm.toString(n), "]"))) {
            ++n;
        }
    }

    function _r(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".receipts[", vm.toString(i), "].", field);
    }

    function _digestOf(uint256 i) internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                vm.parseJsonUint(json, _r(i, "chainId")),
                vm.parseJsonAddress(json, _r(i, "tracker")),
                vm.parseJsonBytes32(json, _r(i, "infohash")),
                vm.parseJsonAddress(json, _r(i, "sender")),
                vm.parseJsonAddress(json, _r(i, "receiver")),
                vm.parseJsonBytes32(json, _r(i, "pieceHash")),
                vm.parseJsonUint(json, _r(i, "pieceIndex")),
                vm.parseJsonUint(json, _r(i, "pieceSize")),
                vm.parseJsonUint(json, _r(i, "timestamp"))
            )
        );
    }

    function _keyOf(address who) internal view returns (uint256) {
        for (uint256 k; k < nKeys; ++k) {
            string memory p = string.concat(".keys[", vm.toString(k), "]");
            if (vm.parseJsonAddress(json, string.concat(p, ".address")) == who) {
                return vm.parseJsonUint(json, string.concat(p, ".privateKey"));
            }
        }
        revert("no key for address");
    }

    function test_Vectors_NonEmpty() public view {
        vm.assertEq(nReceipts, 3);
        vm.assertEq(nKeys, 3);
        vm.assertEq(nLeaves, nReceipts);
    }

    function test_Vectors_KeysDeriveAddresses() public view {
        for (uint256 k; k < nKeys; ++k) {
            string memory p = string.concat(".keys[", vm.toString(k), "]");
            uint256 pk = vm.parseJsonUint(json, string.concat(p, ".privateKey"));
            vm.assertEq(vm.addr(pk), vm.parseJsonAddress(json, string.concat(p, ".address")));
        }
    }

    function test_Vectors_Digests() public view {
        for (uint256 i; i < nReceipts; ++i) {
            vm.assertEq(_digestOf(i), vm.parseJsonBytes32(json, _r(i, "digest")), "digest");
        }
    }

    /// The contract's own digest() gives the same value when it lives at the vector's tracker address
    /// (0x5FbDB231..., the first contract anvil's account 0 deploys) on chain 31337.
    function test_Vectors_ContractDigestHelper() public {
        address deployer = vm.parseJsonAddress(json, ".keys[0].address");
        address at = vm.parseJsonAddress(json, _r(0, "tracker"));
        vm.assertEq(vm.computeCreateAddress(deployer, 0), at);
        vm.prank(deployer);
        ReputationTracker t = new ReputationTracker(deployer, GiB, address(0));
        vm.assertEq(address(t), at, "tracker address");
        for (uint256 i; i < nReceipts; ++i) {
            vm.chainId(vm.parseJsonUint(json, _r(i, "chainId")));
            bytes32 d = t.digest(
                vm.parseJsonBytes32(json, _r(i, "infohash")),
                vm.parseJsonAddress(json, _r(i, "sender")),
                vm.parseJsonAddress(json, _r(i, "receiver")),
                vm.parseJsonBytes32(json, _r(i, "pieceHash")),
                vm.parseJsonUint(json, _r(i, "pieceIndex")),
                vm.parseJsonUint(json, _r(i, "pieceSize")),
                vm.parseJsonUint(json, _r(i, "timestamp"))
            );
            vm.assertEq(d, vm.parseJsonBytes32(json, _r(i, "digest")), "contract digest");
        }
    }

    function test_Vectors_SignaturesRecoverReceiver() public view {
        for (uint256 i; i < nReceipts; ++i) {
            bytes32 d = vm.parseJsonBytes32(json, _r(i, "digest"));
            bytes memory sig = vm.parseJsonBytes(json, _r(i, "signature"));
            vm.assertEq(sig.length, 65);
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly {
                r := mload(add(sig, 0x20))
                s := mload(add(sig, 0x40))
                v := byte(0, mload(add(sig, 0x60)))
            }
            vm.assertTrue(v == 27 || v == 28, "v");
            bytes32 ethHash = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", d));
            address receiver = vm.parseJsonAddress(json, _r(i, "receiver"));
            vm.assertEq(ecrecover(ethHash, v, r, s), receiver, "ecrecover");
            // RFC 6979 signing is deterministic: Foundry reproduces the exact signature bytes.
            (uint8 v2, bytes32 r2, bytes32 s2) = vm.sign(_keyOf(receiver), ethHash);
            vm.assertEq(r2, r);
            vm.assertEq(s2, s);
            vm.assertEq(uint256(v2), uint256(v));
        }
    }

    function test_Vectors_MerkleLeavesProofsRoot() public {
        bytes32 root = vm.parseJsonBytes32(json, ".merkle.root");
        bytes32[] memory digests = new bytes32[](nReceipts);
        for (uint256 i; i < nReceipts; ++i) {
            digests[i] = vm.parseJsonBytes32(json, _r(i, "digest"));
        }
        vm.assertEq(StandardMerkle.root(digests), root, "root rebuilt");

        ReputationTracker t = newTracker(authority, address(0));
        vm.startPrank(authority);
        t.register(alice);
        t.settle(1, root, one(alice), u1(1), u1(0));
        vm.stopPrank();

        for (uint256 j; j < nLeaves; ++j) {
            string memory p = string.concat(".merkle.leaves[", vm.toString(j), "]");
            bytes32 d = vm.parseJsonBytes32(json, string.concat(p, ".digest"));
            bytes32[] memory proof = vm.parseJsonBytes32Array(json, string.concat(p, ".proof"));
            vm.assertEq(d, digests[j], "leaf order follows receipts");
            vm.assertEq(t.receiptLeaf(d), vm.parseJsonBytes32(json, string.concat(p, ".leafHash")), "leafHash");
            vm.assertEq(StandardMerkle.leafHash(d), t.receiptLeaf(d));
            vm.assertTrue(t.verifyReceipt(1, d, proof), "proof");
            // our own proof generator agrees with OpenZeppelin merkle-tree
            bytes32[] memory mine = StandardMerkle.proof(digests, d);
            vm.assertEq(mine.length, proof.length);
            for (uint256 k; k < proof.length; ++k) {
                vm.assertEq(mine[k], proof[k]);
            }
            // tampering with the digest, any proof element, or the batch id is rejected
            vm.assertFalse(t.verifyReceipt(1, d ^ bytes32(uint256(1)), proof));
            for (uint256 k; k < proof.length; ++k) {
                bytes32 saved = proof[k];
                proof[k] = saved ^ bytes32(uint256(1) << 255);
                vm.assertFalse(t.verifyReceipt(1, d, proof));
                proof[k] = saved;
            }
            vm.assertFalse(t.verifyReceipt(2, d, proof));
        }
    }
}
