// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.sol";
import {ReputationTracker} from "../src/ReputationTracker.sol";

/// @notice Fuzz tests of the ratio math and of settle's delta arithmetic.
contract FuzzTest is Base {
    ReputationTracker internal t; // initial credit 0 so figures can be anything in [0, 2^112)

    function setUp() public {
        t = new ReputationTracker(authority, 0, address(0));
        vm.prank(authority);
        t.register(alice);
    }

    function _setFigures(uint256 up, uint256 down) internal {
        uint256 id = t.lastBatchId() + 1;
        vm.prank(authority);
        t.settle(id, ROOT, one(alice), u1(up), u1(down));
    }

    /// Reference: 2*up >= down + left evaluated with a 257-bit right-hand side (carry bit).
    function _refCanLeech(uint256 up, uint256 down, uint256 left) internal pure returns (bool) {
        uint256 lo;
        bool carry;
        unchecked {
            lo = down + left;
            carry = lo < down;
        }
        return !carry && 2 * up >= lo;
    }

    function testFuzz_CanLeech_MatchesWideReference(uint256 up, uint256 down, uint256 left) public {
        up = bound(up, 0, MAX112);
        down = bound(down, 0, MAX112);
        _setFigures(up, down);
        vm.assertEq(t.canLeech(alice, left), _refCanLeech(up, down, left));
        vm.assertFalse(t.canLeech(bob, left)); // unknown agents never leech
    }

    function testFuzz_CanLeech_Extremes(uint256 left) public {
        _setFigures(MAX112, 0);
        vm.assertEq(t.canLeech(alice, left), left <= 2 * MAX112);
        _setFigures(0, MAX112);
        vm.assertEq(t.canLeech(alice, left), _refCanLeech(MAX112, MAX112, left));
        vm.assertTrue(t.canLeech(alice, 0));
    }

    function testFuzz_CanLeech_ZeroUpload(uint256 down, uint256 left) public {
        down = bound(down, 0, MAX112);
        _setFigures(0, down);
        vm.assertEq(t.canLeech(alice, left), down == 0 && left == 0);
    }

    function testFuzz_CanLeech_MonotoneInLeft(uint256 up, uint256 down, uint256 left) public {
        up = bound(up, 0, MAX112);
        down = bound(down, 0, MAX112);
        left = bound(left, 1, type(uint256).max);
        _setFigures(up, down);
        if (t.canLeech(alice, left)) vm.assertTrue(t.canLeech(alice, left - 1));
    }

    function testFuzz_GetRatio_MatchesReferenceAndThreshold(uint256 up, uint256 down) public {
        up = bound(up, 0, MAX112);
        down = bound(down, 0, MAX112);
        _setFigures(up, down);
        uint256 r = t.getRatio(alice);
        if (down == 0) {
            vm.assertEq(r, type(uint256).max);
        } else {
            vm.assertEq(r, up * 1e18 / down);
        }
        // the 0.5 threshold of canLeech(., 0) agrees with the fixed-point ratio
        vm.assertEq(t.canLeech(alice, 0), r >= 0.5e18);
    }

    function testFuzz_Settle_DeltasAccumulate(uint256 u1_, uint256 d1, uint256 u2_, uint256 d2) public {
        u1_ = bound(u1_, 0, MAX112);
        d1 = bound(d1, 0, MAX112);
        u2_ = bound(u2_, 0, MAX112 - u1_);
        d2 = bound(d2, 0, MAX112 - d1);
        vm.prank(authority);
        t.register(bob);
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.BatchSettled(1, ROOT, 2, u1_ + u2_, d1 + d2);
        vm.prank(authority);
        t.settle(1, ROOT, two(alice, bob), u2(u1_, u2_), u2(d1, d2));
        (uint256 up, uint256 down) = rep(t, alice);
        vm.assertEq(up, u1_);
        vm.assertEq(down, d1);
        _setFigures(u2_, d2);
        (up, down) = rep(t, alice);
        vm.assertEq(up, u1_ + u2_);
        vm.assertEq(down, d1 + d2);
    }

    /// settle reverts with ReputationOverflow exactly when a figure would pass 2^112 - 1.
    function testFuzz_Settle_OverflowBoundary(uint256 start, uint256 delta, bool onDownload) public {
        start = bound(start, 0, MAX112);
        if (onDownload) _setFigures(0, start);
        else _setFigures(start, 0);
        bool overflows = delta > MAX112 - start;
        if (overflows) vm.expectRevert(abi.encodeWithSelector(ReputationTracker.ReputationOverflow.selector, alice));
        vm.prank(authority);
        t.settle(2, ROOT, one(alice), u1(onDownload ? 0 : delta), u1(onDownload ? delta : 0));
        (uint256 up, uint256 down) = rep(t, alice);
        vm.assertEq(onDownload ? down : up, overflows ? start : start + delta);
        vm.assertEq(t.lastBatchId(), overflows ? 1 : 2);
    }

    function testFuzz_Settle_BatchIdMustBeNext(uint256 id) public {
        vm.assume(id != 1);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.BadBatchId.selector, 1, id));
        vm.prank(authority);
        t.settle(id, ROOT, one(alice), u1(1), u1(1));
    }

    /// Delegation is transparent: a child tracker answers canLeech/getRatio exactly like its referrer.
    function testFuzz_Delegation_Transparent(uint256 up, uint256 down, uint256 left) public {
        up = bound(up, 0, MAX112);
        down = bound(down, 0, MAX112);
        _setFigures(up, down);
        ReputationTracker child = new ReputationTracker(bob, GiB, address(t));
        vm.assertEq(child.canLeech(alice, left), t.canLeech(alice, left));
        vm.assertEq(child.getRatio(alice), t.getRatio(alice));
        // and still after the import on first write
        vm.prank(bob);
        child.register(alice);
        vm.assertEq(child.canLeech(alice, left), t.canLeech(alice, left));
        vm.assertEq(child.getRatio(alice), t.getRatio(alice));
    }
}
