package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent/atomicfile"
	"github.com/pbts/pbts/agent/wire"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// newTorrentClient builds an anacrolix client for a private swarm: no DHT,
// PEX, uTP, webtorrent, webseeds or UPnP; trackers only. With a gate, every
// peer connection goes through it (see withhold.go).
func newTorrentClient(listen string, logw io.Writer, cbs torrent.Callbacks, gate *uploadGate, opts ...func(*torrent.ClientConfig)) (*torrent.Client, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, err // Open checked Config.Listen
	}
	cfg := torrent.NewDefaultClientConfig()
	cfg.NoDHT = true
	cfg.DisablePEX = true
	cfg.DisableUTP = true
	cfg.DisableWebtorrent = true
	cfg.DisableWebseeds = true
	cfg.NoDefaultPortForwarding = true
	cfg.Seed = true
	// anacrolix drops a connection once both ends have every piece; the
	// receipts for the last pieces are signed after they verify, and a
	// receipt written to a dropped connection is lost (the sender was then
	// paid only through the receipts service, if at all).
	cfg.DropMutuallyCompletePeers = false
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
		cfg.DisableIPv6 = true
	}
	cfg.SetListenAddr(listen)
	cfg.Slogger = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelError}))
	// Torrents get their own storage; this default only keeps the client from
	// writing a completion database into the working directory.
	cfg.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir: os.TempDir(), PieceCompletion: storage.NewMapPieceCompletion(), UsePartFiles: g.Some(false),
	})
	cfg.Callbacks = cbs
	for _, o := range opts {
		o(cfg)
	}
	if gate != nil {
		gate.install(cfg)
	}
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("start the BitTorrent client on %s: %w", listen, err)
	}
	if gate != nil {
		if err := gate.start(cl, listen); err != nil {
			cl.Close()
			return nil, fmt.Errorf("start the BitTorrent client on %s: %w", listen, err)
		}
	}
	return cl, nil
}

// fileStorage stores a torrent's data under baseDir/<info name>, with
// completion kept in memory (data is hashed when added).
func fileStorage(baseDir string) storage.ClientImplCloser {
	return storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir: baseDir, PieceCompletion: storage.NewMapPieceCompletion(), UsePartFiles: g.Some(false),
	})
}

// addTorrent adds mi (with its announce URL) storing data under baseDir.
func addTorrent(cl *torrent.Client, mi *metainfo.MetaInfo, baseDir string) (*torrent.Torrent, storage.ClientImplCloser, error) {
	return addTorrentTrackers(cl, mi, baseDir, true)
}

// addTorrentTrackers is addTorrent, announcing only when withTrackers
// (a seeder adds its trackers once its data is verified: announcing
// earlier reports the whole size left, and the ratio gate may refuse that).
func addTorrentTrackers(cl *torrent.Client, mi *metainfo.MetaInfo, baseDir string, withTrackers bool) (*torrent.Torrent, storage.ClientImplCloser, error) {
	spec, err := torrent.TorrentSpecFromMetaInfoErr(mi)
	if err != nil {
		return nil, nil, err
	}
	if !withTrackers {
		spec.Trackers = nil
	}
	st := fileStorage(baseDir)
	spec.Storage = st
	t, _, err := cl.AddTorrentSpec(spec)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return t, st, nil
}

// completedEntry is one element of HOME/completed.json: a finished download `pbts seed` serves.
type completedEntry struct {
	InfoHash    string    `json:"info_hash"`
	Name        string    `json:"name"`
	Dir         string    `json:"dir"` // the data is Dir/Name
	TorrentFile string    `json:"torrent_file"`
	Tracker     string    `json:"tracker"`
	CompletedAt time.Time `json:"completed_at"`
}

func (a *Agent) recordCompleted(e completedEntry) error {
	return upsertJSONList(filepath.Join(a.cfg.Home, "completed.json"), e, func(x completedEntry) bool {
		return x.InfoHash == e.InfoHash && x.Tracker == e.Tracker
	})
}

