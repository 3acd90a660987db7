package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	pp "github.com/anacrolix/torrent/peer_protocol"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent/wire"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
)

// The uploader's side of the withholding rule (DESIGN.md, step 5).
//
// Every peer connection of the BitTorrent client goes through a gatedConn,
// which reads the (plaintext: header obfuscation is off in a private swarm)
// messages the client writes and accounts each piece message's block to
// the party behind the connection, per piece. A block of a new piece waits
// while that party has window pieces unpaid (or owes window pieces' worth
// of bytes); blocks of pieces already started always go, so a downloader
// can finish the pieces it has and pay for them. A downloader that keeps
// its receipts therefore stalls after the window, whatever client it runs;
// reads are never blocked, so receipts that arrive late reopen the
// connection. Receipts handed to us are also submitted to the receipts
// service: keeping them from the service does not pay either.
//
// Who is behind a connection is proven, never assumed (issue 13, attack 5):
// peer ids are self-declared and receipts are public (ListReceipts,
// WatchReceipts), so neither can bind a connection to an agent. Over the
// pbts_auth BEP 10 extension the uploader sends a fresh random nonce and the
// downloader answers with its signature of the nonce, the info hash and
// both peer ids (receipt.PeerAuthDigest): checked once per connection, it
// binds the connection to that agent's account, so reconnecting does not
// buy a fresh window. Only receipts whose receiver is that agent are
// credited; a forged one (its signature fails) closes that agent's account
// for good. Until a connection is authenticated (and for stock clients,
// which never are) its bytes count against one account per client (an
// IPv4 address or an IPv6 /64), so reconnecting buys no fresh window either.
//
// A receipt may credit less than we sent of its piece (a block sent twice in
// endgame is useful once); such shortfall is forgiven up to 1/64 of what was
// sent, and owed beyond that. Blocks of a piece already paid for (a
// re-download) count as shortfall until a receipt signed after we re-sent
// them, and never seen before, covers them: an old receipt replayed erases
// nothing.

const (
	// The window, when not set: 16 MiB worth of pieces, 4 to 64 of them
	// (64 × 256 KiB, 16 × 1 MiB, 4 × 4 MiB): what the seeder counts as
	// sent includes what waits in its socket's send queue and on the
	// network, several MiB on a link of 200 Mbit/s and 40 ms (measured
	// there: receipts cost a transfer 11 to 88 % with 8 MiB, under 1 %
	// with 16 MiB). A downloader keeps three quarters of it wanted ahead
	// of what it has verified.
	windowBytes   = 16 << 20
	minWindow     = 4
	maxWindow     = 64
	receiptMaxAge = 30 * time.Minute
	inboundQueue  = 8192
	// maxQueuedReceipts bounds the receipts waiting to be taken in (12 MiB
	// of them); beyond it, handed receipts are refused (their downloaders
	// submit them to the service as well).
	maxQueuedReceipts = 1 << 16
	rejectRetry       = 100 * time.Millisecond
	unpaidExpiry      = 2 * time.Minute
	handshakeLen      = 68
	// earlyReceipts bounds the receipts a connection may hand over before
	// it has authenticated (they are credited once it has).
	earlyReceipts = 256
	// resendSkew is how much older than our re-send of a paid piece the
	// receipt covering it may be (the receiver's clock may lag ours).
	resendSkew = 30 * time.Second
)

// receiptWindow is the default window, in pieces, for a piece length.
func receiptWindow(pieceLen int64) int64 {
	return min(max(windowBytes/max(pieceLen, 1), minWindow), maxWindow)
}

// The window grows with what an agent has paid this seeder: to
// 1/windowGrowth of the bytes its receipts have credited here (each piece
// once), never below the base window and never above windowCapBytes worth of
// pieces (or the base, if that is larger). An honest downloader soon has a
// deep pipeline; one that stops paying takes at most the grown window, which
// is at most max(base, paid/windowGrowth) unpaid bytes, 64 MiB at most.
// Connections that have not proven their agent (stock clients) keep the
// base window: nothing they hand over is credited.
const (
	windowGrowth   = 8
	windowCapBytes = 64 << 20
)

// grownWindow is the window, in pieces, of an agent that has paid this
// seeder paid bytes, for a base window of base pieces.
func grownWindow(base, paid, pieceLen int64) int64 {
	pieceLen = max(pieceLen, 1)
	return min(max(base, paid/windowGrowth/pieceLen), max(base, windowCapBytes/pieceLen))
}

// gateTorrent is what the gate knows of a torrent it serves.
type gateTorrent struct {
	pieceLen int64
	total    int64
	sums     []byte // SHA-256 per piece
}

func (gt *gateTorrent) pieceLength(i uint32) int64 {
	n := int64(len(gt.sums) / 32)
	if int64(i) >= n {
		return 0
	}
	if int64(i) == n-1 {
		return gt.total - gt.pieceLen*(n-1)
	}
	return gt.pieceLen
}

