package watch

import (
	"errors"
	"net/netip"
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
	h := NewHub[int](16, Limits{Total: 8, PerClient: 8, PerAgent: 8})
	all, _ := h.Subscribe(netip.Addr{}, common.Address{}, common.Address{})
	fromAlice, _ := h.Subscribe(netip.Addr{}, alice, common.Address{})
	toBob, _ := h.Subscribe(netip.Addr{}, common.Address{}, bob)
	aliceToBob, _ := h.Subscribe(netip.Addr{}, alice, bob)
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
	h := NewHub[int](2, Limits{Total: 8, PerClient: 8, PerAgent: 8})
	slow, _ := h.Subscribe(netip.Addr{}, common.Address{}, common.Address{})
	fast, _ := h.Subscribe(netip.Addr{}, common.Address{}, common.Address{})
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
	h := NewHub[int](1, Limits{Total: 1, PerClient: 2, PerAgent: 2})
	s, err := h.Subscribe(netip.Addr{}, common.Address{}, common.Address{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(netip.Addr{}, common.Address{}, common.Address{}); !errors.Is(err, ErrTooMany) {
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
	s2, _ := h.Subscribe(netip.Addr{}, common.Address{}, common.Address{})
	h.Close()
	<-s2.Done()
	if !errors.Is(s2.Err(), ErrClosed) {
		t.Errorf("Err after Close = %v, want ErrClosed", s2.Err())
	}
	if _, err := h.Subscribe(netip.Addr{}, common.Address{}, common.Address{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

// Per client, per agent and in all; a full pool is shared fairly between
// clients (the package comment).
func TestFairLimits(t *testing.T) {
	attacker, other, seeder := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	any := common.Address{}
	h := NewHub[int](4, Limits{Total: 6, PerClient: 4, PerAgent: 3})
	var mine []*Sub[int]
	for range 4 {
		s, err := h.Subscribe(attacker, any, any)
		if err != nil {
			t.Fatal(err)
		}
		mine = append(mine, s)
	}
	if _, err := h.Subscribe(attacker, any, any); !errors.Is(err, ErrClientLimit) {
		t.Fatalf("fifth from one client: %v, want ErrClientLimit", err)
	}
	for range 2 {
		if _, err := h.Subscribe(other, any, any); err != nil {
			t.Fatal(err)
		}
	}
	// Full (6): other holds 2, the attacker 4 = 2+2: other may displace.
	if _, err := h.Subscribe(other, any, any); err != nil {
		t.Fatalf("other's third with the hub full: %v, want the attacker's newest displaced", err)
	}
	if !errors.Is(mine[3].Err(), ErrDisplaced) {
		t.Fatalf("attacker's newest: %v, want ErrDisplaced", mine[3].Err())
	}
	// 3 and 3: nobody may displace anybody.
	if _, err := h.Subscribe(other, any, any); !errors.Is(err, ErrTooMany) {
		t.Fatalf("other's fourth: %v, want ErrTooMany", err)
	}
	// The seeder holds none: it gets in.
	own, err := h.Subscribe(seeder, alice, any)
	if err != nil {
		t.Fatalf("the seeder's own watch with the hub full: %v", err)
	}
	publish(h, ev{alice, bob})
	if got := drain(own); len(got) != 1 {
		t.Fatalf("the seeder got %v, want its receipt", got)
	}
	if h.Subscribers() != 6 || h.Displaced() != 2 {
		t.Errorf("subscribers %d displaced %d, want 6 and 2", h.Subscribers(), h.Displaced())
	}

	// Per agent: filters naming alice from one client fill her pool (3);
	// the seeder, holding none of it, still gets in; a third client too
	// (2 = 0+2), a fourth not (1 each).
	h = NewHub[int](4, Limits{Total: 100, PerClient: 10, PerAgent: 3})
	for range 3 {
		if _, err := h.Subscribe(attacker, alice, any); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Subscribe(attacker, any, alice); !errors.Is(err, ErrAgentLimit) {
		t.Fatalf("fourth naming alice from one client: %v, want ErrAgentLimit", err)
	}
	if _, err := h.Subscribe(attacker, bob, any); err != nil {
		t.Fatalf("another agent: %v", err)
	}
	if _, err := h.Subscribe(seeder, alice, any); err != nil {
		t.Fatalf("alice's own watch: %v", err)
	}
	if _, err := h.Subscribe(other, alice, any); err != nil {
		t.Fatalf("a third client: %v", err)
	}
	if _, err := h.Subscribe(netip.MustParseAddr("192.0.2.4"), alice, any); !errors.Is(err, ErrAgentLimit) {
		t.Fatalf("a fourth client with one each: %v, want ErrAgentLimit", err)
	}
}
