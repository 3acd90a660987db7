// Package torrentfile builds and inspects the private BitTorrent v1 torrents
// that PBTS catalogs, together with the SHA-256 of every piece: receipts name
// pieces by that hash, and the catalog checks it on publish.
package torrentfile

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// Limits on what is accepted from outside.
const (
	// MaxInfoBytes bounds an info dictionary (a 4 MiB dict holds ~200k pieces).
	MaxInfoBytes = 4 << 20
	// MinPieceLength and MaxPieceLength bound the piece length PBTS chooses
	// and accepts.
	MinPieceLength = 16 << 10
	MaxPieceLength = 16 << 20
	// MaxNesting bounds how deep lists and dictionaries nest in accepted
	// bencode (a .torrent needs 5); the decoder recurses per level, and a
	// 4 MiB run of "l" took it seconds and half a GiB of stack.
	MaxNesting = 32
)

// Sentinel errors of Parse.
var (
	ErrTooLarge    = errors.New("info dictionary too large")
	ErrMalformed   = errors.New("malformed info dictionary")
	ErrNotPrivate  = errors.New("torrent is not private (BEP 27 private=1 is required)")
	ErrPieceLength = errors.New("piece length out of range")
	ErrPieceCount  = errors.New("piece hashes do not match the total length")
	ErrTooDeep     = errors.New("bencode nested too deep")
)

// CheckNesting refuses bencode whose lists and dictionaries nest deeper
// than MaxNesting, without recursion; call it before bencode.Unmarshal on
// untrusted bytes. It does not otherwise validate b.
func CheckNesting(b []byte) error {
	depth := 0
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == 'l' || c == 'd':
			if depth++; depth > MaxNesting {
				return fmt.Errorf("%w: more than %d levels", ErrTooDeep, MaxNesting)
			}
			i++
		case c == 'e':
			depth--
			i++
		case c == 'i':
			for i < len(b) && b[i] != 'e' {
				i++
			}
			i++
		case '0' <= c && c <= '9':
			n := 0
			for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
				if n > len(b) {
					return nil // longer than the input: the decoder refuses it
				}
				n = n*10 + int(b[i]-'0')
			}
			i += 1 + n // the ':' and the string
		default:
			return nil // not bencode: the decoder refuses it
		}
	}
	return nil
}

// Layout is what PBTS needs to know of a torrent's pieces.
type Layout struct {
	// InfoHash is the v1 SHA-1 info hash left-aligned in 32 bytes, as receipts carry it.
	InfoHash    [32]byte
	Name        string
	PieceLength int64
	TotalLength int64
	NumPieces   int
	Private     bool
}

// PieceSize is the length of piece i (the last one may be short).
func (l Layout) PieceSize(i int) (int64, error) {
	if i < 0 || i >= l.NumPieces {
		return 0, fmt.Errorf("piece %d out of range [0,%d)", i, l.NumPieces)
	}
	if i == l.NumPieces-1 {
		return l.TotalLength - int64(i)*l.PieceLength, nil
	}
	return l.PieceLength, nil
}

// InfoHash32 left-aligns a v1 info hash in 32 bytes.
func InfoHash32(h metainfo.Hash) (out [32]byte) {
	copy(out[:], h[:])
	return out
}

