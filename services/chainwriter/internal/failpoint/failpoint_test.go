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
