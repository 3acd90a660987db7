// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.sol";
import {Vm} from "./Vm.sol";
import {StandardMerkle} from "./StandardMerkle.sol";
import {ReputationTracker} from "../src/ReputationTracker.sol";
import {RepFactory} from "../src/RepFactory.sol";

/// @notice The seed's claims, one test (or more) each: immutable, persistent, verifiable, permissionless
/// (see also RepFactory.t.sol), plus the free-rider migration scenario.
contract PropertiesTest is Base {
    RepFactory internal f;
    ReputationTracker internal a;
    address internal freeRider = makeAddr("freeRider");
    address internal seeder = makeAddr("seeder");

    function setUp() public {
        vm.warp(1_700_000_000);
        f = new RepFactory(GiB);
        vm.prank(authority);
        a = ReputationTracker(f.deployNewTracker(address(0)));
    }

    // ================================================================= immutable

    /// The authority is an immutable baked into the runtime code (not storage), and the code has no
    /// SELFDESTRUCT/DELEGATECALL/CALLCODE, so no transaction can ever change it.
    function test_Immutable_AuthorityLivesInCode() public view {
        bytes memory code = address(a).code;
        bytes20 needle = bytes20(authority);
        bool found;
        for (uint256 i; i + 20 <= code.length && !found; ++i) {
            bytes20 w;
            assembly {
                w := mload(add(add(code, 0x20), i))
            }
            found = w == needle;
        }
        vm.assertTrue(found, "authority not in runtime code");
        vm.assertFalse(_hasOpcode(code, 0xff), "SELFDESTRUCT");
        vm.assertFalse(_hasOpcode(code, 0xf4), "DELEGATECALL");
        vm.assertFalse(_hasOpcode(code, 0xf2), "CALLCODE");
        // and it is not in storage: slot 0 (lastBatchId) is the first storage variable
        vm.assertEq(vm.load(address(a), bytes32(0)), bytes32(0));
    }

    /// Scans code for an opcode, skipping PUSH data.
    function _hasOpcode(bytes memory code, uint8 op) internal pure returns (bool) {
        for (uint256 i; i < code.length; ++i) {
            uint8 c = uint8(code[i]);
            if (c == op) return true;
            if (c >= 0x60 && c <= 0x7f) i += c - 0x5f;
        }
        return false;
    }

    /// Any calldata from any caller leaves tracker() and every other immutable unchanged, and a
    /// non-authority caller cannot change any state.
    function testFuzz_Immutable_ArbitraryCallsCannotChangeAuthority(address caller, bytes calldata data) public {
        vm.assume(caller != authority);
        vm.prank(authority);
        a.register(alice);
        bytes32 codehash = address(a).codehash;
        (uint256 up, uint256 down, uint256 last,) = a.getLocalReputation(alice);
        vm.prank(caller);
        (bool ok,) = address(a).call(data);
        ok;
        vm.assertEq(a.tracker(), authority);
        vm.assertEq(address(a).codehash, codehash);
        vm.assertEq(a.lastBatchId(), 0);
        (uint256 up2, uint256 down2, uint256 last2,) = a.getLocalReputation(alice);
        vm.assertEq(up2, up);
        vm.assertEq(down2, down);
        vm.assertEq(last2, last);
    }

    /// Every state-changing entry point rejects a non-authority, including the factory and other trackers.
    function testFuzz_Immutable_NonAuthorityRejectedEverywhere(address caller) public {
        vm.assume(caller != authority);
        vm.startPrank(caller);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, caller));
        a.register(alice);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, caller));
        a.registerBatch(one(alice));
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, caller));
        a.settle(1, ROOT, one(alice), u1(1), u1(1));
        vm.stopPrank();
    }

    /// A second tracker (another authority, or the second tracker contract itself) cannot settle on the first.
    function test_Immutable_SecondTrackerCannotSettleOnFirst() public {
        vm.prank(authority);
        a.register(alice);
        address authorityB = makeAddr("authorityB");
        vm.prank(authorityB);
        ReputationTracker b = ReputationTracker(f.deployNewTracker(address(a)));
        vm.assertEq(b.tracker(), authorityB);
        vm.assertEq(a.tracker(), authority); // deploying b changed nothing on a

        vm.prank(authorityB);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, authorityB));
        a.settle(1, ROOT, one(alice), u1(1), u1(1));
        vm.prank(address(b));
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, address(b)));
        a.settle(1, ROOT, one(alice), u1(1), u1(1));

        // b's writes (import + settle) never touch a
        vm.prank(authorityB);
        b.settle(1, ROOT, one(alice), u1(7), u1(9));
        (uint256 up, uint256 down) = rep(a, alice);
        vm.assertEq(up, GiB);
        vm.assertEq(down, 0);
        vm.assertEq(a.lastBatchId(), 0);
    }

    // ================================================================= persistent

    function test_Persistent_FiguresSurviveBlocksAndTime() public {
        vm.startPrank(authority);
        a.registerBatch(two(alice, bob));
        a.settle(1, ROOT, two(alice, bob), u2(100, 0), u2(0, 100));
        vm.stopPrank();
        (uint256 up, uint256 down, uint256 last,) = a.getReputation(alice);
        vm.roll(block.number + 5_000_000);
        vm.warp(block.timestamp + 3650 days);
        (uint256 up2, uint256 down2, uint256 last2,) = a.getReputation(alice);
        vm.assertEq(up2, up);
        vm.assertEq(down2, down);
        vm.assertEq(last2, last); // no decay, no expiry
        vm.assertEq(a.batchRoot(1), ROOT);
        vm.assertEq(a.lastBatchId(), 1);
        // later batches build on the old figures
        vm.prank(authority);
        a.settle(2, ROOT, one(alice), u1(1), u1(1));
        (up2, down2,,) = a.getReputation(alice);
        vm.assertEq(up2, up + 1);
        vm.assertEq(down2, down + 1);
    }

    function test_Persistent_AcrossNewTrackerReferringBack() public {
        vm.startPrank(authority);
        a.registerBatch(two(alice, bob));
        a.settle(1, ROOT, two(alice, bob), u2(3 * GiB, 0), u2(0, GiB));
        vm.stopPrank();
        vm.warp(block.timestamp + 365 days);
        // the old authority walks away; anybody starts a new tracker referring back to a
        vm.prank(stranger);
        ReputationTracker b = ReputationTracker(f.deployNewTracker(address(a)));
        (uint256 up, uint256 down) = rep(b, alice);
        vm.assertEq(up, 4 * GiB);
        vm.assertEq(down, 0);
        (up, down) = rep(b, bob);
        vm.assertEq(up, GiB);
        vm.assertEq(down, GiB);
        vm.prank(stranger);
        b.registerBatch(two(alice, bob));
        (up, down) = rep(b, alice);
        vm.assertEq(up, 4 * GiB);
        (up, down) = rep(b, bob);
        vm.assertEq(down, GiB);
    }

    // ================================================================= migration (free-rider)

    function _freeRiderOnA() internal {
        vm.startPrank(authority);
        a.registerBatch(two(freeRider, seeder));
        // the free-rider downloads 3 GiB and uploads nothing: 1 GiB / 3 GiB < 0.5
        a.settle(1, ROOT, two(seeder, freeRider), u2(3 * GiB, 0), u2(0, 3 * GiB));
        vm.stopPrank();
        vm.assertFalse(a.canLeech(freeRider, 1));
        vm.assertFalse(a.canLeech(freeRider, 0));
    }

    function test_Migration_FreeRiderBlockedViaDelegatedRead() public {
        _freeRiderOnA();
        address authorityB = makeAddr("authorityB");
        vm.prank(authorityB);
        ReputationTracker b = ReputationTracker(f.deployNewTracker(address(a)));
        vm.assertFalse(b.canLeech(freeRider, 1));
        vm.assertFalse(b.canLeech(freeRider, 0));
        vm.assertTrue(b.isRegistered(freeRider));
        vm.assertTrue(b.canLeech(seeder, 8 * GiB));
    }

    function test_Migration_FreeRiderBlockedAfterRegisterOnNewTracker() public {
        _freeRiderOnA();
        address authorityB = makeAddr("authorityB");
        vm.prank(authorityB);
        ReputationTracker b = ReputationTracker(f.deployNewTracker(address(a)));

        vm.recordLogs();
        vm.prank(authorityB);
        b.register(freeRider);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 1);
        vm.assertEq(logs[0].topics[0], ReputationTracker.AgentImported.selector); // not AgentRegistered
        (uint256 up, uint256 down,, bool known) = b.getLocalReputation(freeRider);
        vm.assertTrue(known);
        vm.assertEq(up, GiB); // old figures, no fresh credit on top
        vm.assertEq(down, 3 * GiB);
        vm.assertFalse(b.canLeech(freeRider, 1));
        vm.prank(authorityB);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.AlreadyRegistered.selector, freeRider));
        b.register(freeRider);
    }

    function test_Migration_FreeRiderBlockedAfterImportOnFirstSettle() public {
        _freeRiderOnA();
        address authorityB = makeAddr("authorityB");
        vm.prank(authorityB);
        ReputationTracker b = ReputationTracker(f.deployNewTracker(address(a)));
        vm.prank(authorityB);
        b.settle(1, ROOT, one(freeRider), u1(0), u1(GiB));
        (uint256 up, uint256 down) = rep(b, freeRider);
        vm.assertEq(up, GiB);
        vm.assertEq(down, 4 * GiB);
        vm.assertFalse(b.canLeech(freeRider, 0));
        // and seeding is the way back: upload until 2*up >= down + left
        vm.prank(authorityB);
        b.settle(2, ROOT, one(freeRider), u1(GiB + 1), u1(0));
        vm.assertTrue(b.canLeech(freeRider, 0));
        vm.assertTrue(b.canLeech(freeRider, 2));
        vm.assertFalse(b.canLeech(freeRider, 3));
    }

    function test_Migration_RegisterBatchImportsToo() public {
        _freeRiderOnA();
        vm.prank(stranger);
        ReputationTracker b = ReputationTracker(f.deployNewTracker(address(a)));
        vm.prank(stranger);
        b.registerBatch(two(carol, freeRider));
        (uint256 up, uint256 down) = rep(b, freeRider);
        vm.assertEq(up, GiB);
        vm.assertEq(down, 3 * GiB);
        vm.assertFalse(b.canLeech(freeRider, 1));
    }

    // ================================================================= verifiable

    struct Fig {
        uint256 up;
        uint256 down;
        bool known;
    }

    mapping(address => mapping(address => Fig)) internal replayed; // tracker => agent => figures

    /// Replaying the recorded events alone reconstructs every agent's figures on both trackers, and
    /// every BatchSettled's totals equal the deltas implied by its ReputationUpdated events.
    function test_Verifiable_EventReplayReconstructsState() public {
        address[] memory agents = agentsN(12, 7);
        vm.recordLogs();
        vm.startPrank(authority);
        a.registerBatch(agents);
        uint256 seed = 42;
        for (uint256 id = 1; id <= 8; ++id) {
            (address[] memory ag, uint256[] memory ups, uint256[] memory downs) = _randomBatch(agents, seed);
            a.settle(id, keccak256(abi.encode(id)), ag, ups, downs);
            seed = uint256(keccak256(abi.encode(seed)));
        }
        vm.stopPrank();
        vm.prank(stranger);
        ReputationTracker b = ReputationTracker(f.deployNewTracker(address(a)));
        vm.startPrank(stranger);
        b.register(agents[0]); // import via register
        b.register(carol); // fresh
        for (uint256 id = 1; id <= 4; ++id) {
            (address[] memory ag, uint256[] memory ups, uint256[] memory downs) = _randomBatch(agents, seed);
            ag[0] = carol;
            b.settle(id, keccak256(abi.encode(id)), ag, ups, downs); // imports on first write
            seed = uint256(keccak256(abi.encode(seed)));
        }
        vm.stopPrank();

        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 batchUp;
        uint256 batchDown;
        uint256 batchEntries;
        uint256 settles;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            bytes32 sig = l.topics[0];
            if (sig == ReputationTracker.AgentRegistered.selector) {
                address agent = address(uint160(uint256(l.topics[1])));
                vm.assertFalse(replayed[l.emitter][agent].known);
                replayed[l.emitter][agent] = Fig(abi.decode(l.data, (uint256)), 0, true);
            } else if (sig == ReputationTracker.AgentImported.selector) {
                address agent = address(uint160(uint256(l.topics[1])));
                address from = address(uint160(uint256(l.topics[2])));
                (uint256 up, uint256 down) = abi.decode(l.data, (uint256, uint256));
                vm.assertFalse(replayed[l.emitter][agent].known);
                Fig memory old = replayed[from][agent]; // the source tracker's own figures
                vm.assertTrue(old.known);
                vm.assertEq(up, old.up);
                vm.assertEq(down, old.down);
                replayed[l.emitter][agent] = Fig(up, down, true);
            } else if (sig == ReputationTracker.ReputationUpdated.selector) {
                address agent = address(uint160(uint256(l.topics[1])));
                (uint256 up, uint256 down) = abi.decode(l.data, (uint256, uint256));
                Fig storage cur = replayed[l.emitter][agent];
                vm.assertTrue(cur.known);
                batchUp += up - cur.up; // figures only grow
                batchDown += down - cur.down;
                ++batchEntries;
                (cur.up, cur.down) = (up, down);
            } else if (sig == ReputationTracker.BatchSettled.selector) {
                (bytes32 root, uint256 count, uint256 tu, uint256 td) =
                    abi.decode(l.data, (bytes32, uint256, uint256, uint256));
                uint256 id = uint256(l.topics[1]);
                vm.assertEq(root, keccak256(abi.encode(id)));
                vm.assertEq(ReputationTracker(l.emitter).batchRoot(id), root);
                vm.assertEq(count, batchEntries);
                vm.assertEq(tu, batchUp);
                vm.assertEq(td, batchDown);
                (batchUp, batchDown, batchEntries) = (0, 0, 0);
                ++settles;
            }
        }
        vm.assertEq(settles, 12);
        address[2] memory ts = [address(a), address(b)];
        for (uint256 k; k < 2; ++k) {
            ReputationTracker t = ReputationTracker(ts[k]);
            for (uint256 i; i <= agents.length; ++i) {
                address agent = i == agents.length ? carol : agents[i];
                (uint256 up, uint256 down,, bool known) = t.getLocalReputation(agent);
                Fig memory r = replayed[ts[k]][agent];
                vm.assertEq(known, r.known);
                vm.assertEq(up, r.up);
                vm.assertEq(down, r.down);
            }
        }
    }

    function _randomBatch(address[] memory agents, uint256 seed)
        internal
        pure
        returns (address[] memory ag, uint256[] memory ups, uint256[] memory downs)
    {
        uint256 n = 1 + seed % agents.length;
        ag = new address[](n);
        ups = new uint256[](n);
        downs = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            ag[i] = agents[r % agents.length]; // duplicates allowed on purpose
            ups[i] = (r >> 64) % (4 * GiB);
            downs[i] = (r >> 128) % (4 * GiB);
        }
    }

    /// verifyReceipt accepts every receipt of a settled batch and rejects tampered digests and proofs.
    function testFuzz_Verifiable_ReceiptProofs(uint256 seed, uint8 size, bytes32 stranger_) public {
        uint256 n = bound(size, 1, 33);
        bytes32[] memory digests = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            digests[i] = keccak256(abi.encode(seed, i));
        }
        vm.prank(authority);
        a.register(alice);
        (bytes32[] memory tree, bytes32[] memory sorted) = StandardMerkle.build(digests);
        vm.prank(authority);
        a.settle(1, tree[0], one(alice), u1(1), u1(0));
        for (uint256 i; i < n; ++i) {
            bytes32[] memory p = StandardMerkle.proofFrom(tree, sorted, digests[i]);
            vm.assertTrue(a.verifyReceipt(1, digests[i], p));
            vm.assertFalse(a.verifyReceipt(2, digests[i], p));
            if (p.length > 0) {
                p[p.length - 1] = ~p[p.length - 1];
                vm.assertFalse(a.verifyReceipt(1, digests[i], p));
            }
        }
        // a digest not in the batch has no valid proof among the batch's proofs
        for (uint256 i; i < n; ++i) {
            if (stranger_ == digests[i]) return;
        }
        for (uint256 i; i < n; ++i) {
            vm.assertFalse(a.verifyReceipt(1, stranger_, StandardMerkle.proofFrom(tree, sorted, digests[i])));
        }
    }
}
