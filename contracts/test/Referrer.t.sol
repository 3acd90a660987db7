// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.sol";
import {console} from "./Vm.sol";
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

    function findReputation(address, uint256) external view returns (uint256, uint256, uint256, address) {
        return (up, down, known ? 1 : 0, known ? address(this) : address(0));
    }
}

/// @notice A referrer whose reads revert (an old tracker without findReputation, or a broken one).
contract Broken {
    error Nope();

    fallback() external {
        revert Nope();
    }
}

/// @notice Referrer semantics: delegated reads up the referrer chain (bounded depth), import on
/// register and on first settle.
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

    function test_ChainRead_NearestTrackerWins() public {
        // c -> b -> a: an agent only a knows is read from a; once b has written it, from b
        ReputationTracker c = newTracker(authority, address(b));
        (uint256 up,,, bool known) = c.getReputation(alice);
        vm.assertTrue(known);
        vm.assertEq(up, 6 * GiB);
        (,,, address source) = c.findReputation(alice, 2);
        vm.assertEq(source, address(a));
        (,,, source) = c.findReputation(alice, 1); // a is two referrers up
        vm.assertEq(source, address(0));
        settleOne(b, alice, 1, 0);
        (up,,, known) = c.getReputation(alice);
        vm.assertTrue(known);
        vm.assertEq(up, 6 * GiB + 1);
        (,,, source) = c.findReputation(alice, 1);
        vm.assertEq(source, address(b));
        (,,, source) = c.findReputation(carol, 8);
        vm.assertEq(source, address(0));
    }

    /// The attack: a free-rider spends its credit on tracker 1, never shows itself on tracker 2, and
    /// registers on tracker 3 (referrer 2) hoping for a fresh credit. It is imported with tracker 1's
    /// figures and still may not leech.
    function test_ThreeGenerations_FreeRiderCannotStartOver() public {
        address dave = makeAddr("dave");
        vm.prank(authority);
        a.register(dave);
        settleOne(a, dave, 0, 2 * GiB); // downloaded all the ratio allows (credit / 0.5)
        vm.assertFalse(a.canLeech(dave, 1));
        ReputationTracker c = newTracker(authority, address(b)); // generation 3
        (uint256 up, uint256 down,, bool known) = c.getReputation(dave);
        vm.assertTrue(known);
        vm.assertEq(up, GiB);
        vm.assertEq(down, 2 * GiB);
        vm.assertFalse(c.canLeech(dave, 1));
        vm.expectEmit(true, true, true, true, address(c));
        emit ReputationTracker.AgentImported(dave, address(a), GiB, 2 * GiB);
        vm.prank(authority);
        c.register(dave);
        (up, down) = rep(c, dave);
        vm.assertEq(up, GiB); // not a fresh GiB on top
        vm.assertEq(down, 2 * GiB);
        vm.assertFalse(c.canLeech(dave, 1));
        // b, skipped over, holds nothing of dave
        (,,, known) = b.getLocalReputation(dave);
        vm.assertFalse(known);
    }

    /// The walk stops MAX_REFERRER_DEPTH referrers up: an agent known only further away is unknown
    /// (and would get a fresh credit) — the bound that keeps every read's gas finite. The gas of the
    /// deepest read is logged (`referrer_read_gas_depth_8`).
    function test_ChainDepthBound_AndGasOfDeepestRead() public {
        uint256 depth = a.MAX_REFERRER_DEPTH();
        vm.assertEq(depth, 8);
        ReputationTracker t = a; // alice is known on a only
        ReputationTracker[] memory gen = new ReputationTracker[](depth + 2);
        gen[0] = a;
        for (uint256 i = 1; i < depth + 2; ++i) {
            gen[i] = newTracker(authority, address(gen[i - 1]));
        }
        t = gen[depth]; // a is exactly `depth` referrers up
        uint256 g0 = gasleft();
        (uint256 up,,, bool known) = t.getReputation(alice);
        uint256 used = g0 - gasleft();
        vm.assertTrue(known);
        vm.assertEq(up, 6 * GiB);
        console.log("referrer_read_gas_depth_8", used);
        vm.assertLt(used, 100_000);
        (,,, known) = gen[depth + 1].getReputation(alice); // one hop too far
        vm.assertFalse(known);
        vm.assertFalse(gen[depth + 1].isRegistered(alice));
        // registering on the deepest tracker in reach imports from a
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.AgentImported(alice, address(a), 6 * GiB, 0);
        vm.prank(authority);
        t.register(alice);
    }

    /// A referrer whose read fails makes the import fail: never a fresh credit instead.
    function test_FailingReferrerReadReverts() public {
        Broken bad = new Broken();
        ReputationTracker t = newTracker(authority, address(bad));
        vm.expectRevert(Broken.Nope.selector);
        t.getReputation(alice);
        vm.prank(authority);
        vm.expectRevert(Broken.Nope.selector);
        t.register(alice);
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
