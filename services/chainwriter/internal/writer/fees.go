package writer

import (
	"math"
	"math/big"
)

// Fees are an EIP-1559 transaction's price.
type Fees struct {
	Tip, Cap *big.Int
}

// marketFees is what a new transaction offers: the node's suggested tip (at
// least minTip) and a fee cap of tip + 2 × base fee, which survives six full
// blocks of base fee growth; both capped at maxFee.
func marketFees(suggestedTip, baseFee, minTip, maxFee *big.Int) Fees {
	tip := bigMax(suggestedTip, minTip)
	fc := new(big.Int).Add(tip, new(big.Int).Lsh(baseFee, 1))
	return clampFees(Fees{Tip: tip, Cap: fc}, maxFee)
}

func clampFees(f Fees, maxFee *big.Int) Fees {
	if f.Cap.Cmp(maxFee) > 0 {
		f.Cap = new(big.Int).Set(maxFee)
	}
	if f.Tip.Cmp(f.Cap) > 0 {
		f.Tip = new(big.Int).Set(f.Cap)
	}
	return f
}

// bumpFees is the price of a replacement: at least pct percent more than old
// on both tip and fee cap (nodes require both to rise), at least the market
// price, capped at maxFee. ok is false when the cap leaves no room for a
// valid replacement (both must rise by at least minBumpPercent).
func bumpFees(old, market Fees, pct float64, maxFee *big.Int) (f Fees, ok bool) {
	f = Fees{
		Tip: bigMax(scaleUp(old.Tip, pct), market.Tip),
		Cap: bigMax(scaleUp(old.Cap, pct), market.Cap),
	}
	if f.Cap.Cmp(f.Tip) < 0 {
		f.Cap = new(big.Int).Set(f.Tip)
	}
	f = clampFees(f, maxFee)
	ok = f.Tip.Cmp(scaleUp(old.Tip, minBumpPercent)) >= 0 && f.Cap.Cmp(scaleUp(old.Cap, minBumpPercent)) >= 0
	return f, ok
}

// minBumpPercent is what nodes require of a replacement (geth's default).
const minBumpPercent = 10

// scaleUp returns ceil(x × (1 + pct/100)), and at least x + 1 so that a zero
// tip rises too.
func scaleUp(x *big.Int, pct float64) *big.Int {
	// Work in parts per million to stay in integers.
	ppm := big.NewInt(int64(math.Round(pct * 1e4)))
	y := new(big.Int).Mul(x, ppm)
	y.Add(y, big.NewInt(1e6-1))
	y.Div(y, big.NewInt(1e6))
	y.Add(y, x)
	if y.Cmp(x) == 0 {
		y.Add(y, big.NewInt(1))
	}
	return y
}

func bigMax(a, b *big.Int) *big.Int {
	if a.Cmp(b) >= 0 {
		return new(big.Int).Set(a)
	}
	return new(big.Int).Set(b)
}

// gasWithMargin is the gas limit given for an estimate: est × (1 + pct/100)
// + GasMarginFixed.
func gasWithMargin(est uint64, pct float64) uint64 {
	return est + uint64(math.Ceil(float64(est)*pct/100)) + GasMarginFixed
}

// Computed gas bounds, used only when the node cannot estimate: a settle for
// batch n+1 sent while batch n is in flight (the estimate would revert
// BadBatchId), or a node that answers eth_estimateGas with an error that is
// no revert. They cover the worst case of each entry (a first write that
// imports the agent from the referrer, with an external call, a fresh slot
// and an event) with a margin. Only the gas used is paid. Measured on anvil:
// settle with 2 agents uses 69,637 gas, 128 agents 1,096,393; register about
// 29k per agent.
const (
	txBaseGas        = 21_000
	calldataGasByte  = 16
	settleBaseGas    = 40_000
	settleAgentGas   = 40_000
	registerBaseGas  = 30_000
	registerAgentGas = 45_000
)

func settleGas(agents, dataLen int) uint64 {
	return uint64(txBaseGas + calldataGasByte*dataLen + settleBaseGas + settleAgentGas*agents)
}

func registerGas(agents, dataLen int) uint64 {
	return uint64(txBaseGas + calldataGasByte*dataLen + registerBaseGas + registerAgentGas*agents)
}
