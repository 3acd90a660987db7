package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/torrentfile"
)

// fixedNamer names every peer as one agent (the tracker's ResolvePeer is
// exercised in e2e).
type fixedNamer struct{ agent common.Address }

func (f fixedNamer) resolve(context.Context, [20]byte, peerKey) (common.Address, bool) {
	return f.agent, true
}

type gateFixture struct {
	d      receipt.Domain
	mi     *metainfo.MetaInfo
	info   metainfo.Info
	sums   []byte
	data   []byte
	dir    string
	seeder common.Address
	gate   *uploadGate
	addr   netip.AddrPort
	client *torrent.Client // the seeder's
}

// newGateFixture seeds a random file of size bytes (pieceLen pieces) from a
// client behind the withholding gate, on loopback.
func newGateFixture(t testing.TB, size int, pieceLen int64, window int64) *gateFixture {
	return newSeederFixture(t, size, pieceLen, window, true)
}

// newSeederFixture is newGateFixture, with the gate only when gated.
func newSeederFixture(t testing.TB, size int, pieceLen int64, window int64, gated bool) *gateFixture {
	t.Helper()
	f := newDataFixture(t, size, pieceLen)
	f.startSeeder(t, window, gated)
	return f
}

// newDataFixture writes a random file of size bytes and builds its torrent.
func newDataFixture(t testing.TB, size int, pieceLen int64) *gateFixture {
	t.Helper()
	f := &gateFixture{d: receipt.Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}}
	f.dir = benchDir(t)
	f.data = make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range f.data {
		f.data[i] = byte(r.Uint32())
	}
	path := filepath.Join(f.dir, "clip.mp4")
	if err := os.WriteFile(path, f.data, 0o644); err != nil {
		t.Fatal(err)
	}
	mi, sums, err := torrentfile.Build(path, pieceLen)
	if err != nil {
		t.Fatal(err)
	}
	f.mi = mi
	if f.info, err = mi.UnmarshalInfo(); err != nil {
		t.Fatal(err)
	}
	for _, s := range sums {
		f.sums = append(f.sums, s[:]...)
	}
	return f
}

// startSeeder starts a client seeding f's file (behind a gate when gated,
// replacing any seeder started before) and returns a function that stops it.
func (f *gateFixture) startSeeder(t testing.TB, window int64, gated bool) func() {
	t.Helper()
	key, _ := crypto.GenerateKey()
	f.seeder = crypto.PubkeyToAddress(key.PublicKey)
	f.gate = nil
	if gated {
		f.gate = newUploadGate(f.d, f.seeder, window)
	}
	gate := f.gate
	cl, err := newTorrentClient("127.0.0.1:0", io.Discard, torrent.Callbacks{}, gate)
	if err != nil {
		t.Fatal(err)
	}
	tt, st, err := addTorrent(cl, f.mi, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cl.Close()
			if gate != nil {
				gate.stop()
			}
			st.Close()
		})
	}
	t.Cleanup(stop)
	if gate != nil {
		gate.serve([20]byte(f.mi.HashInfoBytes()), &f.info, f.sums)
	}
	<-tt.GotInfo()
	select {
	case <-tt.Complete().On():
	case <-time.After(2 * time.Minute):
		t.Fatal("seeder did not verify its data")
	}
	f.addr = netip.MustParseAddrPort(cl.ListenAddrs()[0].String())
	f.client = cl
	return stop
}

// dump logs the seeder's and the given clients' status and the gate's
// connections (a stalled transfer's diagnosis).
func (f *gateFixture) dump(t testing.TB, clients map[string]*torrent.Client) {
	t.Helper()
	var st strings.Builder
	for name, cl := range clients {
		st.Reset()
		cl.WriteStatus(&st)
		t.Logf("%s client status:\n%s", name, st.String())
	}
	st.Reset()
	f.client.WriteStatus(&st)
	t.Logf("seeder client status:\n%s", st.String())
	f.gate.mu.Lock()
	defer f.gate.mu.Unlock()
	for k, c := range f.gate.conns {
		t.Logf("seeder gate conn %s: agent %v %s, sent %d owed %d open %d, rejected %v, unchoke pending %v, handshake left %d",
			k, c.hasAgent, c.agent, c.acct.sent, c.acct.owed, len(c.acct.open), c.rejected, c.unchoker != nil, c.hsLeft)
	}
}

