package registry

import "testing"

func TestClientName(t *testing.T) {
	id := func(s string) (b [20]byte) { copy(b[:], s); return b }
	for in, want := range map[[20]byte]string{
		id("-qB4520-abcdefghijkl"):    "-qB4520-",
		id("-TR3000-abcdefghijkl"):    "-TR3000-",
		id("-aria2-/abcdefghijkl"):    "-aria2",
		id("M7-4-2--abcdefghijkl"):    "M7-4-2",
		id("\x00\x01binary"):          "",
		id("-q\x00\x00\x00\x00\x00-"): "-q",
	} {
		if got := clientName(in); got != want {
			t.Errorf("clientName(%q) = %q, want %q", in[:], got, want)
		}
	}
}
