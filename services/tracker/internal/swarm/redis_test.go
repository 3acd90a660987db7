package swarm_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
	"github.com/pbts/pbts/services/tracker/internal/swarm/swarmtest"
)

// redisURL is the test server: PBTS_TEST_REDIS_URL or the local default.
func redisURL() string {
	if u := os.Getenv("PBTS_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// redisAnswers pings the test server once per test process.
var redisAnswers = sync.OnceValue(func() error {
	o, err := swarm.RedisOptions(redisURL(), swarm.RedisConfig{})
	if err != nil {
		return err
	}
	c := redis.NewClient(o)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
})

// testPrefix is a key prefix of the test's own, whose keys are deleted when
// the test ends. Without a Redis the test is skipped, or fails under CI.
func testPrefix(tb testing.TB) string {
	tb.Helper()
	o, err := swarm.RedisOptions(redisURL(), swarm.RedisConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := redisAnswers(); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("no Redis answers at %s (CI is set): %v", o.Addr, err)
		}
		tb.Skipf("no Redis answers at %s: %v (make system-deps starts one)", o.Addr, err)
	}
	c := redis.NewClient(o)
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "pbtstest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("scan test keys: %v", err)
			return
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := c.Del(ctx, keys[:n]...).Err(); err != nil {
				tb.Errorf("delete test keys: %v", err)
				return
			}
			keys = keys[n:]
		}
	})
	return prefix
}

