package torrentfile

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

func randomBytes(t *testing.T, n int, seed uint64) []byte {
	t.Helper()
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestBuildSingleFile(t *testing.T) {
	const pl = 256 << 10
	data := randomBytes(t, 3*pl+1234, 1)
	path := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mi, sums, err := Build(path, pl)
	if err != nil {
		t.Fatal(err)
	}
	info, l, err := ParsePrivate(mi.InfoBytes)
	if err != nil {
		t.Fatalf("ParsePrivate of our own torrent: %v", err)
	}
	if l.NumPieces != 4 || len(sums) != 4 || l.TotalLength != int64(len(data)) || l.Name != "clip.mp4" {
		t.Fatalf("layout %+v with %d sums; want 4 pieces of %d bytes named clip.mp4", l, len(sums), len(data))
	}
	if last, _ := l.PieceSize(3); last != 1234 {
		t.Errorf("last piece size %d, want 1234", last)
	}
	for i := range 4 {
		end := min((i+1)*pl, len(data))
		piece := data[i*pl : end]
		if sums[i] != sha256.Sum256(piece) {
			t.Errorf("piece %d SHA-256 differs", i)
		}
		if s1 := sha1.Sum(piece); !bytes.Equal(info.Pieces[i*20:i*20+20], s1[:]) {
			t.Errorf("piece %d SHA-1 differs", i)
		}
	}
	if want := InfoHash32(metainfo.HashBytes(mi.InfoBytes)); l.InfoHash != want || l.InfoHash[20] != 0 {
		t.Errorf("info hash %x, want %x left-aligned", l.InfoHash, want)
	}
}

func TestBuildDirectoryMatchesConcatenation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "speech")
	os.MkdirAll(filepath.Join(dir, "b"), 0o755)
	a := randomBytes(t, 300_000, 2)
	b := randomBytes(t, 100_000, 3)
	os.WriteFile(filepath.Join(dir, "b", "two.wav"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "a.wav"), a, 0o644)
	mi, sums, err := Build(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, l, err := Parse(mi.InfoBytes)
	if err != nil {
		t.Fatal(err)
	}
	if l.PieceLength != 256<<10 {
		t.Fatalf("chose piece length %d, want 256 KiB for a small dataset", l.PieceLength)
	}
	all := append(append([]byte{}, a...), b...) // sorted order: a.wav, b/two.wav
	ph := NewPieceHasher(l.PieceLength)
	ph.Write(all)
	want := ph.Sums()
	if len(sums) != len(want) || sums[0] != want[0] || sums[1] != want[1] {
		t.Fatalf("directory sums differ from the concatenation's")
	}
}

func TestParseRefusals(t *testing.T) {
	good := metainfo.Info{Name: "x", PieceLength: 256 << 10, Length: 300 << 10, Pieces: make([]byte, 40)}
	enc := func(i metainfo.Info) []byte {
		b, err := bencode.Marshal(i)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, _, err := Parse(enc(good)); err != nil {
		t.Fatalf("good info refused: %v", err)
	}
	tooFew := good
	tooFew.Pieces = make([]byte, 20)
	badLen := good
	badLen.PieceLength = 1000
	odd := good
	odd.Pieces = make([]byte, 39)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"garbage", []byte("not bencode"), ErrMalformed},
		{"huge", make([]byte, MaxInfoBytes+1), ErrTooLarge},
		{"piece count", enc(tooFew), ErrPieceCount},
		{"piece length", enc(badLen), ErrPieceLength},
		{"odd pieces", enc(odd), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Parse(tc.in); !errors.Is(err, tc.want) {
				t.Fatalf("Parse() = %v, want %v", err, tc.want)
			}
		})
	}
	if _, _, err := ParsePrivate(enc(good)); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("public torrent: %v, want ErrNotPrivate", err)
	}
}

func TestChoosePieceLength(t *testing.T) {
	for _, tc := range []struct{ total, want int64 }{
		{1, 256 << 10}, {500 << 20, 256 << 10}, {1 << 30, 1 << 20}, {100 << 30, 4 << 20},
	} {
		if got := ChoosePieceLength(tc.total); got != tc.want {
			t.Errorf("ChoosePieceLength(%d) = %d, want %d", tc.total, got, tc.want)
		}
	}
}
