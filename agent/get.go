package agent

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/missinggo/v2/pubsub"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent/atomicfile"
	"github.com/pbts/pbts/agent/wire"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

const (
	batchMax   = 64
	batchEvery = time.Second
)

// peerKey identifies a sending connection.
type peerKey struct {
	id   [20]byte
	addr string
}

// tally counts useful bytes per (piece, peer) as chunks arrive; the chunk
// event fires before the hash check.
type tally struct {
	mu     sync.Mutex
	pieces map[int]map[peerKey]peerBytes
}

// peerBytes is what one connection supplied of a piece.
type peerBytes struct {
	n  int64
	pc *torrent.PeerConn
}

func (t *tally) add(piece int, k peerKey, pc *torrent.PeerConn, n int64) {
	t.mu.Lock()
	m := t.pieces[piece]
	if m == nil {
		m = make(map[peerKey]peerBytes)
		t.pieces[piece] = m
	}
	pb := m[k]
	pb.n += n
	pb.pc = pc
	m[k] = pb
	t.mu.Unlock()
}

// callbacks feed the tally from the client's per-peer chunk events.
func (t *tally) callbacks() torrent.Callbacks {
	return torrent.Callbacks{ReceivedUsefulData: []func(torrent.ReceivedUsefulDataEvent){func(ev torrent.ReceivedUsefulDataEvent) {
		pc, ok := ev.Peer.TryAsPeerConn()
		if !ok || ev.Message == nil {
			return
		}
		addr := ""
		if pc.RemoteAddr != nil {
			addr = pc.RemoteAddr.String()
		}
		t.add(int(ev.Message.Index), peerKey{id: pc.PeerID, addr: addr}, pc, int64(len(ev.Message.Piece)))
	}}}
}

func (t *tally) take(piece int) map[peerKey]peerBytes {
	t.mu.Lock()
	m := t.pieces[piece]
	delete(t.pieces, piece)
	t.mu.Unlock()
	return m
}

// journalLine is one line of HOME/journal/<infohash>.jsonl: a signed receipt
// (appended before it is submitted) or the acknowledgement of one.
type journalLine struct {
	Receipt *pbtsv1.Receipt `json:"receipt,omitempty"`
	Ack     string          `json:"ack,omitempty"`
}

// GetOptions tune Get.
type GetOptions struct {
	// Out is the directory the dataset is written under (created if
	// missing). Required.
	Out string
	// Seed keeps seeding once the download is done, until ctx ends.
	Seed bool
	// SubmitWait is how long, after the download, to keep retrying the
	// receipts the service has not acknowledged (they stay in the journal
	// and the next Get resends them); zero: no retry beyond the first try.
	SubmitWait time.Duration
	// Events, if set, receives Resent, Started, Progress and Downloaded
	// events, in that order, from Get's goroutine.
	Events func(Event)
	// ProgressEvery is how often a Progress event comes (zero: 1 s).
	ProgressEvery time.Duration
}

// Download is what Get did. Its JSON form is what `pbts get --json` prints.
type Download struct {
	InfoHash          string  `json:"info_hash"`
	Name              string  `json:"name"`
	Path              string  `json:"path"`
	Bytes             int64   `json:"bytes"`
	Pieces            int     `json:"pieces"`
	Verified          bool    `json:"verified"`
	Seconds           float64 `json:"seconds"`
	ReceiptsSigned    int     `json:"receipts_signed"`
	ReceiptsAccepted  int     `json:"receipts_accepted"`
	ReceiptsDuplicate int     `json:"receipts_duplicate"`
	ReceiptsRefused   int     `json:"receipts_refused"`
	ReceiptsUnsent    int     `json:"receipts_unsent"`
	JournalResent     int     `json:"journal_resent"`
	Unattributed      int64   `json:"unattributed_bytes"`
	// WastedBytes arrived after this agent already had them (a block
	// requested from two peers near the end): no receipt pays for them,
	// so their senders count them as unpaid until they expire.
	WastedBytes int64 `json:"wasted_bytes"`
	// JournalDir keeps the receipts the service has not acknowledged.
	JournalDir string `json:"-"`
}

// wastedBytes is the payload t received that it already had.
func wastedBytes(t *torrent.Torrent) int64 {
	s := t.Stats().ConnStats
	return max(0, s.BytesReadData.Int64()-s.BytesReadUsefulData.Int64())
}

// InterruptedError is Get's error when ctx ends before the download is
// done; the receipts not acknowledged yet stay in JournalDir.
type InterruptedError struct {
	Bytes, TotalBytes int64
	JournalDir        string
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("download interrupted at %d of %d bytes; unacknowledged receipts are kept in %s", e.Bytes, e.TotalBytes, e.JournalDir)
}

