package limit

import (
	"testing"
	"time"
)

func TestBucketAndDebt(t *testing.T) {
	l := New[int](10, 20, 100)
	now := time.Unix(1000, 0)
	if !l.Allow(1, now, 20) || l.Allow(1, now, 1) {
		t.Fatal("want the burst of 20 and nothing more")
	}
	if !l.Allow(2, now, 1) {
		t.Fatal("another key has its own bucket")
	}
	if !l.Empty(1, now) || l.Empty(3, now) {
		t.Fatal("Empty: want key 1 empty, an unknown key full")
	}
	now = now.Add(time.Second) // 10 back
	l.Charge(1, now, 20)       // 10 in debt
	if !l.Empty(1, now.Add(999*time.Millisecond)) || l.Empty(1, now.Add(1100*time.Millisecond)) {
		t.Fatal("the debt should be paid back after one second")
	}
	if w := l.Wait(1, now, 5); w < 1400*time.Millisecond || w > 1600*time.Millisecond {
		t.Errorf("Wait for 5 tokens while 10 in debt = %v, want 1.5s", w)
	}
	var off *Keyed[int]
	if !off.Allow(1, now, 1<<20) || off.Empty(1, now) || !New[int](0, 1, 1).Allow(1, now, 5) {
		t.Error("a nil or zero-rate limiter must allow everything")
	}
}

func TestBoundedKeys(t *testing.T) {
	l := New[int](1, 10, 64)
	now := time.Unix(1000, 0)
	for i := range 10000 {
		l.Allow(i, now, 10) // every bucket drained: none idle
		if l.Len() > 64 {
			t.Fatalf("%d keys remembered, want at most 64", l.Len())
		}
	}
	// Idle (refilled) buckets go first: a drained one survives a sweep.
	l = New[int](1, 10, 4)
	l.Allow(-1, now, 10)
	for i := range 3 {
		l.Allow(i, now, 1)
	}
	later := now.Add(5 * time.Second) // the three refilled, -1 has not
	l.Allow(100, later, 1)
	if !l.Empty(-1, later) && l.Wait(-1, later, 10) == 0 {
		t.Error("the drained bucket was forgotten before the idle ones")
	}
	if l.Len() != 2 {
		t.Errorf("%d keys after the sweep, want 2 (the drained one and the new one)", l.Len())
	}
}
