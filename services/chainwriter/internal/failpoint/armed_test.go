//go:build pbts_failpoints

package failpoint

import "testing"

func TestEnabledInTestBuild(t *testing.T) {
	if !Enabled {
		t.Fatal("built with -tags pbts_failpoints, but Enabled is false")
	}
}

func TestHitKillsOnlyAtTheArmedHit(t *testing.T) {
	var killed []string
	kill = func(p string) { killed = append(killed, p) }
	defer func() { armed, hits = nil, 0 }()

	armed, hits = nil, 0
	Hit(AfterSign, "settle")
	if len(killed) != 0 {
		t.Fatal("killed while disarmed")
	}
	armed, hits = &spec{kind: "settle", point: AfterSign, n: 2}, 0
	Hit(AfterSign, "register") // other kind
	Hit(AfterBroadcast, "settle")
	Hit(AfterSign, "settle") // first hit
	if len(killed) != 0 {
		t.Fatalf("killed at %v before the second settle after-sign", killed)
	}
	Hit(AfterSign, "settle")
	if len(killed) != 1 || killed[0] != AfterSign {
		t.Fatalf("killed = %v, want one kill at %s", killed, AfterSign)
	}
}