// Get downloads the dataset named by target (its info hash, or its exact
// name) into opts.Out, verifying it against the published SHA-256 of
// every piece. It signs one receipt per sender of each verified piece,
// hands it to the sender over the connection and submits it to the
// receipts service, journaled first (HOME/journal) so none is lost; what
// earlier runs left unacknowledged is resent first. While it downloads it
// also serves what it has, behind the withholding gate. The tracker's
// refusals come as gRPC status errors: PermissionDenied when the ratio
// gate refuses the download, Unauthenticated for an unknown passkey.
func (a *Agent) Get(ctx context.Context, target string, opts GetOptions) (*Download, error) {
	if opts.Out == "" {
		return nil, errors.New("agent: GetOptions.Out is required")
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = time.Second
	}
	emit := func(e Event) {
		if opts.Events != nil {
			opts.Events(e)
		}
	}
	st, err := a.registered("Get")
	if err != nil {
		return nil, err
	}
	d, key, me := a.cfg.Domain, a.cfg.Key, a.Address()
	outDir, err := filepath.Abs(opts.Out)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	sub := a.newSubmitter()

	// Resend what a previous run left unacknowledged.
	resent := sub.resendJournals(ctx)
	if resent > 0 {
		emit(Resent{Receipts: resent})
	}

	ihHex, err := a.resolveDataset(ctx, target)
	if err != nil {
		return nil, err
	}
	cctx, cancel := a.call(ctx)
	body, err := a.datasets.GetTorrent(cctx, &pbtsv1.GetTorrentRequest{InfoHash: ihHex, Passkey: st.Passkey})
	cancel()
	if err != nil {
		return nil, err
	}
	mi, err := metainfo.Load(strings.NewReader(string(body.GetData())))
	if err != nil {
		return nil, fmt.Errorf("the tracker returned an unreadable torrent: %w", err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return nil, err
	}
	ih := [20]byte(mi.HashInfoBytes())
	cctx, cancel = a.call(ctx)
	ph, err := a.datasets.GetPieceHashes(cctx, &pbtsv1.GetPieceHashesRequest{InfoHash: ihHex})
	cancel()
	if err != nil {
		return nil, err
	}
	sums := ph.GetPieceSha256()
	if len(sums) != 32*info.NumPieces() {
		return nil, fmt.Errorf("the tracker's piece hashes (%d bytes) do not match the torrent's %d pieces", len(sums), info.NumPieces())
	}
	torrentPath := filepath.Join(a.cfg.Home, "torrents", hex.EncodeToString(ih[:])+".torrent")
	if err := atomicfile.Write(torrentPath, body.GetData(), 0o600); err != nil {
		return nil, err
	}

	tl := &tally{pieces: make(map[int]map[peerKey]peerBytes)}
	cbs := tl.callbacks()
	res := newPeerResolver(a.datasets, st.Passkey, a.cfg.Timeout, a.log)
	handed := sub.sibling()
	ac, err := a.newAgentClient(ctx, cbs, handed)
	if err != nil {
		return nil, err
	}
	defer ac.close()
	t, stor, err := addTorrent(ac.cl, mi, outDir)
	if err != nil {
		return nil, err
	}
	defer stor.Close()
	ac.gate.serve(ih, &info, sums)
	start := time.Now()
	subs := t.SubscribePieceStateChanges()
	defer subs.Close()

	sub.open(hex.EncodeToString(ih[:]))
	defer sub.close()
	go sub.run(ctx)

	at := &attributor{log: a.log, t: t, gate: ac.gate, res: res, ih: ih, d: d, key: key, me: me,
		info: &info, sums: sums, tl: tl, sub: sub,
		done: make(map[int]bool), hashing: make(map[int]bool)}
	verified := make(chan struct{})
	go at.run(ctx, subs, verified)

	<-t.GotInfo()
	at.slide = newSlider(t, info.NumPieces(), windowOr(a.cfg.Window, info.PieceLength), info.PieceLength)
	at.slide.start(ctx)
	emit(Started{InfoHash: ihHex, Name: info.BestName(), TotalBytes: info.TotalLength(), Pieces: info.NumPieces(), Dir: outDir})
	lastBytes, lastAt := int64(0), time.Now()
	progress := func() {
		acc, _, _ := sub.counts()
		p := Progress{Pieces: at.doneCount(), TotalPieces: info.NumPieces(), Bytes: t.BytesCompleted(),
			TotalBytes: info.TotalLength(), Peers: len(t.PeerConns()), ReceiptsAccepted: acc}
		now := time.Now()
		if dt := now.Sub(lastAt).Seconds(); dt > 0 {
			p.BytesPerSecond = float64(max(p.Bytes-lastBytes, 0)) / dt
		}
		lastBytes, lastAt = p.Bytes, now
		emit(p)
	}
	tick := time.NewTicker(opts.ProgressEvery)
	defer tick.Stop()
wait:
	for {
		select {
		case <-verified:
			break wait
		case <-ctx.Done():
			sub.flush(context.Background(), 5*time.Second)
			return nil, &InterruptedError{Bytes: t.BytesCompleted(), TotalBytes: info.TotalLength(), JournalDir: sub.journalDir}
		case <-tick.C:
			// Pieces verified before our subscription saw them (a resumed
			// download) are swept here so the wait always ends.
			if t.Complete().Bool() && at.sweep(ctx, t) {
				break wait
			}
			progress()
		}
	}
	progress()
	elapsed := time.Since(start)
	at.inflight.Wait()
	sub.flush(ctx, opts.SubmitWait)
	path := filepath.Join(outDir, info.BestName())
	verr := verifyOutput(outDir, &info, sums)
	acc, dup, ref := sub.counts()
	sum := &Download{
		InfoHash: ihHex, Name: info.BestName(), Path: path, Bytes: info.TotalLength(), Pieces: info.NumPieces(),
		Verified: verr == nil, Seconds: elapsed.Seconds(), ReceiptsSigned: sub.signedCount(), ReceiptsAccepted: acc,
		ReceiptsDuplicate: dup, ReceiptsRefused: ref, ReceiptsUnsent: sub.pendingCount(), JournalResent: resent,
		Unattributed: at.unattributedBytes(), WastedBytes: wastedBytes(t), JournalDir: sub.journalDir,
	}
	if verr != nil {
		return nil, fmt.Errorf("the downloaded data does not match the published piece hashes: %w", verr)
	}
	if err := a.recordCompleted(completedEntry{InfoHash: ihHex, Name: info.BestName(), Dir: outDir, TorrentFile: torrentPath, Tracker: a.cfg.Tracker, CompletedAt: time.Now().UTC()}); err != nil {
		return nil, err
	}
	emit(Downloaded{Download: sum})
	if opts.Seed {
		<-ctx.Done()
		sub.flush(context.Background(), 5*time.Second)
	}
	return sum, nil
}

// NameError is Get's error for a name that names no dataset of the
// catalog, or several.
type NameError struct {
	Name       string
	InfoHashes []string // the datasets of that name (none, or more than one)
}

func (e *NameError) Error() string {
	if len(e.InfoHashes) == 0 {
		return fmt.Sprintf("no dataset named %q", e.Name)
	}
	return fmt.Sprintf("%d datasets are named %q (%s)", len(e.InfoHashes), e.Name, strings.Join(e.InfoHashes, ", "))
}

// resolveDataset turns INFOHASH|NAME into a 0x-prefixed info hash.
func (a *Agent) resolveDataset(ctx context.Context, arg string) (string, error) {
	s := strings.TrimPrefix(strings.ToLower(arg), "0x")
	if len(s) == 40 {
		if _, err := hex.DecodeString(s); err == nil {
			return "0x" + s, nil
		}
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	resp, err := a.datasets.SearchDatasets(cctx, &pbtsv1.SearchDatasetsRequest{Query: arg, PageSize: 100})
	if err != nil {
		return "", err
	}
	var hits []string
	for _, d := range resp.GetDatasets() {
		if strings.EqualFold(d.GetName(), arg) {
			hits = append(hits, d.GetInfoHash())
		}
	}
	if len(hits) == 1 {
		return hits[0], nil
	}
	return "", &NameError{Name: arg, InfoHashes: hits}
}

// verifyOutput re-hashes the data on disk against the published SHA-256s.
func verifyOutput(dir string, info *metainfo.Info, sums []byte) error {
	var readers []io.Reader
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, f := range info.UpvertedFiles() {
		p := filepath.Join(append([]string{dir, info.BestName()}, f.BestPath()...)...)
		if !info.IsDir() {
			p = filepath.Join(dir, info.BestName())
		}
		fh, err := os.Open(p)
		if err != nil {
			return err
		}
		closers = append(closers, fh)
		readers = append(readers, io.LimitReader(fh, f.Length))
	}
	r := bufio.NewReaderSize(io.MultiReader(readers...), 1<<20)
	buf := make([]byte, info.PieceLength)
	for i := 0; i < info.NumPieces(); i++ {
		n := info.Piece(i).Length()
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return fmt.Errorf("piece %d: %w", i, err)
		}
		if s := sha256.Sum256(buf[:n]); string(s[:]) != string(sums[32*i:32*i+32]) {
			return fmt.Errorf("piece %d: SHA-256 mismatch", i)
		}
	}
	return nil
}

// attributor turns verified pieces into signed receipts, one per sender.
// peerNamer tells which agent runs a peer of a swarm.
type peerNamer interface {
	resolve(ctx context.Context, ih [20]byte, k peerKey) (common.Address, bool)
}

// windowOr is the window set by flag, or the default for the piece length.
func windowOr(flagValue, pieceLen int64) int64 {
	if flagValue > 0 {
		return flagValue
	}
	return receiptWindow(pieceLen)
}

// slider keeps the client wanting a bounded set of pieces beyond what is
// verified, so each sender has few unpaid pieces open at a time and
// receipts follow the data closely (the senders' windows must exceed it).
// Which pieces: rarest first among those the peers have, ties in a random
// order of this download's own, as BitTorrent clients choose; a run in
// index order would have every downloader of a swarm fetch the same first
// pieces, with nothing to trade. How many: three quarters of the window (the rest covers
// the pieces whose receipts are on their way), grown from
// the bytes this download has paid so far (grownWindow), so the pipeline
// deepens as the senders' windows do.
type slider struct {
	t          *torrent.Torrent
	n          int
	baseWindow int64 // pieces
	pieceLen   int64

	mu     sync.Mutex
	rank   []int32 // random tie-break per piece
	done   []bool
	wanted map[int]bool // wanted and not verified yet
	paid   int64        // bytes of the pieces verified
}

// sliderEvery is how often the wanted set is checked against the swarm
// (pieces no peer has are swapped for ones a peer has).
const sliderEvery = 250 * time.Millisecond

func newSlider(t *torrent.Torrent, n int, baseWindow, pieceLen int64) *slider {
	s := &slider{t: t, n: n, baseWindow: baseWindow, pieceLen: pieceLen, done: make([]bool, n), wanted: make(map[int]bool)}
	s.rank = make([]int32, n)
	for i, r := range mrand.Perm(n) {
		s.rank[i] = int32(r)
	}
	return s
}

// ahead is how many pieces may be wanted beyond those verified.
func (s *slider) ahead() int {
	return int(max(2, grownWindow(s.baseWindow, s.paid, s.pieceLen)*3/4))
}

// start marks the pieces already complete, wants the first set and keeps it
// matched to the swarm until ctx ends.
func (s *slider) start(ctx context.Context) {
	s.mu.Lock()
	for i := 0; i < s.n; i++ {
		if s.t.PieceState(i).Complete {
			s.done[i] = true
		}
	}
	s.fillLocked(true)
	s.mu.Unlock()
	go func() {
		tick := time.NewTicker(sliderEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.refresh()
			}
		}
	}()
}

