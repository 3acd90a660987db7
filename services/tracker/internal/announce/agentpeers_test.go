package announce_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

// redisStore is a Redis swarm store under a key prefix of the test's own
// (PBTS_TEST_REDIS_URL, default the local server), its keys deleted when
// the test ends. Without a Redis the test is skipped, or fails under CI.
func redisStore(t *testing.T) *swarm.Redis {
	t.Helper()
	url := os.Getenv("PBTS_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "pbtstest:" + hex.EncodeToString(b) + ":"
	r, err := swarm.DialRedis(url, swarm.RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Ping(context.Background()); err != nil {
		r.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("no Redis answers (CI is set): %v", err)
		}
		t.Skipf("no Redis answers: %v (make system-deps starts one)", err)
	}
	t.Cleanup(func() {
		defer r.Close()
		o, err := swarm.RedisOptions(url, swarm.RedisConfig{})
		if err != nil {
			t.Error(err)
			return
		}
		c := redis.NewClient(o)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("delete test key: %v", err)
				return
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan test keys: %v", err)
		}
	})
	return r
}

// TestHTTPPeersPerAgentBounded (issue 19) announces 50 peer ids of one
// agent through the real HTTP frontend, each from its own port, and after
// every one checks the bencoded peer list an honest leecher gets (compact
// and dictionary, numwant 200): it never holds more than
// --max-peers-per-agent entries of that agent, and the honest peers are all
// in it. The agent is never refused, and ends with its newest peer ids.
// Memory and Redis stores, the lean bt.Server and net/http.
func TestHTTPPeersPerAgentBounded(t *testing.T) {
	for _, st := range []string{"memory", "redis"} {
		for _, lean := range []bool{true, false} {
			t.Run(st+"/"+map[bool]string{true: "bt.Server", false: "net/http"}[lean], func(t *testing.T) {
				testHTTPPeersPerAgent(t, st == "redis", lean)
			})
		}
	}
}

func testHTTPPeersPerAgent(t *testing.T, useRedis, lean bool) {
	e := newEnv(t, nil)
	limit := e.cfg.MaxPeersPerAgent
	if limit != 4 {
		t.Fatalf("default max peers per agent %d, want 4", limit)
	}
	if useRedis {
		tr, err := announce.New(e.cfg, redisStore(t), e.dir, e.gate, nil, announce.WithClock(e.clock.Now), announce.WithSharedTags())
		if err != nil {
			t.Fatal(err)
		}
		e.tracker = tr
	}
	base := e.newServer(lean) + "/announce/"
	const sybil, ids = 9, 50
	sybilPort := func(k int) int { return 20000 + k }
	sybilID := func(k int) bt.PeerID { return pid(1000 + k) }
	ann := func(n int, id bt.PeerID, port int, left uint64, extra string) map[string]any {
		t.Helper()
		v := get(t, base+pk(n)+"?"+announceQuery(ih(1), id, port, left, extra))
		if r, ok := v["failure reason"]; ok {
			t.Fatalf("agent %d, peer %x: refused %q", n, id[12:], r)
		}
		return v
	}
	for n := 2; n <= 3; n++ { // two honest seeders
		ann(n, pid(n), 7000+n, 0, "event=started")
	}
	ann(4, pid(4), 7004, 100, "event=started") // and an honest leecher

	// leecherView is what honest leecher 1 is handed: how many entries are
	// the sybil's, and the ports of the honest ones.
	leecherView := func(compact bool) (sybilEntries int, honest map[int]bool) {
		t.Helper()
		extra := "numwant=200&compact=0"
		if compact {
			extra = "numwant=200&compact=1"
		}
		v := ann(1, pid(1), 7001, 100, extra)
		honest = map[int]bool{}
		count := func(port int, id string) {
			switch {
			case port >= sybilPort(0) && port < sybilPort(ids):
				sybilEntries++
				if id != "" && id != raw(sybilID(port-sybilPort(0))) {
					t.Errorf("entry at port %d has peer id %x", port, id)
				}
			default:
				honest[port] = true
			}
		}
		switch peers := v["peers"].(type) {
		case string: // compact: 6 bytes each
			if !compact || len(peers)%6 != 0 {
				t.Fatalf("compact %v: peers %q", compact, peers)
			}
			for i := 0; i < len(peers); i += 6 {
				count(int(binary.BigEndian.Uint16([]byte(peers[i+4:i+6]))), "")
			}
		case []any:
			if compact {
				t.Fatalf("compact: peers %v", peers)
			}
			for _, p := range peers {
				d := p.(map[string]any)
				port, _ := d["port"].(int64)
				id, _ := d["peer id"].(string)
				count(int(port), id)
			}
		default:
			t.Fatalf("peers %T %v", v["peers"], v["peers"])
		}
		return sybilEntries, honest
	}

	for k := range ids {
		ann(sybil, sybilID(k), sybilPort(k), 0, "event=started")
		for _, compact := range []bool{true, false} {
			got, honest := leecherView(compact)
			if want := min(k+1, limit); got != want {
				t.Fatalf("after %d peer ids of agent %d (compact %v): a leecher is handed %d of its entries, want %d", k+1, sybil, compact, got, want)
			}
			if !honest[7002] || !honest[7003] || !honest[7004] || len(honest) != 3 {
				t.Fatalf("after %d peer ids (compact %v): honest peers handed out %v, want ports 7002-7004", k+1, compact, honest)
			}
		}
	}
	if c := e.counts(ih(1)); c.Seeders != 2+limit || c.Leechers != 2 {
		t.Errorf("counts %+v, want %d seeders, 2 leechers", c, 2+limit)
	}
	// the newest peer ids stay, the others are gone
	sw, err := e.tracker.Swarm(context.Background(), ih(1), 1000)
	if err != nil {
		t.Fatal(err)
	}
	have := map[bt.PeerID]bool{}
	for _, p := range sw.Peers {
		if p.Agent == agent(sybil) {
			have[p.PeerID] = true
		}
	}
	for k := range ids {
		if want := k >= ids-limit; have[sybilID(k)] != want {
			t.Errorf("peer id %d of the sybil in the swarm: %v, want %v", k, have[sybilID(k)], want)
		}
	}
	if got, want := e.tracker.Replaced(), uint64(ids-limit); got != want {
		t.Errorf("Replaced() = %d, want %d", got, want)
	}
	// A replaced peer id announcing again (its client still runs) is let in
	// again and replaces the oldest of the agent's peers: never refused.
	e.clock.Advance(time.Second)
	ann(sybil, sybilID(0), sybilPort(0), 0, "")
	if got, _ := leecherView(true); got != limit {
		t.Errorf("after a replaced peer id came back: %d entries of the sybil, want %d", got, limit)
	}
}
