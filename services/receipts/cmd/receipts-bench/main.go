// Command receipts-bench measures the receipts service: it registers agents,
// publishes torrents and fills their swarms directly in the service's
// database, pre-signs N valid receipts (several agent pairs over a few
// torrents with many pieces; some pieces split between two senders), then
// submits them over gRPC in batches from a few concurrent callers and reports
// the accepted rate (requests are marshalled before the clock starts and
// responses only have their accepted count read, so that the load generator
// takes little of the shared machine). It also measures, in the same run,
// on one goroutine locked to its thread, the single-core ecrecover rate
// (receipt.Verify: what bounds a one-core verifier), half right before and
// half right after the load, averaged; and it first waits (bounded) for the
// machine to be idle, since other users' builds would be measured too. It
// prints
//
//	figure receipts_per_s <int> receipts/s
//	figure recover_per_s_core_same_run <int> recover/s
//	figure receipts_vs_recover_limit <ratio, 2 decimals>
//
// on stdout (details on stderr). It exits non-zero unless every receipt was
// accepted without an error. bench/receipts.sh runs it against a fresh
// database and service.
//
// On stderr it reports the CPU time of the service, of Postgres (by process
// role), of itself and of everything else during the load.
//
// Helper modes: -create-db NAME / -drop-db NAME (on -admin-url), -free-ports
// N (for the script), -recover-only (ecrecover on one and on all cores).
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

