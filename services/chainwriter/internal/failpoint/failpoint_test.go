package failpoint

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *spec
		bad  bool
	}{
		{"", nil, false},
		{"after-sign", &spec{point: AfterSign, n: 1}, false},
		{"settle:after-broadcast", &spec{kind: "settle", point: AfterBroadcast, n: 1}, false},
		{"register:before-db-update#3", &spec{kind: "register", point: BeforeDBUpdate, n: 3}, false},
		{"after-lunch", nil, true},
		{"deploy:after-sign", nil, true},
		{"after-sign#0", nil, true},
	} {
		got, err := parse(tc.in)
		if (err != nil) != tc.bad || (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("parse(%q) = %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
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
