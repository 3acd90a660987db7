package registry

import (
	"context"
	"math"
	"math/bits"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/services/tracker/internal/gate"
)

// Reputation reports an agent's figures: bytes settled on chain plus bytes of
// verified receipts not settled yet. The tracker's main package implements it
// (the ReputationTracker contract and the receipts database). An error makes
// the gate answer Unavailable; it never lets a download through.
type Reputation interface {
	Figures(ctx context.Context, agent common.Address) (Figures, error)
	// ExpectBase records, for an agent that has just registered, what its
	// on-chain registration will grant (so that its figures come from one
	// source from the start).
	ExpectBase(ctx context.Context, agent common.Address) error
}

// Figures are an agent's upload and download bytes as the gate sees them.
type Figures struct {
	// Settled on chain (for a newly registered agent the initial credit is
	// settled upload once the registration is confirmed).
	SettledUpload, SettledDownload uint64
	// Verified receipts not yet settled.
	PendingUpload, PendingDownload uint64
	// OnChain tells whether the contract knows the agent (registered or
	// imported from the referrer tracker).
	OnChain bool
	// Earned is the upload others have receipted to it on this tracker
	// (settled and pending), beyond what its registration granted.
	Earned uint64
}

// Upload is settled + pending upload, saturating at 2^64-1.
func (f Figures) Upload() uint64 { return satAdd(f.SettledUpload, f.PendingUpload) }

// Download is settled + pending download, saturating at 2^64-1.
func (f Figures) Download() uint64 { return satAdd(f.SettledDownload, f.PendingDownload) }

// Ratio returns upload/download as a float for display, and whether it is
// infinite (nothing downloaded: then ratio is 0).
func (f Figures) Ratio() (ratio float64, infinite bool) {
	d := f.Download()
	if d == 0 {
		return 0, true
	}
	return float64(f.Upload()) / float64(d), false
}

func satAdd(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}

// Decision is the gate's verdict (package gate).
type Decision = gate.Decision

// Decide applies the access rule (package gate, DESIGN.md step 4) to an
// agent's figures: with U = settled + pending upload and D = settled +
// pending download (each saturating at 2^64-1), a download of left more
// bytes is allowed iff left == 0 or U / (D + left) >= num/den, exactly.
func Decide(f Figures, left, num, den uint64) Decision {
	return gate.Decide(f.Upload(), f.Download(), left, gate.Ratio{Num: num, Den: den})
}
