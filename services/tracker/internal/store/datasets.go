package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/receipt"
)

// Modality is the kind of media of a dataset; the values are pbts.v1.Modality's.
type Modality int16

// Modalities.
const (
	ModalityVideo Modality = 1
	ModalityAudio Modality = 2
)

// Dataset is a catalogued torrent's metadata (without the info dictionary and
// the piece hashes, which TorrentInfo and PieceHashes return).
type Dataset struct {
	// InfoHash is the v1 (SHA-1) info hash.
	InfoHash    [20]byte
	Publisher   common.Address
	Name        string
	Description string
	Modality    Modality
	Tags        []string
	License     string
	PieceLength int64
	PieceCount  int
	TotalBytes  int64
	PublishedAt time.Time
	// PublishTimestamp and PublishSignature are the signed publish message's.
	PublishTimestamp uint64
	PublishSignature receipt.Signature
}

// Layout is what the announce path needs to know of a torrent.
type Layout struct {
	TotalBytes  int64
	PieceLength int64
	PieceCount  int
	Publisher   common.Address
}

// PieceHashes is the published SHA-256 of every piece of a torrent.
type PieceHashes struct {
	PieceLength int64
	TotalBytes  int64
	// SHA256 holds 32 bytes per piece, in piece order.
	SHA256 []byte
}

const datasetCols = `d.info_hash, d.publisher, d.name, d.description, d.modality, d.tags, d.license,
	d.piece_length, d.piece_count, d.total_bytes, d.published_at, d.publish_timestamp, d.publish_signature`

func datasetDest(d *Dataset, ih, pub, sig *[]byte, ts *int64) []any {
	return []any{ih, pub, &d.Name, &d.Description, &d.Modality, &d.Tags, &d.License,
		&d.PieceLength, &d.PieceCount, &d.TotalBytes, &d.PublishedAt, ts, sig}
}

func finishDataset(d *Dataset, ih, pub, sig []byte, ts int64) {
	copy(d.InfoHash[:], ih)
	copy(d.Publisher[:], pub)
	copy(d.PublishSignature[:], sig)
	d.PublishTimestamp = uint64(ts)
	if d.Tags == nil {
		d.Tags = []string{}
	}
}

func scanDataset(row pgx.Row) (Dataset, error) {
	var (
		d            Dataset
		ih, pub, sig []byte
		ts           int64
	)
	if err := row.Scan(datasetDest(&d, &ih, &pub, &sig, &ts)...); err != nil {
		return Dataset{}, notFound(err)
	}
	finishDataset(&d, ih, pub, sig, ts)
	return d, nil
}

