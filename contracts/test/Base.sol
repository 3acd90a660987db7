// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "./Vm.sol";
import {ReputationTracker} from "../src/ReputationTracker.sol";
import {RepFactory} from "../src/RepFactory.sol";

/// @notice Shared fixtures and array helpers for the PBTS contract tests.
abstract contract Base is Test {
    uint256 internal constant GiB = 1 << 30;
    uint256 internal constant MAX112 = type(uint112).max;
    bytes32 internal constant ROOT = keccak256("root");

    address internal authority = makeAddr("authority");
    address internal stranger = makeAddr("stranger");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");

    function newTracker(address auth, address ref) internal returns (ReputationTracker) {
        return new ReputationTracker(auth, GiB, ref);
    }

    function one(address a) internal pure returns (address[] memory r) {
        r = new address[](1);
        r[0] = a;
    }

    function two(address a, address b) internal pure returns (address[] memory r) {
        r = new address[](2);
        r[0] = a;
        r[1] = b;
    }

    function u1(uint256 a) internal pure returns (uint256[] memory r) {
        r = new uint256[](1);
        r[0] = a;
    }

    function u2(uint256 a, uint256 b) internal pure returns (uint256[] memory r) {
        r = new uint256[](2);
        r[0] = a;
        r[1] = b;
    }

    /// @dev Settles one entry as the authority with the next batch id.
    function settleOne(ReputationTracker t, address agent, uint256 up, uint256 down) internal {
        uint256 id = t.lastBatchId() + 1;
        vm.prank(t.tracker());
        t.settle(id, keccak256(abi.encode(id)), one(agent), u1(up), u1(down));
    }

    function rep(ReputationTracker t, address agent) internal view returns (uint256 up, uint256 down) {
        (up, down,,) = t.getReputation(agent);
    }

    function agentsN(uint256 n, uint256 salt) internal pure returns (address[] memory r) {
        r = new address[](n);
        for (uint256 i; i < n; ++i) {
            r[i] = address(uint160(uint256(keccak256(abi.encode("agent", salt, i)))));
        }
    }

    function filled(uint256 n, uint256 v) internal pure returns (uint256[] memory r) {
        r = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            r[i] = v;
        }
    }
}