type pieceRef struct {
	ih  [20]byte
	idx uint32
}

// account is what one agent (or one connection, until its agent is known)
// has been sent and has paid for.
type account struct {
	sent      int64
	paidBytes int64              // credited by receipts, each piece once: what grows the window
	owed      int64              // sent, in pieces no receipt has settled yet
	shortfall int64              // settled pieces' bytes sent beyond what their receipts credit
	open      map[pieceRef]int64 // unsettled pieces: bytes sent
	openedAt  map[pieceRef]time.Time
	paid      pieceSet            // settled pieces: blocks sent again count as shortfall
	resent    map[pieceRef]resend // paid pieces sent again, not yet covered
	verified  bool                // a receipt of this agent's has passed the signature check
	banned    bool                // it handed us a forged receipt: nothing more is sent
}

// resend is what of a paid piece was sent again, and since when.
type resend struct {
	bytes int64
	since time.Time
}

func newAccount() *account {
	return &account{open: make(map[pieceRef]int64), openedAt: make(map[pieceRef]time.Time), paid: make(pieceSet),
		resent: make(map[pieceRef]resend)}
}

// add accounts a block admitted for sending at now.
func (a *account) add(ref pieceRef, block int64, now time.Time) {
	a.sent += block
	if a.paid.has(ref) {
		a.shortfall += block
		r := a.resent[ref]
		if r.bytes == 0 {
			r.since = now
		}
		r.bytes += block
		a.resent[ref] = r
		return
	}
	a.owed += block
	if _, ok := a.open[ref]; !ok {
		a.openedAt[ref] = now
	}
	a.open[ref] += block
}

// settle removes ref from the unpaid pieces; it reports the bytes sent of it.
func (a *account) settle(ref pieceRef) (int64, bool) {
	sent, ok := a.open[ref]
	if ok {
		delete(a.open, ref)
		delete(a.openedAt, ref)
		a.owed -= sent
	}
	return sent, ok
}

// expire turns pieces unpaid for longer than unpaidExpiry into shortfall:
// a receipt lost on the way must not hold a slot of the window forever,
// and the bytes still count against the agent beyond the 1/64 allowance.
func (a *account) expire(now time.Time) {
	for ref, at := range a.openedAt {
		if now.Sub(at) > unpaidExpiry {
			sent, _ := a.settle(ref)
			a.shortfall += sent
		}
	}
	// A re-send no receipt can cover any more (one signed after it would
	// be older than receiptMaxAge) stays shortfall and is forgotten.
	for ref, r := range a.resent {
		if now.Sub(r.since) > receiptMaxAge+resendSkew {
			delete(a.resent, ref)
		}
	}
}

func (a *account) merge(b *account) {
	a.sent += b.sent
	a.paidBytes += b.paidBytes
	a.owed += b.owed
	a.banned = a.banned || b.banned
	a.shortfall += b.shortfall
	for k, v := range b.open {
		if _, ok := a.open[k]; !ok {
			a.openedAt[k] = b.openedAt[k]
		}
		a.open[k] += v
	}
	a.paid.union(b.paid)
}

// subtract takes b's sends (a part of a's) out of a: a connection that
// authenticates takes what it was sent out of its client's anonymous account.
func (a *account) subtract(b *account) {
	a.sent -= b.sent
	a.owed -= b.owed
	a.shortfall = max(0, a.shortfall-b.shortfall)
	for k, v := range b.open {
		if a.open[k] -= v; a.open[k] <= 0 {
			delete(a.open, k)
			delete(a.openedAt, k)
		}
	}
}

// idle reports an account that holds nothing against anybody.
func (a *account) idle() bool { return a.debt() == 0 && len(a.open) == 0 && !a.banned }

// debt is what counts against the window.
func (a *account) debt() int64 {
	return a.owed + max(0, a.shortfall-a.sent/64)
}

// uploadGate enforces the window on every connection of one client.
type uploadGate struct {
	window int64 // pieces; 0: receiptWindow of each torrent's piece length
	d      receipt.Domain
	key    *ecdsa.PrivateKey // answers the challenges of the peers we download from
	me     common.Address
	// forward receives every receipt the gate credited (for the receipts service).
	forward func(wire.SignedReceipt)
	now     func() time.Time
	peerID  [20]byte // our client's

	ltep *torrent.LocalLtepProtocolMap

	mu        sync.Mutex
	cond      *sync.Cond
	conns     map[string]*gatedConn // by remote address
	agents    map[common.Address]*account
	anon      map[netip.Addr]*account // unauthenticated connections, per client (server.ClientKey)
	torrents  map[[20]byte]*gateTorrent
	stalls    int
	refused   int
	handed    int // receipts credited (each once)
	handedAll int // distinct receipts credited (a re-download's too)
	authed    int // connections authenticated
	orphaned  int // receipts that arrived over a connection closed meanwhile
	// seen holds the digests (their first 8 bytes) of the receipts handed
	// over, with their timestamps, so that a replay covers no re-send;
	// receipts older than receiptMaxAge are refused anyway, so their
	// digests are dropped (see forgetOldLocked).
	seen     map[uint64]uint64
	seenAdds int // since the last forgetOldLocked
	queued   int // receipts in g.in
	in       chan inboundReceipts
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	drains   int // connections closing (see gatedConn.Close)
}

