// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.sol";
import {Vm} from "./Vm.sol";
import {ReputationTracker} from "../src/ReputationTracker.sol";

/// @notice Drives a tracker (whose referrer already knows some agents) with random valid and invalid calls
/// and keeps ghost accounting of everything that should have happened.
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant POOL = 24;
    uint256 internal constant MAX_DELTA = 1 << 40; // 1 TiB per entry

    ReputationTracker public immutable referrer;
    ReputationTracker public immutable t;
    address public immutable authority;

    address[] public pool;
    mapping(address => bool) public known; // known on t
    mapping(address => uint256) public baseUp; // figures at registration/import
    mapping(address => uint256) public baseDown;
    mapping(address => uint256) public ghostUp; // sum of applied deltas
    mapping(address => uint256) public ghostDown;
    uint256 public ghostSettles;
    uint256 public ghostTotalUp;
    uint256 public ghostTotalDown;
    uint256 public unauthorizedSuccesses;
    uint256 public badIdSuccesses;
    mapping(bytes4 => uint256) public calls;

    constructor(ReputationTracker referrer_, ReputationTracker t_) {
        referrer = referrer_;
        t = t_;
        authority = t_.tracker();
        for (uint256 i; i < POOL; ++i) {
            pool.push(address(uint160(uint256(keccak256(abi.encode("pool", i))))));
        }
    }

    function poolSize() external pure returns (uint256) {
        return POOL;
    }

    function _pick(uint256 seed) internal view returns (address) {
        return pool[seed % POOL];
    }

    /// @dev Whether t can write the agent (known here or importable from the referrer).
    function _writable(address a) internal view returns (bool) {
        if (known[a]) return true;
        (,,, bool k) = referrer.getLocalReputation(a);
        return k;
    }

    function _noteNew(address a) internal {
        (uint256 up, uint256 down,, bool k) = referrer.getLocalReputation(a);
        known[a] = true;
        (baseUp[a], baseDown[a]) = k ? (up, down) : (t.initialCredit(), 0);
    }

    function register(uint256 seed) external {
        ++calls[this.register.selector];
        address a = _pick(seed);
        if (known[a]) {
            vm.expectRevert(abi.encodeWithSelector(ReputationTracker.AlreadyRegistered.selector, a));
        } else {
            _noteNew(a);
        }
        vm.prank(authority);
        t.register(a);
    }

    function registerBatch(uint256 seed, uint8 n) external {
        ++calls[this.registerBatch.selector];
        uint256 len = 1 + n % 6;
        address[] memory agents = new address[](len);
        uint256 fresh;
        for (uint256 i; i < len; ++i) {
            address a = _pick(uint256(keccak256(abi.encode(seed, i))));
            agents[i] = a;
            if (!known[a]) {
                _noteNew(a);
                ++fresh;
            }
        }
        vm.prank(authority);
        uint256 got = t.registerBatch(agents);
        vm.assertEq(got, fresh);
    }

    function settle(uint256 seed, uint8 n) external {
        ++calls[this.settle.selector];
        uint256 len = 1 + n % 16;
        address[] memory agents = new address[](len);
        uint256[] memory ups = new uint256[](len);
        uint256[] memory downs = new uint256[](len);
        uint256 m;
        for (uint256 i; i < len; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            address a = _pick(r);
            if (!_writable(a)) continue; // would revert UnknownAgent; tested elsewhere
            agents[m] = a;
            ups[m] = (r >> 64) % MAX_DELTA;
            downs[m] = (r >> 128) % MAX_DELTA;
            ++m;
        }
        if (m == 0) return;
        assembly {
            mstore(agents, m)
            mstore(ups, m)
            mstore(downs, m)
        }
        for (uint256 i; i < m; ++i) {
            address a = agents[i];
            if (!known[a]) _noteNew(a); // imported on first write
            ghostUp[a] += ups[i];
            ghostDown[a] += downs[i];
            ghostTotalUp += ups[i];
            ghostTotalDown += downs[i];
        }
        uint256 id = t.lastBatchId() + 1;
        vm.prank(authority);
        t.settle(id, keccak256(abi.encode(id, seed)), agents, ups, downs);
        ++ghostSettles;
    }

    function settleWrongId(uint256 id, uint256 seed) external {
        ++calls[this.settleWrongId.selector];
        uint256 next = t.lastBatchId() + 1;
        if (id == next) id = next + 1 + seed % 3;
        address a = _pick(seed);
        if (!_writable(a)) return;
        vm.prank(authority);
        try t.settle(id, bytes32(seed | 1), one(a), one(1), one(1)) {
            ++badIdSuccesses;
        } catch (bytes memory err) {
            vm.assertEq(err, abi.encodeWithSelector(ReputationTracker.BadBatchId.selector, next, id));
        }
    }

    function attack(address caller, uint256 seed, uint8 which) external {
        ++calls[this.attack.selector];
        if (caller == authority) caller = address(uint160(caller) ^ 1);
        address a = _pick(seed);
        uint256 next = t.lastBatchId() + 1;
        vm.prank(caller);
        bool ok;
        if (which % 3 == 0) {
            try t.register(a) {
                ok = true;
            } catch {}
        } else if (which % 3 == 1) {
            try t.registerBatch(one(a)) returns (uint256) {
                ok = true;
            } catch {}
        } else {
            try t.settle(next, bytes32(seed | 1), one(a), one(1), one(1)) {
                ok = true;
            } catch {}
        }
        if (ok) ++unauthorizedSuccesses;
    }

    function warp(uint32 dt) external {
        ++calls[this.warp.selector];
        vm.warp(block.timestamp + dt % 30 days);
        vm.roll(block.number + 1);
    }

    function one(address a) internal pure returns (address[] memory r) {
        r = new address[](1);
        r[0] = a;
    }

    function one(uint256 v) internal pure returns (uint256[] memory r) {
        r = new uint256[](1);
        r[0] = v;
    }
}