// dialRedis is a store with its own client on prefix.
func dialRedis(tb testing.TB, prefix string, cfg swarm.RedisConfig) *swarm.Redis {
	tb.Helper()
	cfg.Prefix = prefix
	r, err := swarm.DialRedis(redisURL(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

func newRedis(tb testing.TB) swarm.PeerStore {
	return dialRedis(tb, testPrefix(tb), swarm.RedisConfig{})
}

func TestRedis(t *testing.T) { swarmtest.Run(t, newRedis) }

// Each conformance test against two clients that share a prefix: every
// call alternates between them, as announces alternate between tracker
// replicas behind a load balancer.
func TestRedisAlternatingClients(t *testing.T) {
	swarmtest.Run(t, func(tb testing.TB) swarm.PeerStore {
		p := testPrefix(tb)
		return &alternating{stores: [2]swarm.PeerStore{dialRedis(tb, p, swarm.RedisConfig{}), dialRedis(tb, p, swarm.RedisConfig{})}}
	})
}

// alternating sends each call to the next of its stores.
type alternating struct {
	stores [2]swarm.PeerStore
	n      atomic.Uint32 // the suite calls from several goroutines
}

func (a *alternating) next() swarm.PeerStore { return a.stores[a.n.Add(1)%2] }

func (a *alternating) Announce(ctx context.Context, ih bt.InfoHash, u *swarm.Update, n int, sel *swarm.Selection) (swarm.Result, error) {
	return a.next().Announce(ctx, ih, u, n, sel)
}
func (a *alternating) Peer(ctx context.Context, ih bt.InfoHash, id bt.PeerID) (swarm.Peer, error) {
	return a.next().Peer(ctx, ih, id)
}
func (a *alternating) PeerByAddr(ctx context.Context, ih bt.InfoHash, addr netip.AddrPort) (swarm.Peer, error) {
	return a.next().PeerByAddr(ctx, ih, addr)
}
func (a *alternating) AgentLeft(ctx context.Context, agent swarm.Agent, except bt.InfoHash) (uint64, error) {
	return a.next().AgentLeft(ctx, agent, except)
}
func (a *alternating) HasAgent(ctx context.Context, ih bt.InfoHash, agent swarm.Agent) (bool, error) {
	return a.next().HasAgent(ctx, ih, agent)
}
func (a *alternating) Counts(ctx context.Context, ih bt.InfoHash) (swarm.Counts, error) {
	return a.next().Counts(ctx, ih)
}
func (a *alternating) Peers(ctx context.Context, ih bt.InfoHash, limit int) ([]swarm.Peer, error) {
	return a.next().Peers(ctx, ih, limit)
}
func (a *alternating) Collect(ctx context.Context, cutoff time.Time) (int, error) {
	return a.next().Collect(ctx, cutoff)
}
func (a *alternating) Stats(ctx context.Context) (swarm.Stats, error) { return a.next().Stats(ctx) }

// Two store instances (two clients, one prefix), as two tracker processes:
// what one writes the other resolves, lists, counts and collects.
func TestRedisTwoInstancesShareSwarms(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix(t)
	a, b := dialRedis(t, prefix, swarm.RedisConfig{}), dialRedis(t, prefix, swarm.RedisConfig{})
	other := dialRedis(t, testPrefix(t), swarm.RedisConfig{}) // another deployment on the same server
	t0 := time.Unix(1_800_000_000, 0)
	ih := swarmtest.IH(1)

	seed := swarmtest.Verified(1, 0, t0)
	seed.Hint = swarmtest.V6(1)
	if _, err := a.Announce(ctx, ih, seed, 0, nil); err != nil {
		t.Fatal(err)
	}
	// a leecher through b gets a's seeder
	sel := &swarm.Selection{Compact: true}
	res, err := b.Announce(ctx, ih, swarmtest.Verified(2, 100, t0), 50, sel)
	if err != nil {
		t.Fatal(err)
	}
	want4 := []byte{10, 0, 0, 1, 0x1a, 0xe2} // V4(1) = 10.0.0.1:6882
	if string(sel.IPv4) != string(want4) || len(sel.IPv6) != 18 {
		t.Errorf("b handed out IPv4 %x IPv6 %x; want a's seeder %x and its hint", sel.IPv4, sel.IPv6, want4)
	}
	if res.Counts != (swarm.Counts{Seeders: 1, Leechers: 1}) || !res.Created {
		t.Errorf("b's announce: %+v", res)
	}

	for _, tc := range []struct {
		name string
		s    swarm.PeerStore
		want bool // sees the swarm
	}{{"a", a, true}, {"b", b, true}, {"other prefix", other, false}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.s.Peer(ctx, ih, swarmtest.PID(2))
			if tc.want != (err == nil) || (err == nil && (p.Agent != swarmtest.AgentN(2) || p.Left != 100)) {
				t.Errorf("Peer(2) = %+v, %v", p, err)
			}
			p, err = tc.s.PeerByAddr(ctx, ih, swarmtest.V4(1))
			if tc.want != (err == nil) || (err == nil && p.Agent != swarmtest.AgentN(1)) {
				t.Errorf("PeerByAddr(V4(1)) = %+v, %v", p, err)
			}
			if ok, err := tc.s.HasAgent(ctx, ih, swarmtest.AgentN(1)); err != nil || ok != tc.want {
				t.Errorf("HasAgent(1) = %v, %v", ok, err)
			}
			ps, err := tc.s.Peers(ctx, ih, 10)
			if err != nil || (tc.want && (len(ps) != 2 || !ps[0].Seeder() || ps[1].Seeder())) || (!tc.want && len(ps) != 0) {
				t.Errorf("Peers = %+v, %v", ps, err)
			}
			c, err := tc.s.Counts(ctx, ih)
			wantC := swarm.Counts{}
			if tc.want {
				wantC = swarm.Counts{Seeders: 1, Leechers: 1}
			}
			if err != nil || c != wantC {
				t.Errorf("Counts = %+v, %v; want %+v", c, err, wantC)
			}
			left, err := tc.s.AgentLeft(ctx, swarmtest.AgentN(2), swarmtest.IH(99))
			if err != nil || (left == 100) != tc.want {
				t.Errorf("AgentLeft(2) = %d, %v", left, err)
			}
			st, err := tc.s.Stats(ctx)
			wantSt := swarm.Stats{}
			if tc.want {
				wantSt = swarm.Stats{Torrents: 1, Seeders: 1, Leechers: 1}
			}
			if err != nil || st != wantSt {
				t.Errorf("Stats = %+v, %v; want %+v", st, err, wantSt)
			}
		})
	}

	// peer id ownership and the credential tag are shared
	taken := swarmtest.Verified(2, 0, t0)
	taken.Agent = swarmtest.AgentN(9)
	if _, err := a.Announce(ctx, ih, taken, 0, nil); !errors.Is(err, swarm.ErrPeerIDTaken) {
		t.Errorf("another agent's peer id through a: %v, want ErrPeerIDTaken", err)
	}
	fast := swarmtest.Verified(2, 0, t0.Add(time.Second))
	fast.Verified = false
	if r, err := a.Announce(ctx, ih, fast, 0, nil); err != nil || !r.Completed {
		t.Errorf("unverified completion through a: %+v, %v", r, err)
	}
	fast.Tag = 12345
	if _, err := b.Announce(ctx, ih, fast, 0, nil); !errors.Is(err, swarm.ErrStale) {
		t.Errorf("unverified update with another tag through b: %v, want ErrStale", err)
	}
	if c, _ := b.Counts(ctx, ih); c != (swarm.Counts{Seeders: 2, Completed: 1}) {
		t.Errorf("b's counts after a's completion: %+v", c)
	}
	if left, _ := b.AgentLeft(ctx, swarmtest.AgentN(2), swarmtest.IH(99)); left != 0 {
		t.Errorf("AgentLeft after completing = %d", left)
	}

	// b collects what a wrote; a sees it gone
	if n, err := b.Collect(ctx, t0.Add(time.Minute)); err != nil || n != 2 {
		t.Fatalf("b.Collect = %d, %v; want 2", n, err)
	}
	if _, err := a.Peer(ctx, ih, swarmtest.PID(1)); !errors.Is(err, swarm.ErrNotFound) {
		t.Errorf("a still finds a collected peer: %v", err)
	}
	if n, err := a.Collect(ctx, t0.Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("a.Collect after b's = %d, %v", n, err)
	}
	if c, _ := a.Counts(ctx, ih); c != (swarm.Counts{Completed: 1}) {
		t.Errorf("a's counts after the collection: %+v (the completed counter stays)", c)
	}
}

// Keys carry the TTL; a swarm whose keys vanished by it (no tracker
// collected it) leaves the totals at the next Collect.
func TestRedisAbandonedSwarmsVanish(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix(t)
	const ttl = 3 * time.Second
	s := dialRedis(t, prefix, swarm.RedisConfig{TTL: ttl})
	c := redis.NewClient(mustOptions(t))
	defer c.Close()
	now := time.Now()
	ih := swarmtest.IH(1)
	for n := 1; n <= 3; n++ {
		if _, err := s.Announce(ctx, ih, swarmtest.Verified(n, uint64(n%2), now), 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) < 6 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	for _, k := range keys {
		if got, err := c.PTTL(ctx, k).Result(); err != nil || got <= 0 || got > ttl {
			t.Errorf("key %q has TTL %v, %v; want up to %v", strings.TrimPrefix(k, prefix), got, err, ttl)
		}
	}
	// Another swarm goes on (keeping the index alive) while the first
	// swarm's keys expire.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := s.Announce(ctx, swarmtest.IH(2), swarmtest.Verified(9, 5, time.Now()), 0, nil); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Counts(ctx, ih); err == nil && c == (swarm.Counts{}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the abandoned swarm's keys did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := s.Collect(ctx, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stats(ctx); err != nil || st != (swarm.Stats{}) {
		t.Errorf("Stats after collecting = %+v, %v; want zero", st, err)
	}
}

func mustOptions(t *testing.T) *redis.Options {
	o, err := swarm.RedisOptions(redisURL(), swarm.RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// A Redis that accepts connections but never answers fails every call
// within the timeout instead of hanging the announce.
func TestRedisUnansweringServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn // held open, never answered
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	s, err := swarm.DialRedis("redis://"+ln.Addr().String()+"/0", swarm.RedisConfig{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	ih := swarmtest.IH(1)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Announce", func() error {
			_, err := s.Announce(ctx, ih, swarmtest.Verified(1, 0, time.Now()), 50, &swarm.Selection{Compact: true})
			return err
		}},
		{"Peer", func() error { _, err := s.Peer(ctx, ih, swarmtest.PID(1)); return err }},
		{"Counts", func() error { _, err := s.Counts(ctx, ih); return err }},
		{"Collect", func() error { _, err := s.Collect(ctx, time.Now()); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := tc.call()
			if err == nil {
				t.Fatal("succeeded against a server that never answers")
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v to fail (timeout 200ms): %v", took, err)
			}
		})
	}
}

func TestRedisConfig(t *testing.T) {
	for _, tc := range []struct {
		url string
		cfg swarm.RedisConfig
		ok  bool
	}{
		{"redis://127.0.0.1:6379/0", swarm.RedisConfig{}, true},
		{"redis://:s3cret@127.0.0.1:6379/2", swarm.RedisConfig{}, true},
		{"rediss://user:pw@redis.example:6380/0", swarm.RedisConfig{}, true},
		{"http://127.0.0.1:6379", swarm.RedisConfig{}, false},
		{"redis://:s3cret@127.0.0.1:6379/notadb", swarm.RedisConfig{}, false},
		{"redis://127.0.0.1:6379/0", swarm.RedisConfig{Prefix: "a*"}, false},
		{"redis://127.0.0.1:6379/0", swarm.RedisConfig{TTL: time.Millisecond}, false},
		{"redis://127.0.0.1:6379/0", swarm.RedisConfig{Timeout: -time.Second}, false},
	} {
		_, err := swarm.RedisOptions(tc.url, tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("RedisOptions(%q, %+v) = %v; want ok=%v", tc.url, tc.cfg, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func BenchmarkRedis(b *testing.B) { swarmtest.Bench(b, newRedis) }
