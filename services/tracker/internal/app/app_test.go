package app

import (
	"bytes"
	"flag"
	"log/slog"
	"strings"
	"testing"
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
		bad  string // the variable the error names; "" for valid
	}{
		{nil, ""},
		{[]string{"-swarm-store", "redis"}, ""},
		{[]string{"-swarm-store", "redis", "-redis-url", "redis://:s3cret@10.0.0.5:6380/3"}, ""},
		{[]string{"-swarm-store", "etcd"}, "PBTS_SWARM_STORE"},
		{[]string{"-swarm-store", "redis", "-redis-url", "http://:s3cret@10.0.0.5/"}, "PBTS_REDIS_URL"},
		{[]string{"-swarm-store", "redis", "-redis-url", "redis://:s3cret@10.0.0.5:6380/x"}, "PBTS_REDIS_URL"},
		{[]string{"-swarm-store", "redis", "-redis-key-prefix", "a*b:"}, "PBTS_REDIS_KEY_PREFIX"},
		{[]string{"-redis-url", "http://:s3cret@nowhere/"}, ""}, // unused by the memory store
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
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("c", "config", *testConfig(t, "-redis-url", "redis://user:s3cret@10.0.0.5:6380/3"))
	if !strings.Contains(buf.String(), "redis://user:xxxxx@10.0.0.5:6380/3") {
		t.Errorf("config log %s; want the Redis URL with its password masked", buf.String())
	}
}
