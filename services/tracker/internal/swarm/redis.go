package swarm

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/pbts/pbts/services/tracker/internal/bt"
)

// Redis is the PeerStore on a Redis server, so that tracker replicas
// sharing one Redis see the same swarms: every announce is one Lua script
// (EVALSHA) that applies the memory store's rules atomically, and every
// lookup one command, MULTI or read-only script. Peers expire through
// Collect (each swarm keeps its peers in a sorted set by last-seen second,
// and a global sorted set names the swarms holding peers older than a
// cutoff); every key also carries a TTL, renewed on each write, so what no
// tracker touches any more vanishes on its own. The key layout is described
// at luaCommon.
type Redis struct {
	c       redis.UniversalClient
	prefix  string
	ttl     time.Duration
	timeout time.Duration
	idx     string
	due     string
	agents  string
}

var _ PeerStore = (*Redis)(nil)

// RedisConfig are the Redis store's settings; zero values take defaults.
type RedisConfig struct {
	// Prefix begins every key (default DefaultRedisPrefix): trackers with
	// the same Redis and prefix share their swarms.
	Prefix string
	// TTL: the keys of a swarm (or of an agent's leeching index) that no
	// write touched for this long vanish (default DefaultRedisTTL). Keep it
	// well above the peer expiry: peers leave by Collect, the TTL removes
	// what nobody collects any more (and a swarm's completed counter).
	TTL time.Duration
	// Timeout bounds every call to Redis (default DefaultRedisTimeout).
	Timeout time.Duration
}

// Defaults of RedisConfig.
const (
	DefaultRedisPrefix  = "pbts:"
	DefaultRedisTTL     = 24 * time.Hour
	DefaultRedisTimeout = 2 * time.Second
)

func (c *RedisConfig) defaults() error {
	if c.Prefix == "" {
		c.Prefix = DefaultRedisPrefix
	}
	if c.TTL == 0 {
		c.TTL = DefaultRedisTTL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultRedisTimeout
	}
	if c.TTL < 2*time.Second {
		return fmt.Errorf("swarm: redis key TTL %v: want at least 2s", c.TTL)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("swarm: redis timeout %v: want a positive duration", c.Timeout)
	}
	if strings.ContainsAny(c.Prefix, "*?[]\\") {
		return fmt.Errorf("swarm: redis key prefix %q: no glob characters (*?[]\\)", c.Prefix)
	}
	return nil
}

// NewRedis returns the store on client (which the caller closes).
func NewRedis(client redis.UniversalClient, cfg RedisConfig) (*Redis, error) {
	if client == nil {
		return nil, errors.New("swarm: nil redis client")
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Redis{
		c: client, prefix: cfg.Prefix, ttl: cfg.TTL, timeout: cfg.Timeout,
		idx: cfg.Prefix + "idx", due: cfg.Prefix + "due", agents: cfg.Prefix + "a:",
	}, nil
}

// ErrRedisURL: the Redis URL does not parse. Its text never shows the URL
// (it may hold a password).
var ErrRedisURL = errors.New("not a valid Redis URL (redis://[user:password@]host:port/db, rediss:// or unix://; not shown)")

// RedisOptions parses a redis:// (rediss://, unix://) URL into client
// options with cfg's timeout on dialing, reading, writing and waiting for a
// pooled connection, and few retries.
func RedisOptions(url string, cfg RedisConfig) (*redis.Options, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, ErrRedisURL
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout, cfg.Timeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = 1
	o.DialerRetries = 1 // a refused dial fails the call now, not after five
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return o, nil
}

// DialRedis returns the store on a new client for url (see RedisOptions).
// It does not connect: a down Redis fails calls (within the timeout) until
// it answers. Close closes the client.
func DialRedis(url string, cfg RedisConfig) (*Redis, error) {
	o, err := RedisOptions(url, cfg)
	if err != nil {
		return nil, err
	}
	c := redis.NewClient(o)
	r, err := NewRedis(c, cfg)
	if err != nil {
		c.Close()
		return nil, err
	}
	return r, nil
}

// Close closes the client.
func (r *Redis) Close() error { return r.c.Close() }

// Ping checks that Redis answers within the timeout.
func (r *Redis) Ping(ctx context.Context) error {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	return r.wrap(r.c.Ping(ctx).Err())
}

func (r *Redis) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

func (r *Redis) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("swarm store (redis): %w", err)
}

// swarmKeys are the keys of one swarm: h, S, L, T.
func (r *Redis) swarmKeys(ih bt.InfoHash) []string {
	base := r.prefix + "s:" + hex.EncodeToString(ih[:]) + ":"
	return []string{base + "h", base + "S", base + "L", base + "T"}
}