// leech adds the torrent to cl, pointed at the seeder.
func (f *gateFixture) leech(t testing.TB, cl *torrent.Client) (*torrent.Torrent, string) {
	t.Helper()
	out := benchDir(t)
	tt, st, err := addTorrent(cl, f.mi, out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tt.AddPeers([]torrent.PeerInfo{{Addr: torrent.PeerRemoteAddr(f.addr), Trusted: true}})
	<-tt.GotInfo()
	return tt, out
}

// TestWithholdingDownloaderStallsHonestOneCompletes: a plain BitTorrent
// client that never hands receipts over stalls once it owes the window; a
// pbts downloader (tally → attributor → signed receipts over the
// pbts_receipts extension) completes and the seeder credits every byte.
func TestWithholdingDownloaderStallsHonestOneCompletes(t *testing.T) {
	const (
		pieceLen = 256 << 10
		size     = 48<<20 + 1234
		window   = 8
	)
	f := newGateFixture(t, size, pieceLen, window)

	// The non-cooperating downloader: a stock client, no extension.
	greedyCl, err := newTorrentClient("127.0.0.1:0", io.Discard, torrent.Callbacks{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer greedyCl.Close()
	greedy, _ := f.leech(t, greedyCl)
	greedy.DownloadAll()

	// The honest downloader, wired as `pbts get` wires it.
	key, _ := crypto.GenerateKey()
	me := crypto.PubkeyToAddress(key.PublicKey)
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	tl := &tally{pieces: make(map[int]map[peerKey]peerBytes)}
	sub := &submitter{a: a, pw: io.Discard}
	honestGate := newUploadGate(f.d, me, window)
	honestCl, err := newTorrentClient("127.0.0.1:0", io.Discard, tl.callbacks(), honestGate)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { honestCl.Close(); honestGate.stop() }()
	ih := [20]byte(f.mi.HashInfoBytes())
	honest, honestDir := f.leech(t, honestCl)
	subs := honest.SubscribePieceStateChanges()
	defer subs.Close()
	at := &attributor{a: a, t: honest, res: fixedNamer{f.seeder}, ih: ih, d: f.d, key: key, me: me, info: &f.info, sums: f.sums,
		tl: tl, sub: sub, done: make(map[int]bool), hashing: make(map[int]bool)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	verified := make(chan struct{})
	at.slide = &slider{t: honest, n: f.info.NumPieces(), ahead: window / 2}
	at.slide.advance(0)
	go at.run(ctx, subs, verified)

	select {
	case <-verified:
	case <-ctx.Done():
		f.gate.mu.Lock()
		for k, c := range f.gate.conns {
			t.Logf("seeder conn %s agent %v %s sent %d owed %d open %d", k, c.hasAgent, c.agent, c.acct.sent, c.acct.owed, len(c.acct.open))
		}
		for a, acct := range f.gate.agents {
			t.Logf("account %s %+v", a, *acct)
		}
		t.Logf("stalls %d refused %d; honest signed %d done %d", f.gate.stalls, f.gate.refused, sub.signedCount(), at.doneCount())
		f.gate.mu.Unlock()
		f.dump(t, map[string]*torrent.Client{"honest": honestCl})
		t.Fatalf("honest downloader did not complete: %d of %d bytes", honest.BytesCompleted(), size)
	}
	at.inflight.Wait()
	got, err := os.ReadFile(filepath.Join(honestDir, "clip.mp4"))
	if err != nil || sha256.Sum256(got) != sha256.Sum256(f.data) {
		t.Fatalf("honest download differs: %v", err)
	}
	if n := sub.signedCount(); n != f.info.NumPieces() {
		t.Fatalf("honest downloader signed %d receipts, want %d (one sender per piece)", n, f.info.NumPieces())
	}

	// The greedy client is stuck at about the window: it got something,
	// then nothing more while the honest one took the whole file.
	limit := int64(window*pieceLen) + 2<<20 // the window, the 1/64 endgame allowance and in-flight chunks
	before := usefulBytes(greedy)
	time.Sleep(2 * time.Second)
	after := usefulBytes(greedy)
	t.Logf("greedy client: %d useful bytes (window %d); honest: %d", after, window*pieceLen, honest.BytesCompleted())
	if after == 0 {
		t.Fatal("the greedy client got nothing: the seeder did not serve it at all")
	}
	if after > limit || after != before {
		t.Fatalf("greedy client got %d bytes (then %d): want it stalled at most %d", before, after, limit)
	}
	stalls, refused := f.gate.stats()
	if stalls == 0 || refused != 0 {
		t.Fatalf("seeder gate: stalls %d refused %d", stalls, refused)
	}
	// The receipts reach the seeder and settle what it sent (one sent over a
	// connection that closes meanwhile is lost to the seeder, not to the
	// receipts service: allow the window).
	var sent, owed int64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		f.gate.mu.Lock()
		acct := f.gate.agents[me]
		sent, owed = acct.sent, acct.owed
		f.gate.mu.Unlock()
		if owed <= window*pieceLen || time.Now().After(deadline) {
			break
		}
	}
	if sent < int64(size) || owed > window*pieceLen {
		f.gate.mu.Lock()
		st, rf := f.gate.stalls, f.gate.refused
		for ref, n := range f.gate.agents[me].open {
			t.Logf("open piece %d: %d bytes", ref.idx, n)
		}
		f.gate.mu.Unlock()
		t.Logf("stalls %d refused %d signed %d", st, rf, sub.signedCount())
		t.Fatalf("seeder sent %d bytes to the honest downloader (want at least %d), %d unsettled", sent, size, owed)
	}

	// Receipts arriving late reopen the connection: hand the greedy client's
	// agent's receipts for what it holds, and it gets more.
	greedyKey, _ := crypto.GenerateKey()
	greedyAddr := crypto.PubkeyToAddress(greedyKey.PublicKey)
	var recs []signedReceipt
	for i := 0; i < f.info.NumPieces(); i++ {
		if !greedy.PieceState(i).Complete {
			continue
		}
		r := receipt.Receipt{InfoHash: receipt.InfoHashFromV1(ih), Sender: f.seeder, Receiver: greedyAddr,
			PieceIndex: uint32(i), PieceSize: uint32(f.info.Piece(i).Length()), Timestamp: uint64(time.Now().Unix())}
		copy(r.PieceHash[:], f.sums[32*i:])
		sig, err := receipt.Sign(f.d, r, greedyKey)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, signedReceipt{r, sig})
	}
	if len(recs) == 0 {
		t.Fatal("greedy client completed no piece")
	}
	f.gate.mu.Lock()
	var remote string
	for k, c := range f.gate.conns {
		if !c.hasAgent {
			remote = k
		}
	}
	f.gate.mu.Unlock()
	// They go the way a downloader's do: into the gate's intake.
	_, refusedBefore := f.gate.stats()
	f.gate.in <- inboundReceipts{remote: remote, ih: ih, recs: recs}
	deadline := time.Now().Add(10 * time.Second)
	for usefulBytes(greedy) <= after && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := usefulBytes(greedy); n <= after {
		f.dump(t, map[string]*torrent.Client{"greedy": greedyCl})
		t.Fatalf("after %d receipts arrived the greedy client still has %d bytes", len(recs), n)
	}
	if _, refused := f.gate.stats(); refused != refusedBefore {
		t.Fatalf("%d valid receipts refused", refused-refusedBefore)
	}

	// A receipt whose signature is not its receiver's is refused when it is
	// checked (always for an agent not yet verified on this connection) and
	// closes the agent's account: nothing more is sent to it.
	otherKey, _ := crypto.GenerateKey()
	forged := recs[0]
	forged.r.PieceIndex = uint32(f.info.NumPieces() - 1)
	copy(forged.r.PieceHash[:], f.sums[32*(f.info.NumPieces()-1):])
	forged.r.PieceSize = uint32(f.info.Piece(f.info.NumPieces() - 1).Length())
	forged.sig, _ = receipt.Sign(f.d, forged.r, otherKey)
	f.gate.mu.Lock()
	f.gate.agents[greedyAddr].verified = false // force the check, as for a new agent
	f.gate.mu.Unlock()
	f.gate.in <- inboundReceipts{remote: remote, ih: ih, recs: []signedReceipt{forged}}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, refused := f.gate.stats(); refused > refusedBefore {
			break
		}
	}
	f.gate.mu.Lock()
	banned := f.gate.agents[greedyAddr].banned
	f.gate.mu.Unlock()
	if _, refused := f.gate.stats(); refused != refusedBefore+1 || !banned {
		t.Fatalf("forged receipt: refused %d (want %d), account closed %v", refused, refusedBefore+1, banned)
	}
}

func TestWireReceiptsRoundTripAndBounds(t *testing.T) {
	key, _ := crypto.GenerateKey()
	d := receipt.Domain{ChainID: 1, Tracker: common.Address{9}}
	var rs []signedReceipt
	for i := 0; i < 3; i++ {
		r := receipt.Receipt{InfoHash: [32]byte{1}, Sender: common.Address{2}, Receiver: crypto.PubkeyToAddress(key.PublicKey),
			PieceHash: [32]byte{3}, PieceIndex: uint32(i), PieceSize: 1 << 18, Timestamp: 1700000000 + uint64(i)}
		sig, _ := receipt.Sign(d, r, key)
		rs = append(rs, signedReceipt{r, sig})
	}
	b := encodeWire(rs)
	back, err := decodeWire(b)
	if err != nil || len(back) != 3 {
		t.Fatalf("decode: %v %d", err, len(back))
	}
	for i := range rs {
		if back[i] != rs[i] || receipt.Verify(d, back[i].r, back[i].sig[:]) != nil {
			t.Fatalf("record %d changed in transit", i)
		}
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], bytes.Repeat(b[:wireReceiptLen], wireMaxReceipts+1)} {
		if _, err := decodeWire(bad); err == nil {
			t.Fatalf("decodeWire accepted %d bytes", len(bad))
		}
	}
}

