package agent

// Plumbing for the tests over a real network (netns_test.go): two hosts in
// Linux network namespaces that the test makes, joined by a veth pair
// shaped by tbf on both ends, the seeder behind a Toxiproxy proxy adding
// latency. A namespace holds a thread's sockets, and goroutines hop
// threads, so each host is a process: this test binary re-executed under
// `ip netns exec`, running TestNetnsHelper in the role PBTS_NETNS_ROLE
// names (seeder or leecher). Both build the same fixture (newDataFixture
// writes the same bytes and the same torrent in any process).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/rs/zerolog"
)

const (
	netnsMarker   = "PBTS_NETNS " // a helper's report line: marker, kind, JSON
	netnsRateMbit = 200           // tbf rate on each end of the veth
	netnsLeechIP  = "10.77.0.1"
	netnsSeedIP   = "10.77.0.2"
)

// netnsLatency is the latency toxic on each direction of the proxy: a
// round trip through it takes twice this.
const netnsLatency = 20 * time.Millisecond

var netnsSeq atomic.Int32

// netnsPair is two hosts, a leecher's and a seeder's namespace, joined by
// a veth pair (leechDev in leech, seedDev in seed).
type netnsPair struct {
	leech, seed       string
	leechDev, seedDev string
}

// newNetnsPair makes the two namespaces and the shaped link between them,
// removed when t ends (whatever happened). It skips t when this is not a
// root Linux with ip and tc, or namespaces cannot be made here.
func newNetnsPair(t testing.TB) *netnsPair {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces: Linux only")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces: needs root (ip netns, veth, tc)")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("network namespaces: %s is not installed (iproute2)", tool)
		}
	}
	reapNetns(t)
	pid, n := os.Getpid(), netnsSeq.Add(1)
	p := &netnsPair{
		leech:    fmt.Sprintf("pbts-%d-%d-leech", pid, n),
		seed:     fmt.Sprintf("pbts-%d-%d-seed", pid, n),
		leechDev: fmt.Sprintf("pb%dx%dl", pid, n),
		seedDev:  fmt.Sprintf("pb%dx%ds", pid, n),
	}
	if out, err := exec.Command("ip", "netns", "add", p.leech).CombinedOutput(); err != nil {
		t.Skipf("network namespaces: cannot make one here (ip netns add: %v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.leech).Run() })
	netnsRun(t, "ip", "netns", "add", p.seed)
	// Deleting a namespace destroys the veth end in it, and so its peer.
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.seed).Run() })
	netnsRun(t, "ip", "link", "add", p.leechDev, "netns", p.leech, "type", "veth", "peer", "name", p.seedDev, "netns", p.seed)
	burst := "256kb" // above a 64 KiB GSO packet
	for _, h := range []struct{ ns, dev, ip string }{{p.leech, p.leechDev, netnsLeechIP}, {p.seed, p.seedDev, netnsSeedIP}} {
		netnsRun(t, "ip", "-n", h.ns, "link", "set", "lo", "up")
		netnsRun(t, "ip", "-n", h.ns, "addr", "add", h.ip+"/30", "dev", h.dev)
		netnsRun(t, "ip", "-n", h.ns, "link", "set", h.dev, "up")
		netnsRun(t, "tc", "-n", h.ns, "qdisc", "add", "dev", h.dev, "root", "tbf",
			"rate", fmt.Sprintf("%dmbit", netnsRateMbit), "burst", burst, "latency", "50ms")
	}
	return p
}

// reapNetns deletes the namespaces of earlier runs whose process is gone
// (killed by a timeout before its cleanup ran).
func reapNetns(t testing.TB) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	re := regexp.MustCompile(`^pbts-(\d+)-\d+-(leech|seed)\b`)
	for _, line := range strings.Split(string(out), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		name := strings.Fields(line)[0]
		t.Logf("removing namespace %s left by process %d", name, pid)
		exec.Command("ip", "netns", "del", name).Run()
	}
}

func netnsRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out)
}