// writeKeys are the keys a writing script declares.
func (r *Redis) writeKeys(ih bt.InfoHash) []string {
	return append(r.swarmKeys(ih), r.idx, r.due)
}

// A peer record: agent, tag, verified second, counted flag (the header the
// scripts keep or replace), then the reported fields (body: flags, compact
// IPv4 and IPv6 endpoints, up, down, left, seen second), then the compact
// announcing endpoint (0, 6 or 18 bytes; PeerByAddr's key).
const (
	recTag      = 20
	recVerified = 28
	recCounted  = 32
	recBody     = 33
	bodyLen     = 1 + 6 + 18 + 8 + 8 + 8 + 4
	recAddr     = recBody + bodyLen
)

func encodeBody(p *peer) []byte {
	b := make([]byte, 0, bodyLen)
	b = append(b, p.flags&^counted)
	b = append(b, p.v4[:]...)
	b = append(b, p.v6[:]...)
	b = binary.BigEndian.AppendUint64(b, p.up)
	b = binary.BigEndian.AppendUint64(b, p.down)
	b = binary.BigEndian.AppendUint64(b, p.left)
	return binary.BigEndian.AppendUint32(b, p.seen)
}

func decodeRecord(id bt.PeerID, rec string) (peer, error) {
	if len(rec) < recAddr {
		return peer{}, fmt.Errorf("swarm store (redis): peer record of %d bytes", len(rec))
	}
	p := peer{id: id}
	copy(p.agent[:], rec[:recTag])
	p.tag = binary.BigEndian.Uint64([]byte(rec[recTag:recVerified]))
	p.verified = binary.BigEndian.Uint32([]byte(rec[recVerified:recCounted]))
	b := rec[recBody:recAddr]
	p.flags = b[0]
	copy(p.v4[:], b[1:7])
	copy(p.v6[:], b[7:25])
	p.up = binary.BigEndian.Uint64([]byte(b[25:33]))
	p.down = binary.BigEndian.Uint64([]byte(b[33:41]))
	p.left = binary.BigEndian.Uint64([]byte(b[41:49]))
	p.seen = binary.BigEndian.Uint32([]byte(b[49:53]))
	return p, nil
}

// compact is ap's compact encoding (6 or 18 bytes), empty when invalid.
func compact(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	switch {
	case a.Is4():
		b := a.As4()
		return string(binary.BigEndian.AppendUint16(b[:], ap.Port()))
	case a.Is6():
		b := a.As16()
		return string(binary.BigEndian.AppendUint16(b[:], ap.Port()))
	}
	return ""
}

// emitPeer appends p to sel in the form the announce asked for (both
// stores).
func emitPeer(p *peer, sel *Selection) {
	if sel.Compact {
		if p.flags&hasV4 != 0 {
			sel.IPv4 = append(sel.IPv4, p.v4[:]...)
		}
		if p.flags&hasV6 != 0 {
			sel.IPv6 = append(sel.IPv6, p.v6[:]...)
		}
		return
	}
	if p.flags&hasV4 != 0 {
		sel.Peers = append(sel.Peers, bt.Peer{ID: p.id, Addr: p.addr4()})
	}
	if p.flags&hasV6 != 0 {
		sel.Peers = append(sel.Peers, bt.Peer{ID: p.id, Addr: p.addr6()})
	}
}

