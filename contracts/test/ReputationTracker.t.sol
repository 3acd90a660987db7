// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.sol";
import {ReputationTracker} from "../src/ReputationTracker.sol";

/// @notice Unit tests: every function, every revert, every event of ReputationTracker.
contract ReputationTrackerTest is Base {
    ReputationTracker internal t;

    function setUp() public {
        vm.warp(1_700_000_000);
        t = newTracker(authority, address(0));
    }

    // ------------------------------------------------------------ constructor

    function test_Constructor_SetsImmutables() public view {
        vm.assertEq(t.tracker(), authority);
        vm.assertEq(t.initialCredit(), GiB);
        vm.assertEq(t.referrer(), address(0));
        vm.assertEq(t.lastBatchId(), 0);
        vm.assertEq(t.MAX_BATCH_SIZE(), 256);
    }

    function test_Constructor_RevertsOnZeroAuthority() public {
        vm.expectRevert(ReputationTracker.ZeroAddress.selector);
        new ReputationTracker(address(0), GiB, address(0));
    }

    function test_Constructor_RevertsOnEoaReferrer() public {
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.ReferrerNotContract.selector, stranger));
        new ReputationTracker(authority, GiB, stranger);
    }

    function test_Constructor_RevertsOnHugeCredit() public {
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.InitialCreditTooLarge.selector, MAX112 + 1));
        new ReputationTracker(authority, MAX112 + 1, address(0));
    }

    function test_Constructor_AcceptsMaxCreditAndContractReferrer() public {
        ReputationTracker b = new ReputationTracker(authority, MAX112, address(t));
        vm.assertEq(b.initialCredit(), MAX112);
        vm.assertEq(b.referrer(), address(t));
    }

    // ------------------------------------------------------------ register

    function test_Register_GrantsInitialCreditAndEmits() public {
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.AgentRegistered(alice, GiB);
        vm.prank(authority);
        t.register(alice);

        (uint256 up, uint256 down, uint256 last, bool known) = t.getReputation(alice);
        vm.assertEq(up, GiB);
        vm.assertEq(down, 0);
        vm.assertEq(last, 1_700_000_000);
        vm.assertTrue(known);
        vm.assertTrue(t.isRegistered(alice));
        vm.assertFalse(t.isRegistered(bob));
    }

    function test_Register_RevertsForNonTracker() public {
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, stranger));
        vm.prank(stranger);
        t.register(alice);
    }

    function test_Register_RevertsOnZeroAddress() public {
        vm.expectRevert(ReputationTracker.ZeroAddress.selector);
        vm.prank(authority);
        t.register(address(0));
    }

    function test_Register_RevertsWhenAlreadyRegistered() public {
        vm.startPrank(authority);
        t.register(alice);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.AlreadyRegistered.selector, alice));
        t.register(alice);
        vm.stopPrank();
    }

    function test_Register_ZeroCreditTrackerStillKnowsAgent() public {
        ReputationTracker z = new ReputationTracker(authority, 0, address(0));
        vm.prank(authority);
        z.register(alice);
        (uint256 up,,, bool known) = z.getReputation(alice);
        vm.assertEq(up, 0);
        vm.assertTrue(known);
        vm.prank(authority);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.AlreadyRegistered.selector, alice));
        z.register(alice);
    }

    function test_Register_AtTimestampZeroStillMarksKnown() public {
        vm.warp(0);
        vm.prank(authority);
        t.register(alice);
        (,, uint256 last, bool known) = t.getLocalReputation(alice);
        vm.assertEq(last, 1);
        vm.assertTrue(known);
    }

    // ------------------------------------------------------------ registerBatch

    function test_RegisterBatch_RegistersAndSkipsKnown() public {
        vm.startPrank(authority);
        t.register(alice);
        vm.recordLogs();
        address[] memory a = new address[](3);
        a[0] = alice;
        a[1] = bob;
        a[2] = carol;
        vm.assertEq(t.registerBatch(a), 2);
        vm.assertEq(vm.getRecordedLogs().length, 2); // bob and carol only
        vm.assertEq(t.registerBatch(a), 0); // idempotent retry
        vm.stopPrank();
        (uint256 up,) = rep(t, carol);
        vm.assertEq(up, GiB);
    }

    function test_RegisterBatch_DuplicateInOneCallRegistersOnce() public {
        vm.prank(authority);
        vm.assertEq(t.registerBatch(two(alice, alice)), 1);
    }

    function test_RegisterBatch_EmitsPerAgent() public {
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.AgentRegistered(alice, GiB);
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.AgentRegistered(bob, GiB);
        vm.prank(authority);
        t.registerBatch(two(alice, bob));
    }

    function test_RegisterBatch_RevertsForNonTracker() public {
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, stranger));
        vm.prank(stranger);
        t.registerBatch(one(alice));
    }

    function test_RegisterBatch_RevertsOnZeroAddress() public {
        vm.expectRevert(ReputationTracker.ZeroAddress.selector);
        vm.prank(authority);
        t.registerBatch(two(alice, address(0)));
        vm.assertFalse(t.isRegistered(alice)); // all-or-nothing
    }

    function test_RegisterBatch_RevertsOnEmpty() public {
        vm.expectRevert(ReputationTracker.EmptyBatch.selector);
        vm.prank(authority);
        t.registerBatch(new address[](0));
    }

    function test_RegisterBatch_RevertsWhenTooLarge() public {
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.BatchTooLarge.selector, 257, 256));
        vm.prank(authority);
        t.registerBatch(agentsN(257, 1));
    }

    function test_RegisterBatch_AcceptsMaxSize() public {
        vm.prank(authority);
        vm.assertEq(t.registerBatch(agentsN(256, 1)), 256);
    }

    // ------------------------------------------------------------ settle

    function _registered() internal {
        vm.prank(authority);
        t.registerBatch(two(alice, bob));
    }

    function test_Settle_AppliesDeltasAndEmits() public {
        _registered();
        vm.warp(1_700_000_100);
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.ReputationUpdated(alice, 1, GiB + 300, 0);
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.ReputationUpdated(bob, 1, GiB, 300);
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.BatchSettled(1, ROOT, 2, 300, 300);
        vm.prank(authority);
        t.settle(1, ROOT, two(alice, bob), u2(300, 0), u2(0, 300));

        (uint256 up, uint256 down, uint256 last,) = t.getReputation(alice);
        vm.assertEq(up, GiB + 300);
        vm.assertEq(down, 0);
        vm.assertEq(last, 1_700_000_100);
        (up, down,,) = t.getReputation(bob);
        vm.assertEq(up, GiB);
        vm.assertEq(down, 300);
        vm.assertEq(t.lastBatchId(), 1);
        vm.assertEq(t.batchRoot(1), ROOT);
        vm.assertEq(t.batchRoot(2), bytes32(0));
    }

    function test_Settle_SequentialBatches() public {
        _registered();
        vm.startPrank(authority);
        for (uint256 id = 1; id <= 5; ++id) {
            t.settle(id, bytes32(id), one(alice), u1(id), u1(1));
        }
        vm.stopPrank();
        vm.assertEq(t.lastBatchId(), 5);
        (uint256 up, uint256 down) = rep(t, alice);
        vm.assertEq(up, GiB + 15);
        vm.assertEq(down, 5);
        for (uint256 id = 1; id <= 5; ++id) {
            vm.assertEq(t.batchRoot(id), bytes32(id));
        }
    }

    function test_Settle_RevertsForNonTracker() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, stranger));
        vm.prank(stranger);
        t.settle(1, ROOT, one(alice), u1(1), u1(1));
    }

    function test_Settle_RevertsOnBatchIdZero() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.BadBatchId.selector, 1, 0));
        vm.prank(authority);
        t.settle(0, ROOT, one(alice), u1(1), u1(1));
    }

    function test_Settle_RevertsOnBatchIdTooHigh() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.BadBatchId.selector, 1, 2));
        vm.prank(authority);
        t.settle(2, ROOT, one(alice), u1(1), u1(1));
    }

    function test_Settle_RevertsOnReplayedBatch() public {
        _registered();
        vm.startPrank(authority);
        t.settle(1, ROOT, one(alice), u1(1), u1(1));
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.BadBatchId.selector, 2, 1));
        t.settle(1, ROOT, one(alice), u1(1), u1(1));
        vm.stopPrank();
        (uint256 up,) = rep(t, alice);
        vm.assertEq(up, GiB + 1); // applied exactly once
    }

    function test_Settle_RevertsOnBatchIdMaxUint() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.BadBatchId.selector, 1, type(uint256).max));
        vm.prank(authority);
        t.settle(type(uint256).max, ROOT, one(alice), u1(1), u1(1));
    }

    function test_Settle_RevertsOnLengthMismatchUploads() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.LengthMismatch.selector, 2, 1, 2));
        vm.prank(authority);
        t.settle(1, ROOT, two(alice, bob), u1(1), u2(1, 1));
    }

    function test_Settle_RevertsOnLengthMismatchDownloads() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.LengthMismatch.selector, 1, 1, 2));
        vm.prank(authority);
        t.settle(1, ROOT, one(alice), u1(1), u2(1, 1));
    }

    function test_Settle_RevertsOnEmptyBatch() public {
        vm.expectRevert(ReputationTracker.EmptyBatch.selector);
        vm.prank(authority);
        t.settle(1, ROOT, new address[](0), new uint256[](0), new uint256[](0));
    }

    function test_Settle_RevertsWhenTooLarge() public {
        address[] memory a = agentsN(257, 2);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.BatchTooLarge.selector, 257, 256));
        vm.prank(authority);
        t.settle(1, ROOT, a, filled(257, 1), filled(257, 1));
    }

    function test_Settle_AcceptsMaxSize() public {
        address[] memory a = agentsN(256, 2);
        vm.startPrank(authority);
        t.registerBatch(a);
        t.settle(1, ROOT, a, filled(256, 3), filled(256, 2));
        vm.stopPrank();
        (uint256 up, uint256 down) = rep(t, a[255]);
        vm.assertEq(up, GiB + 3);
        vm.assertEq(down, 2);
    }

    function test_Settle_RevertsOnZeroRoot() public {
        _registered();
        vm.expectRevert(ReputationTracker.ZeroReceiptsRoot.selector);
        vm.prank(authority);
        t.settle(1, bytes32(0), one(alice), u1(1), u1(1));
    }

    function test_Settle_RevertsOnUnknownAgent() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.UnknownAgent.selector, carol));
        vm.prank(authority);
        t.settle(1, ROOT, two(alice, carol), u2(1, 1), u2(1, 1));
        // all-or-nothing: alice untouched, batch id not consumed
        (uint256 up,) = rep(t, alice);
        vm.assertEq(up, GiB);
        vm.assertEq(t.lastBatchId(), 0);
    }

    function test_Settle_RevertsOnZeroAgent() public {
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.UnknownAgent.selector, address(0)));
        vm.prank(authority);
        t.settle(1, ROOT, one(address(0)), u1(1), u1(1));
    }

    function test_Settle_RevertsOnUploadOverflow() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.ReputationOverflow.selector, alice));
        vm.prank(authority);
        t.settle(1, ROOT, one(alice), u1(MAX112 - GiB + 1), u1(0));
    }

    function test_Settle_RevertsOnDownloadOverflow() public {
        _registered();
        vm.startPrank(authority);
        t.settle(1, ROOT, one(alice), u1(0), u1(MAX112)); // exactly at the limit is fine
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.ReputationOverflow.selector, alice));
        t.settle(2, ROOT, one(alice), u1(0), u1(1));
        vm.stopPrank();
    }

    function test_Settle_RevertsOnHugeDelta() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.ReputationOverflow.selector, bob));
        vm.prank(authority);
        t.settle(1, ROOT, two(alice, bob), u2(1, type(uint256).max), u2(1, 1));
    }

    function test_Settle_FillsToExactMax() public {
        _registered();
        vm.prank(authority);
        t.settle(1, ROOT, one(alice), u1(MAX112 - GiB), u1(MAX112));
        (uint256 up, uint256 down) = rep(t, alice);
        vm.assertEq(up, MAX112);
        vm.assertEq(down, MAX112);
    }

    /// Decision: duplicate agents in one batch are accepted and applied in order (== summed);
    /// each entry emits ReputationUpdated with the running totals.
    function test_Settle_DuplicateAgentsAreSummed() public {
        _registered();
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.ReputationUpdated(alice, 1, GiB + 10, 1);
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.ReputationUpdated(alice, 1, GiB + 30, 3);
        vm.expectEmit(true, true, true, true, address(t));
        emit ReputationTracker.BatchSettled(1, ROOT, 2, 30, 3);
        vm.prank(authority);
        t.settle(1, ROOT, two(alice, alice), u2(10, 20), u2(1, 2));
        (uint256 up, uint256 down) = rep(t, alice);
        vm.assertEq(up, GiB + 30);
        vm.assertEq(down, 3);
    }

    function test_Settle_DuplicateAgentsOverflowOnSum() public {
        _registered();
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.ReputationOverflow.selector, alice));
        vm.prank(authority);
        t.settle(1, ROOT, two(alice, alice), u2(MAX112 - GiB, 1), u2(0, 0));
    }

    function test_Settle_ZeroDeltasStillTouchTimestamp() public {
        _registered();
        vm.warp(1_800_000_000);
        vm.prank(authority);
        t.settle(1, ROOT, one(alice), u1(0), u1(0));
        (,, uint256 last,) = t.getReputation(alice);
        vm.assertEq(last, 1_800_000_000);
    }

    /// settle reads the arrays straight from calldata in its hot loop: a valid but non-canonical
    /// encoding (array bodies in reverse order) must give exactly the same result.
    function test_Settle_NonCanonicalAbiEncoding() public {
        _registered();
        bytes memory head = abi.encodeWithSelector(
            ReputationTracker.settle.selector, uint256(1), ROOT, uint256(0x1c0), uint256(0x120), uint256(0xa0)
        );
        // bodies: downloadDeltas at 0xa0, uploadDeltas at 0x120, agents at 0x1c0 (one length word + 2 items
        // = 0x60 bytes each; junk words in between)
        bytes memory body = bytes.concat(
            abi.encode(uint256(2), uint256(7), uint256(8)), // downloadDeltas
            abi.encode(uint256(0xdead)), // junk
            abi.encode(uint256(2), uint256(5), uint256(6)), // uploadDeltas
            abi.encode(uint256(0xbeef), uint256(0xbeef)), // junk
            abi.encode(uint256(2), alice, bob) // agents
        );
        vm.prank(authority);
        (bool ok,) = address(t).call(bytes.concat(head, body));
        vm.assertTrue(ok);
        (uint256 up, uint256 down) = rep(t, alice);
        vm.assertEq(up, GiB + 5);
        vm.assertEq(down, 7);
        (up, down) = rep(t, bob);
        vm.assertEq(up, GiB + 6);
        vm.assertEq(down, 8);
    }

    function test_Settle_RevertsOnDirtyAddressBits() public {
        _registered();
        bytes memory data = abi.encodeCall(t.settle, (1, ROOT, one(alice), u1(1), u1(1)));
        // the single agent word sits after selector + 5 head words + the agents length word
        uint256 at = 4 + 6 * 32;
        vm.assertEq(address(uint160(uint256(bytes32(_slice(data, at))))), alice);
        data[at] = 0x01;
        vm.prank(authority);
        (bool ok, bytes memory ret) = address(t).call(data);
        vm.assertFalse(ok);
        vm.assertEq(ret.length, 0);
        (uint256 up,) = rep(t, alice);
        vm.assertEq(up, GiB);
    }

    function _slice(bytes memory b, uint256 at) internal pure returns (bytes32 w) {
        assembly {
            w := mload(add(add(b, 0x20), at))
        }
    }

    // ------------------------------------------------------------ views

    function test_GetLocalReputation_UnknownIsZero() public view {
        (uint256 up, uint256 down, uint256 last, bool known) = t.getLocalReputation(alice);
        vm.assertEq(up + down + last, 0);
        vm.assertFalse(known);
        (up, down, last, known) = t.getReputation(alice);
        vm.assertEq(up + down + last, 0);
        vm.assertFalse(known);
    }

    function test_GetRatio() public {
        vm.assertEq(t.getRatio(alice), 0); // unknown
        _registered();
        vm.assertEq(t.getRatio(alice), type(uint256).max); // nothing downloaded
        vm.prank(authority);
        t.settle(1, ROOT, two(alice, bob), u2(0, 0), u2(GiB, 4 * GiB));
        vm.assertEq(t.getRatio(alice), 1e18); // 1 GiB / 1 GiB
        vm.assertEq(t.getRatio(bob), 0.25e18); // 1 GiB / 4 GiB
    }

    function test_GetRatio_ExtremesDoNotOverflow() public {
        _registered();
        vm.prank(authority);
        t.settle(1, ROOT, two(alice, bob), u2(MAX112 - GiB, 0), u2(1, MAX112));
        vm.assertEq(t.getRatio(alice), MAX112 * 1e18);
        vm.assertEq(t.getRatio(bob), GiB * 1e18 / MAX112);
    }

    function test_CanLeech() public {
        vm.assertFalse(t.canLeech(alice, 0)); // unknown: never
        _registered();
        // fresh: 1 GiB credit lets an agent leech up to 2 GiB
        vm.assertTrue(t.canLeech(alice, 0));
        vm.assertTrue(t.canLeech(alice, 2 * GiB));
        vm.assertFalse(t.canLeech(alice, 2 * GiB + 1));
        vm.assertFalse(t.canLeech(alice, type(uint256).max));
        vm.prank(authority);
        t.settle(1, ROOT, one(alice), u1(0), u1(2 * GiB));
        vm.assertTrue(t.canLeech(alice, 0)); // exactly 0.5
        vm.assertFalse(t.canLeech(alice, 1));
    }

    function test_CanLeech_DownloadAboveTwiceUpload() public {
        _registered();
        vm.prank(authority);
        t.settle(1, ROOT, one(alice), u1(0), u1(2 * GiB + 1));
        vm.assertFalse(t.canLeech(alice, 0));
    }

    // ------------------------------------------------------------ receipts and merkle

    function test_ReceiptLeaf_MatchesStandardMerkleTreeEncoding() public view {
        bytes32 d = keccak256("d");
        vm.assertEq(t.receiptLeaf(d), keccak256(bytes.concat(keccak256(abi.encode(d)))));
    }

    function test_Digest_BindsChainAndContract() public {
        bytes32 d = t.digest(bytes32(uint256(1)), alice, bob, bytes32(uint256(2)), 3, 4, 5);
        vm.assertEq(
            d,
            keccak256(
                abi.encode(block.chainid, address(t), bytes32(uint256(1)), alice, bob, bytes32(uint256(2)), 3, 4, 5)
            )
        );
        ReputationTracker other = newTracker(authority, address(0));
        vm.assertNotEq(other.digest(bytes32(uint256(1)), alice, bob, bytes32(uint256(2)), 3, 4, 5), d);
        vm.chainId(1);
        vm.assertNotEq(t.digest(bytes32(uint256(1)), alice, bob, bytes32(uint256(2)), 3, 4, 5), d);
    }

    function test_VerifyReceipt_TwoLeafTree() public {
        bytes32 d1 = keccak256("r1");
        bytes32 d2 = keccak256("r2");
        bytes32 l1 = t.receiptLeaf(d1);
        bytes32 l2 = t.receiptLeaf(d2);
        bytes32 root = l1 < l2 ? keccak256(abi.encode(l1, l2)) : keccak256(abi.encode(l2, l1));
        _registered();
        vm.prank(authority);
        t.settle(1, root, one(alice), u1(1), u1(0));

        bytes32[] memory p = new bytes32[](1);
        p[0] = l2;
        vm.assertTrue(t.verifyReceipt(1, d1, p));
        p[0] = l1;
        vm.assertTrue(t.verifyReceipt(1, d2, p));
        vm.assertFalse(t.verifyReceipt(1, keccak256("r3"), p)); // wrong digest
        vm.assertFalse(t.verifyReceipt(2, d2, p)); // unsettled batch
        vm.assertFalse(t.verifyReceipt(0, d2, p)); // batch 0 never exists
        vm.assertFalse(t.verifyReceipt(1, d2, new bytes32[](0))); // missing proof
        // the leaf itself is not accepted as a digest (double hashing defeats second preimages)
        vm.assertFalse(t.verifyReceipt(1, l1, p));
    }

    function test_VerifyReceipt_SingleLeafTree() public {
        bytes32 d = keccak256("only");
        bytes32 leaf = t.receiptLeaf(d);
        _registered();
        vm.prank(authority);
        t.settle(1, leaf, one(alice), u1(1), u1(0));
        vm.assertTrue(t.verifyReceipt(1, d, new bytes32[](0)));
    }
}
