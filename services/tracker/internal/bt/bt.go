// Package bt is the HTTP BitTorrent protocol frontend of the PBTS tracker:
// it parses announce (BEP 3, 7, 23) and scrape (BEP 48) requests sent to
// /announce/<passkey> and /scrape/<passkey>, hands them to a Logic, and
// writes the bencoded answers. It knows nothing of storage or of the rules;
// those live behind Logic (package announce).
//
// Handler is the frontend as an http.Handler. Server serves a Handler on a
// dedicated port with a lean HTTP/1.1 implementation (about twice the
// announces per CPU second of net/http); Serve picks it for a bare Handler.
//
// Only a ClientError's message reaches a client (as a bencoded
// "failure reason"); any other error is logged and answered with a generic
// failure reason, so internal details never leak. Passkeys are never logged.
package bt

import (
	"context"
	"encoding/hex"
	"net/netip"
	"time"
)

// InfoHash is a BitTorrent v1 info hash (SHA-1 of the info dictionary).
type InfoHash [20]byte

// String is the lower-case hex form.
func (h InfoHash) String() string { return hex.EncodeToString(h[:]) }

// PeerID is the 20-byte peer id a client announces.
type PeerID [20]byte

// String is the lower-case hex form (peer ids are arbitrary bytes).
func (p PeerID) String() string { return hex.EncodeToString(p[:]) }

// ClientPrefix returns the client-identifying head of an Azureus-style peer
// id ("-qB4520-", "-TR3000-", "A2-1-36-0-" style ids are cut at the first
// byte that is not printable ASCII, at most 10 bytes).
func (p PeerID) ClientPrefix() string {
	n := 0
	for n < 10 && p[n] >= 0x20 && p[n] < 0x7f {
		n++
	}
	if n >= 8 && p[0] == '-' && p[7] == '-' {
		n = 8
	}
	return string(p[:n])
}

// Event is the announce event parameter.
type Event uint8

// Announce events (BEP 3; Paused is BEP 21's partial seed).
const (
	EventNone Event = iota
	EventStarted
	EventStopped
	EventCompleted
	EventPaused
)

// String is the protocol spelling ("" for EventNone).
func (e Event) String() string {
	switch e {
	case EventStarted:
		return "started"
	case EventStopped:
		return "stopped"
	case EventCompleted:
		return "completed"
	case EventPaused:
		return "paused"
	default:
		return ""
	}
}

// AnnounceRequest is a parsed, syntactically valid announce.
type AnnounceRequest struct {
	// Passkey is the secret path segment naming the agent. Never log it.
	Passkey  string
	InfoHash InfoHash
	PeerID   PeerID
	// Port is the announced listening port (never 0).
	Port uint16
	// Addr is the connection's address (or a trusted proxy's header) with
	// the announced port: the endpoint the tracker can vouch for.
	Addr netip.AddrPort
	// Hint is a BEP 7 endpoint of the other address family from the
	// ipv4=/ipv6= parameter (its port, or the announced one); it is
	// unverified. The zero value means none.
	Hint                       netip.AddrPort
	Uploaded, Downloaded, Left uint64
	Event                      Event
	// NumWant is the numwant parameter, or -1 when absent.
	NumWant int
	// Compact is false only when the client asked compact=0 (BEP 23).
	Compact bool
	// NoPeerID asks to leave peer ids out of the dictionary model.
	NoPeerID bool
}

// Peer is one entry of a dictionary-model (compact=0) peer list.
type Peer struct {
	ID   PeerID
	Addr netip.AddrPort
}

// AnnounceResponse is what an announce is answered with. Handlers reuse it
// between requests: Logic implementations append to the slices' [:0].
type AnnounceResponse struct {
	Interval, MinInterval            time.Duration
	Complete, Incomplete, Downloaded int
	// Compact selects the peer encoding: IPv4/IPv6 hold packed 6- and
	// 18-byte entries (peers and peers6, BEP 23 and 7); otherwise Peers
	// holds the dictionary model.
	Compact    bool
	IPv4, IPv6 []byte
	Peers      []Peer
	// Agent names the announcer in the announce log, as the Logic knows it
	// (its Ethereum address), never by its credential; zero when unknown.
	// It is not sent to the client.
	Agent [20]byte
}

// Reset empties r keeping its buffers.
func (r *AnnounceResponse) Reset() {
	*r = AnnounceResponse{IPv4: r.IPv4[:0], IPv6: r.IPv6[:0], Peers: r.Peers[:0]}
}

// ScrapeRequest is a parsed scrape (BEP 48) with at least one info hash.
type ScrapeRequest struct {
	// Passkey is the secret path segment naming the agent. Never log it.
	Passkey    string
	InfoHashes []InfoHash
}

// ScrapeFile is one torrent's counts in a scrape answer.
type ScrapeFile struct {
	InfoHash                         InfoHash
	Complete, Incomplete, Downloaded int
}

// ScrapeResponse lists the torrents the Logic agreed to describe; info
// hashes it leaves out (unknown torrents) are simply absent.
type ScrapeResponse struct {
	Files []ScrapeFile
}

// Logic is the tracker logic behind the frontend. Implementations return a
// ClientError (possibly wrapped) to refuse a request with a message the
// client shows; any other error is treated as internal.
type Logic interface {
	Announce(ctx context.Context, req *AnnounceRequest, resp *AnnounceResponse) error
	Scrape(ctx context.Context, req *ScrapeRequest, resp *ScrapeResponse) error
}

// ClientError is an error whose message is meant for the BitTorrent client
// (and the person behind it). It is the only kind of error whose text is
// sent back.
type ClientError string

func (e ClientError) Error() string { return string(e) }
