package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/schollz/progressbar/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/agent/atomicfile"
	"github.com/pbts/pbts/agent/wire"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

const defaultListen = "0.0.0.0:0"

// newTorrentClient builds an anacrolix client for a private swarm: no DHT,
// PEX, uTP, webtorrent, webseeds or UPnP; trackers only. With a gate, every
// peer connection goes through it (see withhold.go).
func newTorrentClient(listen string, logw io.Writer, cbs torrent.Callbacks, gate *uploadGate) (*torrent.Client, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, usageErrorf("--listen %q: want host:port (e.g. 0.0.0.0:0)", listen)
	}
	cfg := torrent.NewDefaultClientConfig()
	cfg.NoDHT = true
	cfg.DisablePEX = true
	cfg.DisableUTP = true
	cfg.DisableWebtorrent = true
	cfg.DisableWebseeds = true
	cfg.NoDefaultPortForwarding = true
	cfg.Seed = true
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

func recordCompleted(o *opts, e completedEntry) error {
	return upsertJSONList(filepath.Join(o.home, "completed.json"), e, func(x completedEntry) bool {
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

// agentClient is an agent's BitTorrent client: every connection passes the
// withholding gate, and receipts handed to us are submitted through their
// own journaled submitter.
type agentClient struct {
	cl     *torrent.Client
	gate   *uploadGate
	handed *submitter
	cancel context.CancelFunc
}

func (a *app) newAgentClient(ctx context.Context, listen string, cbs torrent.Callbacks, d receipt.Domain, key *ecdsa.PrivateKey, window int64, handed *submitter) (*agentClient, error) {
	gate := newUploadGate(d, key, window)
	gate.forward = func(sr wire.SignedReceipt) { handed.add(sr.Proto()) }
	cl, err := newTorrentClient(listen, a.stderr, cbs, gate)
	if err != nil {
		return nil, err
	}
	handed.open(fmt.Sprintf("handed-%d", os.Getpid()))
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

// ---- seed ----

type seedItem struct {
	infoHash string
	torrent  string
	baseDir  string
	source   string
}

// seedItems lists what this home published or completed for the tracker.
func seedItems(o *opts) ([]seedItem, error) {
	var items []seedItem
	var pub []publishedEntry
	if err := readJSONFile(filepath.Join(o.home, "published.json"), &pub); err != nil {
		return nil, err
	}
	for _, e := range pub {
		if e.Tracker == o.tracker {
			items = append(items, seedItem{e.InfoHash, e.TorrentFile, filepath.Dir(e.Path), "published"})
		}
	}
	var done []completedEntry
	if err := readJSONFile(filepath.Join(o.home, "completed.json"), &done); err != nil {
		return nil, err
	}
	for _, e := range done {
		if e.Tracker == o.tracker {
			items = append(items, seedItem{e.InfoHash, e.TorrentFile, e.Dir, "downloaded"})
		}
	}
	return items, nil
}

func (a *app) seed(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("seed", &o)
	sf := addSeedFlags(fs)
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("seed", pos); err != nil {
		return err
	}
	items, err := seedItems(&o)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return &cliError{kind: "nothing_to_seed", msg: fmt.Sprintf("nothing to seed for tracker %s: publish a dataset (`pbts publish`) or download one (`pbts get`) first", o.tracker)}
	}
	return a.runSeeder(ctx, &o, sf, items)
}

// seedFlags are the flags of every command that seeds.
type seedFlags struct {
	listen   *string
	receipts *string
	window   *int64
}

func addSeedFlags(fs *flag.FlagSet) *seedFlags {
	return &seedFlags{
		listen:   fs.String("listen", defaultListen, "BitTorrent listen address host:port"),
		receipts: fs.String("receipts", "", "receipts service gRPC address (env PBTS_RECEIPTS, default "+defaultReceipts+")"),
		window:   fs.Int64("receipt-window", 0, "pieces a peer may have unpaid before its requests for new pieces are refused (0: 8 MiB worth, 4 to 32)"),
	}
}

// receiptsAddr resolves --receipts, PBTS_RECEIPTS and the default.
func (a *app) receiptsAddr(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := a.getenv("PBTS_RECEIPTS"); v != "" {
		return v
	}
	return defaultReceipts
}

// agentIdentity is what a registered agent signs and announces with.
type agentIdentity struct {
	domain  receipt.Domain
	key     *ecdsa.PrivateKey
	address common.Address
	state   *agent.State
}

// registeredAgent loads the signing domain, the key and the stored
// registration, and refuses (kind "unregistered") an agent that holds no
// passkey for this tracker.
func (a *app) registeredAgent(o *opts) (*agentIdentity, error) {
	d, err := o.domain()
	if err != nil {
		return nil, err
	}
	key, err := o.loadKey(a.getenv)
	if err != nil {
		return nil, err
	}
	me := crypto.PubkeyToAddress(key.PublicKey)
	st, err := agent.LoadState(o.home)
	if err != nil {
		return nil, err
	}
	if st == nil || st.Passkey == "" || !strings.EqualFold(st.Address, me.Hex()) || st.Tracker != o.tracker {
		return nil, &cliError{kind: "unregistered", msg: fmt.Sprintf("%s has no passkey for tracker %s: run `pbts register` first", me.Hex(), o.tracker)}
	}
	return &agentIdentity{domain: d, key: key, address: me, state: st}, nil
}

// dialReceipts opens a (lazy) client connection to the receipts service.
func dialReceipts(addr string) (*grpc.ClientConn, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, usageErrorf("--receipts %q: %v", addr, err)
	}
	return cc, nil
}

// runSeeder serves items until ctx ends, stalling peers that keep their
// receipts and submitting the receipts peers hand over.
func (a *app) runSeeder(ctx context.Context, o *opts, sf *seedFlags, items []seedItem) error {
	id, err := a.registeredAgent(o)
	if err != nil {
		return err
	}
	d, st := id.domain, id.state
	cc, err := dial(o)
	if err != nil {
		return err
	}
	defer cc.Close()
	recAddr := a.receiptsAddr(*sf.receipts)
	rcc, err := dialReceipts(recAddr)
	if err != nil {
		return err
	}
	defer rcc.Close()
	ds := pbtsv1.NewDatasetServiceClient(cc)
	handed := &submitter{pw: a.stderr, a: a, o: o, addr: recAddr, c: pbtsv1.NewReceiptServiceClient(rcc), journalDir: filepath.Join(o.home, "journal")}
	ac, err := a.newAgentClient(ctx, *sf.listen, torrent.Callbacks{}, d, id.key, *sf.window, handed)
	if err != nil {
		return err
	}
	defer ac.close()
	type seeding struct {
		item     seedItem
		t        *torrent.Torrent
		trackers [][]string
	}
	var list []seeding
	for _, it := range items {
		mi, err := metainfo.LoadFromFile(it.torrent)
		if err != nil {
			fmt.Fprintf(a.stderr, "pbts: skipping %s: %v\n", it.infoHash, err)
			continue
		}
		if mi.Announce == "" {
			fmt.Fprintf(a.stderr, "pbts: warning: %s has no announce URL (register before publishing); peers cannot find it\n", it.infoHash)
		}
		info, err := mi.UnmarshalInfo()
		if err != nil {
			fmt.Fprintf(a.stderr, "pbts: skipping %s: %v\n", it.infoHash, err)
			continue
		}
		// The published SHA-256s: what receipts handed to us must name.
		cctx, cancel := rpcContext(ctx, o)
		ph, err := ds.GetPieceHashes(cctx, &pbtsv1.GetPieceHashesRequest{InfoHash: it.infoHash})
		cancel()
		if status.Code(err) == codes.NotFound {
			fmt.Fprintf(a.stderr, "pbts: skipping %s: not in the catalog at %s (publish it there again)\n", it.infoHash, o.tracker)
			continue
		}
		if err != nil {
			return rpcError(o, err)
		}
		if len(ph.GetPieceSha256()) != 32*info.NumPieces() {
			fmt.Fprintf(a.stderr, "pbts: skipping %s: the tracker's piece hashes do not match the torrent\n", it.infoHash)
			continue
		}
		t, stor, err := addTorrentTrackers(ac.cl, mi, it.baseDir, false)
		if err != nil {
			fmt.Fprintf(a.stderr, "pbts: skipping %s: %v\n", it.infoHash, err)
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
		return errors.New("no torrent could be loaded for seeding")
	}
	type seedOut struct {
		InfoHash string `json:"info_hash"`
		Name     string `json:"name"`
		Source   string `json:"source"`
		Path     string `json:"path"`
		Pieces   int    `json:"pieces"`
		Complete bool   `json:"complete"`
	}
	for _, s := range list {
		select {
		case <-s.t.GotInfo():
		case <-ctx.Done():
			return nil
		}
		// The data is hashed when added; wait for it (bounded) so the line tells the truth.
		select {
		case <-s.t.Complete().On():
		case <-time.After(2 * time.Minute):
		case <-ctx.Done():
			return nil
		}
		// Announce now that the data is verified: as a seeder, left = 0.
		s.t.AddTrackers(s.trackers)
		info := s.t.Info()
		out := seedOut{InfoHash: s.item.infoHash, Name: info.BestName(), Source: s.item.source,
			Path: filepath.Join(s.item.baseDir, info.BestName()), Pieces: info.NumPieces(), Complete: s.t.Complete().Bool()}
		if o.json {
			b, _ := json.Marshal(out)
			fmt.Fprintln(a.stdout, string(b))
		} else {
			state := "seeding"
			if !out.Complete {
				state = fmt.Sprintf("seeding (incomplete: %d of %d bytes on disk verified)", s.t.BytesCompleted(), info.TotalLength())
			}
			fmt.Fprintf(a.stdout, "%s %s %q (%s, %d pieces) from %s\n", state, out.InfoHash, out.Name, out.Source, out.Pieces, out.Path)
		}
	}
	addrs := make([]string, 0)
	for _, ad := range ac.cl.ListenAddrs() {
		addrs = append(addrs, ad.String())
	}
	if !o.json {
		fmt.Fprintf(a.stdout, "listening on %s; press Ctrl-C to stop\n", strings.Join(addrs, ", "))
	}
	torrents := make([]*torrent.Torrent, len(list))
	for i := range list {
		torrents[i] = list[i].t
	}
	a.reportSeeding(ctx, o, ac, torrents)
	stalls, refused := ac.gate.stats()
	acc, dup, ref := ac.handed.counts()
	if o.json {
		b, _ := json.Marshal(map[string]any{"stopped": true, "stalls": stalls, "handed_receipts": ac.gate.handedCount(), "unpaid_pieces": ac.gate.unpaid(), "handed_refused": refused,
			"handed_accepted": acc, "handed_duplicate": dup, "handed_service_refused": ref})
		fmt.Fprintln(a.stdout, string(b))
	} else {
		fmt.Fprintf(a.stdout, "stopped seeding (receipts handed to us: %d, refused: %d; requests refused for missing receipts: %d)\n", ac.gate.handedCount(), refused, stalls)
	}
	return nil
}

// seedingState is one progress report of a seeder.
type seedingState struct {
	UploadedBytes  int64   `json:"uploaded_bytes"`
	BytesPerSecond float64 `json:"bytes_per_second"`
	Peers          int     `json:"peers"`
	HandedReceipts int     `json:"handed_receipts"`
	Stalls         int     `json:"stalls"`
}

// reportSeeding prints what the seeder does every 10 s while it changes,
// until ctx ends: a line, or a JSON object under "seeding" with --json.
func (a *app) reportSeeding(ctx context.Context, o *opts, ac *agentClient, ts []*torrent.Torrent) {
	every := 10 * time.Second
	var bar *progressbar.ProgressBar
	if !o.json && isTerminal(a.stdout) {
		// A live spinner with the bytes uploaded, redrawn every second.
		every = time.Second
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(a.stdout), progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true), progressbar.OptionSpinnerType(14), progressbar.OptionShowCount(), progressbar.OptionShowDescriptionAtLineEnd())
		defer func() { bar.Finish(); fmt.Fprintln(a.stdout) }()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last seedingState
	lastAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var s seedingState
		for _, t := range ts {
			st := t.Stats()
			s.UploadedBytes += st.BytesWrittenData.Int64()
			s.Peers += len(t.PeerConns())
		}
		s.Stalls, _ = ac.gate.stats()
		s.HandedReceipts = ac.gate.handedCount()
		now := time.Now()
		s.BytesPerSecond = float64(s.UploadedBytes-last.UploadedBytes) / now.Sub(lastAt).Seconds()
		changed := s.UploadedBytes != last.UploadedBytes || s.Peers != last.Peers || s.HandedReceipts != last.HandedReceipts
		last, lastAt = s, now
		if bar != nil {
			bar.Describe(fmt.Sprintf("peers %d  receipts handed to us %d  requests refused %d", s.Peers, s.HandedReceipts, s.Stalls))
			_ = bar.Set64(s.UploadedBytes)
			continue
		}
		if !changed {
			continue
		}
		if o.json {
			b, _ := json.Marshal(struct {
				Seeding seedingState `json:"seeding"`
			}{s})
			fmt.Fprintln(a.stdout, string(b))
		} else {
			fmt.Fprintf(a.stdout, "seeding: uploaded %s  %s/s  peers %d  receipts handed to us %d  requests refused for missing receipts %d\n",
				humanBytes(uint64(s.UploadedBytes)), humanBytes(uint64(s.BytesPerSecond)), s.Peers, s.HandedReceipts, s.Stalls)
		}
	}
}
