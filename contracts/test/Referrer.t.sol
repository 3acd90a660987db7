// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.sol";
import {ReputationTracker, IReputationSource} from "../src/ReputationTracker.sol";

/// @notice A referrer that answers whatever it is told (also for the zero address).
contract MockSource is IReputationSource {
    uint256 internal up;
    uint256 internal down;
    bool internal known;

    function set(uint256 up_, uint256 down_, bool known_) external {
        (up, down, known) = (up_, down_, known_);
    }

    function getLocalReputation(address) external view returns (uint256, uint256, uint256, bool) {
        return (up, down, known ? 1 : 0, known);
    }
}

/// @notice Referrer semantics: single-hop delegated reads, import on register and on first settle.
contract ReferrerTest is Base {
    ReputationTracker internal a; // genesis
    ReputationTracker internal b; // refers to a
    address internal authorityB = makeAddr("authorityB");

    function setUp() public {
        vm.warp(1_700_000_000);
        a = newTracker(authority, address(0));
        vm.startPrank(authority);
        a.registerBatch(two(alice, bob));
        a.settle(1, ROOT, two(alice, bob), u2(5 * GiB, 0), u2(0, 7 * GiB));
        vm.stopPrank();
        vm.warp(1_700_000_500);
        b = newTracker(authorityB, address(a));
    }

    function test_DelegatedRead_ReturnsReferrerLocalFigures() public view {
        (uint256 up, uint256 down, uint256 last, bool known) = b.getReputation(alice);
        vm.assertEq(up, 6 * GiB);
        vm.assertEq(down, 0);
        vm.assertEq(last, 1_700_000_000);
        vm.assertTrue(known);
        (,,, known) = b.getLocalReputation(alice);
        vm.assertFalse(known); // nothing stored on b yet
        vm.assertTrue(b.isRegistered(alice));
        vm.assertFalse(b.isRegistered(carol));
        vm.assertEq(b.getRatio(bob), GiB * 1e18 / (7 * GiB));
        vm.assertFalse(b.canLeech(bob, 0));
        vm.assertTrue(b.canLeech(alice, 12 * GiB));
    }

    function test_Register_ImportsReferrerFigures() public {
        vm.expectEmit(true, true, true, true, address(b));
        emit ReputationTracker.AgentImported(bob, address(a), GiB, 7 * GiB);
        vm.prank(authorityB);
        b.register(bob);
        (uint256 up, uint256 down, uint256 last, bool known) = b.getLocalReputation(bob);
        vm.assertEq(up, GiB); // not GiB + fresh credit
        vm.assertEq(down, 7 * GiB);
        vm.assertEq(last, 1_700_000_500);
        vm.assertTrue(known);
    }

    function test_Register_UnknownToReferrerGetsFreshCredit() public {
        vm.expectEmit(true, true, true, true, address(b));
        emit ReputationTracker.AgentRegistered(carol, GiB);
        vm.prank(authorityB);
        b.register(carol);
    }

    function test_RegisterBatch_ImportsAndRegisters() public {
        vm.recordLogs();
        vm.prank(authorityB);
        vm.assertEq(b.registerBatch(two(bob, carol)), 2);
        (uint256 up, uint256 down) = rep(b, bob);
        vm.assertEq(up, GiB);
        vm.assertEq(down, 7 * GiB);
        (up, down) = rep(b, carol);
        vm.assertEq(up, GiB);
        vm.assertEq(down, 0);
        vm.assertEq(vm.getRecordedLogs()[0].topics[0], ReputationTracker.AgentImported.selector);
    }

    function test_Settle_ImportsOnFirstWrite() public {
        vm.expectEmit(true, true, true, true, address(b));
        emit ReputationTracker.AgentImported(bob, address(a), GiB, 7 * GiB);
        vm.expectEmit(true, true, true, true, address(b));
        emit ReputationTracker.ReputationUpdated(bob, 1, GiB + 10, 7 * GiB + 20);
        vm.prank(authorityB);
        b.settle(1, ROOT, one(bob), u1(10), u1(20));
        (uint256 up, uint256 down) = rep(b, bob);
        vm.assertEq(up, GiB + 10);
        vm.assertEq(down, 7 * GiB + 20);
        // the referrer is never written by b
        (up, down) = rep(a, bob);
        vm.assertEq(up, GiB);
        vm.assertEq(down, 7 * GiB);
    }

    function test_Settle_UnknownEverywhereReverts() public {
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.UnknownAgent.selector, carol));
        vm.prank(authorityB);
        b.settle(1, ROOT, one(carol), u1(1), u1(1));
    }

    function test_LocalFiguresWinOverReferrer() public {
        settleOne(b, alice, 1, 2); // imports, then adds
        settleOne(a, alice, 1000, 0); // later change on a is not seen by b any more
        (uint256 up, uint256 down) = rep(b, alice);
        vm.assertEq(up, 6 * GiB + 1);
        vm.assertEq(down, 2);
    }

    function test_SingleHopOnly() public {
        // c -> b -> a: an agent only a knows is unknown to c (no recursion past one hop)
        ReputationTracker c = newTracker(authority, address(b));
        (,,, bool known) = c.getReputation(alice);
        vm.assertFalse(known);
        // once b has written alice (imported), c sees b's figures
        settleOne(b, alice, 1, 0);
        (uint256 up,,, bool known2) = c.getReputation(alice);
        vm.assertTrue(known2);
        vm.assertEq(up, 6 * GiB + 1);
    }

    function test_Import_OverflowingReferrerFiguresRevert() public {
        MockSource m = new MockSource();
        m.set(MAX112 + 1, 0, true);
        ReputationTracker t = newTracker(authority, address(m));
        vm.startPrank(authority);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.ReputationOverflow.selector, alice));
        t.register(alice);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.ReputationOverflow.selector, alice));
        t.settle(1, ROOT, one(alice), u1(0), u1(0));
        vm.stopPrank();
    }

    function test_Import_ZeroAddressNeverImported() public {
        MockSource m = new MockSource();
        m.set(1, 1, true); // claims to know everybody, even address(0)
        ReputationTracker t = newTracker(authority, address(m));
        vm.startPrank(authority);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.UnknownAgent.selector, address(0)));
        t.settle(1, ROOT, one(address(0)), u1(0), u1(0));
        vm.expectRevert(ReputationTracker.ZeroAddress.selector);
        t.register(address(0));
        vm.stopPrank();
    }

    function test_Import_ZeroFiguresStillKnown() public {
        MockSource m = new MockSource();
        m.set(0, 0, true);
        ReputationTracker t = newTracker(authority, address(m));
        vm.prank(authority);
        t.register(alice);
        (uint256 up,,, bool known) = t.getLocalReputation(alice);
        vm.assertEq(up, 0);
        vm.assertTrue(known);
    }

    function test_Settle_ImportsAgentWithZeroUpload() public {
        MockSource m = new MockSource();
        m.set(0, 5, true);
        ReputationTracker t = newTracker(authority, address(m));
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.AgentImported(alice, address(m), 0, 5);
        vm.prank(authority);
        t.settle(1, ROOT, one(alice), u1(1), u1(2));
        (uint256 up, uint256 down) = rep(t, alice);
        vm.assertEq(up, 1);
        vm.assertEq(down, 7);
    }
}
