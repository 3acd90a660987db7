package agent

import (
	"bytes"
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	pp "github.com/anacrolix/torrent/peer_protocol"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/agent/wire"
	"github.com/pbts/pbts/receipt"
)

// memConn is a net.Conn that keeps what is written to it.
type memConn struct {
	net.Conn // nil: only Write, RemoteAddr and Close are used
	mu       sync.Mutex
	out      bytes.Buffer
}

func (m *memConn) Write(b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Write(b)
}

func (m *memConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 6881} }
func (m *memConn) Close() error         { return nil }

// messages splits what was written after the handshake into the ids of
// the messages that name a piece, with the piece index.
func (m *memConn) messages(t *testing.T) (kinds []pp.MessageType, pieces []uint32) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.out.Bytes()[handshakeLen:]
	for len(b) > 0 {
		n := int(binary.BigEndian.Uint32(b))
		msg := b[4 : 4+n]
		b = b[4+n:]
		if n < 5 {
			continue // choke, unchoke: the gate's invitations to ask again
		}
		kinds = append(kinds, pp.MessageType(msg[0]))
		pieces = append(pieces, binary.BigEndian.Uint32(msg[1:5]))
	}
	return kinds, pieces
}

func pieceMsg(idx uint32, block int) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(9+block))
	b = append(b, byte(pp.Piece))
	b = binary.BigEndian.AppendUint32(b, idx)
	b = binary.BigEndian.AppendUint32(b, 0)
	return append(b, make([]byte, block)...)
}

