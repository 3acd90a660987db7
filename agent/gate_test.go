package agent

import (
	"context"
	"crypto/ecdsa"
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

	"github.com/pbts/pbts/agent/wire"
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
		f.gate = newUploadGate(f.d, key, window)
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
	tl := &tally{pieces: make(map[int]map[peerKey]peerBytes)}
	sub := &submitter{}
	honestGate := newUploadGate(f.d, key, window)
	honestCl, err := newTorrentClient("127.0.0.1:0", io.Discard, tl.callbacks(), honestGate)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { honestCl.Close(); honestGate.stop() }()
	ih := [20]byte(f.mi.HashInfoBytes())
	honest, honestDir := f.leech(t, honestCl)
	subs := honest.SubscribePieceStateChanges()
	defer subs.Close()
	at := &attributor{t: honest, res: fixedNamer{f.seeder}, ih: ih, d: f.d, key: key, me: me, info: &f.info, sums: f.sums,
		tl: tl, sub: sub, done: make(map[int]bool), hashing: make(map[int]bool)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	verified := make(chan struct{})
	at.slide = newSlider(honest, f.info.NumPieces(), window, f.info.PieceLength)
	at.slide.start(t.Context())
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
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
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

	// The honest downloader proved who it is; the stock client, which
	// cannot, was never bound to anybody's account.
	f.gate.mu.Lock()
	authed, greedyBound := f.gate.authed, false
	for _, c := range f.gate.conns {
		if c.hasAgent && c.agent != me {
			greedyBound = true
		}
	}
	f.gate.mu.Unlock()
	if authed < 1 || greedyBound {
		t.Fatalf("%d connections authenticated, stock client bound %v: want the honest one only", authed, greedyBound)
	}

	// A pbts downloader that withholds its receipts stalls like the stock
	// client; its receipts arriving late reopen the connection.
	late := f.lateDownloader(t)
	late.waitStalled(t)
	stalledAt := usefulBytes(late.t)
	late.pay(t, f)
	if n := late.bytesBeyond(stalledAt); n <= stalledAt {
		f.dump(t, map[string]*torrent.Client{"late": late.cl})
		t.Fatalf("after its receipts arrived the late payer still has %d bytes", n)
	}
}

// lateClient is a pbts downloader (it answers authentication challenges)
// that hands over no receipts until told to.
type lateClient struct {
	cl  *torrent.Client
	t   *torrent.Torrent
	key *ecdsa.PrivateKey
}

func (f *gateFixture) lateDownloader(t *testing.T) *lateClient {
	t.Helper()
	key, _ := crypto.GenerateKey()
	g := newUploadGate(f.d, key, 0)
	cl, err := newTorrentClient("127.0.0.1:0", io.Discard, torrent.Callbacks{}, g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); g.stop() })
	tt, _ := f.leech(t, cl)
	tt.DownloadAll()
	return &lateClient{cl: cl, t: tt, key: key}
}

// waitStalled waits until the downloader has stopped getting bytes (the
// window is spent).
func (l *lateClient) waitStalled(t *testing.T) {
	t.Helper()
	last, since := int64(-1), time.Now()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n := usefulBytes(l.t)
		if n != last {
			last, since = n, time.Now()
			continue
		}
		if n > 0 && time.Since(since) > time.Second {
			return
		}
	}
	t.Fatalf("the withholding downloader did not stall (%d bytes)", last)
}

// receipts are l's signed receipts for the pieces it holds.
func (l *lateClient) receipts(f *gateFixture) []wire.SignedReceipt {
	ih := [20]byte(f.mi.HashInfoBytes())
	var recs []wire.SignedReceipt
	for i := 0; i < f.info.NumPieces(); i++ {
		if !l.t.PieceState(i).Complete {
			continue
		}
		r := receipt.Receipt{InfoHash: receipt.InfoHashFromV1(ih), Sender: f.seeder, Receiver: crypto.PubkeyToAddress(l.key.PublicKey),
			PieceIndex: uint32(i), PieceSize: uint32(f.info.Piece(i).Length()), Timestamp: uint64(time.Now().Unix())}
		copy(r.PieceHash[:], f.sums[32*i:])
		sig, _ := receipt.Sign(f.d, r, l.key)
		recs = append(recs, wire.SignedReceipt{Receipt: r, Signature: sig})
	}
	return recs
}

