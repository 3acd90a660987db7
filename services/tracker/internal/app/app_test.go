package app

import (
	"bytes"
	"context"
	"flag"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/testkit"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func testConfig(t *testing.T, args ...string) *Config {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("tracker", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(append([]string{"-tracker-contract", "0x00000000000000000000000000000000000000aa"}, args...)); err != nil {
		t.Fatal(err)
	}
	return &c
}

// The swarm store settings are checked at start, named by their variable,
// and the Redis password shows neither in errors nor in the config log.
func TestSwarmStoreSettings(t *testing.T) {
	for _, tc := range []struct {
		args []string
		bad  string // the variable (or setting) the error names; "" for valid
	}{
		{nil, ""},
		{[]string{"-swarm-store", "redis"}, ""},
		{[]string{"-swarm-store", "redis", "-redis-url", "redis://:s3cret@10.0.0.5:6380/3"}, ""},
		{[]string{"-swarm-store", "etcd"}, "PBTS_SWARM_STORE"},
		{[]string{"-swarm-store", "redis", "-redis-url", "http://:s3cret@10.0.0.5/"}, "PBTS_REDIS_URL"},
		{[]string{"-swarm-store", "redis", "-redis-url", "redis://:s3cret@10.0.0.5:6380/x"}, "PBTS_REDIS_URL"},
		{[]string{"-swarm-store", "redis", "-redis-key-prefix", "a*b:"}, "PBTS_REDIS_KEY_PREFIX"},
		{[]string{"-redis-url", "http://:s3cret@nowhere/"}, ""}, // unused by the memory store
		{[]string{"-max-peers-per-agent", "1"}, ""},
		{[]string{"-max-peers-per-agent", "0"}, "max peers per agent 0: want 1..64"},
		{[]string{"-max-peers-per-agent", "65"}, "max peers per agent 65: want 1..64"},
	} {
		c := testConfig(t, tc.args...)
		_, _, _, err := c.validate()
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%v: error %v; want one naming %s", tc.args, err, tc.bad)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%v: error shows the password: %v", tc.args, err)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("tracker config", "config", *c)
		if strings.Contains(buf.String(), "s3cret") {
			t.Errorf("%v: the config log shows the password: %s", tc.args, buf.String())
		}
	}
	if c := testConfig(t); c.Announce.MaxPeersPerAgent != 4 {
		t.Errorf("default max peers per agent %d, want 4", c.Announce.MaxPeersPerAgent)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("c", "config", *testConfig(t, "-redis-url", "redis://user:s3cret@10.0.0.5:6380/3"))
	if !strings.Contains(buf.String(), "redis://user:xxxxx@10.0.0.5:6380/3") {
		t.Errorf("config log %s; want the Redis URL with its password masked", buf.String())
	}
}

// A hosted RPC URL's key (in its path, query or user info) appears nowhere
// in what the tracker logs while it starts and its chain reads fail, even
// at debug level: only scheme and host do.
func TestRPCURLNeverLogged(t *testing.T) {
	const rpcURL = "http://uname:UKEY@127.0.0.1:1/v3/PKEY?apikey=QKEY"
	var buf testkit.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := testConfig(t, "-rpc-url", rpcURL, "-http-addr", "127.0.0.1:0",
		"-database-url", "postgres://postgres@127.0.0.1:1/none?sslmode=disable")
	srv, err := server.New("tracker", server.Config{GRPCAddr: "127.0.0.1:0", LogFormat: "text", LogLevel: "debug", ShutdownTimeout: time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := c.Setup(ctx, srv, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	// The event poll runs at once and fails (nothing listens on port 1).
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(buf.String(), "reputation event poll failed"); {
		if time.Now().After(deadline) {
			t.Fatalf("no failed chain read logged within 10s:\n%s", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"UKEY", "PKEY", "QKEY", "uname"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %q of the RPC URL:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "rpc_url=http://127.0.0.1:1") {
		t.Errorf("the config log does not show the RPC URL's scheme and host:\n%s", out)
	}
}

// --max-peers-per-agent defaults from PBTS_MAX_PEERS_PER_AGENT, and the
// flag wins over it.
func TestMaxPeersPerAgentFromEnv(t *testing.T) {
	t.Setenv("PBTS_MAX_PEERS_PER_AGENT", "2")
	for _, tc := range []struct {
		args []string
		want int
	}{{nil, 2}, {[]string{"-max-peers-per-agent", "7"}, 7}} {
		var c Config
		fs := flag.NewFlagSet("tracker", flag.ContinueOnError)
		c.RegisterFlags(fs)
		if err := server.ParseFlags(fs, tc.args); err != nil {
			t.Fatal(err)
		}
		if c.Announce.MaxPeersPerAgent != tc.want {
			t.Errorf("%v: max peers per agent %d, want %d", tc.args, c.Announce.MaxPeersPerAgent, tc.want)
		}
	}
}
