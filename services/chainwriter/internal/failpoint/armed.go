//go:build pbts_failpoints

package failpoint

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// Enabled tells whether the hook is compiled in (true: a test build).
const Enabled = true

var (
	mu    sync.Mutex
	armed *spec
	hits  int
	// kill is replaced in tests of this package.
	kill = func(point string) {
		fmt.Fprintf(os.Stderr, "chainwriter: failpoint %s: killing self (test hook %s)\n", point, Env)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is not catchable; wait for it
	}
)

func init() {
	s, err := parse(os.Getenv(Env))
	if err != nil {
		fmt.Fprintf(os.Stderr, "chainwriter: ignoring %s: %v\n", Env, err)
		return
	}
	if s != nil {
		fmt.Fprintf(os.Stderr, "chainwriter: failpoint armed: %s (test build)\n", os.Getenv(Env))
	}
	armed = s
}

// Hit kills the process if the hook is armed for this point and kind and
// this is the chosen hit. Inert (one nil check) otherwise.
func Hit(point, kind string) {
	if armed == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if armed.point != point || (armed.kind != "" && armed.kind != kind) {
		return
	}
	hits++
	if hits == armed.n {
		kill(point)
	}
}
