package registry_test

import (
	"github.com/pbts/pbts/services/tracker/internal/gate"

	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/pbts/pbts/services/tracker/internal/registry"
)

const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
)

func TestDecide(t *testing.T) {
	const max = math.MaxUint64
	tests := []struct {
		name     string
		f        registry.Figures
		left     uint64
		num, den uint64
		allowed  bool
		up, down uint64
	}{
		{"seeding with nothing", registry.Figures{}, 0, 1, 2, true, 0, 0},
		{"seeding with a bad ratio", registry.Figures{SettledDownload: 100 * GiB}, 0, 1, 2, true, 0, 100 * GiB},
		{"nothing at all, one byte", registry.Figures{}, 1, 1, 2, false, 0, 0},
		{"initial credit covers 2 GiB", registry.Figures{SettledUpload: GiB}, 2 * GiB, 1, 2, true, GiB, 0},
		{"initial credit, one byte too many", registry.Figures{SettledUpload: GiB}, 2*GiB + 1, 1, 2, false, GiB, 0},
		{"exact boundary", registry.Figures{SettledUpload: 3, SettledDownload: 4}, 2, 1, 2, true, 3, 4},
		{"just below", registry.Figures{SettledUpload: 3, SettledDownload: 5}, 2, 1, 2, false, 3, 5},
		{"pending counts", registry.Figures{SettledUpload: 1, PendingUpload: 2, SettledDownload: 2, PendingDownload: 2}, 2, 1, 2, true, 3, 4},
		{"pending download counts", registry.Figures{SettledUpload: 3, SettledDownload: 4, PendingDownload: 1}, 2, 1, 2, false, 3, 5},
		{"ratio 1", registry.Figures{SettledUpload: 10, SettledDownload: 5}, 5, 1, 1, true, 10, 5},
		{"ratio 1 refused", registry.Figures{SettledUpload: 10, SettledDownload: 5}, 6, 1, 1, false, 10, 5},
		{"no gate", registry.Figures{SettledDownload: max}, max, 0, 1, true, 0, max},
		{"upload saturates", registry.Figures{SettledUpload: max, PendingUpload: 5}, 1, 1, 2, true, max, 0},
		{"download saturates", registry.Figures{SettledDownload: max, PendingDownload: 5}, 1, 1, 2, false, 0, max},
		// 2*(2^64-1) = 2^65-2 = 1*((2^64-1) + (2^64-1)): equal, allowed; the sum needs 65 bits.
		{"65-bit sum, equal", registry.Figures{SettledUpload: max, SettledDownload: max}, max, 1, 2, true, max, max},
		{"65-bit sum, refused", registry.Figures{SettledUpload: max - 1, SettledDownload: max}, max, 1, 2, false, max - 1, max},
		// num*(D+left) above 2^128: refused whatever U is.
		{"129-bit product", registry.Figures{SettledUpload: max, SettledDownload: max}, max, max, max, false, max, max},
		{"128-bit product, equal", registry.Figures{SettledUpload: max, SettledDownload: max - 1}, 1, max, max, true, max, max - 1},
		{"128-bit product, one short", registry.Figures{SettledUpload: max - 1, SettledDownload: max - 1}, 1, max, max, false, max - 1, max - 1},
		{"den 0 refuses", registry.Figures{SettledUpload: max}, 1, 1, 0, false, max, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := registry.Decide(tt.f, tt.left, tt.num, tt.den)
			want := registry.Decision{Allowed: tt.allowed, Uploaded: tt.up, Downloaded: tt.down, Left: tt.left, MinRatio: gate.Ratio{Num: tt.num, Den: tt.den}}
			if d != want {
				t.Errorf("Decide = %+v, want %+v", d, want)
			}
			if d.Allowed != refDecide(tt.f, tt.left, tt.num, tt.den) {
				t.Errorf("disagrees with the math/big reference")
			}
		})
	}
}

