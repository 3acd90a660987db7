package main

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
	"strings"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

const defaultListen = "0.0.0.0:0"

// newTorrentClient builds an anacrolix client for a private swarm: no DHT,
// PEX, uTP, webtorrent, webseeds or UPnP; trackers only.
func newTorrentClient(listen string, logw io.Writer, cbs torrent.Callbacks) (*torrent.Client, error) {
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
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("start the BitTorrent client on %s: %w", listen, err)
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
	spec, err := torrent.TorrentSpecFromMetaInfoErr(mi)
	if err != nil {
		return nil, nil, err
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
	p := filepath.Join(o.home, "completed.json")
	var list []completedEntry
	if err := readJSONFile(p, &list); err != nil {
		return err
	}
	replaced := false
	for i := range list {
		if list[i].InfoHash == e.InfoHash && list[i].Tracker == e.Tracker {
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
	return writeFileAtomic(p, append(b, '\n'), 0o600)
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

// ---- seed ----

type seedItem struct {
	infoHash string
	torrent  string
	baseDir  string
	source   string
}

func (a *app) seed(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("seed", &o)
	listen := fs.String("listen", defaultListen, "BitTorrent listen address host:port")
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("seed", pos); err != nil {
		return err
	}
	var items []seedItem
	var pub []publishedEntry
	if err := readJSONFile(filepath.Join(o.home, "published.json"), &pub); err != nil {
		return err
	}
	for _, e := range pub {
		if e.Tracker != o.tracker {
			continue
		}
		items = append(items, seedItem{e.InfoHash, e.TorrentFile, filepath.Dir(e.Path), "published"})
	}
	var done []completedEntry
	if err := readJSONFile(filepath.Join(o.home, "completed.json"), &done); err != nil {
		return err
	}
	for _, e := range done {
		if e.Tracker != o.tracker {
			continue
		}
		items = append(items, seedItem{e.InfoHash, e.TorrentFile, e.Dir, "downloaded"})
	}
	if len(items) == 0 {
		return &cliError{kind: "nothing_to_seed", msg: fmt.Sprintf("nothing to seed for tracker %s: publish a dataset (`pbts publish`) or download one (`pbts get`) first", o.tracker)}
	}
	cl, err := newTorrentClient(*listen, a.stderr, torrent.Callbacks{})
	if err != nil {
		return err
	}
	defer cl.Close()
	type seeding struct {
		item seedItem
		t    *torrent.Torrent
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
		t, st, err := addTorrent(cl, mi, it.baseDir)
		if err != nil {
			fmt.Fprintf(a.stderr, "pbts: skipping %s: %v\n", it.infoHash, err)
			continue
		}
		defer st.Close()
		list = append(list, seeding{it, t})
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
	for _, ad := range cl.ListenAddrs() {
		addrs = append(addrs, ad.String())
	}
	if !o.json {
		fmt.Fprintf(a.stdout, "listening on %s; press Ctrl-C to stop\n", strings.Join(addrs, ", "))
	}
	<-ctx.Done()
	if !o.json {
		fmt.Fprintln(a.stdout, "stopped seeding")
	}
	return nil
}
