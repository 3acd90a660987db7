//go:build !pbts_failpoints

package failpoint

// Enabled tells whether the hook is compiled in: false in this build (the
// release one), where PBTS_CHAINWRITER_CRASH_AT is ignored.
const Enabled = false

// Hit does nothing in this build.
func Hit(point, kind string) {}
