package main

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"strconv"

	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/bt"
)

// The bench population.
const (
	defaultTorrents = 10_000
	defaultPeers    = 100_000
	torrentSize     = 4 << 30
	gib             = 1 << 30
)

func infoHash(i int) bt.InfoHash {
	return sha1.Sum([]byte("pbts-bench-torrent/" + strconv.Itoa(i)))
}

// passkey j belongs to agent j, which announces as peer j.
func passkey(j int) string {
	s := sha256.Sum256([]byte("pbts-bench-passkey/" + strconv.Itoa(j)))
	return hex.EncodeToString(s[:16])
}

func agent(j int) announce.Agent {
	s := sha256.Sum256([]byte("pbts-bench-agent/" + strconv.Itoa(j)))
	return announce.Agent(s[:20])
}

func peerID(j int) bt.PeerID {
	var p bt.PeerID
	copy(p[:], "-BN0001-")
	binary.BigEndian.PutUint32(p[8:], uint32(j))
	s := sha256.Sum256([]byte("pbts-bench-peer/" + strconv.Itoa(j)))
	copy(p[12:], s[:8])
	return p
}

func peerPort(j int) int { return 10000 + j%50000 }

// seeder: a quarter of the peers seed; the others leech.
func seeder(j int) bool { return j%4 == 0 }

// The gate's figures for agent j: every 100th agent has downloaded far
// more than it uploaded and is refused when it leeches; the others are
// well in credit. The rule is applied for every leecher either way.
func figures(j int) (uploaded, downloaded uint64) {
	if j%100 == 1 {
		return gib, 64 * gib
	}
	return 64 * gib, 4 * gib
}

type lineWriter struct{ w *bufio.Writer }

func newLineWriter(w io.Writer) lineWriter { return lineWriter{bufio.NewWriter(w)} }

func (l lineWriter) line(s string) { l.w.WriteString(s); l.w.WriteByte('\n') }

func (l lineWriter) flush() error { return l.w.Flush() }