func bit01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Announce implements PeerStore.
func (r *Redis) Announce(ctx context.Context, ih bt.InfoHash, u *Update, numWant int, sel *Selection) (Result, error) {
	if sel == nil || u.Event == bt.EventStopped {
		numWant = 0
	}
	var p peer
	p.set(u)
	addr, _ := p.addr()
	var tag [8]byte
	binary.BigEndian.PutUint64(tag[:], u.Tag)
	var stamp [4]byte
	binary.BigEndian.PutUint32(stamp[:], unix(u.Now))
	agentKey := ""
	if u.Verified {
		agentKey = r.agents + hex.EncodeToString(u.Agent[:])
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	v, err := luaAnnounce.Run(ctx, r.c, r.writeKeys(ih),
		string(u.PeerID[:]), bit01(u.Verified), string(u.Agent[:]), string(tag[:]), string(stamp[:]),
		encodeBody(&p), compact(addr), bit01(u.Left == 0), strconv.FormatUint(u.Left, 10),
		int(u.Event), max(numWant, 0), string(ih[:]), r.agents, int64(p.seen), r.ttlSeconds(), agentKey,
		max(u.MaxPerAgent, 0),
	).Slice()
	if err != nil {
		return Result{}, r.wrap(err)
	}
	ints, err := replyInts(v, 1)
	if err != nil {
		return Result{}, err
	}
	switch ints[0] {
	case -1:
		return Result{}, ErrStale
	case -2:
		return Result{}, ErrPeerIDTaken
	}
	ints, err = replyInts(v, 7)
	if err != nil {
		return Result{}, err
	}
	res := Result{
		Created: ints[1] == 1, Completed: ints[2] == 1, Removed: ints[3] == 1,
		Counts: Counts{Seeders: int(ints[4]), Leechers: int(ints[5]), Completed: int(ints[6])},
	}
	if len(v) > 8 {
		if res.Replaced, err = replyInt(v[7]); err != nil {
			return Result{}, err
		}
		packed, _ := v[8].(string)
		if err := eachPacked(packed, func(q *peer) { emitPeer(q, sel) }); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

func (r *Redis) ttlSeconds() int64 { return int64(math.Ceil(r.ttl.Seconds())) }

var errReply = errors.New("swarm store (redis): unexpected script reply")

func replyInt(v any) (int, error) {
	x, ok := v.(int64)
	if !ok {
		return 0, errReply
	}
	return int(x), nil
}

func replyInts(v []any, n int) ([]int64, error) {
	if len(v) < n {
		return nil, errReply
	}
	out := make([]int64, n)
	for i := range n {
		x, ok := v[i].(int64)
		if !ok {
			return nil, errReply
		}
		out[i] = x
	}
	return out, nil
}

// eachPacked decodes peers packed by the scripts' pack: per peer its id,
// the record's length (a byte) and the record.
func eachPacked(b string, f func(*peer)) error {
	const idLen = len(bt.PeerID{})
	for len(b) > 0 {
		if len(b) < idLen+1 || len(b) < idLen+1+int(b[idLen]) {
			return errReply
		}
		n := int(b[idLen])
		p, err := decodeRecord(bt.PeerID([]byte(b[:idLen])), b[idLen+1:idLen+1+n])
		if err != nil {
			return err
		}
		f(&p)
		b = b[idLen+1+n:]
	}
	return nil
}

// eachPeer decodes a script's {id, record, ...} list.
func eachPeer(v []any, f func(*peer)) error {
	if len(v)%2 != 0 {
		return errReply
	}
	for i := 0; i < len(v); i += 2 {
		id, ok1 := v[i].(string)
		rec, ok2 := v[i+1].(string)
		if !ok1 || !ok2 || len(id) != len(bt.PeerID{}) {
			return errReply
		}
		p, err := decodeRecord(bt.PeerID([]byte(id)), rec)
		if err != nil {
			return err
		}
		f(&p)
	}
	return nil
}

// Peer implements PeerStore.
func (r *Redis) Peer(ctx context.Context, ih bt.InfoHash, id bt.PeerID) (Peer, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	rec, err := r.c.HGet(ctx, r.swarmKeys(ih)[0], "p"+string(id[:])).Result()
	if errors.Is(err, redis.Nil) {
		return Peer{}, ErrNotFound
	}
	if err != nil {
		return Peer{}, r.wrap(err)
	}
	p, err := decodeRecord(id, rec)
	if err != nil {
		return Peer{}, err
	}
	return p.export(), nil
}

// PeerByAddr implements PeerStore.
func (r *Redis) PeerByAddr(ctx context.Context, ih bt.InfoHash, addr netip.AddrPort) (Peer, error) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap().WithZone(""), addr.Port())
	key := compact(addr)
	if !addr.IsValid() || key == "" {
		return Peer{}, ErrNotFound
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	v, err := luaPeerByAddr.RunRO(ctx, r.c, r.swarmKeys(ih)[:1], key).Slice()
	if err != nil {
		return Peer{}, r.wrap(err)
	}
	var found Peer
	ok := false
	if err := eachPeer(v, func(p *peer) {
		if a, _ := p.addr(); a == addr {
			found, ok = p.export(), true
		}
	}); err != nil {
		return Peer{}, err
	}
	if !ok {
		return Peer{}, ErrNotFound
	}
	return found, nil
}

// AgentLeft implements PeerStore.
func (r *Redis) AgentLeft(ctx context.Context, agent Agent, except bt.InfoHash) (uint64, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	m, err := r.c.HGetAll(ctx, r.agents+hex.EncodeToString(agent[:])).Result()
	if err != nil {
		return 0, r.wrap(err)
	}
	most := make(map[bt.InfoHash]uint64, len(m))
	for k, v := range m {
		if len(k) != len(bt.InfoHash{})+8 {
			continue
		}
		ih := bt.InfoHash([]byte(k[:20]))
		if ih == except {
			continue
		}
		left, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, errReply
		}
		most[ih] = max(most[ih], left)
	}
	var sum uint64
	for _, left := range most {
		if sum+left < sum {
			return ^uint64(0), nil
		}
		sum += left
	}
	return sum, nil
}

// HasAgent implements PeerStore.
func (r *Redis) HasAgent(ctx context.Context, ih bt.InfoHash, agent Agent) (bool, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	ok, err := r.c.HExists(ctx, r.swarmKeys(ih)[0], "g"+string(agent[:])).Result()
	return ok, r.wrap(err)
}

// Counts implements PeerStore.
func (r *Redis) Counts(ctx context.Context, ih bt.InfoHash) (Counts, error) {
	keys := r.swarmKeys(ih)
	ctx, cancel := r.bound(ctx)
	defer cancel()
	var s, l *redis.IntCmd
	var c *redis.StringCmd
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s, l, c = p.SCard(ctx, keys[1]), p.SCard(ctx, keys[2]), p.HGet(ctx, keys[0], "c")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Counts{}, r.wrap(err)
	}
	completed, err := c.Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		return Counts{}, r.wrap(err)
	}
	return Counts{Seeders: int(s.Val()), Leechers: int(l.Val()), Completed: completed}, nil
}

