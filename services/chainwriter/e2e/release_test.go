package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pbts/pbts/services/chainwriter/internal/failpoint"
)

// TestReleaseBuildHasNoFailpoint: the chainwriter built as it ships (no
// build tags) holds no crash hook: neither the code that reads
// PBTS_CHAINWRITER_CRASH_AT nor its kill message is in the binary, while
// the test build has both (so the check can fail).
func TestReleaseBuildHasNoFailpoint(t *testing.T) {
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	release := filepath.Join(t.TempDir(), "chainwriter")
	if out, err := exec.Command(goBin, "build", "-o", release, chainwriterPkg).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	marker := []byte("killing self (test hook")
	for _, c := range []struct {
		path string
		want bool
	}{{binary, true}, {release, false}} {
		b, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, marker); got != c.want {
			t.Errorf("%s: failpoint kill code present %v, want %v", c.path, got, c.want)
		}
		if got := bytes.Contains(b, []byte(failpoint.Env)); got != c.want {
			t.Errorf("%s: %s present %v, want %v", c.path, failpoint.Env, got, c.want)
		}
	}
}
