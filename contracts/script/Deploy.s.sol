// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Vm} from "../test/Vm.sol";
import {RepFactory} from "../src/RepFactory.sol";
import {ReputationTracker} from "../src/ReputationTracker.sol";

/// @notice Deploys (or reuses) a RepFactory and a ReputationTracker through it. The broadcasting key
/// becomes the tracker authority, so broadcast with the chainwriter's key.
///
///   forge script script/Deploy.s.sol --rpc-url $RPC --private-key $KEY --broadcast
///
/// Environment (all optional): PBTS_INITIAL_CREDIT (bytes, default 1 GiB), PBTS_REFERRER (an older
/// ReputationTracker to inherit from; its initial credit is reused), PBTS_FACTORY (reuse this factory).
contract Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function run() external returns (RepFactory factory, ReputationTracker tracker) {
        uint256 credit = vm.envOr("PBTS_INITIAL_CREDIT", uint256(1 << 30));
        address referrer = vm.envOr("PBTS_REFERRER", address(0));
        address existing = vm.envOr("PBTS_FACTORY", address(0));
        vm.startBroadcast();
        factory = existing == address(0) ? new RepFactory(credit) : RepFactory(existing);
        tracker = ReputationTracker(
            referrer == address(0)
                ? factory.deployNewTrackerWithCredit(address(0), credit)
                : factory.deployNewTracker(referrer)
        );
        vm.stopBroadcast();
    }
}
