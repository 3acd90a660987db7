package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/pbts/pbts/services/tracker/internal/announce"
	"github.com/pbts/pbts/services/tracker/internal/announce/announcetest"
	"github.com/pbts/pbts/services/tracker/internal/bt"
	"github.com/pbts/pbts/services/tracker/internal/swarm"
)

// stack is the real tracker (frontend, logic, store) over the in-memory
// test Directory and a Gate that applies the ratio rule to every leecher
// ("private gate on").
type stack struct {
	dir     *announcetest.Directory
	gate    *announcetest.Gate
	store   swarm.PeerStore
	tracker *announce.Tracker
}

// newStack is the stack on the in-memory store.
func newStack(torrents, agents int) (*stack, error) {
	store, err := swarm.NewMemory(0)
	if err != nil {
		return nil, err
	}
	return newStackOn(store, torrents, agents)
}

func newStackOn(store swarm.PeerStore, torrents, agents int) (*stack, error) {
	dir := announcetest.NewDirectory()
	dir.RecordJoins = false
	dir.CreditEverything = true // seeders hold what they seed
	for i := range torrents {
		dir.AddTorrent(announce.Torrent{InfoHash: infoHash(i), TotalLength: torrentSize})
	}
	gate := announcetest.NewGate(announce.DefaultRatio, 0)
	for j := range agents {
		dir.AddAgent(passkey(j), agent(j))
		up, down := figures(j)
		gate.Set(agent(j), up, down)
	}
	tracker, err := announce.New(announce.DefaultConfig(), store, dir, gate, nil)
	if err != nil {
		return nil, err
	}
	return &stack{dir: dir, gate: gate, store: store, tracker: tracker}, nil
}

func serveMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	addrFile := fs.String("addr-file", "", "write the bound address to this file once serving")
	torrents := fs.Int("torrents", defaultTorrents, "catalogued torrents")
	agents := fs.Int("agents", defaultPeers, "registered agents (passkeys)")
	pprofAddr := fs.String("pprof-addr", "", "serve /debug/pprof/ on this (loopback) address")
	nethttp := fs.Bool("nethttp", false, "serve the handler with net/http instead of the lean bt.Server")
	storeKind := fs.String("swarm-store", "memory", "memory, or redis (the tracker's Redis store under a fresh key prefix, deleted on exit)")
	redisURL := fs.String("redis-url", "redis://127.0.0.1:6379/0", "Redis for -swarm-store=redis")
	rate := fs.Float64("announce-rate-per-client", 100_000, "the tracker's per-client announce rate limit (0: off)")
	burst := fs.Int("announce-burst-per-client", 100_000, "the tracker's per-client announce burst")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ap, err := netip.ParseAddrPort(*addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("-addr %q: want a loopback ip:port", *addr)
	}
	var store swarm.PeerStore
	switch *storeKind {
	case "memory":
		if store, err = swarm.NewMemory(0); err != nil {
			return err
		}
	case "redis":
		rs, cleanup, err := benchRedis(ctx, *redisURL)
		if err != nil {
			return err
		}
		defer cleanup()
		store = rs
	default:
		return fmt.Errorf("-swarm-store %q: want memory or redis", *storeKind)
	}
	st, err := newStackOn(store, *torrents, *agents)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The per-client rate limit runs, so its cost is measured, at a rate
	// the load (64 connections from 64 loopback addresses, some hundreds
	// of announces a second each) never reaches; loopback is not exempt.
	btc := bt.DefaultConfig()
	btc.AnnounceRate, btc.AnnounceBurst, btc.RateLimitExempt = *rate, *burst, nil
	h, err := bt.NewHandler(st.tracker, btc, log)
	if err != nil {
		return err
	}
	var handler http.Handler = h // bt.Serve runs the lean bt.Server for a *bt.Handler
	if *nethttp {
		mux := http.NewServeMux()
		mux.Handle("/announce/", h)
		mux.Handle("/scrape/", h)
		handler = mux
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *addrFile != "" {
		tmp := filepath.Join(filepath.Dir(*addrFile), ".addr.tmp")
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "serving %d torrents, %d agents on %s (GOMAXPROCS %d, %s swarm store); per-client announce rate limit on at %g/s, burst %d, loopback not exempt (the bench must never hit it)\n",
		*torrents, *agents, ln.Addr(), runtime.GOMAXPROCS(0), *storeKind, btc.AnnounceRate, btc.AnnounceBurst)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return bt.Serve(gctx, ln, handler, 5*time.Second) })
	g.Go(func() error { return st.tracker.Run(gctx) })
	if *pprofAddr != "" {
		pln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		g.Go(func() error { return bt.Serve(gctx, pln, mux, time.Second) })
	}
	err = g.Wait()
	s := h.Stats()
	ss, _ := st.store.Stats(context.Background())
	fmt.Fprintf(os.Stderr, "served %d announces (%d refused, %d rate-limited, %d malformed, %d internal errors) from %d clients; swarms %d, seeders %d, leechers %d; gate checks %d\n",
		s.Announces, s.Refused, s.RateLimited, s.Malformed, s.Internal, h.LimitedClients(), ss.Torrents, ss.Seeders, ss.Leechers, st.gate.Calls())
	if s.RateLimited > 0 {
		return fmt.Errorf("%d announces hit the rate limit: the figure would measure refusals", s.RateLimited)
	}
	return err
}