type config struct {
	addr, dbURL, adminURL string
	chainID               uint64
	tracker               string
	n, batch, conc        int
	agents, torrents      int
	pieceLen              int
	recoverFor            time.Duration
	pprofURL, profileOut  string
	profileFor            time.Duration
	servicePID            int
	createDB, dropDB      string
	recoverOnly           bool
	quietWait             time.Duration
	timeout               time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:7002", "receipts service gRPC address")
	flag.StringVar(&c.dbURL, "database-url", "", "the service's database, for the fixtures")
	flag.StringVar(&c.adminURL, "admin-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "admin connection for -create-db/-drop-db")
	flag.Uint64Var(&c.chainID, "chain-id", 31337, "receipt domain chain id (as the service's)")
	flag.StringVar(&c.tracker, "tracker-contract", "0x5FbDB2315678afecb367f032d93F642f64180aa3", "receipt domain contract (as the service's)")
	flag.IntVar(&c.n, "n", 200000, "receipts to submit")
	flag.IntVar(&c.batch, "batch", 2048, "receipts per SubmitReceipts call")
	flag.IntVar(&c.conc, "concurrency", 4, "concurrent SubmitReceipts calls")
	flag.IntVar(&c.agents, "agents", 16, "agents (each both sender and receiver)")
	flag.IntVar(&c.torrents, "torrents", 4, "torrents")
	flag.IntVar(&c.pieceLen, "piece-length", 262144, "piece length in bytes")
	flag.DurationVar(&c.recoverFor, "recover-time", 4*time.Second, "how long to measure the single-core ecrecover rate (half before, half after the load)")
	flag.StringVar(&c.pprofURL, "pprof-url", "", "the service's pprof base URL: profile its CPU during the load")
	flag.StringVar(&c.profileOut, "profile-out", "cpu.pprof", "where to write the service's CPU profile")
	flag.DurationVar(&c.profileFor, "profile-time", 5*time.Second, "CPU profile duration (should be shorter than the load)")
	flag.IntVar(&c.servicePID, "service-pid", 0, "the service's pid: report CPU time by process group during the load")
	flag.StringVar(&c.createDB, "create-db", "", "create this database on -admin-url and exit")
	flag.StringVar(&c.dropDB, "drop-db", "", "drop this database on -admin-url and exit")
	flag.BoolVar(&c.recoverOnly, "recover-only", false, "only measure ecrecover on one goroutine and on GOMAXPROCS goroutines, then exit")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up after this long")
	flag.DurationVar(&c.quietWait, "quiet-wait", 2*time.Minute, "before measuring, wait up to this long for the machine to be idle (it is shared)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := run(ctx, &c); err != nil {
		fmt.Fprintln(os.Stderr, "receipts-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c *config) error {
	switch {
	case c.createDB != "" || c.dropDB != "":
		return adminDB(ctx, c)
	case c.recoverOnly:
		return recoverOnly(c)
	}
	tracker, err := receipt.ParseAddress(c.tracker)
	if err != nil {
		return fmt.Errorf("-tracker-contract: %w", err)
	}
	dom := receipt.Domain{ChainID: c.chainID, Tracker: tracker}
	if c.agents < 3 || c.torrents < 1 || c.n < 1 || c.batch < 1 || c.conc < 1 || c.pieceLen < 16384 {
		return errors.New("bad -agents, -torrents, -n, -batch, -concurrency or -piece-length")
	}

	conn, err := grpc.NewClient(c.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := waitHealthy(ctx, healthpb.NewHealthClient(conn)); err != nil {
		return err
	}

	// Fixtures and pre-signed receipts, before any timing.
	t0 := time.Now()
	fx := newFixtures(c)
	if err := fx.insert(ctx, c.dbURL); err != nil {
		return err
	}
	reqs, signed, err := fx.sign(dom)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "prepared %d receipts (%d agents, %d torrents x %d pieces of %d bytes) in %d requests of <= %d in %v\n",
		len(signed), c.agents, c.torrents, fx.pieces, c.pieceLen, len(reqs), c.batch, time.Since(t0).Round(time.Millisecond))

	// The single-core rate is measured right before and right after the
	// load (half the time each) and averaged, so that a drift of the
	// machine's speed during the run biases the ratio less.
	waitQuiet(c.quietWait)
	recBefore := recoverRate(dom, signed, c.recoverFor/2)

	res, err := load(ctx, c, conn, reqs)
	if err != nil {
		return err
	}
	rate := float64(res.accepted) / res.elapsed.Seconds()
	fmt.Fprintf(os.Stderr, "load: %d accepted, %d not accepted, %d rpc errors in %v (%d calls of %d, concurrency %d)\n",
		res.accepted, res.other, res.errors, res.elapsed.Round(time.Millisecond), len(reqs), c.batch, c.conc)
	if res.cpu != "" {
		fmt.Fprint(os.Stderr, res.cpu)
	}
	if res.firstProblem != "" {
		fmt.Fprintln(os.Stderr, "first problem:", res.firstProblem)
	}

	recAfter := recoverRate(dom, signed, c.recoverFor/2)
	rec := (recBefore + recAfter) / 2
	fmt.Fprintf(os.Stderr, "single-core ecrecover (receipt.Verify, one goroutine locked to its thread, GOMAXPROCS=%d): %.0f/s before the load, %.0f/s after\n",
		runtime.GOMAXPROCS(0), recBefore, recAfter)

	fmt.Printf("figure receipts_per_s %d receipts/s\n", int64(rate+0.5))
	fmt.Printf("figure recover_per_s_core_same_run %d recover/s\n", int64(rec+0.5))
	fmt.Printf("figure receipts_vs_recover_limit %.2f\n", rate/rec)
	if res.errors > 0 || res.other > 0 || res.accepted != int64(len(signed)) {
		return fmt.Errorf("%d of %d receipts accepted, %d rpc errors", res.accepted, len(signed), res.errors)
	}
	return nil
}

func adminDB(ctx context.Context, c *config) error {
	conn, err := pgx.Connect(ctx, c.adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if c.createDB != "" {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.createDB}.Sanitize())
	} else {
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{c.dropDB}.Sanitize()+" WITH (FORCE)")
	}
	return err
}

func waitHealthy(ctx context.Context, hc healthpb.HealthClient) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: pbtsv1.ReceiptService_ServiceDesc.ServiceName})
		if err == nil && r.Status == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("receipts service not healthy: %v (last: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type fixtures struct {
	c      *config
	keys   []*ecdsa.PrivateKey
	addrs  []common.Address
	ihs    [][20]byte
	hashes [][][32]byte // per torrent, per piece
	pieces int
}

