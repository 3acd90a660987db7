package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// trackerSwarmHealth is the tracker's swarm-store health service
// (services/tracker/internal/app.SwarmHealthName).
const trackerSwarmHealth = "pbts.tracker.SwarmStore"

// testRedisAddr is the Redis the tests use: PBTS_TEST_REDIS_ADDR or the local one.
func testRedisAddr() string {
	if a := os.Getenv("PBTS_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// redisCall sends one command to addr (RESP) and returns the first line of
// the reply. The test module has no Redis client: a PING and a cleanup
// script need none.
func redisCall(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "-") {
		return "", fmt.Errorf("redis: %s", line[1:])
	}
	return line, nil
}

// redisPrefix checks that a Redis answers (skipping the test without one,
// failing it under CI) and returns a key prefix of the test's own, whose
// keys are deleted when the test ends.
func redisPrefix(t *testing.T) (addr, prefix string) {
	t.Helper()
	addr = testRedisAddr()
	if r, err := redisCall(addr, "PING"); err != nil || r != "+PONG" {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Redis answers at %s (CI is set): %q %v", addr, r, err)
		}
		t.Skipf("no Redis answers at %s: %q %v (make system-deps starts one)", addr, r, err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	prefix = "pbtse2e:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		const del = `local n = 0
for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k); n = n + 1 end
return n`
		if _, err := redisCall(addr, "EVAL", del, "0", prefix+"*"); err != nil {
			t.Errorf("delete the test's Redis keys: %v", err)
		}
	})
	return addr, prefix
}

// announceFrom is a compact announce with a chosen peer id and port.
func announceFrom(t *testing.T, base, passkey string, ih [20]byte, peerID string, port, left int) map[string]any {
	t.Helper()
	q := "info_hash=" + url.QueryEscape(string(ih[:])) + "&peer_id=" + url.QueryEscape(peerID) +
		"&port=" + strconv.Itoa(port) + "&uploaded=0&downloaded=0&compact=1&numwant=50&left=" + strconv.Itoa(left)
	return getBencoded(t, base+"/announce/"+passkey+"?"+q)
}

func compactPeers(v map[string]any) map[netip.AddrPort]bool {
	out := map[netip.AddrPort]bool{}
	b, _ := v["peers"].(string)
	for ; len(b) >= 6; b = b[6:] {
		out[netip.AddrPortFrom(netip.AddrFrom4([4]byte([]byte(b[:4]))), uint16(b[4])<<8|uint16(b[5]))] = true
	}
	return out
}

func healthOf(t *testing.T, addr, name string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r, err := healthpb.NewHealthClient(c).Check(ctx, &healthpb.HealthCheckRequest{Service: name})
	return r.GetStatus(), err
}

// TestTwoTrackersShareRedisSwarms: two tracker processes on one Postgres
// and one Redis (--swarm-store=redis) are one tracker to their clients: a
// seeder announced to tracker 1 is handed to a leecher announcing to
// tracker 2, both scrape and GetSwarm the same counts, and tracker 2
// resolves tracker 1's peer. A third tracker whose Redis never answers
// reports its swarm store NOT_SERVING (the server itself stays SERVING, for
// a liveness probe) and answers announces with a failure reason, not a hang.
func TestTwoTrackersShareRedisSwarms(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	raddr, prefix := redisPrefix(t)
	redisEnv := map[string]string{
		"PBTS_SWARM_STORE":      "redis",
		"PBTS_REDIS_URL":        "redis://" + raddr + "/0",
		"PBTS_REDIS_KEY_PREFIX": prefix,
	}
	s := newStackWith(t, 2*MiB, redisEnv)
	env2 := map[string]string{
		"PBTS_HTTP_ADDR":             "127.0.0.1:0",
		"PBTS_ANNOUNCE_INTERVAL":     "5s",
		"PBTS_ANNOUNCE_MIN_INTERVAL": "1s",
		"PBTS_PEER_EXPIRY":           "15s",
		"PBTS_RPC_URL":               s.Chain.URL,
	}
	for _, k := range []string{"PBTS_DATABASE_URL", "PBTS_CHAIN_ID", "PBTS_TRACKER_CONTRACT"} {
		env2[k] = serviceEnv(t, s.Tracker, k)
	}
	for k, v := range redisEnv {
		env2[k] = v
	}
	trk2 := start(t, "tracker", env2)
	c2 := trk2.conn(t, "pbts.v1.AgentService")
	datasets2 := pbtsv1.NewDatasetServiceClient(c2)
	announce1, announce2 := s.Announce, "http://"+trk2.Addr("http")
	for _, tr := range []*service{s.Tracker, trk2} {
		for _, name := range []string{"", trackerSwarmHealth} {
			if st, err := healthOf(t, tr.GRPCAddr, name); err != nil || st != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("%s health %q = %v, %v; want SERVING", tr.GRPCAddr, name, st, err)
			}
		}
	}

	seeder, leecher := s.register(t), s.register(t)
	const size = 1*MiB + 333
	mi, sums, _ := dataset(t, t.TempDir(), "shared.wav", size, 7)
	ih := s.publish(t, seeder, mi, sums, "redis shared swarm", pbtsv1.Modality_MODALITY_AUDIO, []string{"redis"})
	ihHex := "0x" + hex.EncodeToString(ih[:])

	const seedID, leechID = "-PB0001-redisseed001", "-PB0001-redisleech01"
	if v := announceFrom(t, announce1, seeder.Passkey, ih, seedID, 6881, 0); v["failure reason"] != nil {
		t.Fatalf("seeder's announce to tracker 1: %v", v)
	}
	// tracker 2 scrapes tracker 1's seeder
	sc := getBencoded(t, announce2+"/scrape/"+leecher.Passkey+"?info_hash="+url.QueryEscape(string(ih[:])))
	files, _ := sc["files"].(map[string]any)
	if f, _ := files[string(ih[:])].(map[string]any); f == nil || f["complete"] != int64(1) || f["incomplete"] != int64(0) {
		t.Fatalf("tracker 2's scrape = %v; want tracker 1's seeder", sc)
	}
	// a leecher announcing to tracker 2 gets it
	v := announceFrom(t, announce2, leecher.Passkey, ih, leechID, 6882, size)
	if v["failure reason"] != nil {
		t.Fatalf("leecher's announce to tracker 2: %v", v)
	}
	if ps := compactPeers(v); !ps[netip.MustParseAddrPort("127.0.0.1:6881")] || len(ps) != 1 {
		t.Fatalf("tracker 2 handed the leecher %v; want tracker 1's seeder at 127.0.0.1:6881", ps)
	}
	if v["complete"] != int64(1) || v["incomplete"] != int64(1) {
		t.Errorf("tracker 2's announce counts: complete %v incomplete %v; want 1 and 1", v["complete"], v["incomplete"])
	}
	// and the seeder, re-announcing to tracker 1, gets the leecher
	if ps := compactPeers(announceFrom(t, announce1, seeder.Passkey, ih, seedID, 6881, 0)); !ps[netip.MustParseAddrPort("127.0.0.1:6882")] {
		t.Errorf("tracker 1 handed the seeder %v; want tracker 2's leecher", ps)
	}
	for name, d := range map[string]pbtsv1.DatasetServiceClient{"tracker 1": s.Datasets, "tracker 2": datasets2} {
		sw, err := d.GetSwarm(ctx, &pbtsv1.GetSwarmRequest{InfoHash: ihHex})
		if err != nil || sw.Seeders != 1 || sw.Leechers != 1 {
			t.Errorf("%s GetSwarm = %v, %v; want 1 seeder and 1 leecher", name, sw, err)
		}
	}
	rp, err := datasets2.ResolvePeer(ctx, &pbtsv1.ResolvePeerRequest{
		InfoHash: ihHex, Passkey: leecher.Passkey, PeerId: "0x" + hex.EncodeToString([]byte(seedID)),
	})
	if err != nil || !strings.EqualFold(rp.GetAgent(), seeder.Address()) {
		t.Errorf("tracker 2 resolving tracker 1's peer = %v, %v; want %s", rp, err, seeder.Address())
	}
	rp, err = s.Datasets.ResolvePeer(ctx, &pbtsv1.ResolvePeerRequest{InfoHash: ihHex, Passkey: seeder.Passkey, Addr: "127.0.0.1:6882"})
	if err != nil || !strings.EqualFold(rp.GetAgent(), leecher.Address()) {
		t.Errorf("tracker 1 resolving tracker 2's peer by address = %v, %v; want %s", rp, err, leecher.Address())
	}

	// A tracker whose Redis accepts connections and never answers.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hang.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	env3 := map[string]string{}
	for k, v := range env2 {
		env3[k] = v
	}
	env3["PBTS_REDIS_URL"] = "redis://" + hang.Addr().String() + "/0"
	trk3 := start(t, "tracker", env3)
	trk3.conn(t, "pbts.v1.AgentService") // the registry does not need Redis
	waitUntil(t, ctx, "tracker 3's swarm store NOT_SERVING", func() bool {
		st, _ := healthOf(t, trk3.GRPCAddr, trackerSwarmHealth)
		return st == healthpb.HealthCheckResponse_NOT_SERVING
	})
	if st, err := healthOf(t, trk3.GRPCAddr, ""); err != nil || st != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("tracker 3's server health = %v, %v; want SERVING (alive, its Redis is out)", st, err)
	}
	began := time.Now()
	v = announceFrom(t, "http://"+trk3.Addr("http"), seeder.Passkey, ih, "-PB0001-redishang001", 6883, 0)
	if fr, _ := v["failure reason"].(string); fr == "" {
		t.Errorf("announce to the tracker without Redis: %v; want a failure reason", v)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("the announce took %v to fail", took)
	}
}