// verified records piece idx as verified and wants more pieces.
func (s *slider) verified(idx int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if idx < 0 || idx >= s.n || s.done[idx] {
		return
	}
	s.done[idx] = true
	delete(s.wanted, idx)
	s.paid += s.t.Info().Piece(idx).Length()
	s.fillLocked(false)
}

// refresh drops wanted pieces that completed unseen, or that no peer has
// and none of which has arrived (when another piece could take the slot),
// and fills the set again.
func (s *slider) refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	avail := s.availability()
	spare := false
	for i := 0; i < s.n && !spare; i++ {
		spare = !s.done[i] && !s.wanted[i] && avail[i] > 0
	}
	for i := range s.wanted {
		st := s.t.PieceState(i)
		switch {
		case st.Complete:
			s.done[i] = true
			delete(s.wanted, i)
		case spare && avail[i] == 0 && !st.Partial:
			s.t.Piece(i).SetPriority(torrent.PiecePriorityNone)
			delete(s.wanted, i)
		}
	}
	s.fillWithLocked(avail)
}

// availability counts, per piece, the connected peers that have it.
func (s *slider) availability() []int32 {
	avail := make([]int32, s.n)
	for _, pc := range s.t.PeerConns() {
		it := pc.PeerPieces().Iterator()
		for it.HasNext() {
			if i := int(it.Next()); i < s.n {
				avail[i]++
			}
		}
	}
	return avail
}