func seed(parts ...any) [32]byte { return sha256.Sum256([]byte(fmt.Sprint(parts...))) }

func newFixtures(c *config) *fixtures {
	fx := &fixtures{c: c}
	for i := range c.agents {
		s := seed("pbts bench agent", i)
		k, err := crypto.ToECDSA(s[:])
		if err != nil {
			panic(err)
		}
		fx.keys = append(fx.keys, k)
		fx.addrs = append(fx.addrs, crypto.PubkeyToAddress(k.PublicKey))
	}
	// Per piece index: every (torrent, receiver) gets one receipt, or two
	// for every fourth piece (two senders with half each): 1.25 on average.
	perPiece := float64(c.torrents*c.agents) * 1.25
	fx.pieces = int(float64(c.n)/perPiece) + 2
	for t := range c.torrents {
		s := seed("pbts bench torrent", t)
		fx.ihs = append(fx.ihs, [20]byte(s[:20]))
		hs := make([][32]byte, fx.pieces)
		for p := range hs {
			hs[p] = seed("pbts bench piece", t, p)
		}
		fx.hashes = append(fx.hashes, hs)
	}
	return fx
}

func (fx *fixtures) insert(ctx context.Context, url string) error {
	if url == "" {
		return errors.New("-database-url is required")
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, a := range fx.addrs {
			ph := sha256.Sum256(a[:])
			// A registration base of 1 PiB: the receiver quota is checked on
			// every receipt (its cost is measured) but never binds here.
			if _, err := tx.Exec(ctx, `INSERT INTO agents (address, passkey_hash, reg_timestamp, reg_signature, auth_timestamp, base_upload, base_download)
				VALUES ($1, $2, 1, $3, 1, $4, 0) ON CONFLICT DO NOTHING`, a[:], ph[:], make([]byte, 65), int64(1<<50)); err != nil {
				return fmt.Errorf("insert agent: %w", err)
			}
		}
		for t, ih := range fx.ihs {
			all := make([]byte, 0, 32*fx.pieces)
			for _, h := range fx.hashes[t] {
				all = append(all, h[:]...)
			}
			total := int64(fx.pieces) * int64(fx.c.pieceLen)
			if _, err := tx.Exec(ctx, `INSERT INTO datasets (info_hash, publisher, name, modality, info, piece_length,
					piece_count, total_bytes, piece_sha256, publish_timestamp, publish_signature)
				VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, 1, $9) ON CONFLICT DO NOTHING`,
				ih[:], fx.addrs[0][:], fmt.Sprintf("bench %d", t), []byte("d4:infoe"), int32(fx.c.pieceLen),
				int32(fx.pieces), total, all, make([]byte, 65)); err != nil {
				return fmt.Errorf("insert dataset: %w", err)
			}
			for _, a := range fx.addrs {
				if _, err := tx.Exec(ctx, `INSERT INTO swarm_members (info_hash, agent) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
					ih[:], a[:]); err != nil {
					return fmt.Errorf("insert swarm member: %w", err)
				}
			}
		}
		return nil
	})
}

type signedReceipt struct {
	r   receipt.Receipt
	sig receipt.Signature
}

// sign builds and signs c.n receipts (in parallel) and packs them into
// marshalled SubmitReceiptsRequests.
func (fx *fixtures) sign(dom receipt.Domain) ([][]byte, []signedReceipt, error) {
	c := fx.c
	now := uint64(time.Now().Unix())
	type todo struct {
		r   receipt.Receipt
		key *ecdsa.PrivateKey
	}
	var all []todo
	k := len(fx.addrs)
	for p := 0; len(all) < c.n; p++ {
		if p >= fx.pieces {
			return nil, nil, errors.New("not enough pieces for -n")
		}
		for t := 0; t < c.torrents && len(all) < c.n; t++ {
			for r := 0; r < k && len(all) < c.n; r++ {
				base := receipt.Receipt{
					InfoHash: receipt.InfoHashFromV1(fx.ihs[t]), Receiver: fx.addrs[r],
					PieceHash: fx.hashes[t][p], PieceIndex: uint32(p), Timestamp: now,
				}
				s1 := (r + 1 + p%(k-1)) % k
				if p%4 != 0 {
					x := base
					x.Sender, x.PieceSize = fx.addrs[s1], uint32(c.pieceLen)
					all = append(all, todo{x, fx.keys[r]})
					continue
				}
				s2 := (s1 + 1) % k
				if s2 == r {
					s2 = (s2 + 1) % k
				}
				for _, s := range []int{s1, s2} {
					if len(all) == c.n {
						break
					}
					x := base
					x.Sender, x.PieceSize = fx.addrs[s], uint32(c.pieceLen/2)
					all = append(all, todo{x, fx.keys[r]})
				}
			}
		}
	}
	signed := make([]signedReceipt, len(all))
	var wg sync.WaitGroup
	var next atomic.Int64
	var firstErr atomic.Value
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(all) {
					return
				}
				sig, err := receipt.Sign(dom, all[i].r, all[i].key)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				signed[i] = signedReceipt{all[i].r, sig}
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, nil, err
	}
	var reqs [][]byte
	for lo := 0; lo < len(signed); lo += c.batch {
		req := &pbtsv1.SubmitReceiptsRequest{}
		for _, s := range signed[lo:min(lo+c.batch, len(signed))] {
			r := &s.r
			req.Receipts = append(req.Receipts, &pbtsv1.Receipt{
				InfoHash:   "0x" + common.Bytes2Hex(r.InfoHash[:]),
				Sender:     r.Sender.Hex(),
				Receiver:   r.Receiver.Hex(),
				PieceHash:  "0x" + common.Bytes2Hex(r.PieceHash[:]),
				PieceIndex: r.PieceIndex,
				PieceSize:  r.PieceSize,
				Timestamp:  r.Timestamp,
				Signature:  s.sig.Hex(),
			})
		}
		b, err := proto.Marshal(req)
		if err != nil {
			return nil, nil, err
		}
		reqs = append(reqs, b)
	}
	return reqs, signed, nil
}

type loadResult struct {
	accepted, other, errors int64
	elapsed                 time.Duration
	firstProblem            string
	cpu                     string
}

// rawCodec sends pre-marshalled requests and returns responses undecoded:
// the load generator shares the machine with the service, so it does as
// little per receipt as it can.
type rawCodec struct{}

type raw struct{ b []byte }

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*raw).b, nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	v.(*raw).b = append(v.(*raw).b[:0], data...)
	return nil
}

// acceptedCount reads SubmitReceiptsResponse.accepted_count (field 2) from a
// marshalled response.
func acceptedCount(b []byte) (uint64, error) {
	var n uint64
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		b = b[l:]
		if num == 2 && typ == protowire.VarintType {
			v, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return 0, protowire.ParseError(l)
			}
			n = v
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(num, typ, b)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		b = b[l:]
	}
	return n, nil
}

func load(ctx context.Context, c *config, conn *grpc.ClientConn, reqs [][]byte) (*loadResult, error) {
	var res loadResult
	var accepted, other, errs atomic.Int64
	var problem sync.Once
	var next atomic.Int64
	var wg sync.WaitGroup
	const method = "/pbts.v1.ReceiptService/SubmitReceipts"
	sizes := make([]int, len(reqs))
	for i := range reqs {
		var m pbtsv1.SubmitReceiptsRequest
		if err := proto.Unmarshal(reqs[i], &m); err != nil {
			return nil, err
		}
		sizes[i] = len(m.Receipts)
	}

	var prof chan error
	if c.pprofURL != "" {
		prof = make(chan error, 1)
		go func() { prof <- fetchProfile(ctx, c) }()
	}
	before := sampleCPU(c.servicePID)
	start := time.Now()
	for range c.conc {
		wg.Go(func() {
			var out raw
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				err := conn.Invoke(cctx, method, &raw{reqs[i]}, &out, grpc.ForceCodec(rawCodec{}))
				cancel()
				if err != nil {
					errs.Add(1)
					problem.Do(func() { res.firstProblem = fmt.Sprintf("request %d: %v", i, err) })
					continue
				}
				n, err := acceptedCount(out.b)
				if err != nil {
					errs.Add(1)
					problem.Do(func() { res.firstProblem = fmt.Sprintf("request %d: response: %v", i, err) })
					continue
				}
				accepted.Add(int64(n))
				if bad := sizes[i] - int(n); bad > 0 {
					other.Add(int64(bad))
					var resp pbtsv1.SubmitReceiptsResponse
					_ = proto.Unmarshal(out.b, &resp)
					for j, r := range resp.Results {
						if r.Status != pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED {
							problem.Do(func() {
								res.firstProblem = fmt.Sprintf("request %d receipt %d: %v %v %s", i, j, r.Status, r.Reason, r.Detail)
							})
							break
						}
					}
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	after := sampleCPU(c.servicePID)
	res.accepted, res.other, res.errors = accepted.Load(), other.Load(), errs.Load()
	res.cpu = cpuReport(before, after, res.elapsed)
	if prof != nil {
		if err := <-prof; err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
		} else {
			fmt.Fprintf(os.Stderr, "service CPU profile (%v, from the load's start) written to %s\n", c.profileFor, c.profileOut)
		}
	}
	return &res, nil
}

// busy returns the fraction of CPU time not idle over d.
func busy(d time.Duration) float64 {
	a := sampleCPU(0)
	time.Sleep(d)
	b := sampleCPU(0)
	if b.total <= a.total {
		return 0
	}
	return 1 - float64(b.idle-a.idle)/float64(b.total-a.total)
}

// waitQuiet waits (up to max) for a second in which the machine is at least
// 90% idle: other users' builds would otherwise be measured too.
func waitQuiet(max time.Duration) {
	deadline := time.Now().Add(max)
	for {
		b := busy(time.Second)
		if b < 0.10 {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "warning: the machine is still %.0f%% busy with other work; measuring anyway\n", 100*b)
			return
		}
	}
}

func fetchProfile(ctx context.Context, c *config) error {
	secs := max(1, int(c.profileFor.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", c.pprofURL, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: %s", resp.Status)
	}
	f, err := os.Create(c.profileOut)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuSample is CPU time (clock ticks) by process group, from /proc.
type cpuSample struct {
	service, postgres, bench, other, total, idle uint64
	// pgRoles splits postgres by process title: backends (the service's
	// connections), autovacuum, walwriter, checkpointer, ...
	pgRoles map[string]uint64
}

// pgRole names a postgres process by its title ("postgres: walwriter",
// "postgres: postgres dbname 127.0.0.1(5555) idle" -> "backend").
func pgRole(pid string) string {
	b, _ := os.ReadFile("/proc/" + pid + "/cmdline")
	t := strings.TrimPrefix(strings.TrimRight(string(b), "\x00 "), "postgres: ")
	switch {
	case strings.HasPrefix(t, "autovacuum"):
		return "autovacuum"
	case strings.HasPrefix(t, "walwriter"), strings.HasPrefix(t, "checkpointer"), strings.HasPrefix(t, "background writer"),
		strings.HasPrefix(t, "logical replication"), strings.HasPrefix(t, "stats"), strings.HasPrefix(t, "archiver"):
		return strings.Fields(t)[0]
	case strings.Contains(t, "("):
		return "backends"
	}
	return "other"
}

// sampleCPU reads /proc (Linux only; zero elsewhere).
func sampleCPU(servicePID int) cpuSample {
	s := cpuSample{pgRoles: map[string]uint64{}}
	if f, err := os.Open("/proc/stat"); err == nil {
		sc := bufio.NewScanner(f)
		if sc.Scan() {
			fields := strings.Fields(sc.Text())
			for i, v := range fields[1:] {
				n, _ := strconv.ParseUint(v, 10, 64)
				s.total += n
				if i == 3 || i == 4 { // idle, iowait
					s.idle += n
				}
			}
		}
		f.Close()
	}
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		st := string(b)
		open, close := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || close < 0 {
			continue
		}
		comm := st[open+1 : close]
		fields := strings.Fields(st[close+1:])
		if len(fields) < 13 {
			continue
		}
		ut, _ := strconv.ParseUint(fields[11], 10, 64)
		stt, _ := strconv.ParseUint(fields[12], 10, 64)
		t := ut + stt
		switch {
		case pid == servicePID:
			s.service += t
		case pid == self:
			s.bench += t
		case comm == "postgres":
			s.postgres += t
			s.pgRoles[pgRole(e.Name())] += t
		default:
			s.other += t
		}
	}
	return s
}

func cpuReport(a, b cpuSample, wall time.Duration) string {
	if b.total == 0 {
		return ""
	}
	const hz = 100.0 // USER_HZ
	ncpu := runtime.NumCPU()
	sec := func(x, y uint64) float64 {
		if y < x {
			return 0
		}
		return float64(y-x) / hz
	}
	busy := sec(a.total-a.idle, b.total-b.idle)
	var roles []string
	for r, v := range b.pgRoles {
		if d := sec(a.pgRoles[r], v); d >= 0.05 {
			roles = append(roles, fmt.Sprintf("%s %.1f", r, d))
		}
	}
	slices.Sort(roles)
	svc, pg, bench, other := sec(a.service, b.service), sec(a.postgres, b.postgres), sec(a.bench, b.bench), sec(a.other, b.other)
	return fmt.Sprintf("cpu during the load (%d cores x %.1fs = %.1f core-s): busy %.1f; receipts service %.1f, postgres %.1f (%s), this load generator %.1f, other processes %.1f, processes that came and went (other users' builds, ...) %.1f\n",
		ncpu, wall.Seconds(), float64(ncpu)*wall.Seconds(), busy, svc, pg, strings.Join(roles, ", "), bench, other,
		max(0, busy-svc-pg-bench-other))
}

func recoverOnly(c *config) error {
	dom := receipt.Domain{ChainID: c.chainID, Tracker: common.HexToAddress(c.tracker)}
	key, _ := crypto.GenerateKey()
	var signed []signedReceipt
	for i := range 256 {
		r := receipt.Receipt{Sender: common.Address{1}, Receiver: crypto.PubkeyToAddress(key.PublicKey), PieceIndex: uint32(i), PieceSize: 1}
		sig, err := receipt.Sign(dom, r, key)
		if err != nil {
			return err
		}
		signed = append(signed, signedReceipt{r, sig})
	}
	one := recoverRate(dom, signed, c.recoverFor)
	var wg sync.WaitGroup
	rates := make([]float64, runtime.GOMAXPROCS(0))
	for i := range rates {
		wg.Go(func() { rates[i] = recoverRate(dom, signed, c.recoverFor) })
	}
	wg.Wait()
	var all float64
	for _, r := range rates {
		all += r
	}
	fmt.Printf("ecrecover: %.0f/s on one goroutine, %.0f/s on %d (x%.2f)\n", one, all, len(rates), all/one)
	return nil
}

// recoverRate is receipt.Verify's rate on one goroutine locked to one thread.
func recoverRate(dom receipt.Domain, signed []signedReceipt, d time.Duration) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for range 256 {
			s := &signed[n%len(signed)]
			if err := receipt.Verify(dom, s.r, s.sig[:]); err != nil {
				panic(err)
			}
			n++
		}
	}
	return float64(n) / time.Since(start).Seconds()
}