// seedSentBytes is how many bytes tbf has sent out of the seeder's end of
// the link (the data, whichever the mode).
func (p *netnsPair) seedSentBytes(t testing.TB) (sent int64, stats string) {
	t.Helper()
	stats = netnsRun(t, "tc", "-s", "-n", p.seed, "qdisc", "show", "dev", p.seedDev)
	m := regexp.MustCompile(`Sent (\d+) bytes`).FindStringSubmatch(stats)
	if m == nil {
		t.Fatalf("no byte count in tc's stats: %s", stats)
	}
	sent, _ = strconv.ParseInt(m[1], 10, 64)
	return sent, strings.Join(strings.Fields(stats), " ")
}

// netnsChild is a helper process in a namespace.
type netnsChild struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	reports chan string // the marker lines, less the marker
	exited  chan struct{}
	err     error // cmd.Wait's, once exited is closed

	mu  sync.Mutex
	out bytes.Buffer // everything else it wrote
}

// startNetnsChild runs TestNetnsHelper in ns with env set; t's cleanup
// kills it if it is still running.
func startNetnsChild(t testing.TB, ns, name string, env map[string]string) *netnsChild {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &netnsChild{name: name, reports: make(chan string, 8), exited: make(chan struct{})}
	c.cmd = exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^TestNetnsHelper$", "-test.count=1", "-test.v", "-test.timeout=20m")
	c.cmd.Env = os.Environ()
	for k, v := range env {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stderr = &lockedWriter{c}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start the %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), netnsMarker); ok {
				c.reports <- line
				continue
			}
			c.mu.Lock()
			c.out.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			c.cmd.Process.Kill()
			<-c.exited
		}
	})
	return c
}

type lockedWriter struct{ c *netnsChild }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.out.Write(b)
}

func (c *netnsChild) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// await decodes the child's next report, which must be of kind, into v.
func (c *netnsChild) await(t testing.TB, kind string, v any, timeout time.Duration) {
	t.Helper()
	select {
	case line := <-c.reports:
		k, js, _ := strings.Cut(line, " ")
		if k != kind {
			t.Fatalf("the %s reported %q, want %s; its output:\n%s", c.name, line, kind, c.output())
		}
		if err := json.Unmarshal([]byte(js), v); err != nil {
			t.Fatalf("the %s's %s report %q: %v", c.name, kind, js, err)
		}
	case <-c.exited:
		select {
		case line := <-c.reports: // reported, then exited
			c.reports <- line
			c.await(t, kind, v, timeout)
			return
		default:
		}
		t.Fatalf("the %s exited (%v) before its %s report; its output:\n%s", c.name, c.err, kind, c.output())
	case <-time.After(timeout):
		t.Fatalf("the %s made no %s report in %v; its output:\n%s", c.name, kind, timeout, c.output())
	}
}

// wait waits for the child to exit and fails t unless it passed; it logs
// what the child logged of interest.
func (c *netnsChild) wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(timeout):
		t.Fatalf("the %s did not exit in %v; its output:\n%s", c.name, timeout, c.output())
	}
	if c.err != nil {
		t.Fatalf("the %s failed (%v); its output:\n%s", c.name, c.err, c.output())
	}
	for _, line := range strings.Split(c.output(), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "===") && !strings.HasPrefix(l, "---") && l != "PASS" {
			t.Logf("%s: %s", c.name, l)
		}
	}
}

// netnsReady is the seeder's report once it serves, through its proxy.
type netnsReady struct {
	Proxy  string // the proxy's address, which the leecher dials
	Seeder string // the seeder's agent address
	Pieces int
}

// netnsStopped is the seeder's report when told to stop.
type netnsStopped struct {
	Handed, Unpaid, Stalls, Refused int
}

// netnsDone is the leecher's report.
type netnsDone struct {
	Download time.Duration
	RTT      time.Duration // median of the probes; 0 if none
}

// netnsResult is one download over the pair.
type netnsResult struct {
	netnsDone
	netnsStopped
	pieces int
	gated  bool
}

