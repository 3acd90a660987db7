package writer

import (
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// MaxBatchAgents is the contract's MAX_BATCH_SIZE: entries of one settle or
// registerBatch call.
const MaxBatchAgents = 256

// Config tunes the writer. Durations and counts are validated by Validate;
// Default gives the service's defaults.
type Config struct {
	// Contract is the ReputationTracker.
	Contract common.Address
	// Factory is the RepFactory that deployed it, for the status only (may be zero).
	Factory common.Address
	// ChainID, when not 0, must be the endpoint's chain id.
	ChainID uint64

	// A batch is cut when BatchMaxReceipts batchable receipts wait, or the
	// oldest has waited BatchMaxAge and no settle transaction of ours is
	// waiting for inclusion (so a partial batch goes at most once a block).
	BatchMaxReceipts int
	BatchMaxAge      time.Duration
	// BatchMaxAgents bounds the settle entries (distinct agents) of a batch.
	BatchMaxAgents int
	// RegisterMaxAgents bounds one registerBatch call.
	RegisterMaxAgents int

	// Confirmations is the depth at which an included transaction's effects
	// are recorded (1: in the latest block).
	Confirmations uint64
	// ConfirmTag, when "safe" or "finalized", also requires the block to be
	// at or below the chain's block of that tag ("" : depth only).
	ConfirmTag string
	// PollInterval is the loop's period while healthy.
	PollInterval time.Duration
	// MaxBackoff bounds the retry delay while the chain or database is down.
	MaxBackoff time.Duration
	// RPCTimeout bounds each chain call.
	RPCTimeout time.Duration
	// MaxInFlight is the window: transactions signed and not yet final.
	MaxInFlight int

	// ResubmitTimeout is how long a version may wait for inclusion before
	// it is replaced by one paying FeeBumpPercent more (tip and fee cap),
	// never above MaxFeePerGas.
	ResubmitTimeout time.Duration
	FeeBumpPercent  float64
	MaxFeePerGas    *big.Int
	// MinTipCap is the least priority fee offered.
	MinTipCap *big.Int

	// GasMarginPercent is added to eth_estimateGas's answer (then
	// GasMarginFixed more) to make a transaction's gas limit; only the gas
	// used is paid.
	GasMarginPercent float64
}

// GasMarginFixed is the gas added to every estimate after the percentage
// (storage a concurrent transaction made warm or cold between the estimate
// and the inclusion costs up to 20k per slot).
const GasMarginFixed = 25_000

// Default returns the service's default settings (Contract unset).
func Default() Config {
	return Config{
		BatchMaxReceipts:  8192,
		BatchMaxAge:       time.Second,
		BatchMaxAgents:    MaxBatchAgents,
		RegisterMaxAgents: MaxBatchAgents,
		Confirmations:     1,
		PollInterval:      100 * time.Millisecond,
		MaxBackoff:        5 * time.Second,
		RPCTimeout:        5 * time.Second,
		MaxInFlight:       4,
		ResubmitTimeout:   30 * time.Second,
		FeeBumpPercent:    12.5,
		MaxFeePerGas:      big.NewInt(500e9),
		MinTipCap:         big.NewInt(1),
		GasMarginPercent:  20,
	}
}

// FieldError names the setting that is wrong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks every setting and names the first bad one (by its Config
// field name; the service maps it to its flag).
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case c.Contract == (common.Address{}):
		return bad("Contract", "must be the ReputationTracker's address")
	case c.BatchMaxReceipts < 1 || c.BatchMaxReceipts > 65536:
		return bad("BatchMaxReceipts", "%d: want 1..65536", c.BatchMaxReceipts)
	case c.BatchMaxAge <= 0 || c.BatchMaxAge > time.Hour:
		return bad("BatchMaxAge", "%v: want (0, 1h]", c.BatchMaxAge)
	case c.BatchMaxAgents < 2 || c.BatchMaxAgents > MaxBatchAgents:
		return bad("BatchMaxAgents", "%d: want 2..%d (a receipt names two agents; the contract takes %d)", c.BatchMaxAgents, MaxBatchAgents, MaxBatchAgents)
	case c.RegisterMaxAgents < 1 || c.RegisterMaxAgents > MaxBatchAgents:
		return bad("RegisterMaxAgents", "%d: want 1..%d", c.RegisterMaxAgents, MaxBatchAgents)
	case c.Confirmations < 1 || c.Confirmations > 1000:
		return bad("Confirmations", "%d: want 1..1000", c.Confirmations)
	case c.ConfirmTag != "" && c.ConfirmTag != "safe" && c.ConfirmTag != "finalized":
		return bad("ConfirmTag", "%q: want safe, finalized or empty", c.ConfirmTag)
	case c.PollInterval < 10*time.Millisecond || c.PollInterval > time.Minute:
		return bad("PollInterval", "%v: want 10ms..1m", c.PollInterval)
	case c.MaxBackoff < c.PollInterval || c.MaxBackoff > 10*time.Minute:
		return bad("MaxBackoff", "%v: want poll interval..10m", c.MaxBackoff)
	case c.RPCTimeout < 100*time.Millisecond || c.RPCTimeout > 5*time.Minute:
		return bad("RPCTimeout", "%v: want 100ms..5m", c.RPCTimeout)
	case c.MaxInFlight < 1 || c.MaxInFlight > 64:
		return bad("MaxInFlight", "%d: want 1..64", c.MaxInFlight)
	case c.ResubmitTimeout < 100*time.Millisecond || c.ResubmitTimeout > time.Hour:
		return bad("ResubmitTimeout", "%v: want 100ms..1h", c.ResubmitTimeout)
	case !(c.FeeBumpPercent >= 10 && c.FeeBumpPercent <= 100):
		// Nodes refuse a replacement paying less than 10% more (geth's default price bump).
		return bad("FeeBumpPercent", "%v: want 10..100 (nodes refuse replacements under +10%%)", c.FeeBumpPercent)
	case c.MaxFeePerGas == nil || c.MaxFeePerGas.Sign() <= 0:
		return bad("MaxFeePerGas", "must be positive")
	case c.MinTipCap == nil || c.MinTipCap.Sign() < 0 || c.MinTipCap.Cmp(c.MaxFeePerGas) > 0:
		return bad("MinTipCap", "want 0..max fee per gas")
	case !(c.GasMarginPercent >= 0 && c.GasMarginPercent <= 200):
		return bad("GasMarginPercent", "%v: want 0..200", c.GasMarginPercent)
	}
	return nil
}
