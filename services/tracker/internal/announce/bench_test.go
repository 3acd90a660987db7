package announce_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/announce/announcetest"
	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

const benchAgents = 10_000

func benchTracker(b *testing.B) (*announce.Tracker, []string) {
	dir := announcetest.NewDirectory()
	dir.RecordJoins = false
	dir.CreditEverything = true
	for n := 1; n <= 3; n++ {
		dir.AddTorrent(announce.Torrent{InfoHash: ih(n), TotalLength: torrentSize})
	}
	keys := make([]string, benchAgents)
	for n := range keys {
		keys[n] = pk(n)
		dir.AddAgent(keys[n], agent(n))
	}
	store, err := swarm.NewMemory(0)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := announce.New(announce.DefaultConfig(), store, dir, announcetest.NewGate(announce.DefaultRatio, 1<<40), nil)
	if err != nil {
		b.Fatal(err)
	}
	return tr, keys
}

// BenchmarkAnnounce measures the logic alone: the full path (Directory,
// Gate, store insert) and the min-interval fast path.
func BenchmarkAnnounce(b *testing.B) {
	ctx := context.Background()
	b.Run("FullPath", func(b *testing.B) {
		tr, keys := benchTracker(b)
		resp := &bt.AnnounceResponse{}
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			k := n % benchAgents
			r := bt.AnnounceRequest{Passkey: keys[k], InfoHash: ih(1 + n%3), PeerID: pid(k), Port: 1, Addr: addr(k), Left: uint64(k % 2), NumWant: 50, Compact: true}
			if n >= benchAgents*3 { // every peer known: make each announce verify again
				r.Passkey = keys[(k+1)%benchAgents]
				r.PeerID = pid(n)
			}
			resp.Reset()
			_ = tr.Announce(ctx, &r, resp)
			n++
		}
	})
	b.Run("FastPath", func(b *testing.B) {
		tr, keys := benchTracker(b)
		resp := &bt.AnnounceResponse{}
		for k := range benchAgents {
			r := bt.AnnounceRequest{Passkey: keys[k], InfoHash: ih(1), PeerID: pid(k), Port: 1, Addr: addr(k), Left: uint64(k % 2), NumWant: 50, Compact: true}
			resp.Reset()
			if err := tr.Announce(ctx, &r, resp); err != nil {
				b.Fatal(err)
			}
		}
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			k := n % benchAgents
			r := bt.AnnounceRequest{Passkey: keys[k], InfoHash: ih(1), PeerID: pid(k), Port: 1, Addr: addr(k), Left: uint64(k % 2), NumWant: 50, Compact: true}
			resp.Reset()
			_ = tr.Announce(ctx, &r, resp)
			n++
		}
	})
}

// BenchmarkHandler measures frontend and logic together, without sockets.
func BenchmarkHandler(b *testing.B) {
	tr, keys := benchTracker(b)
	h, err := bt.NewHandler(tr, bt.DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]*http.Request, 1000)
	for k := range reqs {
		h := ih(1 + k%3)
		p := pid(k)
		r := httptest.NewRequest("GET", "/announce/"+keys[k]+"?info_hash="+url.QueryEscape(string(h[:]))+
			"&peer_id="+url.QueryEscape(string(p[:]))+"&port=6881&uploaded=0&downloaded=0&left="+strconv.Itoa(k%2)+"&compact=1", nil)
		r.RemoteAddr = addr(k).String()
		reqs[k] = r
	}
	w := &discard{h: http.Header{}}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, reqs[n%len(reqs)])
		n++
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
