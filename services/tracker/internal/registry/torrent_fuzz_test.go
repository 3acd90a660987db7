package registry

import (
	"bytes"
	"crypto/sha1"
	"math"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/pbts/pbts/torrentfile"
)

// fzInfo bencodes an info dictionary for the seeds.
func fzInfo(tb testing.TB, info metainfo.Info) []byte {
	tb.Helper()
	b, err := bencode.Marshal(info)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// fzPublishWork bounds the time one uploaded torrent may take to refuse
// or accept (a 4 MiB upload of the worst shape included; generous for -race).
const fzPublishWork = 2 * time.Second

// fzPublishStack bounds a goroutine's stack while a torrent is parsed (the
// Go default is 1 GiB): parsing must not recurse with the input's size. Going
// over it is a fatal "stack overflow", the fuzzer's crash.
const fzPublishStack = 8 << 20

// FuzzPublishTorrent feeds arbitrary upload bytes through the path
// PublishDataset takes before any signature or database work: the size
// limit, infoBytes (bare info dictionary or whole .torrent), parseTorrent
// (bencode -> metainfo, private, piece length and count checks) and the
// personal torrent GetTorrent hands back. Properties: no panic, bounded work,
// and an accepted torrent is consistent: a piece layout within the limits,
// files of non-negative lengths summing to the total, the info hash of the
// exact bytes, and a personal torrent that carries the very same info.
func FuzzPublishTorrent(f *testing.F) {
	private := true
	public := false
	pieces := func(n int) []byte { return bytes.Repeat([]byte{0xab}, 20*n) }
	single := metainfo.Info{Name: "clip.mp4", PieceLength: 16 << 10, Length: 40000, Pieces: pieces(3), Private: &private}
	multi := metainfo.Info{Name: "album", PieceLength: 32 << 10, Pieces: pieces(2), Private: &private,
		Files: []metainfo.FileInfo{{Path: []string{"a.flac"}, Length: 40000}, {Path: []string{"b", "c.flac"}, Length: 1}}}
	good := fzInfo(f, single)
	f.Add(good)
	f.Add(fzInfo(f, multi))
	whole, err := bencode.Marshal(metainfo.MetaInfo{InfoBytes: good, Announce: "http://tracker/announce/x"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(whole)
	// Edge inputs: not private, bad piece lengths and counts, lengths that
	// are negative or overflow, empty and truncated input, nesting.
	notPrivate := single
	notPrivate.Private = &public
	f.Add(fzInfo(f, notPrivate))
	tiny := single
	tiny.PieceLength = 1
	f.Add(fzInfo(f, tiny))
	short := single
	short.Pieces = pieces(2)
	f.Add(fzInfo(f, short))
	negative := multi
	negative.Files = []metainfo.FileInfo{{Path: []string{"a"}, Length: -1 << 20}, {Path: []string{"b"}, Length: 1<<20 + 40000}}
	f.Add(fzInfo(f, negative))
	wrap := multi
	wrap.Pieces = pieces(1)
	wrap.Files = []metainfo.FileInfo{{Path: []string{"a"}, Length: math.MaxInt64}, {Path: []string{"b"}, Length: math.MaxInt64}, {Path: []string{"c"}, Length: 1002}}
	f.Add(fzInfo(f, wrap))
	f.Add([]byte{})
	f.Add(good[:len(good)/2])
	f.Add([]byte("d4:infoi1ee"))
	f.Add([]byte("d4:info0:e"))
	f.Add([]byte("le"))
	f.Add([]byte("d12:piece lengthi-9223372036854775808e6:pieces20:aaaaaaaaaaaaaaaaaaaa6:lengthi1e7:privatei1ee"))
	f.Add([]byte("d4:name" + strings.Repeat("l", 1000) + strings.Repeat("e", 1000) + "e"))
	// The worst shape at the size limit (generated: 4 MiB).
	f.Add([]byte("d4:name" + strings.Repeat("l", (4<<20-8)/2) + strings.Repeat("e", (4<<20-8)/2) + "e"))
	f.Fuzz(func(t *testing.T, b []byte) {
		defer debug.SetMaxStack(debug.SetMaxStack(fzPublishStack))
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > fzPublishWork {
				t.Fatalf("%d bytes took %v to parse (bound %v)", len(b), d, fzPublishWork)
			}
		}()
		// publishDataset's own checks, in its order.
		if len(b) == 0 || len(b) > DefaultLimits().MaxTorrentBytes {
			return
		}
		info, err := infoBytes(b)
		if err != nil {
			return
		}
		layout, err := parseTorrent(info)
		if err != nil {
			if len(err.Error()) > 4096 {
				t.Fatalf("refusal of %d bytes: a message of %d bytes", len(b), len(err.Error()))
			}
			return
		}
		checkLayout(t, info, layout)
		pt, err := personalTorrent(info, "http://tracker.example/announce/passkey", layout.Name, 1700000000)
		if err != nil {
			t.Fatalf("accepted torrent: personal torrent: %v", err)
		}
		got, err := infoBytes(pt)
		if err != nil || !bytes.Equal(got, info) {
			t.Fatalf("personal torrent does not carry the published info (%v)", err)
		}
	})
}

func checkLayout(t *testing.T, info []byte, l torrentfile.Layout) {
	t.Helper()
	n, pl, total := int64(l.NumPieces), l.PieceLength, l.TotalLength
	switch {
	case !l.Private:
		t.Fatal("accepted a torrent that is not private")
	case pl < torrentfile.MinPieceLength || pl > torrentfile.MaxPieceLength:
		t.Fatalf("accepted piece length %d", pl)
	case n < 1 || total <= 0:
		t.Fatalf("accepted %d pieces, %d bytes", n, total)
	case (n-1)*pl >= total || total > n*pl:
		t.Fatalf("%d pieces of %d bytes for a total of %d", n, pl, total)
	}
	if sum := sha1.Sum(info); !bytes.Equal(l.InfoHash[:20], sum[:]) || [12]byte(l.InfoHash[20:]) != [12]byte{} {
		t.Fatalf("info hash %x is not the SHA-1 of the info bytes", l.InfoHash)
	}
	var mi metainfo.Info
	if err := bencode.Unmarshal(info, &mi); err != nil {
		t.Fatalf("accepted info does not decode again: %v", err)
	}
	if len(mi.Files) == 0 {
		if mi.Length != total {
			t.Fatalf("single-file length %d, layout total %d", mi.Length, total)
		}
		return
	}
	var sum int64
	for i, fi := range mi.Files {
		if fi.Length < 0 || fi.Length > math.MaxInt64-sum {
			t.Fatalf("accepted file %d of length %d (sum so far %d)", i, fi.Length, sum)
		}
		sum += fi.Length
	}
	if sum != total {
		t.Fatalf("files sum to %d, layout total %d", sum, total)
	}
}