// fillLocked tops the wanted set up to ahead pieces; unless force, only
// once a sixteenth of it is free (choosing costs a pass over the
// pieces; refilling only at a quarter cost 1 point of overhead at 40 ms).
func (s *slider) fillLocked(force bool) {
	need := s.ahead() - len(s.wanted)
	if need <= 0 || (!force && need < max(1, s.ahead()/16)) {
		return
	}
	s.fillWithLocked(s.availability())
}

// fillWithLocked wants the rarest pieces (by avail; pieces no peer has
// last, ties by rank) until ahead pieces are wanted.
func (s *slider) fillWithLocked(avail []int32) {
	need := s.ahead() - len(s.wanted)
	if need <= 0 {
		return
	}
	for _, i := range rarestFirst(avail, s.rank, need, func(i int) bool { return !s.done[i] && !s.wanted[i] }) {
		s.wanted[i] = true
		s.t.Piece(i).SetPriority(torrent.PiecePriorityNormal)
	}
}

// rarestFirst returns up to need pieces i with want(i), the rarest first:
// by availability (pieces no peer has after all others), ties by rank.
func rarestFirst(avail, rank []int32, need int, want func(int) bool) []int {
	key := func(i int) uint64 {
		a := uint64(avail[i])
		if a == 0 {
			a = 1 << 31
		}
		return a<<32 | uint64(uint32(rank[i]))
	}
	// The need smallest keys, by insertion into a short sorted list (need
	// is a few dozen, the pieces thousands).
	best := make([]int, 0, need+1)
	for i := range avail {
		if !want(i) || (len(best) == need && key(i) >= key(best[need-1])) {
			continue
		}
		at, _ := slices.BinarySearchFunc(best, key(i), func(j int, k uint64) int { return cmp.Compare(key(j), k) })
		best = slices.Insert(best, at, i)
		if len(best) > need {
			best = best[:need]
		}
	}
	return best
}

