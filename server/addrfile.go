package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// ReadAddrFile waits until the address file a service writes (Config.AddrFile)
// exists and returns its addresses. It gives up after timeout, when ctx ends,
// or when exited (the process's end, may be nil) closes first: a service that
// died is reported at once instead of at the deadline.
func ReadAddrFile(ctx context.Context, path string, timeout time.Duration, exited <-chan struct{}) (map[string]string, error) {
	read := func() (map[string]string, bool, error) {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, false, fmt.Errorf("address file %s: %w", path, err)
		}
		return m, true, nil
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for gone := false; ; {
		if m, ok, err := read(); ok || err != nil {
			return m, err
		}
		if gone { // read once more after the exit: it may have written just before
			return nil, fmt.Errorf("process exited before writing its address file %s", path)
		}
		select {
		case <-exited:
			gone = true
		case <-deadline.C:
			return nil, fmt.Errorf("no address file %s after %v", path, timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}