// The window's accounting, without sockets: what the client writes passes
// through the gated connection; pieces beyond the window turn into
// rejects, blocks of started pieces still go, and the agent's receipt
// (handed over its authenticated connection) makes room again.
func TestWindowTurnsNewPiecesIntoRejectsUntilPaid(t *testing.T) {
	const (
		pieceLen = 16384
		window   = 2
	)
	g := newUploadGate(receipt.Domain{ChainID: 1, Tracker: common.Address{9}}, mustKey(t), window)
	now := time.Unix(1_800_000_000, 0)
	g.now = func() time.Time { return now }
	ih := [20]byte{7}
	sums := make([]byte, 32*10)
	for i := range sums {
		sums[i] = byte(i)
	}
	g.torrents[ih] = &gateTorrent{pieceLen: pieceLen, total: 10 * pieceLen, sums: sums}
	mc := &memConn{}
	c := g.track(mc).(*gatedConn)
	defer c.Close()
	agentKey := mustKey(t)
	agent := crypto.PubkeyToAddress(agentKey.PublicKey)
	g.mu.Lock()
	g.bindLocked(c, agent) // as pbts_auth would
	g.mu.Unlock()

	hs := make([]byte, handshakeLen)
	copy(hs[28:48], ih[:])
	half := pieceLen / 2
	var stream []byte
	stream = append(stream, hs...)
	stream = append(stream, pieceMsg(0, half)...)
	stream = append(stream, pieceMsg(1, half)...)
	stream = append(stream, pieceMsg(2, half)...) // a third piece: over the window
	stream = append(stream, pieceMsg(0, half)...) // the rest of a started piece
	// Written in two parts split inside a message, as a client may.
	if _, err := c.Write(stream[:len(stream)-100]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(stream[len(stream)-100:]); err != nil {
		t.Fatal(err)
	}
	kinds, pieces := mc.messages(t)
	want := []pp.MessageType{pp.Piece, pp.Piece, pp.Reject, pp.Piece}
	if len(kinds) != len(want) {
		t.Fatalf("messages %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("message %d: %v of piece %d, want %v", i, kinds[i], pieces[i], want[i])
		}
	}
	g.mu.Lock()
	acct := g.agents[agent]
	sent, owed, open, stalls := acct.sent, acct.owed, len(acct.open), g.stalls
	g.mu.Unlock()
	if sent != 3*int64(half) || owed != sent || open != 2 || stalls != 1 {
		t.Fatalf("account: sent %d owed %d open %d, stalls %d", sent, owed, open, stalls)
	}

	// The agent pays for piece 0 (a whole piece): piece 2 goes now.
	r := receipt.Receipt{InfoHash: receipt.InfoHashFromV1(ih), Sender: g.me, Receiver: agent, PieceIndex: 0, PieceSize: pieceLen, Timestamp: uint64(now.Unix())}
	copy(r.PieceHash[:], sums[0:32])
	sig, _ := receipt.Sign(g.d, r, agentKey)
	g.intakeReceipts(c, ih, []wire.SignedReceipt{{Receipt: r, Signature: sig}})
	g.mu.Lock()
	owed, open = acct.owed, len(acct.open)
	handed := g.handed
	g.mu.Unlock()
	if owed != int64(half) || open != 1 || handed != 1 {
		t.Fatalf("after the receipt: owed %d open %d handed %d", owed, open, handed)
	}
	if _, err := c.Write(pieceMsg(2, half)); err != nil {
		t.Fatal(err)
	}
	kinds, pieces = mc.messages(t)
	last := len(kinds) - 1
	if kinds[last] != pp.Piece || pieces[last] != 2 {
		t.Fatalf("after paying, the new piece went as %v of piece %d", kinds[last], pieces[last])
	}
}

// The window grows with what the agent has paid this seeder, each piece
// once: a downloader that paid for K pieces and then stops paying (the
// cheater) is sent at most grownWindow(base, K pieces' bytes) more pieces;
// handing the same receipts over again (a replay) grows nothing.
func TestWindowGrowsWithWhatTheAgentPaidAndNoMore(t *testing.T) {
	const (
		pieceLen = 16384
		base     = 4
		pieces   = 600
		paidFor  = 400
	)
	g := newUploadGate(receipt.Domain{ChainID: 1, Tracker: common.Address{9}}, mustKey(t), base)
	now := time.Unix(1_800_000_000, 0)
	g.now = func() time.Time { return now }
	ih := [20]byte{7}
	sums := make([]byte, 32*pieces)
	for i := range sums {
		sums[i] = byte(i * 7)
	}
	g.torrents[ih] = &gateTorrent{pieceLen: pieceLen, total: pieces * pieceLen, sums: sums}
	mc := &memConn{}
	c := g.track(mc).(*gatedConn)
	defer c.Close()
	agentKey := mustKey(t)
	agent := crypto.PubkeyToAddress(agentKey.PublicKey)
	g.mu.Lock()
	g.bindLocked(c, agent)
	g.mu.Unlock()
	hs := make([]byte, handshakeLen)
	copy(hs[28:48], ih[:])
	if _, err := c.Write(hs); err != nil {
		t.Fatal(err)
	}
	signed := func(idx uint32) wire.SignedReceipt {
		r := receipt.Receipt{InfoHash: receipt.InfoHashFromV1(ih), Sender: g.me, Receiver: agent, PieceIndex: idx, PieceSize: pieceLen, Timestamp: uint64(now.Unix())}
		copy(r.PieceHash[:], sums[32*idx:32*idx+32])
		sig, err := receipt.Sign(g.d, r, agentKey)
		if err != nil {
			t.Fatal(err)
		}
		return wire.SignedReceipt{Receipt: r, Signature: sig}
	}
	// countSent writes whole pieces from next on, unpaid, until the gate
	// turns one into a reject; it reports how many went.
	next := uint32(0)
	countSent := func() int {
		n := 0
		for ; next < pieces; next++ {
			mc.mu.Lock()
			before := mc.out.Len()
			mc.mu.Unlock()
			if _, err := c.Write(pieceMsg(next, pieceLen)); err != nil {
				t.Fatal(err)
			}
			kinds, _ := mc.messages(t)
			if kinds[len(kinds)-1] == pp.Reject {
				mc.mu.Lock()
				mc.out.Truncate(before)
				mc.mu.Unlock()
				return n
			}
			n++
		}
		return n
	}
	// Honest: each piece paid as soon as it is sent.
	var paid []wire.SignedReceipt
	for next < paidFor {
		if _, err := c.Write(pieceMsg(next, pieceLen)); err != nil {
			t.Fatal(err)
		}
		sr := signed(next)
		paid = append(paid, sr)
		g.intakeReceipts(c, ih, []wire.SignedReceipt{sr})
		next++
	}
	want := grownWindow(base, paidFor*pieceLen, pieceLen)
	if want != paidFor/windowGrowth {
		t.Fatalf("grownWindow = %d pieces after %d paid, want %d", want, paidFor, paidFor/windowGrowth)
	}
	// The cheater's turn: no more receipts.
	if got := countSent(); int64(got) != want {
		t.Fatalf("unpaid pieces sent after %d paid: %d, want the grown window %d", paidFor, got, want)
	}
	// A replay of receipts already credited pays nothing new: still stalled.
	g.intakeReceipts(c, ih, paid[:50])
	if got := countSent(); got != 0 {
		t.Fatalf("a replay of paid receipts bought %d more pieces", got)
	}
	g.mu.Lock()
	pb := g.agents[agent].paidBytes
	g.mu.Unlock()
	if pb != paidFor*pieceLen {
		t.Fatalf("paid bytes %d, want %d", pb, paidFor*pieceLen)
	}
}

// grownWindow: the base until paid/windowGrowth passes it, then that, up to
// windowCapBytes worth of pieces (a base above the cap stays).
func TestGrownWindowRule(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ base, paid, pieceLen, want int64 }{
		{64, 0, 256 << 10, 64},
		{64, 128 * mib, 256 << 10, 64},   // 16 MiB: the base
		{64, 256 * mib, 256 << 10, 128},  // 32 MiB
		{32, 4096 * mib, 256 << 10, 256}, // capped at 64 MiB
		{4, 1 << 40, 4 * mib, 16},        // 64 MiB of 4 MiB pieces
		{300, 1 << 40, 256 << 10, 300},   // a configured base above the cap
		{4, 100 * mib, 0, 100 * mib / 8}, // no piece length: no division by zero
	} {
		if got := grownWindow(c.base, c.paid, c.pieceLen); got != c.want {
			t.Errorf("grownWindow(%d, %d, %d) = %d, want %d", c.base, c.paid, c.pieceLen, got, c.want)
		}
	}
}