type attributor struct {
	log logger
	t   *torrent.Torrent // for handTo (optional)
	// gate, when set, is our client's: receipts are handed over through
	// it, straight to the socket (see uploadGate.handOver).
	gate  *uploadGate
	slide *slider
	res   peerNamer
	ih    [20]byte
	d     receipt.Domain
	key   *ecdsa.PrivateKey
	me    common.Address
	info  *metainfo.Info
	sums  []byte
	tl    *tally
	sub   *submitter

	inflight     sync.WaitGroup
	mu           sync.Mutex
	done         map[int]bool
	hashing      map[int]bool
	unattributed int64
}

func (at *attributor) doneCount() int {
	at.mu.Lock()
	defer at.mu.Unlock()
	return len(at.done)
}

func (at *attributor) unattributedBytes() int64 {
	at.mu.Lock()
	defer at.mu.Unlock()
	return at.unattributed
}

func (at *attributor) run(ctx context.Context, subs *pubsub.Subscription[torrent.PieceStateChange], verified chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-subs.Values:
			if !ok {
				return
			}
			st := ch.PieceState
			at.mu.Lock()
			if st.Hashing || st.QueuedForHash || st.Checking {
				// Only a check of data that arrived can fail it: the check
				// of what was on disk when the torrent was added (its
				// completion not known yet) runs while the first blocks
				// arrive, and its "not complete" must not throw their
				// tally away (those pieces' receipts were never signed).
				if st.Ok {
					at.hashing[ch.Index] = true
				}
				at.mu.Unlock()
				continue
			}
			if st.Marking || !st.Ok {
				at.mu.Unlock()
				continue
			}
			if !st.Complete {
				if at.hashing[ch.Index] {
					// The hash check failed: what was tallied for this piece is not credited.
					delete(at.hashing, ch.Index)
					at.mu.Unlock()
					at.tl.take(ch.Index)
					continue
				}
				at.mu.Unlock()
				continue
			}
			delete(at.hashing, ch.Index)
			at.mu.Unlock()
			isNew, all := at.markDone(ch.Index)
			if at.slide != nil {
				at.slide.verified(ch.Index)
			}
			if isNew {
				// Off the event loop: signing and handing over must not
				// delay the next verification (and the next request).
				go at.piece(ctx, ch.Index)
			}
			if all {
				close(verified)
				return
			}
		}
	}
}

// markDone records piece idx as verified; it reports whether it was new and
// whether every piece is now done.
func (at *attributor) markDone(idx int) (isNew, all bool) {
	at.mu.Lock()
	defer at.mu.Unlock()
	if at.done[idx] {
		return false, len(at.done) == at.info.NumPieces()
	}
	at.done[idx] = true
	at.inflight.Add(1) // Done when piece() has queued its receipts
	return true, len(at.done) == at.info.NumPieces()
}

// sweep processes complete pieces the subscription has not reported; it
// reports whether every piece is done.
func (at *attributor) sweep(ctx context.Context, t *torrent.Torrent) bool {
	all := false
	for i := 0; i < at.info.NumPieces(); i++ {
		if !t.PieceState(i).Complete {
			continue
		}
		var isNew bool
		if isNew, all = at.markDone(i); isNew {
			at.piece(ctx, i)
		}
	}
	return all
}

