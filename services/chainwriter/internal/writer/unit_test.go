package writer

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

func gwei(x float64) *big.Int {
	v, _ := new(big.Float).Mul(big.NewFloat(x), big.NewFloat(1e9)).Int(nil)
	return v
}

func TestMarketFees(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		tip, base, minTip, max *big.Int
		wantTip, wantCap       *big.Int
	}{
		{"tip plus twice the base fee", gwei(1), gwei(10), big.NewInt(1), gwei(500), gwei(1), gwei(21)},
		{"min tip", big.NewInt(0), gwei(10), gwei(2), gwei(500), gwei(2), gwei(22)},
		{"capped", gwei(1), gwei(300), big.NewInt(1), gwei(500), gwei(1), gwei(500)},
		{"tip capped too", gwei(600), gwei(1), big.NewInt(1), gwei(500), gwei(500), gwei(500)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := marketFees(tc.tip, tc.base, tc.minTip, tc.max)
			if f.Tip.Cmp(tc.wantTip) != 0 || f.Cap.Cmp(tc.wantCap) != 0 {
				t.Errorf("marketFees = tip %s cap %s, want %s %s", f.Tip, f.Cap, tc.wantTip, tc.wantCap)
			}
		})
	}
}

func TestBumpFees(t *testing.T) {
	old := Fees{Tip: gwei(1), Cap: gwei(20)}
	for _, tc := range []struct {
		name             string
		market           Fees
		max              *big.Int
		wantTip, wantCap *big.Int
		wantOK           bool
	}{
		{"+12.5% on both", Fees{Tip: gwei(1), Cap: gwei(20)}, gwei(500), gwei(1.125), gwei(22.5), true},
		{"market above the bump", Fees{Tip: gwei(2), Cap: gwei(40)}, gwei(500), gwei(2), gwei(40), true},
		{"capped but still +10%", Fees{Tip: gwei(1), Cap: gwei(20)}, gwei(22), gwei(1.125), gwei(22), true},
		{"no room under the cap", Fees{Tip: gwei(1), Cap: gwei(20)}, gwei(21), gwei(1.125), gwei(21), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := bumpFees(old, tc.market, 12.5, tc.max)
			if ok != tc.wantOK || f.Tip.Cmp(tc.wantTip) != 0 || f.Cap.Cmp(tc.wantCap) != 0 {
				t.Errorf("bumpFees = tip %s cap %s ok %v; want %s %s %v", f.Tip, f.Cap, ok, tc.wantTip, tc.wantCap, tc.wantOK)
			}
		})
	}
	// A zero tip still rises.
	if f, ok := bumpFees(Fees{Tip: big.NewInt(0), Cap: big.NewInt(100)}, Fees{Tip: big.NewInt(0), Cap: big.NewInt(0)}, 12.5, gwei(1)); !ok || f.Tip.Sign() == 0 {
		t.Errorf("zero tip bumped to %s (ok %v)", f.Tip, ok)
	}
}

// rpcErr is a JSON-RPC error answer.
type rpcErr struct {
	code int
	msg  string
}