// lost is how many of the receipts signed never reached the seeder.
func (r netnsResult) lost() int {
	if !r.gated {
		return 0
	}
	return max(0, r.pieces-r.Handed)
}

// download starts a fresh seeder in p.seed (behind the gate when
// receipts), downloads its size-byte file from p.leech with receipts on
// or off through the proxy, and stops the seeder. probe has the leecher
// time round trips through the proxy first.
func (p *netnsPair) download(t testing.TB, size int, pieceLen int64, receipts, probe bool) netnsResult {
	t.Helper()
	base := map[string]string{
		"PBTS_NETNS_SIZE":  strconv.Itoa(size),
		"PBTS_NETNS_PIECE": strconv.FormatInt(pieceLen, 10),
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	seed := startNetnsChild(t, p.seed, "seeder", with("PBTS_NETNS_ROLE", "seeder",
		"PBTS_NETNS_GATED", strconv.FormatBool(receipts), "PBTS_NETNS_LISTEN", netnsSeedIP,
		"PBTS_NETNS_LATENCY_MS", strconv.Itoa(int(netnsLatency/time.Millisecond))))
	defer seed.stdin.Close()
	var ready netnsReady
	seed.await(t, "ready", &ready, 5*time.Minute)
	leech := startNetnsChild(t, p.leech, "leecher", with("PBTS_NETNS_ROLE", "leecher",
		"PBTS_NETNS_RECEIPTS", strconv.FormatBool(receipts), "PBTS_NETNS_PROXY", ready.Proxy,
		"PBTS_NETNS_SEEDER", ready.Seeder, "PBTS_NETNS_PROBE", strconv.FormatBool(probe)))
	res := netnsResult{pieces: ready.Pieces, gated: receipts}
	leech.await(t, "done", &res.netnsDone, 10*time.Minute)
	leech.wait(t, time.Minute)
	if _, err := io.WriteString(seed.stdin, "stop\n"); err != nil {
		t.Fatalf("stop the seeder: %v; its output:\n%s", err, seed.output())
	}
	seed.await(t, "stopped", &res.netnsStopped, time.Minute)
	seed.wait(t, time.Minute)
	return res
}

// mbit is the download's rate, in Mbit/s.
func (r netnsResult) mbit(size int) float64 {
	return float64(size) * 8 / r.Download.Seconds() / 1e6
}

// TestNetnsHelper is a host of the tests over a real network, when a test
// runs this binary as one (PBTS_NETNS_ROLE); otherwise it skips.
func TestNetnsHelper(t *testing.T) {
	role := os.Getenv("PBTS_NETNS_ROLE")
	if role == "" {
		t.Skip("a host of TestTransferOverNetns, which runs it")
	}
	size, err1 := strconv.Atoi(os.Getenv("PBTS_NETNS_SIZE"))
	pieceLen, err2 := strconv.ParseInt(os.Getenv("PBTS_NETNS_PIECE"), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	f := newDataFixture(t, size, pieceLen)
	switch role {
	case "seeder":
		netnsSeeder(t, f)
	case "leecher":
		netnsLeecher(t, f)
	default:
		t.Fatalf("unknown role %q", role)
	}
}

func netnsReport(t testing.TB, kind string, v any) {
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\n%s%s %s\n", netnsMarker, kind, js)
}

// netnsSeeder seeds f, behind the gate if PBTS_NETNS_GATED, reached
// through a Toxiproxy proxy on PBTS_NETNS_LISTEN adding
// PBTS_NETNS_LATENCY_MS each way; it reports the proxy's address, then,
// told to stop (or its stdin closing), what the gate was handed.
func netnsSeeder(t *testing.T, f *gateFixture) {
	gated, _ := strconv.ParseBool(os.Getenv("PBTS_NETNS_GATED"))
	ms, err := strconv.Atoi(os.Getenv("PBTS_NETNS_LATENCY_MS"))
	if err != nil {
		t.Fatal(err)
	}
	f.startSeeder(t, 0, gated)
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	proxy := toxiproxy.NewProxy(srv, "seeder", net.JoinHostPort(os.Getenv("PBTS_NETNS_LISTEN"), "0"), f.addr.String())
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	defer proxy.Stop()
	for _, dir := range []string{"upstream", "downstream"} {
		toxic := fmt.Sprintf(`{"name":"latency_%s","type":"latency","stream":%q,"attributes":{"latency":%d}}`, dir, dir, ms)
		if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
			t.Fatal(err)
		}
	}
	proxy.Lock()
	listen := proxy.Listen
	proxy.Unlock()
	netnsReport(t, "ready", netnsReady{Proxy: listen, Seeder: f.seeder.Hex(), Pieces: f.info.NumPieces()})

	stop := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() && sc.Text() != "stop" {
		}
		close(stop)
	}()
	select {
	case <-stop:
	case <-time.After(15 * time.Minute):
		t.Fatal("never told to stop")
	}
	var st netnsStopped
	if f.gate != nil {
		waitHanded(f.gate, f.info.NumPieces())
		st.Handed, st.Unpaid = f.gate.handedCount(), f.gate.unpaid()
		st.Stalls, st.Refused = f.gate.stats()
	}
	netnsReport(t, "stopped", st)
}