// piece signs one receipt per sender of a verified piece, queues it for the
// receipts service and hands it to the sender over the connections it used.
func (at *attributor) piece(ctx context.Context, idx int) {
	defer at.inflight.Done()
	m := at.tl.take(idx)
	if len(m) == 0 {
		return
	}
	remaining := at.info.Piece(idx).Length()
	// Sum by agent: one receipt per sender even if it used several connections.
	bySender := make(map[common.Address]int64)
	conns := make(map[common.Address][]*torrent.PeerConn)
	var order []common.Address
	for k, pb := range m {
		agent, ok := at.res.resolve(ctx, at.ih, k)
		if !ok {
			at.mu.Lock()
			at.unattributed += pb.n
			at.mu.Unlock()
			continue
		}
		if agent == at.me {
			continue
		}
		if _, seen := bySender[agent]; !seen {
			order = append(order, agent)
		}
		bySender[agent] += pb.n
		if pb.pc != nil {
			conns[agent] = append(conns[agent], pb.pc)
		}
	}
	var ph [32]byte
	copy(ph[:], at.sums[32*idx:32*idx+32])
	ts := uint64(time.Now().Unix())
	for _, sender := range order {
		nb := min(bySender[sender], remaining)
		if nb <= 0 {
			continue
		}
		remaining -= nb
		sr := wire.SignedReceipt{Receipt: receipt.Receipt{InfoHash: receipt.InfoHashFromV1(at.ih), Sender: sender, Receiver: at.me,
			PieceHash: ph, PieceIndex: uint32(idx), PieceSize: uint32(nb), Timestamp: ts}}
		var err error
		if sr.Signature, err = receipt.Sign(at.d, sr.Receipt, at.key); err != nil {
			at.log.printf("sign receipt for piece %d: %v", idx, err)
			continue
		}
		at.sub.add(sr.Proto())
		msg := wire.EncodeReceipts([]wire.SignedReceipt{sr})
		// A sender that does not speak the extension gets its receipts
		// through the receipts service only.
		for _, pc := range at.handTo(conns[sender]) {
			if at.gate != nil && pc.RemoteAddr != nil {
				at.gate.handOver(pc.RemoteAddr.String(), msg)
			} else {
				_ = pc.WriteExtendedMessage(wire.ReceiptsExtension, msg)
			}
		}
	}
}

// handTo is where a sender's receipt goes: the connections that supplied
// the bytes, and, since one of them may have closed meanwhile (a receipt
// written to a closed connection is lost), every live connection of the
// torrent with the same peer id (the same client, reconnected).
func (at *attributor) handTo(supplied []*torrent.PeerConn) []*torrent.PeerConn {
	if at.t == nil {
		return supplied
	}
	ids := make(map[[20]byte]bool, len(supplied))
	for _, pc := range supplied {
		ids[pc.PeerID] = true
	}
	out := supplied
	for _, pc := range at.t.PeerConns() {
		if ids[pc.PeerID] && !slices.Contains(supplied, pc) {
			out = append(out, pc)
		}
	}
	return out
}

// peerResolver asks the tracker which agent runs a peer of a swarm, by
// peer id first, then by address; answers are cached.
type peerResolver struct {
	ds      pbtsv1.DatasetServiceClient
	passkey string
	timeout time.Duration
	log     logger

	mu     sync.Mutex
	agents map[string]common.Address // by info hash + peer id
}

func newPeerResolver(ds pbtsv1.DatasetServiceClient, passkey string, timeout time.Duration, log logger) *peerResolver {
	return &peerResolver{ds: ds, passkey: passkey, timeout: timeout, log: log, agents: make(map[string]common.Address)}
}

func (pr *peerResolver) resolve(ctx context.Context, ih [20]byte, k peerKey) (common.Address, bool) {
	ihHex := "0x" + hex.EncodeToString(ih[:])
	idKey := "0x" + hex.EncodeToString(k.id[:])
	pr.mu.Lock()
	if a, ok := pr.agents[ihHex+idKey]; ok {
		pr.mu.Unlock()
		return a, true
	}
	pr.mu.Unlock()
	try := func(req *pbtsv1.ResolvePeerRequest) (common.Address, bool) {
		for attempt := 0; attempt < 3; attempt++ {
			cctx, cancel := context.WithTimeout(ctx, pr.timeout)
			resp, err := pr.ds.ResolvePeer(cctx, req)
			cancel()
			if err == nil {
				a, perr := receipt.ParseAddress(resp.GetAgent())
				return a, perr == nil
			}
			if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded && c != codes.PermissionDenied {
				return common.Address{}, false
			}
			// PermissionDenied: our own first announce may not be recorded yet.
			select {
			case <-ctx.Done():
				return common.Address{}, false
			case <-time.After(500 * time.Millisecond):
			}
		}
		return common.Address{}, false
	}
	a, ok := try(&pbtsv1.ResolvePeerRequest{InfoHash: ihHex, Passkey: pr.passkey, PeerId: idKey})
	if !ok && k.addr != "" {
		a, ok = try(&pbtsv1.ResolvePeerRequest{InfoHash: ihHex, Passkey: pr.passkey, Addr: k.addr})
	}
	if !ok {
		pr.log.printf("cannot tell which agent peer %s (%s) is", idKey, k.addr)
		return common.Address{}, false
	}
	pr.mu.Lock()
	pr.agents[ihHex+idKey] = a
	pr.mu.Unlock()
	return a, true
}

