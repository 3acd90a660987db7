// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.sol";
import {console} from "./Vm.sol";
import {ReputationTracker} from "../src/ReputationTracker.sol";

/// @notice Gas of settle with 2, 16 and 128 agents in a steady-state batch: the agents are already
/// registered (their slots are non-zero), lastBatchId is already non-zero, every delta is non-zero,
/// and every agent slot is cold (setUp runs as its own transaction).
///
/// What `settle_gas_<n>_agents` measures: vm.lastCallGas().gasTotalUsed of the settle call, i.e. the gas
/// used inside the settle call frame (ABI decoding, one cold SLOAD + one SSTORE + one LOG3 per agent,
/// the lastBatchId and batchRoot writes, BatchSettled). That is the transaction's gasUsed minus the
/// 21000 intrinsic gas and the calldata gas (4/16 per zero/non-zero byte); settle refunds nothing.
/// `settle_tx_gas_<n>_agents` adds those two back. Cross-checked on anvil 1.7.1: the same batches sent
/// with `cast send` had exactly these gasUsed figures (69637, 183569, 1096393).
/// bench-gas.sh parses these console lines from `forge test -vv`.
contract GasTest is Base {
    ReputationTracker internal t;
    address[] internal all;

    function setUp() public {
        vm.warp(1_700_000_000);
        t = new ReputationTracker(address(this), GiB, address(0));
        all = agentsN(128, 99);
        t.registerBatch(all);
        // batch 1 already settled: steady state (lastBatchId non-zero)
        t.settle(1, keccak256("batch 1"), all, filled(128, 1 << 20), filled(128, 1 << 19));
        vm.warp(1_700_000_600);
    }

    function _measure(uint256 n) internal returns (uint256 used, uint256 txGas) {
        bytes memory data = _settleCalldata(n);
        uint256 balance = address(t).balance; // warms the account like a transaction's `to`
        balance;
        uint256 g0 = gasleft();
        (bool ok,) = address(t).call(data);
        uint256 outer = g0 - gasleft();
        vm.assertTrue(ok, "settle failed");
        used = vm.lastCallGas().gasTotalUsed;
        vm.assertLt(used, outer); // the caller-side view also counts the CALL and Solidity overhead
        txGas = 21000 + _calldataGas(data) + used;
        vm.assertEq(t.lastBatchId(), 2);
        (uint256 up, uint256 down) = rep(t, all[n - 1]);
        vm.assertEq(up, GiB + (1 << 20) + 262144 * n);
        vm.assertEq(down, (1 << 19) + 262144);
    }

    function _settleCalldata(uint256 n) internal view returns (bytes memory) {
        address[] memory agents = new address[](n);
        uint256[] memory ups = new uint256[](n);
        uint256[] memory downs = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            agents[i] = all[i];
            ups[i] = 262144 * (i + 1); // whole 256 KiB pieces
            downs[i] = 262144 * (n - i);
        }
        return abi.encodeCall(t.settle, (2, keccak256("batch 2"), agents, ups, downs));
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 g) {
        for (uint256 i; i < data.length; ++i) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    function test_Gas_Settle_2Agents() public {
        (uint256 used, uint256 txGas) = _measure(2);
        console.log("settle_gas_2_agents", used);
        console.log("settle_tx_gas_2_agents", txGas);
    }

    function test_Gas_Settle_16Agents() public {
        (uint256 used, uint256 txGas) = _measure(16);
        console.log("settle_gas_16_agents", used);
        console.log("settle_tx_gas_16_agents", txGas);
    }

    function test_Gas_Settle_128Agents() public {
        (uint256 used, uint256 txGas) = _measure(128);
        console.log("settle_gas_128_agents", used);
        console.log("settle_tx_gas_128_agents", txGas);
    }

    function test_Gas_RegisterOne() public {
        address fresh = makeAddr("fresh");
        t.register(fresh);
        console.log("register_gas", vm.lastCallGas().gasTotalUsed);
    }
}