// netnsLeecher downloads f from the seeder at PBTS_NETNS_PROXY (agent
// PBTS_NETNS_SEEDER) with receipts on or off (PBTS_NETNS_RECEIPTS), first
// timing round trips through the proxy if PBTS_NETNS_PROBE.
func netnsLeecher(t *testing.T, f *gateFixture) {
	receipts, _ := strconv.ParseBool(os.Getenv("PBTS_NETNS_RECEIPTS"))
	probe, _ := strconv.ParseBool(os.Getenv("PBTS_NETNS_PROBE"))
	addr, err := netip.ParseAddrPort(os.Getenv("PBTS_NETNS_PROXY"))
	if err != nil {
		t.Fatal(err)
	}
	if !common.IsHexAddress(os.Getenv("PBTS_NETNS_SEEDER")) {
		t.Fatalf("seeder address %q", os.Getenv("PBTS_NETNS_SEEDER"))
	}
	f.addr, f.seeder = addr, common.HexToAddress(os.Getenv("PBTS_NETNS_SEEDER"))
	var done netnsDone
	if probe {
		var rtts []time.Duration
		for range 5 {
			rtt, err := probeRTT(addr, [20]byte(f.mi.HashInfoBytes()))
			if err != nil {
				t.Fatalf("round trip through the proxy: %v", err)
			}
			rtts = append(rtts, rtt)
		}
		sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
		t.Logf("round trips through the proxy: %v", rtts)
		done.RTT = rtts[len(rtts)/2]
	}
	done.Download = timeDownload(t, f, receipts)
	netnsReport(t, "done", done)
}

// probeRTT times one BitTorrent handshake with the seeder at addr: from
// writing ours to having read its reply, which names the torrent, so it
// answers ours (a round trip through the proxy and the link).
func probeRTT(addr netip.AddrPort, ih [20]byte) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr.String(), 30*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	hs := append([]byte{19}, "BitTorrent protocol"...)
	hs = append(hs, make([]byte, 8)...)
	hs = append(hs, ih[:]...)
	hs = append(hs, fmt.Sprintf("-PB0000-%012d", time.Now().UnixNano()%1e12)...)
	start := time.Now()
	if _, err := c.Write(hs); err != nil {
		return 0, err
	}
	reply := make([]byte, len(hs))
	if _, err := io.ReadFull(c, reply); err != nil {
		return 0, fmt.Errorf("read the seeder's handshake: %w", err)
	}
	rtt := time.Since(start)
	if !bytes.Equal(reply[:20], hs[:20]) || !bytes.Equal(reply[28:48], ih[:]) {
		return 0, fmt.Errorf("not a handshake for the torrent: %x", reply)
	}
	return rtt, nil
}
