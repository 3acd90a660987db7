//go:build !pbts_failpoints

package failpoint

import (
	"os"
	"os/exec"
	"testing"
)

// TestInertInReleaseBuild: without the tag the hook is not compiled in, and
// an armed variable kills nothing. The check runs in a child process that
// has the variable set from its start (the real hook reads it in init).
func TestInertInReleaseBuild(t *testing.T) {
	if Enabled {
		t.Fatal("Enabled is true in a build without -tags " + Tag)
	}
	if os.Getenv("FAILPOINT_INERT_CHILD") == "1" {
		for _, p := range Points {
			Hit(p, "settle")
			Hit(p, "register")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInertInReleaseBuild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FAILPOINT_INERT_CHILD=1", Env+"="+BeforeSign)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("a release build died at an armed failpoint: %v\n%s", err, out)
	}
}
