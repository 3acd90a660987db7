package agent

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/pbts/pbts/agent/atomicfile"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/torrentfile"
)

// PublishRequest is a dataset to publish.
type PublishRequest struct {
	Path        string // a file or a directory
	Name        string // required
	Modality    string // "video" or "audio" (ParseModality), required
	Tags        []string
	Description string
	License     string // e.g. CC-BY-4.0
	PieceLength int64  // 0: chosen for the size, 256 KiB to 4 MiB
}

// Publication is what Publish did.
type Publication struct {
	InfoHash         string // 0x + 40 hex digits
	Name             string
	Modality         string
	Tags             []string
	TotalBytes       int64
	PieceLength      int64
	PieceCount       int
	TorrentFile      string // the local .torrent, with this agent's announce URL (0600)
	Announced        bool   // the local .torrent has an announce URL (the agent was registered)
	AlreadyPublished bool
	// Seed is what Seed serves to share it.
	Seed SeedItem
}

// publishedEntry is one element of HOME/published.json, for Seed.
type publishedEntry struct {
	InfoHash    string    `json:"info_hash"`
	Path        string    `json:"path"`
	TorrentFile string    `json:"torrent_file"`
	Tracker     string    `json:"tracker"`
	PublishedAt time.Time `json:"published_at"`
}

// Publish builds the dataset's torrent (SHA-1 pieces for BitTorrent, a
// SHA-256 per piece for receipts), signs the publication and hands it to
// the tracker's catalog, keeps a local .torrent carrying this agent's
// announce URL, and records the dataset for Seed. It does not seed: call
// Seed with the Publication's Seed item. An agent the tracker does not
// know is a FailedPrecondition error.
func (a *Agent) Publish(ctx context.Context, req PublishRequest) (*Publication, error) {
	key, err := a.signer("Publish")
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, fmt.Errorf("agent: PublishRequest.Name is required")
	}
	mod, modName, err := ParseModality(req.Modality)
	if err != nil {
		return nil, err
	}
	if modName == "" {
		return nil, fmt.Errorf("agent: PublishRequest.Modality is required: video or audio")
	}
	addr := a.Address()
	path, err := filepath.Abs(req.Path)
	if err != nil {
		return nil, err
	}
	mi, sums, err := torrentfile.Build(path, req.PieceLength)
	if err != nil {
		return nil, fmt.Errorf("build torrent: %w", err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return nil, err
	}
	ih := [20]byte(mi.HashInfoBytes())
	pieces := make([]byte, 0, 32*len(sums))
	for _, s := range sums {
		pieces = append(pieces, s[:]...)
	}
	ts := uint64(time.Now().Unix())
	sig, err := receipt.SignPublication(a.cfg.Domain, ih, receipt.PiecesDigest(pieces),
		receipt.MetadataDigest(req.Name, req.Description, modName, req.Tags, req.License), ts, key)
	if err != nil {
		return nil, err
	}
	// The catalog gets the bare torrent (no announce URL: that carries our passkey).
	var bare bytes.Buffer
	if err := mi.Write(&bare); err != nil {
		return nil, err
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	resp, err := a.datasets.PublishDataset(cctx, &pbtsv1.PublishDatasetRequest{
		Publisher: addr.Hex(), Torrent: bare.Bytes(), PieceSha256: pieces,
		Name: req.Name, Description: req.Description, Modality: mod, Tags: req.Tags, License: req.License,
		Timestamp: ts, Signature: sig.Hex(),
	})
	if err != nil {
		return nil, err
	}
	// The local .torrent carries our personal announce URL, so it is private (0600).
	st, err := LoadState(a.cfg.Home)
	if err != nil {
		return nil, err
	}
	local := *mi
	local.CreatedBy = "pbts"
	local.CreationDate = time.Now().Unix()
	if st != nil && strings.EqualFold(st.Address, addr.Hex()) && st.AnnounceURL != "" {
		local.Announce = st.AnnounceURL
	}
	var buf bytes.Buffer
	if err := local.Write(&buf); err != nil {
		return nil, err
	}
	ihHex := "0x" + hex.EncodeToString(ih[:])
	torrentPath := filepath.Join(a.cfg.Home, "torrents", hex.EncodeToString(ih[:])+".torrent")
	if err := atomicfile.Write(torrentPath, buf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	e := publishedEntry{InfoHash: ihHex, Path: path, TorrentFile: torrentPath, Tracker: a.cfg.Tracker, PublishedAt: time.Now().UTC()}
	if err := upsertJSONList(filepath.Join(a.cfg.Home, "published.json"), e, func(x publishedEntry) bool {
		return x.InfoHash == e.InfoHash && x.Tracker == e.Tracker
	}); err != nil {
		return nil, err
	}
	tags := req.Tags
	if tags == nil {
		tags = []string{}
	}
	return &Publication{
		InfoHash: ihHex, Name: req.Name, Modality: modName, Tags: tags,
		TotalBytes: info.TotalLength(), PieceLength: info.PieceLength, PieceCount: info.NumPieces(),
		TorrentFile: torrentPath, Announced: local.Announce != "", AlreadyPublished: resp.GetAlreadyPublished(),
		Seed: SeedItem{InfoHash: ihHex, TorrentFile: torrentPath, BaseDir: filepath.Dir(path), Source: "published"},
	}, nil
}