/// @notice Invariants: figures == base + applied deltas, batch ids strictly sequential, only the authority
/// changes state, the referrer is never written.
contract InvariantTest is Base {
    Handler internal h;
    ReputationTracker internal ref;
    ReputationTracker internal t;
    address internal refAuthority = makeAddr("refAuthority");

    function setUp() public {
        vm.warp(1_700_000_000);
        ref = newTracker(refAuthority, address(0));
        // the referrer knows every third pool agent (same addresses as Handler.pool), with some history
        address[] memory some = new address[](8);
        for (uint256 i; i < 8; ++i) {
            some[i] = address(uint160(uint256(keccak256(abi.encode("pool", i * 3)))));
        }
        vm.startPrank(refAuthority);
        ref.registerBatch(some);
        ref.settle(1, ROOT, some, filled(8, 5 * GiB), filled(8, 3 * GiB));
        vm.stopPrank();

        t = newTracker(authority, address(ref));
        h = new Handler(ref, t);
        vm.assertEq(h.pool(3), some[1]);
        targetContract(address(h));
        bytes4[] memory sel = new bytes4[](6);
        sel[0] = Handler.register.selector;
        sel[1] = Handler.registerBatch.selector;
        sel[2] = Handler.settle.selector;
        sel[3] = Handler.settleWrongId.selector;
        sel[4] = Handler.attack.selector;
        sel[5] = Handler.warp.selector;
        targetSelector(FuzzSelector(address(h), sel));
    }

    function invariant_FiguresEqualBasePlusDeltas() public view {
        uint256 sumUp;
        uint256 sumDown;
        for (uint256 i; i < h.poolSize(); ++i) {
            address a = h.pool(i);
            (uint256 up, uint256 down,, bool known) = t.getLocalReputation(a);
            vm.assertEq(known, h.known(a));
            if (!known) continue;
            vm.assertEq(up, h.baseUp(a) + h.ghostUp(a));
            vm.assertEq(down, h.baseDown(a) + h.ghostDown(a));
            sumUp += up - h.baseUp(a);
            sumDown += down - h.baseDown(a);
        }
        vm.assertEq(sumUp, h.ghostTotalUp());
        vm.assertEq(sumDown, h.ghostTotalDown());
    }

    function invariant_BatchIdsSequential() public view {
        uint256 last = t.lastBatchId();
        vm.assertEq(last, h.ghostSettles());
        vm.assertEq(h.badIdSuccesses(), 0);
        if (last > 0) vm.assertNotEq(t.batchRoot(last), bytes32(0));
        vm.assertEq(t.batchRoot(last + 1), bytes32(0));
    }

    function invariant_OnlyAuthorityChangesState() public view {
        vm.assertEq(h.unauthorizedSuccesses(), 0);
        vm.assertEq(t.tracker(), authority);
        vm.assertEq(t.referrer(), address(ref));
        vm.assertEq(t.initialCredit(), GiB);
    }

    function invariant_ReferrerNeverWritten() public view {
        vm.assertEq(ref.lastBatchId(), 1);
        for (uint256 i; i < 8; ++i) {
            (uint256 up, uint256 down) = rep(ref, h.pool(i * 3));
            vm.assertEq(up, 6 * GiB);
            vm.assertEq(down, 3 * GiB);
        }
    }

    /// Unknown agents never leech; known agents obey 2*up >= down + left.
    function invariant_CanLeechAgreesWithFigures() public view {
        for (uint256 i; i < h.poolSize(); ++i) {
            address a = h.pool(i);
            (uint256 up, uint256 down,, bool known) = t.getReputation(a);
            vm.assertEq(t.canLeech(a, 0), known && 2 * up >= down);
            vm.assertEq(t.canLeech(a, GiB), known && 2 * up >= down + GiB);
        }
    }
}
