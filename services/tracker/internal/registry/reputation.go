package registry

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
)

// Reputation reports an agent's figures: bytes settled on chain plus bytes of
// verified receipts not settled yet. The tracker's main package implements it
// (the ReputationTracker contract and the receipts database). An error makes
// the gate answer Unavailable; it never lets a download through.
type Reputation interface {
	Figures(ctx context.Context, agent common.Address) (Figures, error)
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

// Decision is the access gate's verdict with the figures it used.
type Decision struct {
	Allowed bool
	// Uploaded and Downloaded are settled + pending bytes; Left the bytes the
	// download still needs.
	Uploaded, Downloaded, Left uint64
	// Num/Den is the minimum ratio.
	Num, Den uint64
}

// Decide is the ratio gate (DESIGN.md, data flow step 4), the one place the
// rule is written: with U = settled + pending upload and D = settled + pending
// download, a download of left more bytes is allowed iff
//
//	left == 0  or  U * den >= num * (D + left)
//
// that is U / (D + left) >= num/den, in exact integer arithmetic (128-bit
// products, no overflow; U and D saturate at 2^64-1 bytes, 16 EiB). Seeding
// (left == 0) is never refused. num == 0 allows everything; den must not be 0
// (New refuses such a configuration; Decide then refuses every download).
func Decide(f Figures, left, num, den uint64) Decision {
	d := Decision{Uploaded: f.Upload(), Downloaded: f.Download(), Left: left, Num: num, Den: den}
	if left == 0 {
		d.Allowed = true
		return d
	}
	// lhs = U*den (128 bits).
	lh, ll := bits.Mul64(d.Uploaded, den)
	// need = D + left (65 bits: carry:sum); rhs = num*need (up to 129 bits).
	sum, carry := bits.Add64(d.Downloaded, left, 0)
	rh, rl := bits.Mul64(num, sum)
	var top uint64
	if carry != 0 {
		rh, top = bits.Add64(rh, num, 0)
	}
	d.Allowed = top == 0 && (lh > rh || lh == rh && ll >= rl)
	return d
}

// Message explains a refusal to a person, with human-sized figures:
//
//	insufficient ratio: uploaded 1.0 GiB, downloaded 3.0 GiB + 2.0 GiB to download;
//	need upload/(download+left) >= 0.50 — seed to earn credit
//
// (one line). It is empty when the decision allows.
func (d Decision) Message() string {
	if d.Allowed {
		return ""
	}
	return fmt.Sprintf("insufficient ratio: uploaded %s, downloaded %s + %s to download; need upload/(download+left) >= %s — seed to earn credit",
		HumanBytes(d.Uploaded), HumanBytes(d.Downloaded), HumanBytes(d.Left), ratioString(d.Num, d.Den))
}

func ratioString(num, den uint64) string {
	if den == 0 {
		return "∞"
	}
	return strconv.FormatFloat(float64(num)/float64(den), 'f', 2, 64)
}

// HumanBytes formats n in binary units with one decimal ("1.5 GiB"); below
// 1 KiB in bytes ("512 B").
func HumanBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	// Round first so 1023.96 KiB reads "1.0 MiB", not "1024.0 KiB".
	if math.Round(v*10)/10 >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i:i+1] + "iB"
}