// Parse decodes a bencoded v1 info dictionary and checks that its piece
// hashes agree with its length. It does not require privacy; callers that
// do check Layout.Private (or use ParsePrivate).
func Parse(infoBytes []byte) (*metainfo.Info, Layout, error) {
	if len(infoBytes) > MaxInfoBytes {
		return nil, Layout{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(infoBytes), MaxInfoBytes)
	}
	if err := CheckNesting(infoBytes); err != nil {
		return nil, Layout{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var info metainfo.Info
	if err := bencode.Unmarshal(infoBytes, &info); err != nil {
		return nil, Layout{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if info.PieceLength < MinPieceLength || info.PieceLength > MaxPieceLength {
		return nil, Layout{}, fmt.Errorf("%w: %d, want %d..%d", ErrPieceLength, info.PieceLength, MinPieceLength, MaxPieceLength)
	}
	if len(info.Pieces) == 0 || len(info.Pieces)%20 != 0 {
		return nil, Layout{}, fmt.Errorf("%w: pieces field of %d bytes is not a non-empty multiple of 20 (only v1 torrents are accepted)", ErrMalformed, len(info.Pieces))
	}
	if info.Length < 0 {
		return nil, Layout{}, fmt.Errorf("%w: length %d", ErrMalformed, info.Length)
	}
	var sum int64
	for _, fi := range info.Files {
		if fi.Length < 0 || fi.Length > math.MaxInt64-sum {
			return nil, Layout{}, fmt.Errorf("%w: file of length %d (negative, or the total overflows)", ErrMalformed, fi.Length)
		}
		sum += fi.Length
	}
	total := info.TotalLength()
	if total <= 0 {
		return nil, Layout{}, fmt.Errorf("%w: total length %d", ErrMalformed, total)
	}
	n := len(info.Pieces) / 20
	if want := (total + info.PieceLength - 1) / info.PieceLength; int64(n) != want {
		return nil, Layout{}, fmt.Errorf("%w: %d hashes for %d bytes in %d-byte pieces (want %d)", ErrPieceCount, n, total, info.PieceLength, want)
	}
	l := Layout{
		InfoHash:    InfoHash32(metainfo.HashBytes(infoBytes)),
		Name:        info.BestName(),
		PieceLength: info.PieceLength,
		TotalLength: total,
		NumPieces:   n,
		Private:     info.Private != nil && *info.Private,
	}
	return &info, l, nil
}

// ParsePrivate is Parse that also refuses a torrent without private=1.
func ParsePrivate(infoBytes []byte) (*metainfo.Info, Layout, error) {
	info, l, err := Parse(infoBytes)
	if err == nil && !l.Private {
		err = ErrNotPrivate
	}
	return info, l, err
}

// ChoosePieceLength picks a power-of-two piece length between 256 KiB and
// 4 MiB aiming at no more than about 2,000 pieces.
func ChoosePieceLength(total int64) int64 {
	pl := int64(256 << 10)
	for pl < 4<<20 && total/pl > 2000 {
		pl *= 2
	}
	return pl
}

// Build makes a private v1 torrent of the file or directory at path (piece
// length 0 chooses one) and returns it with the SHA-256 of every piece,
// reading the data once for both hashes so they can never disagree.
func Build(path string, pieceLength int64) (*metainfo.MetaInfo, [][32]byte, error) {
	info := metainfo.Info{Name: filepath.Base(filepath.Clean(path)), Private: new(bool)}
	*info.Private = true
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if st.IsDir() {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(path, p)
			if err != nil {
				return err
			}
			info.Files = append(info.Files, metainfo.FileInfo{Path: strings.Split(rel, string(filepath.Separator)), Length: fi.Size()})
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if len(info.Files) == 0 {
			return nil, nil, fmt.Errorf("%s: no files", path)
		}
		slices.SortFunc(info.Files, func(a, b metainfo.FileInfo) int {
			return strings.Compare(strings.Join(a.Path, "/"), strings.Join(b.Path, "/"))
		})
	} else {
		info.Length = st.Size()
	}
	if info.TotalLength() == 0 {
		return nil, nil, fmt.Errorf("%s: empty", path)
	}
	info.PieceLength = pieceLength
	if pieceLength == 0 {
		info.PieceLength = ChoosePieceLength(info.TotalLength())
	}
	ph := NewPieceHasher(info.PieceLength)
	err = info.GeneratePieces(func(fi metainfo.FileInfo) (io.ReadCloser, error) {
		p := path
		if st.IsDir() {
			p = filepath.Join(path, filepath.Join(fi.Path...))
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		return readCloser{io.TeeReader(f, ph), f}, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("hash pieces of %s: %w", path, err)
	}
	sums := ph.Sums()
	if len(sums) != info.NumPieces() {
		return nil, nil, fmt.Errorf("hashed %d pieces, info has %d", len(sums), info.NumPieces())
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		return nil, nil, err
	}
	return &metainfo.MetaInfo{InfoBytes: infoBytes}, sums, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// PieceHasher computes the SHA-256 of consecutive pieces of a byte stream.
type PieceHasher struct {
	pieceLength int64
	inPiece     int64
	h           hash.Hash
	sums        [][32]byte
}

// NewPieceHasher returns a hasher for pieces of the given length.
func NewPieceHasher(pieceLength int64) *PieceHasher {
	return &PieceHasher{pieceLength: pieceLength, h: sha256.New()}
}

// Write hashes the next bytes of the stream.
func (p *PieceHasher) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		take := min(int64(len(b)), p.pieceLength-p.inPiece)
		p.h.Write(b[:take])
		p.inPiece += take
		b = b[take:]
		if p.inPiece == p.pieceLength {
			p.finish()
		}
	}
	return n, nil
}

func (p *PieceHasher) finish() {
	var s [32]byte
	p.h.Sum(s[:0])
	p.sums = append(p.sums, s)
	p.h.Reset()
	p.inPiece = 0
}

// Sums ends the stream (a short last piece counts) and returns every piece's SHA-256.
func (p *PieceHasher) Sums() [][32]byte {
	if p.inPiece > 0 {
		p.finish()
	}
	return p.sums
}