type inboundReceipts struct {
	remote string
	// conn is the connection they came over, looked up when they were read:
	// it may close before they are taken in, and who handed them over
	// must still be known then.
	conn *gatedConn
	ih   [20]byte
	recs []wire.SignedReceipt
	// auth, instead of receipts: a peer's answer to our challenge.
	auth *authAnswer
}

// authAnswer is a peer's answer to our challenge, with what it answered on.
type authAnswer struct {
	nonce  [16]byte
	sig    receipt.Signature
	peerID [20]byte // the answering peer's
	ih     [20]byte
}

func newUploadGate(d receipt.Domain, key *ecdsa.PrivateKey, window int64) *uploadGate {
	window = max(window, 0)
	g := &uploadGate{
		window: window, d: d, key: key, me: crypto.PubkeyToAddress(key.PublicKey), now: time.Now,
		conns: make(map[string]*gatedConn), agents: make(map[common.Address]*account), anon: make(map[netip.Addr]*account),
		torrents: make(map[[20]byte]*gateTorrent), seen: make(map[uint64]uint64),
		in: make(chan inboundReceipts, inboundQueue),
	}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// serve registers a torrent with its published piece SHA-256s.
func (g *uploadGate) serve(ih [20]byte, info *metainfo.Info, sums []byte) {
	g.mu.Lock()
	g.torrents[ih] = &gateTorrent{pieceLen: info.PieceLength, total: info.TotalLength(), sums: sums}
	g.mu.Unlock()
}

// stats reports how many requests were refused for missing receipts and
// how many handed receipts were refused.
func (g *uploadGate) stats() (stalls, refused int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stalls, g.refused
}

// unpaid is how many pieces sent are still waiting for their receipt.
func (g *uploadGate) unpaid() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, a := range g.agents {
		n += len(a.open)
	}
	return n
}

// handedCount is how many receipts handed to us were credited (each
// piece's once), and how many distinct ones in all.
func (g *uploadGate) handedCount() int {
	n, _ := g.handedCounts()
	return n
}

func (g *uploadGate) handedCounts() (perPiece, all int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.handed, g.handedAll
}

// install wires the gate into a client config: plaintext connections only
// (the gate reads what is written), its own TCP listener and dialer (so
// every connection is gated), and the callbacks that advertise the
// extension and take receipts in.
func (g *uploadGate) install(cfg *torrent.ClientConfig) {
	cfg.DisableTCP = true
	cfg.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{Preferred: false, RequirePreferred: true}
	cfg.Callbacks.PeerConnAdded = append(cfg.Callbacks.PeerConnAdded, g.onPeerConnAdded)
	cfg.Callbacks.PeerConnReadExtensionMessage = append(cfg.Callbacks.PeerConnReadExtensionMessage, g.onExtension)
	prev := cfg.Callbacks.ReadExtendedHandshake
	cfg.Callbacks.ReadExtendedHandshake = func(pc *torrent.PeerConn, m *pp.ExtendedHandshakeMessage) {
		if prev != nil {
			prev(pc, m)
		}
		g.onExtendedHandshake(pc, m)
	}
}

// start listens on addr and attaches listener and dialer to cl.
func (g *uploadGate) start(cl *torrent.Client, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.peerID = [20]byte(cl.PeerID())
	cl.AddListener(&gatedListener{Listener: l, g: g})
	cl.AddDialer(gatedDialer{g: g})
	g.wg.Add(1)
	go g.intake()
	context.AfterFunc(g.ctx, func() { l.Close() })
	return nil
}