// memMain loads peers through the logic and reports the heap they cost.
func memMain(args []string) error {
	fs := flag.NewFlagSet("mem", flag.ContinueOnError)
	torrents := fs.Int("torrents", defaultTorrents, "torrents")
	peers := fs.Int("peers", defaultPeers, "peers (one agent each), spread evenly over the torrents")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := newStack(*torrents, *peers)
	if err != nil {
		return err
	}
	hashes := make([]bt.InfoHash, *torrents)
	for i := range hashes {
		hashes[i] = infoHash(i)
	}
	before := heap()
	ctx := context.Background()
	var resp bt.AnnounceResponse
	for j := range *peers {
		left := uint64(torrentSize / 2)
		if seeder(j) || j%100 == 1 { // agents the gate refuses seed here, so every peer is stored
			left = 0
		}
		req := bt.AnnounceRequest{
			Passkey: passkey(j), InfoHash: hashes[j%*torrents], PeerID: peerID(j), Port: uint16(peerPort(j)),
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(j >> 16), byte(j >> 8), byte(j)}), uint16(peerPort(j))),
			Left: left, Event: bt.EventStarted, NumWant: 50, Compact: true,
		}
		resp.Reset()
		if err := st.tracker.Announce(ctx, &req, &resp); err != nil {
			return fmt.Errorf("peer %d: %w", j, err)
		}
	}
	after := heap()
	ss, err := st.store.Stats(ctx)
	if err != nil {
		return err
	}
	stored := ss.Seeders + ss.Leechers
	if stored != *peers {
		return fmt.Errorf("stored %d peers, want %d", stored, *peers)
	}
	runtime.KeepAlive(st)
	fmt.Fprintf(os.Stderr, "heap in use %d -> %d bytes (heap alloc %d -> %d) for %d peers in %d swarms\n",
		before.HeapInuse, after.HeapInuse, before.HeapAlloc, after.HeapAlloc, stored, ss.Torrents)
	if after.HeapInuse < before.HeapInuse {
		return errors.New("heap shrank while loading peers: measurement is meaningless")
	}
	fmt.Printf("figure tracker_bytes_per_peer %d B\n", (after.HeapInuse-before.HeapInuse)/uint64(stored))
	return nil
}

func heap() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// benchRedis is the Redis swarm store under a fresh key prefix; cleanup
// deletes its keys and closes the client.
func benchRedis(ctx context.Context, url string) (*swarm.Redis, func(), error) {
	b := make([]byte, 6)
	rand.Read(b)
	cfg := swarm.RedisConfig{Prefix: "pbtsbench:" + hex.EncodeToString(b) + ":"}
	o, err := swarm.RedisOptions(url, cfg)
	if err != nil {
		return nil, nil, err
	}
	c := redis.NewClient(o)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("redis at %s: %w", o.Addr, err)
	}
	rs, err := swarm.NewRedis(c, cfg)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	cleanup := func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		iter := c.Scan(ctx, 0, cfg.Prefix+"*", 1000).Iterator()
		var keys []string
		n := 0
		for iter.Next(ctx) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				n += len(keys)
				c.Unlink(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			n += len(keys)
			c.Unlink(ctx, keys...)
		}
		if err := iter.Err(); err != nil {
			fmt.Fprintf(os.Stderr, "deleting the bench's redis keys: %v\n", err)
		}
		fmt.Fprintf(os.Stderr, "deleted %d redis keys under %s\n", n, cfg.Prefix)
	}
	return rs, cleanup, nil
}
