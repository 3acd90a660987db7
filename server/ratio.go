package server

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseRatio reads a ratio setting, "N/D" or a decimal such as "0.5", into a
// fraction (the minimum upload/download ratio of the tracker's gate and of
// the receipts service's receiver quota).
func ParseRatio(s string) (num, den uint64, err error) {
	if n, d, ok := strings.Cut(s, "/"); ok {
		num, err1 := strconv.ParseUint(strings.TrimSpace(n), 10, 32)
		den, err2 := strconv.ParseUint(strings.TrimSpace(d), 10, 32)
		if err1 != nil || err2 != nil || den == 0 {
			return 0, 0, fmt.Errorf("want N/D with D > 0, got %q", s)
		}
		return num, den, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1000 {
		return 0, 0, fmt.Errorf("want N/D or a decimal between 0 and 1000, got %q", s)
	}
	return uint64(f*10000 + 0.5), 10000, nil
}