func (g *uploadGate) stop() {
	if g.cancel == nil {
		return
	}
	g.cancel()
	g.wg.Wait()
	// The client closes its connections asynchronously: wait (bounded) for
	// them to close and drain, so that what we wrote last is delivered
	// before this process may exit; then close what is left.
	deadline := time.Now().Add(closeDrain + time.Second)
	for {
		g.mu.Lock()
		busy := len(g.conns) > 0 || g.drains > 0
		if !busy || time.Now().After(deadline) {
			for _, c := range g.conns {
				c.closed = true
				c.Conn.Close()
			}
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
}

func (g *uploadGate) track(c net.Conn) net.Conn {
	gc := &gatedConn{Conn: c, g: g, key: c.RemoteAddr().String(), own: newAccount(), hsLeft: handshakeLen}
	if ap, err := netip.ParseAddrPort(gc.key); err == nil {
		gc.client = server.ClientKey(ap.Addr())
	}
	g.mu.Lock()
	gc.acct = g.anonLocked(gc.client)
	g.conns[gc.key] = gc
	g.mu.Unlock()
	return gc
}

// anonLocked is the account of client's unauthenticated connections.
func (g *uploadGate) anonLocked(client netip.Addr) *account {
	a := g.anon[client]
	if a == nil {
		a = newAccount()
		g.anon[client] = a
	}
	return a
}

func (g *uploadGate) onPeerConnAdded(pc *torrent.PeerConn) {
	g.mu.Lock()
	if g.ltep == nil {
		m := *pc.LocalLtepProtocolMap
		m.Index = append([]pp.ExtensionName(nil), m.Index...)
		m.AddUserProtocol(wire.ReceiptsExtension)
		m.AddUserProtocol(wire.AuthExtension)
		g.ltep = &m
	}
	pc.LocalLtepProtocolMap = g.ltep
	g.mu.Unlock()
}

// onExtendedHandshake challenges a peer that speaks pbts_auth to prove
// which agent it is (once per connection). It runs under the client's lock:
// the challenge is written from a goroutine.
func (g *uploadGate) onExtendedHandshake(pc *torrent.PeerConn, m *pp.ExtendedHandshakeMessage) {
	if g.ctx == nil || pc.RemoteAddr == nil || m == nil {
		return
	}
	key := pc.RemoteAddr.String()
	g.mu.Lock()
	if c := g.conns[key]; c != nil {
		c.receiptsExt = m.M[wire.ReceiptsExtension]
	}
	g.mu.Unlock()
	if _, ok := m.M[wire.AuthExtension]; !ok {
		return // a stock client: it stays on its client's anonymous account
	}
	g.mu.Lock()
	c := g.conns[key]
	if c == nil || c.challenged {
		g.mu.Unlock()
		return
	}
	c.challenged = true
	if _, err := rand.Read(c.nonce[:]); err != nil {
		g.mu.Unlock()
		return
	}
	msg := wire.EncodeChallenge(c.nonce)
	g.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		_ = pc.WriteExtendedMessage(wire.AuthExtension, msg)
	}()
}

// answer signs a peer's challenge with our key and sends the answer.
func (g *uploadGate) answer(pc *torrent.PeerConn, ih [20]byte, nonce [16]byte) {
	sig, err := receipt.SignPeerAuth(g.d, ih, [20]byte(pc.PeerID), g.peerID, nonce, g.key)
	if err != nil {
		return
	}
	msg := wire.EncodeAnswer(nonce, sig)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		_ = pc.WriteExtendedMessage(wire.AuthExtension, msg)
	}()
}

// connOf is the gated connection under pc (nil if it is not ours).
func (g *uploadGate) connOf(pc *torrent.PeerConn) *gatedConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[pc.RemoteAddr.String()]
}

// authenticate checks a peer's answer to our challenge on its connection
// and binds the connection to the agent that signed it (even if the
// connection has closed since: receipts it handed over before closing are
// queued behind the answer and must be credited to that agent).
func (g *uploadGate) authenticate(c *gatedConn, a *authAnswer) {
	g.mu.Lock()
	if c == nil || !c.challenged || c.hasAgent || a.nonce != c.nonce {
		g.mu.Unlock()
		return
	}
	ih, nonce := a.ih, c.nonce
	g.mu.Unlock()
	agent, err := receipt.RecoverPeerAuth(g.d, ih, g.peerID, a.peerID, nonce, a.sig[:])
	if err != nil {
		return
	}
	g.mu.Lock()
	if c.hasAgent {
		g.mu.Unlock()
		return
	}
	g.bindLocked(c, agent)
	g.authed++
	early := c.early
	c.early = nil
	g.mu.Unlock()
	if len(early) > 0 {
		g.intakeReceipts(c, ih, early)
	}
}

// onExtension runs with the client's locks possibly held: it only decodes
// the payload and queues it.
func (g *uploadGate) onExtension(ev torrent.PeerConnReadExtensionMessageEvent) {
	if ev.PeerConn.LocalLtepProtocolMap == nil || ev.PeerConn.RemoteAddr == nil {
		return
	}
	name, builtin, err := ev.PeerConn.LocalLtepProtocolMap.LookupId(ev.ExtensionNumber)
	if err != nil || builtin {
		return
	}
	t := ev.PeerConn.Torrent()
	if name == wire.AuthExtension {
		if t == nil {
			return
		}
		switch kind, nonce, sig, err := wire.DecodeAuth(ev.Payload); {
		case err != nil:
		case kind == wire.AuthChallenge:
			g.answer(ev.PeerConn, [20]byte(t.InfoHash()), nonce)
		default:
			select {
			case g.in <- inboundReceipts{remote: ev.PeerConn.RemoteAddr.String(), conn: g.connOf(ev.PeerConn), auth: &authAnswer{nonce: nonce, sig: sig, peerID: [20]byte(ev.PeerConn.PeerID), ih: [20]byte(t.InfoHash())}}:
			default:
			}
		}
		return
	}
	if name != wire.ReceiptsExtension {
		return
	}
	recs, err := wire.DecodeReceipts(ev.Payload)
	if err != nil || t == nil {
		g.mu.Lock()
		g.refused++
		g.mu.Unlock()
		return
	}
	g.mu.Lock()
	full := g.queued+len(recs) > maxQueuedReceipts
	if full {
		g.refused += len(recs)
	} else {
		g.queued += len(recs)
	}
	g.mu.Unlock()
	if full {
		return
	}
	select {
	case g.in <- inboundReceipts{remote: ev.PeerConn.RemoteAddr.String(), conn: g.connOf(ev.PeerConn), ih: [20]byte(t.InfoHash()), recs: recs}:
	default:
		// Full: the downloader submits them to the service too, but these
		// pieces stay unpaid here. Counted as refused.
		g.mu.Lock()
		g.refused += len(recs)
		g.queued -= len(recs)
		g.mu.Unlock()
	}
}