// PublishDataset catalogs d with its exact bencoded info dictionary and the
// SHA-256 of every piece (32*d.PieceCount bytes). The caller has checked that
// info hashes to d.InfoHash and agrees with the layout; the schema re-checks
// sizes. PublishedAt is set by the database. It returns the stored dataset
// and whether this call created it: the same publisher publishing the same
// info hash again gets the stored dataset back unchanged and false; another
// publisher gets ErrExists; an unregistered publisher ErrUnknownAgent.
func (s *Store) PublishDataset(ctx context.Context, d Dataset, info, pieceSHA256 []byte) (Dataset, bool, error) {
	if err := checkTimestamp(d.PublishTimestamp); err != nil {
		return Dataset{}, false, err
	}
	tags := d.Tags
	if tags == nil {
		tags = []string{}
	}
	tag, err := s.db.Pool.Exec(ctx, `
		INSERT INTO datasets (info_hash, publisher, name, description, modality, tags, license, info,
			piece_length, piece_count, total_bytes, piece_sha256, publish_timestamp, publish_signature)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (info_hash) DO NOTHING`,
		d.InfoHash[:], d.Publisher[:], d.Name, d.Description, int16(d.Modality), tags, d.License, info,
		d.PieceLength, d.PieceCount, d.TotalBytes, pieceSHA256, int64(d.PublishTimestamp), d.PublishSignature[:])
	switch {
	case isForeignKeyViolation(err):
		return Dataset{}, false, fmt.Errorf("%w: %s", ErrUnknownAgent, d.Publisher.Hex())
	case err != nil:
		return Dataset{}, false, fmt.Errorf("publish dataset: %w", err)
	}
	stored, err := s.DatasetByInfoHash(ctx, d.InfoHash)
	if err != nil {
		return Dataset{}, false, fmt.Errorf("publish dataset: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return stored, true, nil
	}
	if stored.Publisher != d.Publisher {
		return Dataset{}, false, fmt.Errorf("%w: info hash 0x%x is published by %s", ErrExists, d.InfoHash, stored.Publisher.Hex())
	}
	return stored, false, nil
}

// DatasetByInfoHash returns the dataset, or database.ErrNotFound.
func (s *Store) DatasetByInfoHash(ctx context.Context, ih [20]byte) (Dataset, error) {
	return scanDataset(s.db.Pool.QueryRow(ctx, `SELECT `+datasetCols+` FROM datasets d WHERE d.info_hash = $1`, ih[:]))
}

// DatasetByName returns the dataset with exactly this name, or
// database.ErrNotFound. Names are not unique: the first one published wins, so
// a name keeps naming the same dataset whatever is published later.
func (s *Store) DatasetByName(ctx context.Context, name string) (Dataset, error) {
	return scanDataset(s.db.Pool.QueryRow(ctx, `SELECT `+datasetCols+` FROM datasets d
		WHERE d.name = $1 ORDER BY d.published_at, d.info_hash LIMIT 1`, name))
}

// TorrentInfo returns the dataset's exact bencoded info dictionary.
func (s *Store) TorrentInfo(ctx context.Context, ih [20]byte) ([]byte, error) {
	var info []byte
	if err := s.db.Pool.QueryRow(ctx, `SELECT info FROM datasets WHERE info_hash = $1`, ih[:]).Scan(&info); err != nil {
		return nil, notFound(err)
	}
	return info, nil
}

// PieceHashes returns the published SHA-256 of every piece.
func (s *Store) PieceHashes(ctx context.Context, ih [20]byte) (PieceHashes, error) {
	var p PieceHashes
	err := s.db.Pool.QueryRow(ctx, `SELECT piece_length, total_bytes, piece_sha256 FROM datasets WHERE info_hash = $1`,
		ih[:]).Scan(&p.PieceLength, &p.TotalBytes, &p.SHA256)
	if err != nil {
		return PieceHashes{}, notFound(err)
	}
	return p, nil
}

// Torrent returns the torrent's total length, piece length and piece count, or
// database.ErrNotFound when it is not catalogued. Datasets never change, so
// answers are cached (bounded by Options.TorrentCacheSize); unknown info hashes
// are not.
func (s *Store) Torrent(ctx context.Context, ih [20]byte) (totalBytes, pieceLength int64, pieceCount int, err error) {
	l, err := s.TorrentLayout(ctx, ih)
	return l.TotalBytes, l.PieceLength, l.PieceCount, err
}

// TorrentLayout is Torrent with the publisher (cached the same way).
func (s *Store) TorrentLayout(ctx context.Context, ih [20]byte) (Layout, error) {
	if l, ok := s.torrents.get(ih); ok {
		return l, nil
	}
	var l Layout
	var pub []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT total_bytes, piece_length, piece_count, publisher FROM datasets WHERE info_hash = $1`,
		ih[:]).Scan(&l.TotalBytes, &l.PieceLength, &l.PieceCount, &pub)
	if err != nil {
		if err = notFound(err); !errors.Is(err, database.ErrNotFound) {
			err = fmt.Errorf("torrent: %w", err)
		}
		return Layout{}, err
	}
	l.Publisher = common.BytesToAddress(pub)
	s.torrents.put(ih, l)
	return l, nil
}

// Credited is how many bytes of torrent ih receipts have credited to agent
// as their receiver (over all senders; at most the torrent's size): what it
// has provably downloaded there. It reads the receipts ledger's per-piece
// bound, whose key starts with info hash and receiver (migration 00003).
func (s *Store) Credited(ctx context.Context, ih [20]byte, agent common.Address) (uint64, error) {
	lo := make([]byte, 0, 56)
	lo = append(append(append(lo, ih[:]...), make([]byte, 12)...), agent[:]...)
	hi := append(append([]byte(nil), lo...), 0xff, 0xff, 0xff, 0xff)
	lo = append(lo, 0, 0, 0, 0)
	var n int64
	if err := s.db.Pool.QueryRow(ctx, `SELECT COALESCE(sum(credited), 0)::bigint FROM piece_credit WHERE piece BETWEEN $1 AND $2`,
		lo, hi).Scan(&n); err != nil {
		return 0, fmt.Errorf("credited: %w", err)
	}
	return uint64(n), nil
}

// Search filters datasets; every set filter must match.
type Search struct {
	// Text is a websearch_to_tsquery query ("words", "a phrase", or, -not)
	// matched against name, tags, description and license ('simple'
	// configuration: no stemming, no stop words). Results are then ordered by
	// rank; without Text, newest first.
	Text string
	// Modality 0 matches any.
	Modality Modality
	// Tags must all be present.
	Tags []string
	// Publisher nil matches any.
	Publisher *common.Address
}

// SearchDatasets returns up to limit datasets matching q after the position
// pageToken names ("" for the first page), and the next page's token ("" after
// the last page). A token is bound to its query: reused with other filters it
// fails with ErrBadPageToken.
func (s *Store) SearchDatasets(ctx context.Context, q Search, pageToken string, limit int) ([]Dataset, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	ranked := q.Text != ""
	fp := q.fingerprint()
	var cur *datasetCursor
	if pageToken != "" {
		c, err := decodeDatasetToken(pageToken, fp, ranked)
		if err != nil {
			return nil, "", err
		}
		cur = &c
	}

	var (
		args  []any
		where []string
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	from, rank := "datasets d", "0::real"
	if ranked {
		from += ", websearch_to_tsquery('simple', " + arg(q.Text) + ") q"
		where = append(where, "d.search @@ q")
		rank = "ts_rank(d.search, q)"
	}
	if q.Modality != 0 {
		where = append(where, "d.modality = "+arg(int16(q.Modality)))
	}
	if len(q.Tags) > 0 {
		where = append(where, "d.tags @> "+arg(q.Tags)+"::text[]")
	}
	if q.Publisher != nil {
		where = append(where, "d.publisher = "+arg(q.Publisher[:]))
	}
	if len(where) == 0 {
		where = append(where, "true")
	}
	sql := `SELECT * FROM (SELECT ` + datasetCols + `, ` + rank + ` AS rank FROM ` + from +
		` WHERE ` + strings.Join(where, " AND ") + `) s`
	order := ` ORDER BY s.published_at DESC, s.info_hash DESC`
	if ranked {
		order = ` ORDER BY s.rank DESC, s.published_at DESC, s.info_hash DESC`
	}
	if cur != nil {
		if ranked {
			sql += ` WHERE (s.rank, s.published_at, s.info_hash) < (` + arg(cur.rank) + `::real, ` +
				arg(cur.at) + `, ` + arg(cur.ih[:]) + `)`
		} else {
			sql += ` WHERE (s.published_at, s.info_hash) < (` + arg(cur.at) + `, ` + arg(cur.ih[:]) + `)`
		}
	}
	sql += order + ` LIMIT ` + arg(limit+1)

	rows, err := s.db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", fmt.Errorf("search datasets: %w", err)
	}
	defer rows.Close()
	var (
		out   []Dataset
		ranks []float32
	)
	for rows.Next() {
		var (
			d            Dataset
			ih, pub, sig []byte
			ts           int64
			r            float32
		)
		if err := rows.Scan(append(datasetDest(&d, &ih, &pub, &sig, &ts), &r)...); err != nil {
			return nil, "", fmt.Errorf("search datasets: %w", err)
		}
		finishDataset(&d, ih, pub, sig, ts)
		out = append(out, d)
		ranks = append(ranks, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("search datasets: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeDatasetToken(fp, ranked, datasetCursor{rank: ranks[limit-1], at: last.PublishedAt, ih: last.InfoHash})
	}
	return out, next, nil
}
