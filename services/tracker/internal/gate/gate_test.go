package gate_test

import (
	"math"
	"testing"

	"github.com/pbts/pbts/services/tracker/internal/gate"
)

const GiB = 1 << 30

func TestRatio(t *testing.T) {
	const max = math.MaxUint64
	for _, tc := range []struct {
		r              gate.Ratio
		up, down, left uint64
		want           bool
	}{
		{gate.DefaultRatio, 1, 2, 0, true},
		{gate.DefaultRatio, 1, 1, 1, true},
		{gate.DefaultRatio, 1, 2, 1, false},
		{gate.DefaultRatio, 0, 0, 0, true},
		{gate.DefaultRatio, 0, 0, 1, false},
		{gate.DefaultRatio, 1 * GiB, 3 * GiB, 2 * GiB, false},
		{gate.DefaultRatio, 3 * GiB, 3 * GiB, 2 * GiB, true},
		{gate.DefaultRatio, max, max, max, true},        // sums past 64 bits
		{gate.DefaultRatio, max / 2, max, max, false},   // (2^63-1)*2 < 2^65-2
		{gate.Ratio{Num: 1, Den: 1}, max, max, 0, true}, //
		{gate.Ratio{Num: 1, Den: 1}, max, max, 1, false},
		{gate.Ratio{Num: max, Den: 1}, max, 1, 1, false}, // product past 128 bits
		{gate.Ratio{Num: 0, Den: 1}, 0, max, max, true},
	} {
		if got := tc.r.Allows(tc.up, tc.down, tc.left); got != tc.want {
			t.Errorf("%v.Allows(%d, %d, %d) = %v, want %v", tc.r, tc.up, tc.down, tc.left, got, tc.want)
		}
	}
	if s := (gate.Ratio{Num: 3, Den: 4}).String(); s != "0.75" {
		t.Errorf("String = %q", s)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", GiB: "1.0 GiB", 3 * GiB / 2: "1.5 GiB",
		1 << 40: "1.0 TiB", math.MaxUint64: "16.0 EiB",
	} {
		if got := gate.FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDecideAndMessage(t *testing.T) {
	if d := gate.Decide(0, 100*GiB, 0, gate.DefaultRatio); !d.Allowed || d.Message() != "" {
		t.Errorf("seeding (left 0) refused: %+v %q", d, d.Message())
	}
	d := gate.Decide(GiB, 3*GiB, 2*GiB, gate.DefaultRatio)
	want := "insufficient ratio: uploaded 1.0 GiB, downloaded 3.0 GiB + 2.0 GiB left; need uploaded/(downloaded+left) >= 0.50; seed to earn credit"
	if d.Allowed || d.Message() != want {
		t.Errorf("Decide = %+v, message %q; want refused with %q", d, d.Message(), want)
	}
	if gate.FormatBytes(1024*1024-1) != "1.0 MiB" {
		t.Errorf("FormatBytes(1 MiB - 1) = %q, want 1.0 MiB (rounded before choosing the unit)", gate.FormatBytes(1024*1024-1))
	}
}
