// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ReputationTracker} from "./ReputationTracker.sol";

/// @title RepFactory
/// @author PBTS
/// @notice Permissionless factory of ReputationTrackers: whoever calls {deployNewTracker} becomes the
/// new tracker's immutable authority. A tracker may refer to an older one (its referrer) to inherit
/// the reputation of the agents the older one knows.
contract RepFactory {
    /// @notice Initial credit of genesis trackers deployed with {deployNewTracker} (referrer == 0).
    uint256 public immutable defaultInitialCredit;

    /// @notice Every tracker deployed by this factory, in deployment order.
    address[] public trackers;

    /// @notice True for trackers deployed by this factory.
    mapping(address trackerContract => bool deployed) public isFactoryTracker;

    /// @notice A tracker was deployed.
    /// @param trackerContract The new ReputationTracker.
    /// @param authority Its immutable tracker authority (the caller).
    /// @param referrer Its referrer (0 for a genesis tracker).
    /// @param initialCredit Its initial credit.
    event TrackerDeployed(
        address indexed trackerContract, address indexed authority, address indexed referrer, uint256 initialCredit
    );

    /// @notice The referrer is neither zero nor a contract.
    /// @param referrer The rejected referrer.
    error ReferrerNotContract(address referrer);

    /// @notice The initial credit does not fit a tracker's 112-bit figures (same error as ReputationTracker's).
    /// @param initialCredit The rejected initial credit.
    error InitialCreditTooLarge(uint256 initialCredit);

    /// @notice Deploys the factory.
    /// @param defaultInitialCredit_ Initial credit of genesis trackers (e.g. 1 GiB = 1073741824; must fit 112 bits).
    constructor(uint256 defaultInitialCredit_) {
        if (defaultInitialCredit_ > type(uint112).max) revert InitialCreditTooLarge(defaultInitialCredit_);
        defaultInitialCredit = defaultInitialCredit_;
    }

    /// @notice Deploys a tracker whose authority is the caller. Initial credit: the referrer's
    /// initialCredit, or defaultInitialCredit for a genesis tracker (referrer == 0).
    /// @param referrer An existing ReputationTracker to inherit from, or 0.
    /// @return trackerContract The new tracker.
    function deployNewTracker(address referrer) external returns (address trackerContract) {
        uint256 credit = defaultInitialCredit;
        if (referrer != address(0)) {
            if (referrer.code.length == 0) revert ReferrerNotContract(referrer);
            credit = ReputationTracker(referrer).initialCredit();
        }
        return _deploy(referrer, credit);
    }

    /// @notice Deploys a tracker whose authority is the caller, with an explicit initial credit.
    /// @param referrer An existing ReputationTracker to inherit from, or 0.
    /// @param initialCredit Upload bytes granted to fresh agents (must fit 112 bits).
    /// @return trackerContract The new tracker.
    function deployNewTrackerWithCredit(address referrer, uint256 initialCredit)
        external
        returns (address trackerContract)
    {
        if (referrer != address(0) && referrer.code.length == 0) revert ReferrerNotContract(referrer);
        return _deploy(referrer, initialCredit);
    }

    /// @notice Number of trackers deployed by this factory.
    /// @return count trackers.length.
    function trackerCount() external view returns (uint256 count) {
        return trackers.length;
    }

    /// @dev Deploys, records and announces a tracker for msg.sender.
    function _deploy(address referrer, uint256 initialCredit) private returns (address trackerContract) {
        if (initialCredit > type(uint112).max) revert InitialCreditTooLarge(initialCredit);
        trackerContract = address(new ReputationTracker(msg.sender, initialCredit, referrer));
        trackers.push(trackerContract);
        isFactoryTracker[trackerContract] = true;
        emit TrackerDeployed(trackerContract, msg.sender, referrer, initialCredit);
    }
}
