package watch

import (
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

var (
	alice = common.Address{1}
	bob   = common.Address{2}
	carol = common.Address{3}
)

type ev struct{ from, to common.Address }

func publish(h *Hub[int], evs ...ev) {
	h.Publish(len(evs), func(i int) (common.Address, common.Address) { return evs[i].from, evs[i].to },
		func(i int) int { return i })
}

func drain(s *Sub[int]) []int {
	var out []int
	for {
		select {
		case v := <-s.C():
			out = append(out, v)
		default:
			return out
		}
	}
}

func TestFilters(t *testing.T) {
	h := NewHub[int](16, 8)
	all, _ := h.Subscribe(common.Address{}, common.Address{})
	fromAlice, _ := h.Subscribe(alice, common.Address{})
	toBob, _ := h.Subscribe(common.Address{}, bob)
	aliceToBob, _ := h.Subscribe(alice, bob)
	publish(h, ev{alice, bob}, ev{carol, bob}, ev{alice, carol}, ev{bob, alice})
	for name, tc := range map[string]struct {
		s    *Sub[int]
		want []int
	}{
		"all": {all, []int{0, 1, 2, 3}}, "sender": {fromAlice, []int{0, 2}},
		"receiver": {toBob, []int{0, 1}}, "both": {aliceToBob, []int{0}},
	} {
		got := drain(tc.s)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", name, got, tc.want)
			}
		}
	}
}

func TestSlowSubscriberDropped(t *testing.T) {
	h := NewHub[int](2, 8)
	slow, _ := h.Subscribe(common.Address{}, common.Address{})
	fast, _ := h.Subscribe(common.Address{}, common.Address{})
	publish(h, ev{alice, bob}, ev{alice, bob})
	drain(fast)
	publish(h, ev{alice, bob}) // slow's buffer is full: dropped, not waited for
	select {
	case <-slow.Done():
	default:
		t.Fatal("slow subscriber not dropped")
	}
	if !errors.Is(slow.Err(), ErrSlow) {
		t.Errorf("Err = %v, want ErrSlow", slow.Err())
	}
	if got := drain(fast); len(got) != 1 {
		t.Errorf("fast subscriber got %v, want one event", got)
	}
	if h.Subscribers() != 1 || h.Dropped() != 1 {
		t.Errorf("subscribers %d dropped %d, want 1 and 1", h.Subscribers(), h.Dropped())
	}
}

func TestLimitAndClose(t *testing.T) {
	h := NewHub[int](1, 1)
	s, err := h.Subscribe(common.Address{}, common.Address{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(common.Address{}, common.Address{}); !errors.Is(err, ErrTooMany) {
		t.Errorf("second subscriber: %v, want ErrTooMany", err)
	}
	built := 0
	h.Publish(1, func(int) (common.Address, common.Address) { return alice, bob }, func(int) int { built++; return 0 })
	h.Unsubscribe(s)
	h.Unsubscribe(s)
	h.Publish(1, func(int) (common.Address, common.Address) { return alice, bob }, func(int) int { built++; return 0 })
	if built != 1 {
		t.Errorf("values built %d times, want 1 (none without subscribers)", built)
	}
	s2, _ := h.Subscribe(common.Address{}, common.Address{})
	h.Close()
	<-s2.Done()
	if !errors.Is(s2.Err(), ErrClosed) {
		t.Errorf("Err after Close = %v, want ErrClosed", s2.Err())
	}
	if _, err := h.Subscribe(common.Address{}, common.Address{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}
