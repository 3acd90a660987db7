package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/anacrolix/missinggo/v2/pubsub"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/receipt"
)

func TestTallySumsPerPeerAndTakesOnce(t *testing.T) {
	tl := &tally{pieces: map[int]map[peerKey]peerBytes{}}
	a, b := peerKey{id: [20]byte{1}}, peerKey{id: [20]byte{2}}
	tl.add(3, a, nil, 16384)
	tl.add(3, b, nil, 16384)
	tl.add(3, a, nil, 16384)
	tl.add(4, a, nil, 100)
	m := tl.take(3)
	if m[a].n != 32768 || m[b].n != 16384 || len(m) != 2 || len(tl.take(3)) != 0 || tl.take(4)[a].n != 100 {
		t.Fatalf("tally %v", m)
	}
}

// TestAttributorDiscardsFailedPiecesAndSplitsSenders drives the attributor
// with the client's piece-state events: bytes tallied for a piece whose hash
// check fails are not receipted; a piece from two senders gets one receipt
// each, with the bytes each supplied, capped at the piece length.
func TestAttributorDiscardsFailedPiecesAndSplitsSenders(t *testing.T) {
	key, _ := crypto.GenerateKey()
	me := crypto.PubkeyToAddress(key.PublicKey)
	x, y := common.Address{0xa}, common.Address{0xb}
	info := &metainfo.Info{PieceLength: 1 << 18, Length: 2 << 18, Pieces: make([]byte, 40)}
	sums := make([]byte, 64)
	sums[0], sums[32] = 1, 2
	tl := &tally{pieces: map[int]map[peerKey]peerBytes{}}
	sub := &submitter{}
	px, py := peerKey{id: [20]byte{1}}, peerKey{id: [20]byte{2}}
	at := &attributor{res: namerMap{px: x, py: y}, ih: [20]byte{7}, d: receipt.Domain{ChainID: 1, Tracker: common.Address{9}},
		key: key, me: me, info: info, sums: sums, tl: tl, sub: sub, done: map[int]bool{}, hashing: map[int]bool{}}
	var ps pubsub.PubSub[torrent.PieceStateChange]
	subs := ps.Subscribe()
	defer subs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	verified := make(chan struct{})
	go at.run(ctx, subs, verified)
	state := func(i int, hashing, complete bool) torrent.PieceStateChange {
		var s torrent.PieceStateChange
		s.Index, s.Hashing, s.Ok, s.Complete = i, hashing, true, complete
		return s
	}
	// Piece 0: x sends it all, the hash fails; then y sends it again and it passes.
	tl.add(0, px, nil, 1<<18)
	ps.Publish(state(0, true, false))
	ps.Publish(state(0, false, false))
	time.Sleep(100 * time.Millisecond) // the failure is handled before y's bytes arrive
	tl.add(0, py, nil, 1<<18)
	ps.Publish(state(0, true, false))
	ps.Publish(state(0, false, true))
	// Piece 1: x and y each send part.
	tl.add(1, px, nil, 2<<16)
	tl.add(1, py, nil, 1<<16)
	tl.add(1, px, nil, 1<<16)
	ps.Publish(state(1, true, false))
	ps.Publish(state(1, false, true))
	select {
	case <-verified:
	case <-ctx.Done():
		t.Fatal("attributor did not see both pieces verified")
	}
	at.inflight.Wait()
	got := map[string]uint32{}
	for _, r := range sub.pending {
		got[fmt.Sprintf("%d %s", r.GetPieceIndex(), r.GetSender())] += r.GetPieceSize()
		if r.GetReceiver() != me.Hex() {
			t.Fatalf("receipt names receiver %s", r.GetReceiver())
		}
	}
	want := map[string]uint32{
		fmt.Sprintf("0 %s", y.Hex()): 1 << 18,
		fmt.Sprintf("1 %s", x.Hex()): 3 << 16,
		fmt.Sprintf("1 %s", y.Hex()): 1 << 16,
	}
	if len(got) != len(want) {
		t.Fatalf("receipts %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("receipts %v, want %v", got, want)
		}
	}
}

type namerMap map[peerKey]common.Address

func (m namerMap) resolve(_ context.Context, _ [20]byte, k peerKey) (common.Address, bool) {
	a, ok := m[k]
	return a, ok
}

// The wanted set is chosen rarest first: pieces fewer peers have go first,
// pieces no peer has go last, ties in each download's random order — so
// two downloaders of one swarm start on different pieces (an index-order
// run had them all fetch pieces 0, 1, 2, … and have nothing to trade).
func TestRarestFirstChoosesRarePiecesAndDownloadersDiffer(t *testing.T) {
	const n = 256
	avail := make([]int32, n)
	for i := range avail {
		avail[i] = 3
	}
	avail[200], avail[17], avail[90] = 1, 2, 0 // 90: no peer has it
	rank := func() []int32 {
		r := make([]int32, n)
		for i, v := range rand.Perm(n) {
			r[i] = int32(v)
		}
		return r
	}
	all := func(int) bool { return true }
	got := rarestFirst(avail, rank(), 3, all)
	if len(got) != 3 || got[0] != 200 || got[1] != 17 || got[2] == 90 {
		t.Fatalf("rarest first chose %v, want 200, 17, then a piece three peers have (not 90, which none has)", got)
	}
	if got := rarestFirst(avail, rank(), n, all); got[n-1] != 90 || len(got) != n {
		t.Fatalf("the piece no peer has comes last: %v", got[n-3:])
	}
	if got := rarestFirst(avail, rank(), 4, func(i int) bool { return i != 200 }); got[0] != 17 {
		t.Fatalf("a piece not wanted (done) was chosen: %v", got)
	}
	// Two downloaders, the same availability: their first 16 pieces overlap
	// by about one (16×16/256), and are not the first 16 indices.
	a, b := rarestFirst(avail, rank(), 16, all), rarestFirst(avail, rank(), 16, all)
	common, low := 0, 0
	for _, i := range a {
		if slices.Contains(b, i) {
			common++
		}
		if i < 16 {
			low++
		}
	}
	if common > 8 || low > 8 {
		t.Fatalf("two downloaders' first pieces %v and %v: %d in common, %d of the first in index order", a, b, common, low)
	}
}