func (e rpcErr) Error() string  { return e.msg }
func (e rpcErr) ErrorCode() int { return e.code }

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Class
	}{
		{nil, ClassNone},
		{rpcErr{-32003, "transaction already imported"}, ClassAlreadyKnown}, // anvil
		{rpcErr{-32000, "already known"}, ClassAlreadyKnown},                // geth
		{rpcErr{-32003, "nonce too low"}, ClassNonceTooLow},
		{rpcErr{-32000, "nonce too low: next nonce 5, tx nonce 3"}, ClassNonceTooLow},
		{rpcErr{-32003, "replacement transaction underpriced"}, ClassUnderpriced},
		{rpcErr{-32003, "Insufficient funds for gas * price + value"}, ClassInsufficientFunds},
		{rpcErr{-32000, "insufficient funds for gas * price + value: balance 0, tx cost 1"}, ClassInsufficientFunds},
		{rpcErr{-32003, "max fee per gas less than block base fee"}, ClassFeeTooLow},
		{rpcErr{-32000, "transaction underpriced: tip needed 1, tip permitted 0"}, ClassFeeTooLow},
		{rpcErr{-32000, "intrinsic gas too low"}, ClassRejected},
		{rpcErr{-32000, "exceeds block gas limit"}, ClassRejected},
		{rpcErr{-32000, "something else"}, ClassOther},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, ClassUnavailable},
		{fmt.Errorf("post: %w", errors.New("context deadline exceeded")), ClassUnavailable},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Default()
	ok.Contract = common.Address{1}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		field string
		set   func(c *Config)
	}{
		{"Contract", func(c *Config) { c.Contract = common.Address{} }},
		{"BatchMaxReceipts", func(c *Config) { c.BatchMaxReceipts = 0 }},
		{"BatchMaxAge", func(c *Config) { c.BatchMaxAge = 0 }},
		{"BatchMaxAgents", func(c *Config) { c.BatchMaxAgents = 257 }},
		{"RegisterMaxAgents", func(c *Config) { c.RegisterMaxAgents = 0 }},
		{"Confirmations", func(c *Config) { c.Confirmations = 0 }},
		{"PollInterval", func(c *Config) { c.PollInterval = time.Millisecond }},
		{"MaxBackoff", func(c *Config) { c.MaxBackoff = time.Millisecond }},
		{"RPCTimeout", func(c *Config) { c.RPCTimeout = 0 }},
		{"MaxInFlight", func(c *Config) { c.MaxInFlight = 0 }},
		{"ResubmitTimeout", func(c *Config) { c.ResubmitTimeout = 0 }},
		{"FeeBumpPercent", func(c *Config) { c.FeeBumpPercent = 5 }},
		{"MaxFeePerGas", func(c *Config) { c.MaxFeePerGas = big.NewInt(0) }},
		{"MinTipCap", func(c *Config) { c.MinTipCap = gwei(1000) }},
		{"GasMarginPercent", func(c *Config) { c.GasMarginPercent = -1 }},
		{"GasMarginPercent", func(c *Config) { c.GasMarginPercent = 201 }},
	} {
		c := ok
		tc.set(&c)
		var fe *FieldError
		if err := c.Validate(); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("bad %s: Validate() = %v", tc.field, err)
		}
	}
}

func TestGasLimitsCoverTheContract(t *testing.T) {
	// Measured (contracts/README.md): settle of 2 agents 69,637 gas, 128
	// agents 1,096,393; a fresh register ~29k per agent.
	if g := settleGas(2, 452); g < 69_637*3/2 {
		t.Errorf("settle gas limit for 2 agents %d: too tight", g)
	}
	if g := settleGas(128, 4+160+3*(32+128*32)); g < 1_096_393*3/2 {
		t.Errorf("settle gas limit for 128 agents %d: too tight", g)
	}
	if g := settleGas(256, 4+160+3*(32+256*32)); g > 15_000_000 {
		t.Errorf("settle gas limit for 256 agents %d: more than half a 30M block", g)
	}
	if g := registerGas(256, 4+64+256*32); g > 15_000_000 || g < 256*29_000*3/2 {
		t.Errorf("register gas limit for 256 agents %d", g)
	}
}

func TestGasWithMargin(t *testing.T) {
	for _, tc := range []struct {
		est  uint64
		pct  float64
		want uint64
	}{
		{100_000, 20, 120_000 + GasMarginFixed},
		{69_637, 20, 69_637 + 13_928 + GasMarginFixed}, // the percentage rounds up
		{50_000, 0, 50_000 + GasMarginFixed},
	} {
		if got := gasWithMargin(tc.est, tc.pct); got != tc.want {
			t.Errorf("gasWithMargin(%d, %v) = %d, want %d", tc.est, tc.pct, got, tc.want)
		}
	}
}