func (g *uploadGate) intake() {
	defer g.wg.Done()
	for {
		select {
		case <-g.ctx.Done():
			return
		case in := <-g.in:
			if in.auth != nil {
				g.authenticate(in.conn, in.auth)
				continue
			}
			g.intakeReceipts(in.conn, in.ih, in.recs)
			g.mu.Lock()
			g.queued -= len(in.recs)
			g.mu.Unlock()
		}
	}
}

// intakeReceipts checks and credits receipts handed over remote's
// connection: only receipts whose receiver is the agent authenticated on it
// count. Before the connection has authenticated, they wait (bounded).
func (g *uploadGate) intakeReceipts(c *gatedConn, ih [20]byte, recs []wire.SignedReceipt) {
	g.mu.Lock()
	if c == nil {
		// Not a connection of ours: who handed them over is not known
		// (the receipts service still hears from the receiver).
		g.orphaned += len(recs)
		g.mu.Unlock()
		return
	}
	if !c.hasAgent {
		n := min(len(recs), max(0, earlyReceipts-len(c.early)))
		c.early = append(c.early, recs[:n]...)
		g.refused += len(recs) - n
		g.mu.Unlock()
		return
	}
	agent := c.agent
	g.mu.Unlock()
	for i := range recs {
		sr := &recs[i]
		ok := sr.Receipt.Receiver == agent && g.check(ih, sr)
		if ok && g.needSignatureCheck(agent) {
			if ok = receipt.Verify(g.d, sr.Receipt, sr.Signature[:]) == nil; ok {
				g.mu.Lock()
				g.agentLocked(agent).verified = true
				g.mu.Unlock()
			} else {
				g.ban(agent) // its own receipt, forged: it gets nothing more
			}
		}
		if ok {
			g.credit(agent, sr)
		} else {
			g.mu.Lock()
			g.refused++
			g.mu.Unlock()
		}
	}
}

// verifyOneIn: once an agent's connection has handed us one receipt whose
// signature checked out, one in this many of its receipts is checked again
// (at random). The receipts service checks every one before anything is
// credited; the gate only decides whom to serve, and a forged receipt found
// closes the agent's account for good, so forging buys at most a few
// pieces more than the window. It halves the CPU a download costs the two
// ends (one signature instead of two per piece, mostly).
const verifyOneIn = 8

// needSignatureCheck tells whether a receipt of agent's (handed over its
// authenticated connection) must have its signature checked now.
func (g *uploadGate) needSignatureCheck(agent common.Address) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	acct := g.agents[agent]
	if acct == nil || !acct.verified {
		return true
	}
	return mrand.IntN(verifyOneIn) == 0
}

// ban closes the account of an agent that handed us a forged receipt of
// its own.
func (g *uploadGate) ban(agent common.Address) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.agentLocked(agent).banned = true
}

// check verifies what a handed receipt says against what we serve (not
// its signature: see needSignatureCheck).
func (g *uploadGate) check(ih [20]byte, sr *wire.SignedReceipt) bool {
	r := &sr.Receipt
	if r.Sender != g.me || r.InfoHash != receipt.InfoHashFromV1(ih) {
		return false
	}
	g.mu.Lock()
	gt := g.torrents[ih]
	g.mu.Unlock()
	if gt == nil {
		return false
	}
	plen := gt.pieceLength(r.PieceIndex)
	if plen == 0 || r.PieceSize == 0 || int64(r.PieceSize) > plen || string(r.PieceHash[:]) != string(gt.sums[32*r.PieceIndex:32*r.PieceIndex+32]) {
		return false
	}
	return receipt.CheckTimestamp(r.Timestamp, g.now(), receiptMaxAge) == nil
}