func usefulBytes(t *torrent.Torrent) int64 {
	s := t.Stats()
	return s.BytesReadUsefulData.Int64()
}

// benchDir is a temporary directory, in memory (/dev/shm) for benchmarks so
// that disk writeback does not drown what they measure.
func benchDir(t testing.TB) string {
	if os.Getenv("PBTS_BENCH") != "" {
		if d, err := os.MkdirTemp("/dev/shm", "pbts-bench-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// TestUnpaidPiecesExpireIntoShortfall: a piece whose receipt never arrives
// holds a slot of the window only for unpaidExpiry; then its bytes count as
// shortfall, which still closes the window once it passes the allowance.
func TestUnpaidPiecesExpireIntoShortfall(t *testing.T) {
	const pieceLen = 256 << 10
	const window = 4
	g := newUploadGate(receipt.Domain{ChainID: 1, Tracker: common.Address{9}}, common.Address{1}, window)
	now := time.Now()
	g.now = func() time.Time { return now }
	ih := [20]byte{7}
	g.torrents[ih] = &gateTorrent{pieceLen: pieceLen, total: 100 * pieceLen, sums: make([]byte, 32*100)}
	c := &gatedConn{g: g, acct: newAccount()}
	for i := uint32(0); i < window; i++ {
		ref := pieceRef{ih, i}
		if !g.admitLocked(c, ref, 16384) {
			t.Fatalf("piece %d refused with room in the window", i)
		}
		c.acct.add(ref, 16384)
	}
	if g.admitLocked(c, pieceRef{ih, window}, 16384) {
		t.Fatal("a new piece admitted with the window full of unpaid pieces")
	}
	// Time passes without receipts: the pieces leave the window and their
	// bytes become shortfall.
	now = now.Add(unpaidExpiry + time.Second)
	if !g.admitLocked(c, pieceRef{ih, window}, 16384) {
		t.Fatal("expired unpaid pieces still hold the window")
	}
	if len(c.acct.open) != 0 || c.acct.owed != 0 || c.acct.shortfall != window*16384 {
		t.Fatalf("after expiry: open %d owed %d shortfall %d", len(c.acct.open), c.acct.owed, c.acct.shortfall)
	}
	// Shortfall beyond the allowance is debt: a window's bytes of it close
	// the window again.
	c.acct.shortfall += window * pieceLen
	if g.admitLocked(c, pieceRef{ih, window + 1}, 16384) {
		t.Fatal("a debt over the window's bytes still admitted a new piece")
	}
}
