package agent

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"time"
)

// Over a real network (issue 18): the leecher and the seeder are two
// hosts, network namespaces this test makes, joined by a veth pair that
// tbf limits to 200 Mbit/s each way; the seeder is reached only through a
// Toxiproxy proxy in its namespace adding 20 ms each way (in production
// the seeder announces the proxy's port; here the leecher is pointed at
// it). See netns_helper_test.go.

// TestTransferOverNetns downloads a file over the shaped, delayed link
// with receipts off and on: both complete and verify, the link was limited
// and delayed, and the seeder's gate got every receipt.
func TestTransferOverNetns(t *testing.T) {
	p := newNetnsPair(t)
	const (
		size     = 24 << 20
		pieceLen = 256 << 10
	)
	runs := map[bool]netnsResult{}
	res := pairedOverhead(t, 1, func(on bool) time.Duration {
		r := p.download(t, size, pieceLen, on, !on)
		runs[on] = r
		return r.Download
	})
	off, on := runs[false], runs[true]
	sent, stats := p.seedSentBytes(t)
	t.Logf("round trip through the proxy %v; off %v (%.0f Mbit/s), on %v (%.0f Mbit/s), overhead %.1f%%; seeder's link: %s",
		off.RTT, off.Download, off.mbit(size), on.Download, on.mbit(size), res.overheadPct(), stats)
	if want := 2 * netnsLatency; off.RTT < want {
		t.Errorf("a round trip through the proxy took %v: want at least %v (the latency toxics)", off.RTT, want)
	}
	for _, r := range []netnsResult{off, on} {
		if got, limit := r.mbit(size), netnsRateMbit*1.05; got > limit {
			t.Errorf("downloaded at %.0f Mbit/s (receipts %v): the link is limited to %d", got, r.gated, netnsRateMbit)
		}
	}
	if sent < 2*size {
		t.Errorf("the seeder's end of the link sent %d bytes: want both downloads, %d, through it", sent, 2*size)
	}
	t.Logf("seeder's gate at its stop: handed %d of %d receipts, unpaid %d, stalls %d, refused %d",
		on.Handed, on.pieces, on.Unpaid, on.Stalls, on.Refused)
	if on.lost() != 0 || on.Unpaid != 0 {
		t.Errorf("the seeder's gate was handed %d receipts for %d pieces (lost %d), %d pieces unpaid at its stop",
			on.Handed, on.pieces, on.lost(), on.Unpaid)
	}
}

// TestTransferOverheadRTTBench is TestTransferOverheadBench over the
// shaped, delayed link: what receipts cost a download when a round trip
// takes ~40 ms and the link 200 Mbit/s. PBTS_BENCH=1 (make bench); the
// size is PBTS_BENCH_RTT_MIB (default 128) with 256 KiB pieces;
// PBTS_BENCH_ROUNDS rounds, each a fresh seeder process per mode.
func TestTransferOverheadRTTBench(t *testing.T) {
	if os.Getenv("PBTS_BENCH") == "" {
		t.Skip("benchmark: set PBTS_BENCH=1 (make bench)")
	}
	mib := 128
	if v := os.Getenv("PBTS_BENCH_RTT_MIB"); v != "" {
		fmt.Sscan(v, &mib)
	}
	const pieceLen = 256 << 10
	size := mib << 20
	p := newNetnsPair(t)
	lost := 0
	var rtts []time.Duration
	var mbits []float64
	res := pairedOverhead(t, benchRounds(), func(on bool) time.Duration {
		r := p.download(t, size, pieceLen, on, !on)
		if on {
			lost += r.lost()
			if r.lost() > 0 || r.Unpaid > 0 {
				t.Logf("seeder's gate at its stop: handed %d of %d receipts, unpaid %d", r.Handed, r.pieces, r.Unpaid)
			}
		} else {
			rtts = append(rtts, r.RTT)
		}
		mbits = append(mbits, r.mbit(size))
		t.Logf("receipts=%v: %.0f Mbit/s, round trip %v, seeder's stalls %d", on, r.mbit(size), r.RTT, r.Stalls)
		return r.Download
	})
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	sort.Float64s(mbits)
	_, stats := p.seedSentBytes(t)
	t.Logf("rates %.0f Mbit/s (link %d); best off %v, on %v; seeder's link: %s", mbits, netnsRateMbit, res.best[false], res.best[true], stats)
	fmt.Printf("figure transfer_overhead_rtt_pct %.1f %%\n", res.overheadPct())
	fmt.Printf("figure transfer_rtt_ms %.1f ms\n", float64(rtts[len(rtts)/2])/float64(time.Millisecond))
	fmt.Printf("figure receipts_lost_rtt %d receipts\n", lost)
}