// discardConn is a net.Conn that drops what is written to it, at a remote
// address of its own.
type discardConn struct {
	net.Conn // nil: only Write, RemoteAddr and Close are used
	port     int
}

func (d *discardConn) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, byte(1+d.port/60000)), Port: 1 + d.port%60000}
}
func (d *discardConn) Close() error { return nil }

// A long-running seeder keeps bounded memory: 50 agents each download two
// torrents of 2048 pieces (paid half with receipts handed over, half on
// the service's word), and what the gate keeps of it all — the paid
// pieces, to tell a re-download — takes a few hundred KiB, not the tens of
// MiB per-receipt maps took; digests of receipts too old to be accepted
// are forgotten.
func TestGateMemoryStaysBoundedWhileSeeding(t *testing.T) {
	const (
		agents   = 50
		torrents = 2
		pieces   = 2048
		pieceLen = 64
	)
	g := newUploadGate(receipt.Domain{ChainID: 1, Tracker: common.Address{9}}, mustKey(t), 0)
	now := time.Unix(1_800_000_000, 0)
	g.now = func() time.Time { return now }
	var ihs [][20]byte
	sums := make([]byte, 32*pieces)
	for i := range torrents {
		ih := [20]byte{byte(i + 1)}
		ihs = append(ihs, ih)
		g.torrents[ih] = &gateTorrent{pieceLen: pieceLen, total: pieces * pieceLen, sums: sums}
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	port := 0
	for a := 0; a < agents; a++ {
		agent := common.Address{byte(a), 1}
		for _, ih := range ihs {
			port++
			c := g.track(&discardConn{port: port}).(*gatedConn)
			g.mu.Lock()
			g.bindLocked(c, agent)
			g.mu.Unlock()
			hs := make([]byte, handshakeLen)
			copy(hs[28:48], ih[:])
			if _, err := c.Write(hs); err != nil {
				t.Fatal(err)
			}
			for i := uint32(0); i < pieces; i++ {
				if _, err := c.Write(pieceMsg(i, pieceLen)); err != nil {
					t.Fatal(err)
				}
				r := receipt.Receipt{InfoHash: receipt.InfoHashFromV1(ih), Sender: g.me, Receiver: agent, PieceIndex: i,
					PieceSize: pieceLen, Timestamp: uint64(now.Unix())}
				if i%2 == 0 {
					g.credit(agent, &wire.SignedReceipt{Receipt: r})
				} else {
					g.settleFromService(&r)
				}
			}
			c.Close()
		}
	}
	after := heap()
	stalls, _ := g.stats()
	if g.unpaid() != 0 || stalls != 0 || g.handedCount() != agents*torrents*pieces/2 {
		t.Fatalf("unpaid %d, stalls %d, handed %d", g.unpaid(), stalls, g.handedCount())
	}
	grew := int64(after) - int64(before)
	t.Logf("the gate's heap grew %d KiB for %d pieces paid by %d agents (%d digests remembered)", grew>>10, agents*torrents*pieces, agents, len(g.seen))
	if grew > 4<<20 {
		t.Fatalf("the gate's heap grew %d KiB for %d paid pieces: not bounded", grew>>10, agents*torrents*pieces)
	}
	// Half an hour on, the old digests go (receipts that old are refused).
	now = now.Add(receiptMaxAge + resendSkew + time.Minute)
	agent := common.Address{0xee}
	for i := uint32(0); i < 4096; i++ {
		r := receipt.Receipt{InfoHash: receipt.InfoHashFromV1(ihs[0]), Sender: g.me, Receiver: agent, PieceIndex: i % pieces,
			PieceSize: pieceLen, Timestamp: uint64(now.Unix()) + uint64(i/pieces)}
		g.credit(agent, &wire.SignedReceipt{Receipt: r})
	}
	if n := len(g.seen); n > 4096 {
		t.Fatalf("%d digests remembered after the old ones expired, want at most 4096", n)
	}
}
