// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.sol";
import {ReputationTracker} from "../src/ReputationTracker.sol";
import {RepFactory} from "../src/RepFactory.sol";

/// @notice RepFactory unit tests and the "permissionless" property.
contract RepFactoryTest is Base {
    RepFactory internal f;

    function setUp() public {
        f = new RepFactory(GiB);
    }

    function test_DeployGenesis_CallerBecomesAuthority() public {
        address expected = vm.computeCreateAddress(address(f), vm.getNonce(address(f)));
        vm.expectEmit(true, true, true, true, address(f));
        emit RepFactory.TrackerDeployed(expected, alice, address(0), GiB);
        vm.prank(alice);
        ReputationTracker t = ReputationTracker(f.deployNewTracker(address(0)));
        vm.assertEq(address(t), expected);
        vm.assertEq(t.tracker(), alice);
        vm.assertEq(t.referrer(), address(0));
        vm.assertEq(t.initialCredit(), GiB);
        vm.assertEq(f.trackerCount(), 1);
        vm.assertEq(f.trackers(0), address(t));
        vm.assertTrue(f.isFactoryTracker(address(t)));
        vm.assertFalse(f.isFactoryTracker(alice));
        vm.assertEq(f.defaultInitialCredit(), GiB);
    }

    function test_DeployWithReferrer_InheritsCredit() public {
        vm.prank(alice);
        address a = f.deployNewTrackerWithCredit(address(0), 5);
        vm.prank(bob);
        ReputationTracker b = ReputationTracker(f.deployNewTracker(a));
        vm.assertEq(b.tracker(), bob);
        vm.assertEq(b.referrer(), a);
        vm.assertEq(b.initialCredit(), 5);
        vm.assertEq(f.trackerCount(), 2);
    }

    function test_DeployWithCredit() public {
        vm.expectEmit(false, true, true, true, address(f));
        emit RepFactory.TrackerDeployed(address(0), carol, address(0), 123);
        vm.prank(carol);
        ReputationTracker t = ReputationTracker(f.deployNewTrackerWithCredit(address(0), 123));
        vm.assertEq(t.initialCredit(), 123);
        vm.assertEq(t.tracker(), carol);
    }

    function test_Deploy_RevertsOnEoaReferrer() public {
        vm.expectRevert(abi.encodeWithSelector(RepFactory.ReferrerNotContract.selector, stranger));
        f.deployNewTracker(stranger);
        vm.expectRevert(abi.encodeWithSelector(RepFactory.ReferrerNotContract.selector, stranger));
        f.deployNewTrackerWithCredit(stranger, 1);
        vm.assertEq(f.trackerCount(), 0);
    }

    function test_Deploy_RevertsOnNonTrackerContractReferrer() public {
        // a contract without initialCredit(): deployNewTracker cannot inherit a credit from it
        vm.expectRevert();
        f.deployNewTracker(address(f));
    }

    function test_DeployWithCredit_RevertsOnHugeCredit() public {
        vm.expectRevert(abi.encodeWithSelector(RepFactory.InitialCreditTooLarge.selector, MAX112 + 1));
        f.deployNewTrackerWithCredit(address(0), MAX112 + 1);
        // same selector as the tracker's own check
        vm.assertEq(RepFactory.InitialCreditTooLarge.selector, ReputationTracker.InitialCreditTooLarge.selector);
    }

    function test_Constructor_RevertsOnHugeDefaultCredit() public {
        vm.expectRevert(abi.encodeWithSelector(RepFactory.InitialCreditTooLarge.selector, MAX112 + 1));
        new RepFactory(MAX112 + 1);
    }

    function test_FactoryHasNoPowerOverItsTrackers() public {
        ReputationTracker t = ReputationTracker(f.deployNewTracker(address(0)));
        vm.assertEq(t.tracker(), address(this));
        vm.prank(address(f));
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, address(f)));
        t.register(alice);
    }

    /// Permissionless: any caller (fuzzed) deploys a tracker and is its sole authority.
    function testFuzz_Permissionless_AnyCallerDeploysAndControls(address caller, address other, bool withReferrer)
        public
    {
        vm.assume(caller != address(0) && other != caller && uint160(caller) > 0xffff);
        vm.assume(caller != address(vm) && caller.code.length == 0);
        address ref = withReferrer ? f.deployNewTracker(address(0)) : address(0);
        vm.prank(caller);
        ReputationTracker t = ReputationTracker(f.deployNewTracker(ref));
        vm.assertEq(t.tracker(), caller);
        vm.assertEq(t.referrer(), ref);

        vm.prank(caller);
        t.register(alice);
        vm.prank(caller);
        t.settle(1, ROOT, one(alice), u1(1), u1(2));

        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(ReputationTracker.NotTracker.selector, other));
        t.settle(2, ROOT, one(alice), u1(1), u1(2));
        vm.assertEq(t.lastBatchId(), 1);
    }
}