// credit settles the receipt's piece on agent's account (the receipt's
// receiver, authenticated on the connection it came over) and forwards it.
// A receipt for a piece already paid covers what we re-sent of it only if
// it is new to us and signed after we re-sent (an old one replayed covers
// nothing).
func (g *uploadGate) credit(agent common.Address, sr *wire.SignedReceipt) {
	g.mu.Lock()
	d := receipt.Digest(g.d, sr.Receipt)
	digest := binary.BigEndian.Uint64(d[:8])
	acct := g.agentLocked(agent)
	ref := pieceRef{[20]byte(sr.Receipt.InfoHash[:20]), sr.Receipt.PieceIndex}
	// The receipt's sender is us (check), so its key is (agent, piece):
	// credited before exactly when the piece is paid on agent's account.
	again := acct.paid.has(ref)
	if !again {
		g.handed++
		acct.paidBytes += int64(sr.Receipt.PieceSize)
	}
	_, seen := g.seen[digest]
	newDigest := !seen
	if newDigest {
		g.handedAll++
		g.seen[digest] = sr.Receipt.Timestamp
		g.forgetOldLocked()
	}
	acct.paid.add(ref)
	if sent, ok := acct.settle(ref); ok {
		acct.shortfall += max(0, sent-int64(sr.Receipt.PieceSize))
	} else if r, ok := acct.resent[ref]; ok && newDigest &&
		time.Unix(int64(sr.Receipt.Timestamp), 0).Add(resendSkew).After(r.since) {
		// The agent downloaded the piece again and signed for it after we
		// re-sent it: the service will not count it twice, and the gate
		// forgives the re-send.
		acct.shortfall = max(0, acct.shortfall-min(r.bytes, int64(sr.Receipt.PieceSize)))
		delete(acct.resent, ref)
	}
	g.reopenLocked(acct)
	g.mu.Unlock()
	if g.forward != nil && !again {
		g.forward(*sr)
	}
}

// forgetOldLocked drops, every 4096 new digests, those of receipts older
// than receiptMaxAge (and resendSkew): check refuses such receipts, so
// remembering them guards nothing.
func (g *uploadGate) forgetOldLocked() {
	if g.seenAdds++; g.seenAdds < 4096 {
		return
	}
	g.seenAdds = 0
	cut := uint64(max(0, g.now().Add(-receiptMaxAge-resendSkew).Unix()))
	for k, ts := range g.seen {
		if ts < cut {
			delete(g.seen, k)
		}
	}
}

// pieceSet is a set of pieces, a bitset per torrent: an agent that paid
// for every piece of a 1 TiB dataset of 256 KiB pieces costs 512 KiB.
type pieceSet map[[20]byte][]uint64

func (s pieceSet) has(r pieceRef) bool {
	b := s[r.ih]
	return int(r.idx/64) < len(b) && b[r.idx/64]&(1<<(r.idx%64)) != 0
}

func (s pieceSet) add(r pieceRef) {
	b := s[r.ih]
	if w := int(r.idx / 64); w >= len(b) {
		b = append(b, make([]uint64, w+1-len(b))...)
	}
	b[r.idx/64] |= 1 << (r.idx % 64)
	s[r.ih] = b
}

func (s pieceSet) union(o pieceSet) {
	for ih, ob := range o {
		b := s[ih]
		if len(ob) > len(b) {
			b = append(b, make([]uint64, len(ob)-len(b))...)
		}
		for i, w := range ob {
			b[i] |= w
		}
		s[ih] = b
	}
}

// reopenLocked invites the connections of acct that were refused to ask
// again at once (its receipts have freed room in the window).
func (g *uploadGate) reopenLocked(acct *account) {
	for _, c := range g.conns {
		if c.acct == acct && c.rejected {
			c.scheduleUnchokeLocked(0)
		}
	}
	g.cond.Broadcast()
}

// settleFromService settles a piece on the word of the receipts service (a
// receipt it accepted naming us as sender): a receipt handed over BEP 10 can
// be lost with its connection, and the service hears from the downloader
// directly. It never binds connections or forgives shortfall.
func (g *uploadGate) settleFromService(r *receipt.Receipt) {
	g.mu.Lock()
	defer g.mu.Unlock()
	acct := g.agents[r.Receiver]
	if acct == nil || r.Sender != g.me {
		return
	}
	ref := pieceRef{[20]byte(r.InfoHash[:20]), r.PieceIndex}
	if !acct.paid.has(ref) {
		acct.paidBytes += int64(r.PieceSize)
	}
	acct.paid.add(ref)
	sent, ok := acct.settle(ref)
	if !ok {
		return
	}
	acct.shortfall += max(0, sent-int64(r.PieceSize))
	g.reopenLocked(acct)
}