// refDecide is the rule in arbitrary precision (with the same saturation of U and D).
func refDecide(f registry.Figures, left, num, den uint64) bool {
	if left == 0 {
		return true
	}
	u := new(big.Int).SetUint64(f.Upload())
	d := new(big.Int).SetUint64(f.Download())
	lhs := new(big.Int).Mul(u, new(big.Int).SetUint64(den))
	rhs := new(big.Int).Mul(new(big.Int).SetUint64(num), d.Add(d, new(big.Int).SetUint64(left)))
	return lhs.Cmp(rhs) >= 0
}

func TestDecideMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	edges := []uint64{0, 1, 2, GiB, math.MaxUint32, math.MaxUint64 / 2, math.MaxUint64 - 1, math.MaxUint64}
	pick := func() uint64 {
		switch rng.IntN(3) {
		case 0:
			return edges[rng.IntN(len(edges))]
		case 1:
			return rng.Uint64N(1 << 40)
		}
		return rng.Uint64()
	}
	for range 200_000 {
		f := registry.Figures{SettledUpload: pick(), PendingUpload: pick(), SettledDownload: pick(), PendingDownload: pick()}
		left, num, den := pick(), pick(), pick()
		if got, want := registry.Decide(f, left, num, den).Allowed, refDecide(f, left, num, den); got != want {
			t.Fatalf("Decide(%+v, left %d, %d/%d) = %v, reference %v", f, left, num, den, got, want)
		}
	}
}

func TestDecisionMessage(t *testing.T) {
	d := registry.Decide(registry.Figures{SettledUpload: GiB, SettledDownload: 2 * GiB, PendingDownload: GiB}, 2*GiB, 1, 2)
	want := "insufficient ratio: uploaded 1.0 GiB, downloaded 3.0 GiB + 2.0 GiB left; need uploaded/(downloaded+left) >= 0.50; seed to earn credit"
	if d.Allowed || d.Message() != want {
		t.Errorf("Message() = %q (allowed %v)\nwant        %q", d.Message(), d.Allowed, want)
	}
	if m := registry.Decide(registry.Figures{SettledUpload: GiB}, 1, 1, 2).Message(); m != "" {
		t.Errorf("allowed decision has message %q", m)
	}
	d = registry.Decide(registry.Figures{SettledUpload: 512, SettledDownload: 3 * KiB / 2}, 700*MiB, 3, 4)
	want = "insufficient ratio: uploaded 512 B, downloaded 1.5 KiB + 700.0 MiB left; need uploaded/(downloaded+left) >= 0.75; seed to earn credit"
	if d.Message() != want {
		t.Errorf("Message() = %q\nwant        %q", d.Message(), want)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 B", 1: "1 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		MiB - 1: "1.0 MiB", MiB: "1.0 MiB", 5*GiB + GiB/2: "5.5 GiB", 1 << 40: "1.0 TiB",
		1 << 50: "1.0 PiB", math.MaxUint64: "16.0 EiB",
	} {
		if got := gate.FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFiguresRatio(t *testing.T) {
	tests := []struct {
		f        registry.Figures
		ratio    float64
		infinite bool
	}{
		{registry.Figures{}, 0, true},
		{registry.Figures{SettledUpload: GiB}, 0, true},
		{registry.Figures{SettledUpload: 3, PendingUpload: 1, SettledDownload: 1, PendingDownload: 1}, 2, false},
		{registry.Figures{SettledDownload: 4}, 0, false},
	}
	for _, tt := range tests {
		if r, inf := tt.f.Ratio(); r != tt.ratio || inf != tt.infinite {
			t.Errorf("%+v.Ratio() = %v, %v; want %v, %v", tt.f, r, inf, tt.ratio, tt.infinite)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	f := registry.Figures{SettledUpload: 5 * GiB, PendingUpload: GiB, SettledDownload: 7 * GiB, PendingDownload: 3}
	for b.Loop() {
		registry.Decide(f, 3*GiB, 1, 2)
	}
}
