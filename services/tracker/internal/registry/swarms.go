package registry

import (
	"context"
	"errors"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Swarms is the live swarm state the BitTorrent frontend keeps; the tracker's
// main package adapts it. Counts and Peers cover one torrent; Resolve names the
// agent behind a peer of it.
type Swarms interface {
	// Counts returns the torrent's current seeders and leechers and the
	// completed downloads this tracker has seen.
	Counts(ctx context.Context, infoHash [20]byte) (seeders, leechers, completed uint32)
	// Peers lists the torrent's current peers.
	Peers(ctx context.Context, infoHash [20]byte) ([]SwarmPeer, error)
	// Resolve returns the agent behind the peer with peerID (20 bytes) or,
	// when peerID is nil, at addr (canonical ip:port, as netip.AddrPort
	// formats it) in the torrent's swarm, as asked by asker (already checked
	// to be a member of the swarm). An unknown peer is ErrPeerNotFound.
	Resolve(ctx context.Context, infoHash [20]byte, asker common.Address, peerID []byte, addr string) (common.Address, error)
	// AgentLeft is what agent still has left in the swarms it leeches other
	// than except (the gate counts them all at once).
	AgentLeft(ctx context.Context, agent common.Address, except [20]byte) (uint64, error)
	// Totals counts the swarms with peers and their seeders and leechers.
	Totals(ctx context.Context) (swarms, seeders, leechers uint64, err error)
}

// ErrPeerNotFound is what Swarms.Resolve returns for a peer it does not know.
var ErrPeerNotFound = errors.New("peer not found in the swarm")

// SwarmPeer is one peer of a swarm.
type SwarmPeer struct {
	Agent                common.Address
	PeerID               [20]byte
	Seeder               bool
	Uploaded, Downloaded uint64
	Left                 uint64
	LastAnnounce         time.Time
}

// clientName returns the client id of an Azureus-style peer id ("-qB4520-"),
// or the printable ASCII prefix of a Shadow-style one (up to 6 bytes), or "".
func clientName(id [20]byte) string {
	if id[0] == '-' && id[7] == '-' {
		ok := true
		for _, c := range id[1:7] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '~') {
				ok = false
				break
			}
		}
		if ok {
			return string(id[:8])
		}
	}
	n := 0
	for n < 6 && ('0' <= id[n] && id[n] <= '9' || 'a' <= id[n] && id[n] <= 'z' || 'A' <= id[n] && id[n] <= 'Z' || id[n] == '-') {
		n++
	}
	if n == 0 {
		return ""
	}
	return string(id[:n])
}