// submitter batches receipts to the receipts service, journaling them first.
type submitter struct {
	log        logger
	timeout    time.Duration
	addr       string
	c          pbtsv1.ReceiptServiceClient
	journalDir string

	sendMu             sync.Mutex // one submission at a time (run and flush both send)
	mu                 sync.Mutex
	jf                 *os.File
	pending            []*pbtsv1.Receipt
	retry              []retryItem          // refused for a reason that can change: sent again later
	firstRefused       map[string]time.Time // by signature: when a kept receipt was first refused
	signed             int
	accepted, dup, ref int
	kick               chan struct{}
	lastErr            error
	now                func() time.Time // time.Now unless a test sets it
}

// retryItem is a receipt the service refused for a reason that can change.
type retryItem struct {
	r    *pbtsv1.Receipt
	next time.Time
}

// Receipts refused for a reason that can change are kept and sent again,
// retryEvery apart, for retryFor; then they count as refused (the journal
// still holds them until they are acknowledged).
const (
	retryEvery = 5 * time.Second
	retryFor   = 10 * time.Minute
)

// temporary reports refusals that can turn into acceptance: the swarm
// membership or a registration not recorded yet, a receiver whose upload
// does not cover it yet.
func temporary(r pbtsv1.RefusalReason) bool {
	switch r {
	case pbtsv1.RefusalReason_REFUSAL_REASON_NOT_IN_SWARM,
		pbtsv1.RefusalReason_REFUSAL_REASON_SENDER_UNREGISTERED,
		pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_UNREGISTERED,
		pbtsv1.RefusalReason_REFUSAL_REASON_RECEIVER_OVER_QUOTA:
		return true
	}
	return false
}

func (s *submitter) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// requeueDue moves the retries that are due back to pending.
func (s *submitter) requeueDue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	kept := s.retry[:0]
	for _, it := range s.retry {
		if !now.Before(it.next) {
			s.pending = append(s.pending, it.r)
		} else {
			kept = append(kept, it)
		}
	}
	s.retry = kept
}

// sibling is a submitter to the same service with its own journal and counts.
func (s *submitter) sibling() *submitter {
	return &submitter{log: s.log, timeout: s.timeout, addr: s.addr, c: s.c, journalDir: s.journalDir}
}

// open starts the journal journalDir/<name>.jsonl.
func (s *submitter) open(name string) {
	s.kick = make(chan struct{}, 1)
	if err := os.MkdirAll(s.journalDir, 0o700); err != nil {
		s.log.printf("journal: %v", err)
		return
	}
	f, err := os.OpenFile(filepath.Join(s.journalDir, name+".jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.log.printf("journal: %v", err)
		return
	}
	s.jf = f
}

func (s *submitter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jf != nil {
		name := s.jf.Name()
		s.jf.Sync()
		s.jf.Close()
		s.jf = nil
		if len(s.pending) == 0 && len(s.retry) == 0 {
			os.Remove(name) // everything acknowledged: nothing to resend
		}
	}
}

func (s *submitter) journal(l journalLine) {
	if s.jf == nil {
		return
	}
	b, _ := json.Marshal(l)
	s.jf.Write(append(b, '\n'))
}

// add journals a receipt (written at once, so a crash of this process
// loses none; synced to disk before each submission and on close) and
// queues it.
func (s *submitter) add(r *pbtsv1.Receipt) {
	s.mu.Lock()
	s.journal(journalLine{Receipt: r})
	s.pending = append(s.pending, r)
	s.signed++
	full := len(s.pending) >= batchMax
	s.mu.Unlock()
	if full {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

func (s *submitter) counts() (int, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, s.dup, s.ref
}

func (s *submitter) signedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signed
}

// pendingCount is what the service has not acknowledged yet: pending and
// kept for another try.
func (s *submitter) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) + len(s.retry)
}

func (s *submitter) run(ctx context.Context) {
	t := time.NewTicker(batchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		s.requeueDue()
		for s.sendOne(ctx) {
		}
	}
}

