// Command chainwriter-bench measures the chainwriter end to end (issue 5):
// it runs anvil with 1 s blocks, deploys the contracts, creates a database,
// registers two agents through the real chainwriter binary, then feeds it the
// 4096 receipts of a two-agent exchange of 1 GiB in 256 KiB pieces (each agent
// uploads 512 MiB to the other), inserted at a steady rate over a few seconds
// as the receipts service would accept them, and waits until all are settled.
// It prints on stdout
//
//	figure gas_per_receipt <N> gas        (gas of every settle transaction / receipts)
//	figure settle_latency_p50_ms <N> ms   (receipt accepted_at -> its batch's settled_at, median)
//
// and details on stderr. It creates and drops its own database and stops
// everything it started. bench/chainwriter.sh builds and runs it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/chainwriter/internal/seed"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chainwriter-bench:", err)
		os.Exit(1)
	}
}

type config struct {
	writer, adminURL        string
	receipts, pieceSize     int
	feed, timeout, blockSec time.Duration
	keep                    bool
}

func run() error {
	var c config
	flag.StringVar(&c.writer, "writer", "", "path of the chainwriter binary (required)")
	flag.StringVar(&c.adminURL, "admin-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres admin connection (creates and drops the bench database)")
	flag.IntVar(&c.receipts, "receipts", 4096, "receipts to settle (half each way)")
	flag.IntVar(&c.pieceSize, "piece-size", 256<<10, "bytes per piece")
	flag.DurationVar(&c.feed, "feed", 4*time.Second, "receipts are inserted at a steady rate over this long")
	flag.DurationVar(&c.blockSec, "block-time", time.Second, "anvil block time")
	flag.DurationVar(&c.timeout, "timeout", 2*time.Minute, "give up after this long")
	flag.BoolVar(&c.keep, "keep-logs", false, "print the chainwriter's log to stderr at the end")
	flag.Parse()
	if c.writer == "" {
		return fmt.Errorf("-writer is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	// Chain.
	anvil, err := anviltest.Run(ctx, "--block-time", fmt.Sprint(int(c.blockSec.Seconds())))
	if err != nil {
		return err
	}
	defer anvil.Kill()
	rpcURL := anvil.URL
	client, err := dialChain(ctx, rpcURL)
	if err != nil {
		return err
	}
	defer client.Close()
	key := anviltest.Key(0)
	logf("deploying on anvil (%v blocks)", c.blockSec)
	dep, err := chain.Deploy(ctx, client, key, chain.DeployParams{InitialCredit: chain.GiB})
	if err != nil {
		return err
	}

	// Database.
	dbURL, drop, err := createDB(ctx, c.adminURL)
	if err != nil {
		return err
	}
	defer drop()
	if err := database.Migrate(ctx, dbURL, database.Migrations(), nil); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()

	// Two agents, registered on chain by the writer.
	a, _ := crypto.GenerateKey()
	b, _ := crypto.GenerateKey()
	aAddr, bAddr := crypto.PubkeyToAddress(a.PublicKey), crypto.PubkeyToAddress(b.PublicKey)
	if err := seed.Agents(ctx, pool, aAddr, bAddr); err != nil {
		return err
	}
	var wlog lockedBuffer
	writer := exec.CommandContext(ctx, c.writer)
	writer.Env = append(os.Environ(),
		"PBTS_DATABASE_URL="+dbURL, "PBTS_RPC_URL="+rpcURL, "PBTS_TRACKER_CONTRACT="+dep.Tracker.Hex(),
		"PBTS_CHAINWRITER_KEY="+hex.EncodeToString(crypto.FromECDSA(key)),
		"PBTS_GRPC_ADDR=127.0.0.1:0", "PBTS_METRICS_ADDR=") // nothing dials it: port 0
	writer.Stdout, writer.Stderr = &wlog, &wlog
	writer.Cancel = func() error { return writer.Process.Signal(syscall.SIGTERM) }
	writer.WaitDelay = 10 * time.Second
	if err := writer.Start(); err != nil {
		return fmt.Errorf("start chainwriter: %w", err)
	}
	writerDone := make(chan error, 1)
	go func() { writerDone <- writer.Wait() }()
	defer func() {
		writer.Process.Signal(syscall.SIGTERM)
		select {
		case <-writerDone:
		case <-time.After(10 * time.Second):
			writer.Process.Kill()
		}
		if c.keep {
			fmt.Fprint(os.Stderr, wlog.String())
		}
	}()
	regStart := time.Now()
	if err := waitFor(ctx, writerDone, func() (bool, error) {
		n, err := count(ctx, pool, `SELECT count(*) FROM agents WHERE chain_state = 'confirmed'`)
		return n == 2, err
	}); err != nil {
		return fmt.Errorf("registrations: %w\n%s", err, wlog.String())
	}
	logf("2 agents registered on chain by the writer in %v", time.Since(regStart).Round(time.Millisecond))

	// 4096 receipts, signed up front, inserted at a steady rate.
	d := receipt.Domain{ChainID: dep.ChainID, Tracker: dep.Tracker}
	half := c.receipts / 2
	ab, err := seed.Transfer(d, [32]byte{0x1a}, aAddr, b, 0, half, uint32(c.pieceSize))
	if err != nil {
		return err
	}
	ba, err := seed.Transfer(d, [32]byte{0x1b}, bAddr, a, 0, c.receipts-half, uint32(c.pieceSize))
	if err != nil {
		return err
	}
	all := make([]seed.Signed, 0, c.receipts)
	for i := range max(len(ab), len(ba)) {
		if i < len(ab) {
			all = append(all, ab[i])
		}
		if i < len(ba) {
			all = append(all, ba[i])
		}
	}
	const tick = 50 * time.Millisecond
	chunks := max(1, int(c.feed/tick))
	per := (len(all) + chunks - 1) / chunks
	feedStart := time.Now()
	for i := 0; i < len(all); i += per {
		if err := seed.Insert(ctx, pool, all[i:min(i+per, len(all))]); err != nil {
			return err
		}
		if next := feedStart.Add(time.Duration(i/per+1) * tick); time.Until(next) > 0 {
			time.Sleep(time.Until(next))
		}
	}
	logf("%d receipts inserted over %v", len(all), time.Since(feedStart).Round(time.Millisecond))
	if err := waitFor(ctx, writerDone, func() (bool, error) {
		n, err := count(ctx, pool, `SELECT count(*) FROM receipts r JOIN receipt_batches b ON b.id = r.batch_id WHERE b.settled_at IS NOT NULL`)
		return n == len(all), err
	}); err != nil {
		return fmt.Errorf("settlement: %w\n%s", err, wlog.String())
	}
	logf("all settled %v after the first receipt", time.Since(feedStart).Round(time.Millisecond))

	// Figures from the writer's own records.
	var (
		gas, txs, failed int64
		p50, p90, maxLat float64
	)
	if err := pool.QueryRow(ctx, `SELECT COALESCE(sum(gas_used), 0)::bigint, count(*), count(*) FILTER (WHERE state <> 'confirmed')
		FROM chainwriter_txs WHERE kind = 'settle' AND gas_used IS NOT NULL`).Scan(&gas, &txs, &failed); err != nil {
		return err
	}
	if err := pool.QueryRow(ctx, `SELECT
			percentile_cont(0.5) WITHIN GROUP (ORDER BY lat), percentile_cont(0.9) WITHIN GROUP (ORDER BY lat), max(lat)
		FROM (SELECT EXTRACT(EPOCH FROM b.settled_at - r.accepted_at)::float8 * 1000 AS lat
		        FROM receipts r JOIN receipt_batches b ON b.id = r.batch_id) l`).Scan(&p50, &p90, &maxLat); err != nil {
		return err
	}
	nb, err := count(ctx, pool, `SELECT count(*) FROM receipt_batches`)
	if err != nil {
		return err
	}
	rows, err := pool.Query(ctx, `SELECT id, receipt_count, gas_used, block_number FROM receipt_batches ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, n, g, blk int64
		rows.Scan(&id, &n, &g, &blk)
		logf("batch %d: %d receipts, %d gas, block %d", id, n, g, blk)
	}
	rows.Close()
	// The chain agrees with the database (each agent: credit + 512 MiB each way).
	for _, ag := range []struct {
		name string
		addr common.Address
	}{{"A", aAddr}, {"B", bAddr}} {
		rep, err := chain.ReadReputation(ctx, client, dep.Tracker, ag.addr)
		if err != nil {
			return err
		}
		logf("agent %s on chain: upload %d download %d", ag.name, rep.Upload, rep.Download)
	}
	logf("%d settle transactions (%d not confirmed) for %d batches; %d gas; latency p50 %.0f ms, p90 %.0f ms, max %.0f ms",
		txs, failed, nb, gas, p50, p90, maxLat)
	fmt.Printf("figure gas_per_receipt %d gas\n", (gas+int64(len(all))/2)/int64(len(all)))
	fmt.Printf("figure settle_latency_p50_ms %d ms\n", int64(p50+0.5))
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "chainwriter-bench: "+format+"\n", args...)
}

func dialChain(ctx context.Context, u string) (*ethclient.Client, error) {
	for {
		c, err := ethclient.DialContext(ctx, u)
		if err == nil {
			if _, err = c.ChainID(ctx); err == nil {
				return c, nil
			}
			c.Close()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("anvil did not answer: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// createDB creates a fresh database and returns its URL and a func dropping it.
func createDB(ctx context.Context, admin string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect Postgres: %w", err)
	}
	defer conn.Close(ctx)
	suffix := make([]byte, 6)
	rand.Read(suffix)
	name := "pbts_cwbench_" + hex.EncodeToString(suffix)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			logf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			logf("drop database %s: %v", name, err)
		}
	}
	return u.String(), drop, nil
}

func count(ctx context.Context, pool *pgxpool.Pool, q string) (int, error) {
	var n int
	err := pool.QueryRow(ctx, q).Scan(&n)
	return n, err
}

// waitFor polls cond every 50 ms until it holds, the writer exits or ctx ends.
func waitFor(ctx context.Context, writerDone <-chan error, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-writerDone:
			return fmt.Errorf("chainwriter exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