// watchService feeds settleFromService from the receipts service's stream
// of accepted receipts naming us as sender, reconnecting until ctx ends.
func (g *uploadGate) watchService(ctx context.Context, c pbtsv1.ReceiptServiceClient) {
	for ctx.Err() == nil {
		stream, err := c.WatchReceipts(ctx, &pbtsv1.WatchReceiptsRequest{Sender: g.me.Hex()})
		if err == nil {
			for {
				resp, err := stream.Recv()
				if err != nil {
					break
				}
				if r, ok := receiptFromProto(resp.GetRecord().GetReceipt()); ok {
					g.settleFromService(&r)
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// receiptFromProto parses the fields the gate needs.
func receiptFromProto(p *pbtsv1.Receipt) (receipt.Receipt, bool) {
	var r receipt.Receipt
	var err error
	if r.Sender, err = receipt.ParseAddress(p.GetSender()); err != nil {
		return r, false
	}
	if r.Receiver, err = receipt.ParseAddress(p.GetReceiver()); err != nil {
		return r, false
	}
	if r.InfoHash, err = receipt.ParseBytes32(p.GetInfoHash()); err != nil {
		return r, false
	}
	r.PieceIndex, r.PieceSize = p.GetPieceIndex(), p.GetPieceSize()
	return r, true
}

func (g *uploadGate) agentLocked(a common.Address) *account {
	acct := g.agents[a]
	if acct == nil {
		acct = newAccount()
		g.agents[a] = acct
	}
	return acct
}

// bindLocked moves an authenticated connection from its client's anonymous
// account to its agent's, with what it was sent meanwhile.
func (g *uploadGate) bindLocked(c *gatedConn, a common.Address) {
	acct := g.agentLocked(a)
	c.acct.subtract(c.own)
	acct.merge(c.own)
	c.acct, c.own, c.agent, c.hasAgent = acct, nil, a, true
	g.cond.Broadcast()
}

// admitLocked reports whether a block of piece ref may be sent now: blocks
// of a piece already started always (finishing it is how it gets paid for),
// a block of a new piece only while fewer than window pieces are unpaid and
// the debt stays within window pieces' worth.
func (g *uploadGate) admitLocked(c *gatedConn, ref pieceRef, n int64) bool {
	if c.closed {
		return true
	}
	if c.acct.banned {
		return false
	}
	gt := g.torrents[ref.ih]
	if gt == nil {
		return true // not ours to account (no published hashes)
	}
	if _, started := c.acct.open[ref]; started {
		return true
	}
	c.acct.expire(g.now())
	w := g.window
	if w == 0 {
		w = receiptWindow(gt.pieceLen)
	}
	w = grownWindow(w, c.acct.paidBytes, gt.pieceLen)
	return int64(len(c.acct.open)) < w && c.acct.debt()+n <= w*gt.pieceLen
}

// gatedConn is a peer connection whose piece messages are turned into
// rejects (BEP 6) while its agent owes receipts beyond the window; the
// downloader asks again, and is served once receipts have caught up.
type gatedConn struct {
	net.Conn
	g   *uploadGate
	key string

	client     netip.Addr // server.ClientKey of the remote address
	agent      common.Address
	hasAgent   bool
	acct       *account // its agent's once authenticated; its client's anonymous one before
	own        *account // what it was sent before authenticating (nil after)
	closed     bool
	challenged bool // we sent it a nonce
	// receiptsExt is the peer's id for pbts_receipts (0: it does not take
	// receipts), from its extended handshake.
	receiptsExt pp.ExtensionNumber
	nonce       [16]byte // the nonce it must sign
	early       []wire.SignedReceipt

	// wmu serialises writes: the client's, and the unchokes the gate adds.
	// The stream is always at a message boundary between writes.
	wmu      sync.Mutex
	ih       [20]byte
	hsLeft   int
	pend     []byte // an incomplete message, completed by the next write
	unchoker *time.Timer
	rejected bool // guarded by g.mu: rejects sent since the last unchoke
}

// unchokeMsg invites the peer to request again: a client that was sent
// rejects does not ask for more until it is unchoked, and an unchoke counts
// only after a choke (with the fast extension a choke keeps its requests).
var unchokeMsg = []byte{0, 0, 0, 1, byte(pp.Choke), 0, 0, 0, 1, byte(pp.Unchoke)}

// scheduleUnchoke sends an unchoke after d (once per pending schedule).
// Called with g.mu held.
func (c *gatedConn) scheduleUnchokeLocked(d time.Duration) {
	if c.unchoker != nil {
		if d > 0 {
			return
		}
		c.unchoker.Stop()
	}
	c.unchoker = time.AfterFunc(d, c.sendUnchoke)
}

func (c *gatedConn) sendUnchoke() {
	g := c.g
	g.mu.Lock()
	c.unchoker = nil
	send := c.rejected && !c.closed
	c.rejected = false
	g.mu.Unlock()
	if !send {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.hsLeft == 0 {
		c.Conn.Write(unchokeMsg)
	}
}

// Write passes p through message by message, replacing piece messages the
// window does not admit with rejects. It accepts all of p or fails.
func (c *gatedConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := p
	if len(c.pend) > 0 {
		b = append(c.pend, p...)
		c.pend = nil
	}
	i := 0
	if c.hsLeft > 0 {
		n := min(c.hsLeft, len(b))
		for j := 0; j < n; j++ {
			if at := handshakeLen - c.hsLeft + j; at >= 28 && at < 48 {
				c.ih[at-28] = b[j]
			}
		}
		c.hsLeft -= n
		i = n
	}
	g := c.g
	var out []byte // nil while b[:i] goes out unchanged
	g.mu.Lock()
	for i < len(b) {
		if len(b)-i < 4 {
			break
		}
		length := int(binary.BigEndian.Uint32(b[i:]))
		if len(b)-i < 4+length {
			break
		}
		msg := b[i : i+4+length]
		if length >= 9 && msg[4] == byte(pp.Piece) {
			ref, block := pieceRef{c.ih, binary.BigEndian.Uint32(msg[5:9])}, int64(length-9)
			if !g.admitLocked(c, ref, block) {
				if out == nil {
					out = append(make([]byte, 0, len(b)), b[:i]...)
				}
				out = append(out, 0, 0, 0, 13, byte(pp.Reject))
				out = append(out, msg[5:13]...) // index, begin
				out = binary.BigEndian.AppendUint32(out, uint32(block))
				g.stalls++
				c.rejected = true
				// Let it ask again shortly: it may want blocks of the pieces
				// it has started; receipts arriving unchoke it at once.
				c.scheduleUnchokeLocked(rejectRetry)
				i += len(msg)
				continue
			}
			now := g.now()
			c.acct.add(ref, block, now)
			if c.own != nil {
				c.own.add(ref, block, now)
			}
		}
		if out != nil {
			out = append(out, msg...)
		}
		i += len(msg)
	}
	closed := c.closed
	g.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	if i < len(b) {
		c.pend = append([]byte(nil), b[i:]...)
	}
	if out == nil {
		out = b[:i]
	}
	if len(out) > 0 {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// handOver writes a pbts_receipts message with payload to the peer at
// remote, straight to its socket (between two of the client's writes, which
// always end on a message boundary), and reports whether it was written.
// Written this way, a receipt handed over is in the kernel's send queue
// when handOver returns; the client's own write buffer would drop it if the
// connection closed first (the end of a download closes them all).
func (g *uploadGate) handOver(remote string, payload []byte) bool {
	g.mu.Lock()
	c := g.conns[remote]
	ok := c != nil && !c.closed && c.receiptsExt != 0
	var id pp.ExtensionNumber
	if ok {
		id = c.receiptsExt
	}
	g.mu.Unlock()
	if !ok {
		return false
	}
	msg := make([]byte, 0, 6+len(payload))
	msg = binary.BigEndian.AppendUint32(msg, uint32(2+len(payload)))
	msg = append(msg, byte(pp.Extended), byte(id))
	msg = append(msg, payload...)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.hsLeft > 0 {
		return false
	}
	_, err := c.Conn.Write(msg)
	return err == nil
}

// closeDrain bounds how long a closed connection keeps reading (and
// discarding) what the peer still sends, so that the kernel delivers what
// we wrote last instead of resetting the connection.
const closeDrain = 3 * time.Second

// Close ends the connection gracefully: our side's FIN goes after what we
// wrote (the last receipts), and what the peer still sends is read and
// discarded until it closes too (or closeDrain passes). A socket closed
// with unread data in its receive queue is reset at once, and a reset
// throws away the send queue: the receipts of the last pieces died that way.
func (c *gatedConn) Close() error {
	g := c.g
	g.mu.Lock()
	already := c.closed
	c.closed = true
	if g.conns[c.key] == c {
		delete(g.conns, c.key)
	}
	if a := g.anon[c.client]; a != nil && a.idle() && !g.anonInUseLocked(c.client) {
		delete(g.anon, c.client)
	}
	tc, ok := c.Conn.(*net.TCPConn)
	graceful := !already && ok && tc.CloseWrite() == nil
	if graceful {
		g.drains++
	}
	g.cond.Broadcast()
	g.mu.Unlock()
	if !graceful {
		return c.Conn.Close()
	}
	tc.SetReadDeadline(time.Now().Add(closeDrain))
	go func() {
		io.Copy(io.Discard, tc)
		tc.Close()
		g.mu.Lock()
		g.drains--
		g.mu.Unlock()
	}()
	return nil
}

// anonInUseLocked reports whether an unauthenticated connection of client
// is open.
func (g *uploadGate) anonInUseLocked(client netip.Addr) bool {
	for _, c := range g.conns {
		if c.client == client && !c.hasAgent {
			return true
		}
	}
	return false
}

type gatedListener struct {
	net.Listener
	g *uploadGate
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.g.track(c), nil
}

type gatedDialer struct{ g *uploadGate }

func (d gatedDialer) DialerNetwork() string { return "tcp" }

func (d gatedDialer) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return d.g.track(c), nil
}