// hashed waits until no piece of l's is waiting for or under its hash
// check: on a loaded machine the pieces whose bytes have all been read are
// checked seconds later, and only checked pieces are signed for.
func (l *lateClient) hashed(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		busy := false
		for i := 0; i < l.t.NumPieces() && !busy; i++ {
			s := l.t.PieceState(i)
			busy = s.Checking || s.Hashing || s.QueuedForHash || s.Marking
		}
		if !busy || time.Now().After(deadline) {
			return
		}
	}
}

// bytesBeyond waits (at most 60 s) until l has more useful bytes than
// stalledAt, and returns what it has then.
func (l *lateClient) bytesBeyond(stalledAt int64) int64 {
	for deadline := time.Now().Add(60 * time.Second); usefulBytes(l.t) <= stalledAt && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	return usefulBytes(l.t)
}

// pay hands l's receipts to the seeder over l's connection, once the
// pieces it has read are checked.
func (l *lateClient) pay(t *testing.T, f *gateFixture) {
	t.Helper()
	l.hashed(t)
	recs := l.receipts(f)
	if len(recs) == 0 {
		t.Fatal("the late payer completed no piece")
	}
	if len(l.t.PeerConns()) == 0 {
		t.Fatal("the late payer has no connection to pay over")
	}
	for _, pc := range l.t.PeerConns() {
		for lo := 0; lo < len(recs); lo += wire.MaxReceipts {
			if err := pc.WriteExtendedMessage(wire.ReceiptsExtension, wire.EncodeReceipts(recs[lo:min(lo+wire.MaxReceipts, len(recs))])); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Walking around the withholding gate (issue 13, attack 5). Before, a
// connection was bound to the receiver of the first valid receipt it handed
// over, and receipts are public: a free-rider replayed an honest agent's
// receipts and was served on its account, then handed over one forged
// receipt and closed that honest agent's account. Now each connection
// proves its agent over pbts_auth, and only that agent's receipts count.
func TestReplayedAndForgedReceiptsOfOthersCountForNothing(t *testing.T) {
	const (
		pieceLen = 256 << 10
		size     = 24 << 20
		window   = 8
	)
	f := newGateFixture(t, size, pieceLen, window)
	// An honest agent's receipts, public from the receipts service.
	honestKey, _ := crypto.GenerateKey()
	honest := crypto.PubkeyToAddress(honestKey.PublicKey)
	ih := [20]byte(f.mi.HashInfoBytes())
	var honestRecs []wire.SignedReceipt
	for i := range 12 {
		r := receipt.Receipt{InfoHash: receipt.InfoHashFromV1(ih), Sender: f.seeder, Receiver: honest,
			PieceIndex: uint32(i), PieceSize: pieceLen, Timestamp: uint64(time.Now().Unix())}
		copy(r.PieceHash[:], f.sums[32*i:])
		sig, _ := receipt.Sign(f.d, r, honestKey)
		honestRecs = append(honestRecs, wire.SignedReceipt{Receipt: r, Signature: sig})
	}
	// The free-rider: a pbts client (it authenticates as itself) that keeps
	// its own receipts and hands over the honest agent's.
	rider := f.lateDownloader(t)
	rider.waitStalled(t)
	stalledAt := usefulBytes(rider.t)
	forged := honestRecs[11]
	forged.Receipt.PieceIndex = 11
	other, _ := crypto.GenerateKey()
	forged.Signature, _ = receipt.Sign(f.d, forged.Receipt, other) // claims to be the honest agent's
	_, refusedBefore := f.gate.stats()
	for _, pc := range rider.t.PeerConns() {
		if err := pc.WriteExtendedMessage(wire.ReceiptsExtension, wire.EncodeReceipts(append(honestRecs[:11:11], forged))); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, refused := f.gate.stats(); refused >= refusedBefore+12 {
			break
		}
	}
	time.Sleep(time.Second) // what the rider could get now, it would get within this
	f.gate.mu.Lock()
	refused, acct := f.gate.refused, f.gate.agents[honest]
	f.gate.mu.Unlock()
	if refused != refusedBefore+12 {
		t.Errorf("%d of 12 receipts of another agent refused", refused-refusedBefore)
	}
	if acct != nil && (acct.banned || len(acct.paid) > 0) {
		t.Errorf("the honest agent's account was touched: banned %v, %d pieces paid", acct.banned, len(acct.paid))
	}
	if n := usefulBytes(rider.t); n != stalledAt {
		t.Errorf("the free-rider got %d more bytes for another agent's receipts", n-stalledAt)
	}
	// Its own receipts are credited.
	rider.pay(t, f)
	if rider.bytesBeyond(stalledAt) <= stalledAt {
		t.Fatal("its own receipts did not reopen the connection")
	}
}

// A forged receipt of the authenticated agent's own closes its account.
func TestOwnForgedReceiptClosesTheAccount(t *testing.T) {
	g := newUploadGate(receipt.Domain{ChainID: 1, Tracker: common.Address{9}}, mustKey(t), 4)
	ih := [20]byte{7}
	g.torrents[ih] = &gateTorrent{pieceLen: 16384, total: 10 * 16384, sums: make([]byte, 32*10)}
	agentKey, other := mustKey(t), mustKey(t)
	agent := crypto.PubkeyToAddress(agentKey.PublicKey)
	c := &gatedConn{g: g, key: "192.0.2.1:6881", own: newAccount()}
	g.mu.Lock()
	c.acct = g.anonLocked(c.client)
	g.conns[c.key] = c
	g.bindLocked(c, agent)
	g.mu.Unlock()
	r := receipt.Receipt{InfoHash: receipt.InfoHashFromV1(ih), Sender: g.me, Receiver: agent, PieceSize: 16384, Timestamp: uint64(time.Now().Unix())}
	sig, _ := receipt.Sign(g.d, r, other)
	g.intakeReceipts(c, ih, []wire.SignedReceipt{{Receipt: r, Signature: sig}})
	if !g.agents[agent].banned {
		t.Fatal("a forged receipt of the agent's own left its account open")
	}
}

// Erasing shortfall with old receipts (issue 13, attack 5): a piece paid for
// and sent again counts as shortfall until a receipt signed after the
// re-send, and new to the gate, covers it; replaying the receipt that paid
// it first, or an old one, erases nothing.
func TestOldReceiptsEraseNoShortfall(t *testing.T) {
	g := newUploadGate(receipt.Domain{ChainID: 1, Tracker: common.Address{9}}, mustKey(t), 4)
	now := time.Unix(1_800_000_000, 0)
	g.now = func() time.Time { return now }
	ih := [20]byte{7}
	g.torrents[ih] = &gateTorrent{pieceLen: 16384, total: 10 * 16384, sums: make([]byte, 32*10)}
	agentKey := mustKey(t)
	agent := crypto.PubkeyToAddress(agentKey.PublicKey)
	acct := g.agentLocked(agent)
	ref := pieceRef{ih, 3}
	mk := func(ts time.Time) *wire.SignedReceipt {
		r := receipt.Receipt{InfoHash: receipt.InfoHashFromV1(ih), Sender: g.me, Receiver: agent, PieceIndex: 3, PieceSize: 16384, Timestamp: uint64(ts.Unix())}
		sig, _ := receipt.Sign(g.d, r, agentKey)
		return &wire.SignedReceipt{Receipt: r, Signature: sig}
	}
	acct.add(ref, 16384, now)
	first := mk(now)
	g.credit(agent, first)
	if acct.owed != 0 || acct.shortfall != 0 {
		t.Fatalf("after paying: owed %d shortfall %d", acct.owed, acct.shortfall)
	}
	now = now.Add(time.Hour)
	acct.add(ref, 16384, now) // downloaded again
	if acct.shortfall != 16384 {
		t.Fatalf("re-send: shortfall %d", acct.shortfall)
	}
	g.credit(agent, first) // the same receipt again
	g.credit(agent, mk(now.Add(-10*time.Minute)))
	if acct.shortfall != 16384 {
		t.Fatalf("old receipts erased shortfall: %d left", acct.shortfall)
	}
	g.credit(agent, mk(now))
	if acct.shortfall != 0 {
		t.Fatalf("a fresh receipt for the re-download did not cover it: shortfall %d", acct.shortfall)
	}
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
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
	g := newUploadGate(receipt.Domain{ChainID: 1, Tracker: common.Address{9}}, mustKey(t), window)
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
		c.acct.add(ref, 16384, now)
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