// Peers implements PeerStore.
func (r *Redis) Peers(ctx context.Context, ih bt.InfoHash, limit int) ([]Peer, error) {
	if limit <= 0 {
		return nil, nil
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	packed, err := luaPeers.RunRO(ctx, r.c, r.swarmKeys(ih)[:3], limit).Text()
	if err != nil {
		return nil, r.wrap(err)
	}
	var out []Peer
	err = eachPacked(packed, func(p *peer) { out = append(out, p.export()) })
	return out, err
}

// Collect batches.
const (
	collectSwarms = 256  // swarms per pipeline
	collectPeers  = 1000 // peers one script removes at most
	collectRounds = 10_000
)

// Collect implements PeerStore. It visits only the swarms the due set names
// (those holding peers last seen before cutoff), a pipeline of scripts at a
// time, each removing a bounded number of peers, so Redis is never held
// long. Several trackers may collect at once: each peer is removed once.
func (r *Redis) Collect(ctx context.Context, cutoff time.Time) (int, error) {
	c := int64(unix(cutoff))
	removed := 0
	for range collectRounds {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		n, more, err := r.collectRound(ctx, c)
		removed += n
		if err != nil || !more {
			return removed, err
		}
	}
	return removed, nil
}

// collectRound runs the collect script on up to collectSwarms due swarms
// and reports whether more may be due.
func (r *Redis) collectRound(ctx context.Context, cutoff int64) (int, bool, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	ihs, err := r.c.ZRangeByScore(ctx, r.due, &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(cutoff, 10), Count: collectSwarms,
	}).Result()
	if err != nil || len(ihs) == 0 {
		return 0, false, r.wrap(err)
	}
	args := func(ih string) (keys []string, argv []any, ok bool) {
		if len(ih) != len(bt.InfoHash{}) {
			return nil, nil, false
		}
		return r.writeKeys(bt.InfoHash([]byte(ih))), []any{cutoff, ih, r.agents, collectPeers, r.ttlSeconds()}, true
	}
	cmds := make([]*redis.Cmd, len(ihs))
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ih := range ihs {
			if keys, argv, ok := args(ih); ok {
				cmds[i] = luaCollect.EvalSha(ctx, p, keys, argv...)
			} else {
				p.ZRem(ctx, r.due, ih) // not written by this store
			}
		}
		return nil
	})
	if err != nil && !redis.HasErrorPrefix(err, "NOSCRIPT") {
		return 0, false, r.wrap(err)
	}
	removed := 0
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") { // not loaded yet: EVAL loads it
			keys, argv, _ := args(ihs[i])
			cmd = luaCollect.Run(ctx, r.c, keys, argv...)
		}
		v, err := cmd.Slice()
		if err != nil {
			return removed, false, r.wrap(err)
		}
		ints, err := replyInts(v, 2)
		if err != nil {
			return removed, false, err
		}
		removed += int(ints[0])
	}
	return removed, true, nil
}

// Stats implements PeerStore.
func (r *Redis) Stats(ctx context.Context) (Stats, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	var n *redis.IntCmd
	var totals *redis.SliceCmd
	if _, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n, totals = p.HLen(ctx, r.idx), p.HMGet(ctx, r.idx, "#S", "#L")
		return nil
	}); err != nil {
		return Stats{}, r.wrap(err)
	}
	st := Stats{Torrents: int(n.Val())}
	for i, v := range totals.Val() {
		s, ok := v.(string)
		if !ok {
			continue
		}
		st.Torrents-- // the totals' own fields
		x, err := strconv.Atoi(s)
		if err != nil {
			return Stats{}, errReply
		}
		if i == 0 {
			st.Seeders = x
		} else {
			st.Leechers = x
		}
	}
	return st, nil
}
