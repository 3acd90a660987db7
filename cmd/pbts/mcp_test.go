package main

import "testing"

func TestUploadNeeded(t *testing.T) {
	for _, c := range []struct{ up, down, size, num, den, want uint64 }{
		{4 << 20, 0, 8 << 20, 1, 2, 0},             // exactly at the ratio
		{4 << 20, 0, 8<<20 + 1, 1, 2, 1},           // one byte over: round up
		{4 << 20, 1060921, 9 << 20, 1, 2, 1054749}, // e2e/mcp_test.go's refusal
		{0, 0, 1, 1, 1, 1},                         // a free-rider
		{1 << 40, 1 << 20, 1 << 30, 1, 2, 0},       // plenty
		{^uint64(0) - 1, ^uint64(0), 1, 1, 1, 1},   // no overflow
	} {
		if got := uploadNeeded(c.up, c.down, c.size, c.num, c.den); got != c.want {
			t.Errorf("uploadNeeded(%d, %d, %d, %d/%d) = %d, want %d", c.up, c.down, c.size, c.num, c.den, got, c.want)
		}
	}
	if got := downloadAllowance(4<<20, 1<<20, 1, 2); got != 7<<20 {
		t.Errorf("downloadAllowance = %d, want %d", got, 7<<20)
	}
	if got := downloadAllowance(1, 5, 1, 2); got != 0 {
		t.Errorf("downloadAllowance below the ratio = %d, want 0", got)
	}
}
