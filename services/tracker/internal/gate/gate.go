// Package gate is the access rule of DESIGN.md step 4, written once: an
// agent may download left more bytes iff left == 0 (seeding is never
// refused) or uploaded / (downloaded + left) >= the minimum ratio, in exact
// integer arithmetic; and the refusal a person reads.
package gate

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// Ratio is the minimum share ratio uploaded/(downloaded+left) as a
// fraction Num/Den (0.5 is {1, 2}), so the rule is integer math.
type Ratio struct{ Num, Den uint64 }

// DefaultRatio is DESIGN.md's 0.5.
var DefaultRatio = Ratio{Num: 1, Den: 2}

// Valid reports whether r is a usable ratio (a positive denominator).
func (r Ratio) Valid() bool { return r.Den > 0 }

// String formats r with two decimals ("0.50").
func (r Ratio) String() string {
	if r.Den == 0 {
		return "NaN"
	}
	return strconv.FormatFloat(float64(r.Num)/float64(r.Den), 'f', 2, 64)
}

// Allows reports whether uploaded/(downloaded+left) >= r, computed exactly
// (128-bit products, no floats): uploaded·Den >= Num·(downloaded+left).
func (r Ratio) Allows(uploaded, downloaded, left uint64) bool {
	need, carry := bits.Add64(downloaded, left, 0)
	lhsHi, lhsLo := bits.Mul64(uploaded, r.Den)
	rhsHi, rhsLo := bits.Mul64(need, r.Num)
	if carry != 0 { // downloaded+left overflowed 64 bits: add Num·2^64
		var c uint64
		rhsHi, c = bits.Add64(rhsHi, r.Num, 0)
		if c != 0 {
			return false
		}
	}
	return lhsHi > rhsHi || lhsHi == rhsHi && lhsLo >= rhsLo
}

// Decision is the gate's verdict with the figures it used, so a refusal can
// tell the person what to do.
type Decision struct {
	Allowed bool
	// Uploaded and Downloaded are the agent's credited bytes (settled on
	// chain plus verified but unsettled); Left is the left it was asked about:
	// what it still wants of this torrent plus, Elsewhere, what it still
	// wants of the other torrents it is leeching at the same time.
	Uploaded, Downloaded, Left uint64
	Elsewhere                  uint64
	MinRatio                   Ratio
}

// Decide applies the rule.
func Decide(uploaded, downloaded, left uint64, min Ratio) Decision {
	return Decision{
		Allowed:  left == 0 || min.Allows(uploaded, downloaded, left),
		Uploaded: uploaded, Downloaded: downloaded, Left: left, MinRatio: min,
	}
}

// Message explains a refusal in one ASCII line (it travels as a bencoded
// failure reason too), e.g. "insufficient ratio: uploaded 1.0 GiB,
// downloaded 3.0 GiB + 2.0 GiB left; need uploaded/(downloaded+left) >=
// 0.50; seed to earn credit". It is empty when the decision allows.
func (d Decision) Message() string {
	if d.Allowed {
		return ""
	}
	left := FormatBytes(d.Left) + " left"
	if d.Elsewhere > 0 {
		left += " (" + FormatBytes(d.Elsewhere) + " of it in other torrents you are downloading)"
	}
	return fmt.Sprintf("insufficient ratio: uploaded %s, downloaded %s + %s; need uploaded/(downloaded+left) >= %s; seed to earn credit",
		FormatBytes(d.Uploaded), FormatBytes(d.Downloaded), left, d.MinRatio)
}

// FormatBytes writes n in binary units with one decimal ("1.5 GiB"), bytes
// below 1 KiB exactly ("512 B").
func FormatBytes(n uint64) string {
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