// upsertJSONList replaces the elements of the JSON list in file p that
// match same with e (or appends e), and writes the list back atomically.
func upsertJSONList[T any](p string, e T, same func(T) bool) error {
	var list []T
	if err := readJSONFile(p, &list); err != nil {
		return err
	}
	replaced := false
	for i := range list {
		if same(list[i]) {
			list[i], replaced = e, true
		}
	}
	if !replaced {
		list = append(list, e)
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(p, append(b, '\n'), 0o600)
}

// readJSONFile leaves v untouched when the file does not exist.
func readJSONFile(p string, v any) error {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// clients counts the agent clients this process started.
var clients atomic.Int64

// agentClient is an agent's BitTorrent client: every connection passes the
// withholding gate, and receipts handed to us are submitted through their
// own journaled submitter.
type agentClient struct {
	cl     *torrent.Client
	gate   *uploadGate
	handed *submitter
	cancel context.CancelFunc
}

func (a *Agent) newAgentClient(ctx context.Context, cbs torrent.Callbacks, handed *submitter) (*agentClient, error) {
	gate := newUploadGate(a.cfg.Domain, a.cfg.Key, a.cfg.Window)
	gate.forward = func(sr wire.SignedReceipt) { handed.add(sr.Proto()) }
	trackerTLS, err := a.trackerTLS() // https announces verify the tracker
	if err != nil {
		return nil, err
	}
	opts := []func(*torrent.ClientConfig){trackerTLS}
	if r := a.cfg.UploadRate; r > 0 {
		opts = append(opts, func(c *torrent.ClientConfig) {
			// The burst must hold a whole block (anacrolix waits for a block's worth).
			c.UploadRateLimiter = rate.NewLimiter(rate.Limit(r), max(int(min(r, 1<<30)), 1<<18))
		})
	}
	cl, err := newTorrentClient(a.cfg.Listen, a.cfg.Log, cbs, gate, opts...)
	if err != nil {
		return nil, err
	}
	// One journal per client: a process may run several (Get and Seed at once).
	name := fmt.Sprintf("handed-%d", os.Getpid())
	if n := clients.Add(1); n > 1 {
		name = fmt.Sprintf("%s-%d", name, n)
	}
	handed.open(name)
	hctx, cancel := context.WithCancel(ctx)
	go handed.run(hctx)
	if handed.c != nil {
		go gate.watchService(hctx, handed.c)
	}
	return &agentClient{cl: cl, gate: gate, handed: handed, cancel: cancel}, nil
}

func (ac *agentClient) close() {
	ac.cl.Close()
	ac.gate.stop()
	ac.cancel()
	ac.handed.flush(context.Background(), 5*time.Second)
	ac.handed.close()
}

// SeedItem is a dataset the agent can serve: one it published or downloaded.
type SeedItem struct {
	InfoHash    string // 0x + 40 hex digits
	TorrentFile string
	BaseDir     string // the data is BaseDir/<the torrent's name>
	Source      string // "published" or "downloaded"
}

// ErrNothingToSeed is Seed's error when the state directory holds nothing
// published or downloaded for this tracker.
var ErrNothingToSeed = errors.New("agent: nothing to seed for this tracker")

// Seedable lists what the state directory home published or completed
// for the tracker at the address tracker.
func Seedable(home, tracker string) ([]SeedItem, error) {
	var items []SeedItem
	var pub []publishedEntry
	if err := readJSONFile(filepath.Join(home, "published.json"), &pub); err != nil {
		return nil, err
	}
	for _, e := range pub {
		if e.Tracker == tracker {
			items = append(items, SeedItem{e.InfoHash, e.TorrentFile, filepath.Dir(e.Path), "published"})
		}
	}
	var done []completedEntry
	if err := readJSONFile(filepath.Join(home, "completed.json"), &done); err != nil {
		return nil, err
	}
	for _, e := range done {
		if e.Tracker == tracker {
			items = append(items, SeedItem{e.InfoHash, e.TorrentFile, e.Dir, "downloaded"})
		}
	}
	return items, nil
}

// SeedOptions tune Seed.
type SeedOptions struct {
	// Items is what to serve; nil: everything Seedable from the agent's
	// home for its tracker.
	Items []SeedItem
	// Events, if set, receives a Seeding event per dataset served, then
	// Listening, then a SeedReport every ReportEvery, from Seed's goroutine.
	Events func(Event)
	// ReportEvery is how often a SeedReport comes (zero: 10 s).
	ReportEvery time.Duration
}

// SeedStats is what a seeder did, when it stops.
type SeedStats struct {
	Stalls               int // requests refused for missing receipts
	HandedReceipts       int // receipts handed to us and credited (each piece's once)
	HandedTotal          int // distinct receipts handed to us and credited (a re-download's too)
	UnpaidPieces         int // pieces sent and not paid for yet
	HandedRefused        int // receipts handed to us and refused
	HandedAccepted       int // of those handed to us, accepted by the receipts service
	HandedDuplicate      int
	HandedServiceRefused int
}

// Seed serves datasets to the swarm until ctx ends: every connection
// passes the withholding gate (a peer that keeps its receipts stalls once
// it owes the window), and the receipts peers hand over are submitted to
// the receipts service. A dataset that cannot be loaded is skipped (with
// a warning). The stats are nil if ctx ended before seeding began.
func (a *Agent) Seed(ctx context.Context, opts SeedOptions) (*SeedStats, error) {
	emit := func(e Event) {
		if opts.Events != nil {
			opts.Events(e)
		}
	}
	if opts.ReportEvery <= 0 {
		opts.ReportEvery = 10 * time.Second
	}
	items := opts.Items
	if items == nil {
		var err error
		if items, err = Seedable(a.cfg.Home, a.cfg.Tracker); err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return nil, ErrNothingToSeed
		}
	}
	st, err := a.registered("Seed")
	if err != nil {
		return nil, err
	}
	handed := a.newSubmitter()
	ac, err := a.newAgentClient(ctx, torrent.Callbacks{}, handed)
	if err != nil {
		return nil, err
	}
	defer ac.close()
	type seeding struct {
		item     SeedItem
		t        *torrent.Torrent
		trackers [][]string
	}
	var list []seeding
	for _, it := range items {
		mi, err := metainfo.LoadFromFile(it.TorrentFile)
		if err != nil {
			a.log.printf("skipping %s: %v", it.InfoHash, err)
			continue
		}
		if mi.Announce == "" {
			a.log.printf("warning: %s has no announce URL (register before publishing); peers cannot find it", it.InfoHash)
		}
		info, err := mi.UnmarshalInfo()
		if err != nil {
			a.log.printf("skipping %s: %v", it.InfoHash, err)
			continue
		}
		// The published SHA-256s: what receipts handed to us must name.
		cctx, cancel := a.call(ctx)
		ph, err := a.datasets.GetPieceHashes(cctx, &pbtsv1.GetPieceHashesRequest{InfoHash: it.InfoHash})
		cancel()
		if status.Code(err) == codes.NotFound {
			a.log.printf("skipping %s: not in the catalog at %s (publish it there again)", it.InfoHash, a.cfg.Tracker)
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(ph.GetPieceSha256()) != 32*info.NumPieces() {
			a.log.printf("skipping %s: the tracker's piece hashes do not match the torrent", it.InfoHash)
			continue
		}
		t, stor, err := addTorrentTrackers(ac.cl, mi, it.BaseDir, false)
		if err != nil {
			a.log.printf("skipping %s: %v", it.InfoHash, err)
			continue
		}
		defer stor.Close()
		ac.gate.serve([20]byte(mi.HashInfoBytes()), &info, ph.GetPieceSha256())
		// Announce with the passkey we hold now (it changes on rotation and
		// on registering with a new tracker), not the one in the file.
		trackers := mi.UpvertedAnnounceList()
		if st.AnnounceURL != "" {
			trackers = [][]string{{st.AnnounceURL}}
		}
		list = append(list, seeding{it, t, trackers})
	}
	if len(list) == 0 {
		return nil, errors.New("no torrent could be loaded for seeding")
	}
	for _, s := range list {
		select {
		case <-s.t.GotInfo():
		case <-ctx.Done():
			return nil, nil
		}
		// The data is hashed when added; wait for it (bounded) so the event tells the truth.
		select {
		case <-s.t.Complete().On():
		case <-time.After(2 * time.Minute):
		case <-ctx.Done():
			return nil, nil
		}
		// Announce now that the data is verified: as a seeder, left = 0.
		s.t.AddTrackers(s.trackers)
		info := s.t.Info()
		emit(Seeding{InfoHash: s.item.InfoHash, Name: info.BestName(), Source: s.item.Source,
			Path: filepath.Join(s.item.BaseDir, info.BestName()), Pieces: info.NumPieces(), Complete: s.t.Complete().Bool(),
			VerifiedBytes: s.t.BytesCompleted(), TotalBytes: info.TotalLength()})
	}
	addrs := make([]string, 0)
	for _, ad := range ac.cl.ListenAddrs() {
		addrs = append(addrs, ad.String())
	}
	emit(Listening{Addrs: addrs})
	torrents := make([]*torrent.Torrent, len(list))
	for i := range list {
		torrents[i] = list[i].t
	}
	reportSeeding(ctx, ac, torrents, opts.ReportEvery, emit)
	stalls, refused := ac.gate.stats()
	acc, dup, ref := ac.handed.counts()
	perPiece, all := ac.gate.handedCounts()
	return &SeedStats{Stalls: stalls, HandedReceipts: perPiece, HandedTotal: all, UnpaidPieces: ac.gate.unpaid(), HandedRefused: refused,
		HandedAccepted: acc, HandedDuplicate: dup, HandedServiceRefused: ref}, nil
}

// reportSeeding emits a SeedReport every `every` until ctx ends.
func reportSeeding(ctx context.Context, ac *agentClient, ts []*torrent.Torrent, every time.Duration, emit func(Event)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last SeedReport
	lastAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var s SeedReport
		for _, t := range ts {
			st := t.Stats()
			s.UploadedBytes += st.BytesWrittenData.Int64()
			s.Peers += len(t.PeerConns())
		}
		s.Stalls, _ = ac.gate.stats()
		s.HandedReceipts, s.HandedTotal = ac.gate.handedCounts()
		now := time.Now()
		s.BytesPerSecond = float64(s.UploadedBytes-last.UploadedBytes) / now.Sub(lastAt).Seconds()
		last, lastAt = s, now
		emit(s)
	}
}