// sendOne submits up to batchMax pending receipts; it reports whether a
// full batch went through (so more may be waiting).
func (s *submitter) sendOne(ctx context.Context) bool {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	n := min(len(s.pending), batchMax)
	if n == 0 {
		s.mu.Unlock()
		return false
	}
	batch := append([]*pbtsv1.Receipt(nil), s.pending[:n]...)
	if s.jf != nil {
		s.jf.Sync() // what we are about to send is on disk
	}
	s.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	resp, err := s.c.SubmitReceipts(cctx, &pbtsv1.SubmitReceiptsRequest{Receipts: batch})
	cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.lastErr == nil || status.Code(s.lastErr) != status.Code(err) {
			s.log.printf("receipts service at %s: %v (receipts are kept in the journal and retried)", s.addr, status.Convert(err).Message())
		}
		s.lastErr = err
		return false
	}
	s.lastErr = nil
	now := s.clock()
	for i, res := range resp.GetResults() {
		if i >= len(batch) {
			break
		}
		if res.GetStatus() != pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED || !temporary(res.GetReason()) {
			delete(s.firstRefused, batch[i].GetSignature())
		}
		switch res.GetStatus() {
		case pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED:
			s.accepted++
		case pbtsv1.ReceiptStatus_RECEIPT_STATUS_DUPLICATE:
			s.dup++
		case pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED:
			if res.GetReason() == pbtsv1.RefusalReason_REFUSAL_REASON_CONFLICTING_DUPLICATE {
				// This piece from this sender was receipted before (an earlier
				// download, or the journal): already credited once, not an error.
				s.dup++
				break
			}
			if temporary(res.GetReason()) && s.keep(batch[i], res, now) {
				continue // not acknowledged: it stays in the journal
			}
			s.ref++
			s.log.printf("receipt for piece %d from %s refused: %s %s", batch[i].GetPieceIndex(), batch[i].GetSender(), res.GetReason(), res.GetDetail())
		default:
			s.ref++
			s.log.printf("receipt for piece %d from %s refused: %s %s", batch[i].GetPieceIndex(), batch[i].GetSender(), res.GetReason(), res.GetDetail())
		}
		s.journal(journalLine{Ack: batch[i].GetSignature()})
	}
	s.pending = s.pending[n:]
	return n == batchMax
}

// keep holds a receipt refused for a reason that can change for another
// try, unless it has been refused for retryFor already; it reports whether
// it kept it (the first refusal of each is told).
func (s *submitter) keep(r *pbtsv1.Receipt, res *pbtsv1.ReceiptResult, now time.Time) bool {
	if s.firstRefused == nil {
		s.firstRefused = map[string]time.Time{}
	}
	sig := r.GetSignature()
	first, seen := s.firstRefused[sig]
	if !seen {
		first = now
		s.firstRefused[sig] = now
		s.log.printf("receipt for piece %d from %s refused for now (%s: %s); trying again",
			r.GetPieceIndex(), r.GetSender(), res.GetReason(), res.GetDetail())
	}
	if now.Sub(first) >= retryFor {
		delete(s.firstRefused, sig)
		return false
	}
	s.retry = append(s.retry, retryItem{r: r, next: now.Add(retryEvery)})
	return true
}

// flush submits what is pending (and, when due, what is kept for another
// try), until everything is acknowledged or d has passed.
func (s *submitter) flush(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for s.pendingCount() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		s.requeueDue()
		if !s.sendOne(ctx) && s.pendingCount() > 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// resendJournals submits the unacknowledged receipts of earlier runs and
// rewrites each journal with what is still unacknowledged.
func (s *submitter) resendJournals(ctx context.Context) int {
	files, _ := filepath.Glob(filepath.Join(s.journalDir, "*.jsonl"))
	total := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var recs []*pbtsv1.Receipt
		acked := map[string]bool{}
		for _, line := range strings.Split(string(b), "\n") {
			var l journalLine
			if line == "" || json.Unmarshal([]byte(line), &l) != nil {
				continue
			}
			if l.Ack != "" {
				acked[l.Ack] = true
			} else if l.Receipt != nil {
				recs = append(recs, l.Receipt)
			}
		}
		var left []*pbtsv1.Receipt
		for _, r := range recs {
			if !acked[r.GetSignature()] {
				left = append(left, r)
			}
		}
		if len(left) == 0 {
			os.Remove(p)
			continue
		}
		s.mu.Lock()
		s.pending = append(s.pending, left...)
		s.mu.Unlock()
		s.flush(ctx, 10*time.Second)
		s.mu.Lock()
		still := s.pending
		for _, it := range s.retry {
			still = append(still, it.r)
		}
		s.pending, s.retry = nil, nil
		s.mu.Unlock()
		total += len(left) - len(still)
		var sb strings.Builder
		for _, r := range still {
			bb, _ := json.Marshal(journalLine{Receipt: r})
			sb.Write(append(bb, '\n'))
		}
		if len(still) == 0 {
			os.Remove(p)
		} else {
			atomicfile.Write(p, []byte(sb.String()), 0o600)
		}
	}
	// The counts so far belong to the journal, not to this download.
	s.mu.Lock()
	s.accepted, s.dup, s.ref = 0, 0, 0
	s.mu.Unlock()
	return total
}
