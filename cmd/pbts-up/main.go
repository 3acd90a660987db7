// Command pbts-up is the helper of the local stack's scripts
// (scripts/up.sh, scripts/demo.sh): what a shell cannot do well. It waits for
// gRPC health, reads the chainwriter's status, creates and renames the
// stack's Postgres databases, and reads the contracts (code present,
// parameters, reputation, events with their transaction hashes) as JSON.
// Its gRPC calls use TLS as the services' do: PBTS_TLS_CA (TLS for a bare
// address, mutual with PBTS_TLS_CERT and PBTS_TLS_KEY) or a grpcs:// address.
//
//	pbts-up health ADDR SERVICE...         wait until each health service answers SERVING
//	pbts-up dev-tls DIR NAME...            keep a local CA and a certificate per NAME in DIR (see devcert.EnsureDir)
//	pbts-up chain-status ADDR              the chainwriter's GetChainStatus as JSON
//	pbts-up db-ensure ADMIN_URL NAME       create database NAME unless it exists (prints created|exists)
//	pbts-up db-rename ADMIN_URL OLD NEW    rename database OLD to NEW if OLD exists (prints renamed|absent)
//	pbts-up code RPC ADDRESS               exit 0 if ADDRESS holds code, 3 if it does not
//	pbts-up tracker-info RPC TRACKER       initialCredit, referrer, authority, lastBatchId as JSON
//	pbts-up reputation RPC TRACKER AGENT...  getReputation of each agent as JSON (with delegation)
//	pbts-up events RPC ADDRESS [FROM_BLOCK]  the contract's PBTS events with tx hashes as JSON
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/contracts/bindings"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/server/devcert"
)

const usage = `usage:
  pbts-up health [-timeout 90s] ADDR SERVICE...
  pbts-up dev-tls DIR NAME...
  pbts-up chain-status ADDR
  pbts-up db-ensure ADMIN_URL NAME
  pbts-up db-rename ADMIN_URL OLD NEW
  pbts-up code RPC ADDRESS
  pbts-up tracker-info RPC TRACKER
  pbts-up reputation RPC TRACKER AGENT...
  pbts-up events RPC ADDRESS [FROM_BLOCK]
`

// errNoCode is the "no contract at that address" answer of `code` (exit 3).
var errNoCode = errors.New("no contract code at that address")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errNoCode):
		os.Exit(3)
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "pbts-up:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return flag.ErrHelp
	}
	cmd, args := args[0], args[1:]
	need := func(n int) error {
		if len(args) < n {
			fmt.Fprint(os.Stderr, usage)
			return flag.ErrHelp
		}
		return nil
	}
	switch cmd {
	case "health":
		fs := flag.NewFlagSet("health", flag.ContinueOnError)
		timeout := fs.Duration("timeout", 90*time.Second, "give up after this long")
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if err := need(2); err != nil {
			return err
		}
		return health(ctx, args[0], args[1:], *timeout)
	case "dev-tls":
		if err := need(2); err != nil {
			return err
		}
		f, err := devcert.EnsureDir(args[0], args[1:]...)
		if err != nil {
			return err
		}
		return printJSON(f)
	case "chain-status":
		if err := need(1); err != nil {
			return err
		}
		return chainStatus(ctx, args[0])
	case "db-ensure":
		if err := need(2); err != nil {
			return err
		}
		return dbEnsure(ctx, args[0], args[1])
	case "db-rename":
		if err := need(3); err != nil {
			return err
		}
		return dbRename(ctx, args[0], args[1], args[2])
	case "code", "tracker-info", "reputation", "events":
		if err := need(2); err != nil {
			return err
		}
		c, err := dialChain(ctx, args[0])
		if err != nil {
			return err
		}
		defer c.Close()
		if !common.IsHexAddress(args[1]) {
			return fmt.Errorf("%q is not an address", args[1])
		}
		addr := common.HexToAddress(args[1])
		switch cmd {
		case "code":
			code, err := c.CodeAt(ctx, addr, nil)
			if err != nil {
				return err
			}
			if len(code) == 0 {
				return errNoCode
			}
			return nil
		case "tracker-info":
			return trackerInfo(ctx, c, addr)
		case "reputation":
			return reputation(ctx, c, addr, args[2:])
		default:
			var from uint64
			if len(args) > 2 {
				n, err := strconv.ParseUint(args[2], 10, 64)
				if err != nil {
					return fmt.Errorf("FROM_BLOCK %q: %v", args[2], err)
				}
				from = n
			}
			return events(ctx, c, addr, from)
		}
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ---- gRPC ----

// dial opens a gRPC connection to addr with the services' TLS settings
// from the environment (server.TLSFiles.DialOption).
func dial(addr string) (*grpc.ClientConn, error) {
	files := server.TLSFiles{CA: os.Getenv("PBTS_TLS_CA"), Cert: os.Getenv("PBTS_TLS_CERT"), Key: os.Getenv("PBTS_TLS_KEY")}
	target, creds, err := files.DialOption(addr)
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(target, creds)
}

func health(ctx context.Context, addr string, services []string, timeout time.Duration) error {
	cc, err := dial(addr)
	if err != nil {
		return err
	}
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	deadline := time.Now().Add(timeout)
	for _, svc := range services {
		for {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			r, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: svc})
			cancel()
			if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if time.Now().After(deadline) {
				if err == nil {
					err = fmt.Errorf("status %s", r.GetStatus())
				}
				return fmt.Errorf("%s health %q not SERVING after %s: %v", addr, svc, timeout, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

func chainStatus(ctx context.Context, addr string) error {
	cc, err := dial(addr)
	if err != nil {
		return err
	}
	defer cc.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := pbtsv1.NewChainwriterServiceClient(cc).GetChainStatus(cctx, &pbtsv1.GetChainStatusRequest{})
	if err != nil {
		return err
	}
	b, err := protojson.MarshalOptions{EmitUnpopulated: true, UseProtoNames: true, Multiline: true}.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(b))
	return err
}

// ---- Postgres ----

// dbName checks a database name the scripts choose: plain identifiers only,
// so it can be quoted without surprises.
func dbName(s string) (string, error) {
	if s == "" || len(s) > 63 {
		return "", fmt.Errorf("database name %q: want 1..63 characters", s)
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return "", fmt.Errorf("database name %q: want [a-z0-9_]", s)
		}
	}
	return s, nil
}

func adminConn(ctx context.Context, adminURL string) (*pgx.Conn, error) {
	if _, err := url.Parse(adminURL); err != nil {
		return nil, fmt.Errorf("admin URL: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := pgx.Connect(cctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to Postgres: %w", err)
	}
	return c, nil
}

func dbExists(ctx context.Context, c *pgx.Conn, name string) (bool, error) {
	var n int
	err := c.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	return n > 0, err
}

func dbEnsure(ctx context.Context, adminURL, name string) error {
	name, err := dbName(name)
	if err != nil {
		return err
	}
	c, err := adminConn(ctx, adminURL)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	ok, err := dbExists(ctx, c, name)
	if err != nil {
		return err
	}
	if ok {
		fmt.Println("exists")
		return nil
	}
	if _, err := c.Exec(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	fmt.Println("created")
	return nil
}

func dbRename(ctx context.Context, adminURL, oldName, newName string) error {
	oldName, err := dbName(oldName)
	if err != nil {
		return err
	}
	if newName, err = dbName(newName); err != nil {
		return err
	}
	c, err := adminConn(ctx, adminURL)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	ok, err := dbExists(ctx, c, oldName)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Println("absent")
		return nil
	}
	if _, err := c.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, oldName); err != nil {
		return err
	}
	if _, err := c.Exec(ctx, `ALTER DATABASE "`+oldName+`" RENAME TO "`+newName+`"`); err != nil {
		return fmt.Errorf("rename database %s: %w", oldName, err)
	}
	fmt.Println("renamed")
	return nil
}

// ---- chain ----

func dialChain(ctx context.Context, rpc string) (*ethclient.Client, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := ethclient.DialContext(cctx, rpc)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", rpc, err)
	}
	return c, nil
}

var (
	trackerABI = bindings.NewReputationTracker()
	factoryABI = bindings.NewRepFactory()
)

func u64(b *big.Int) any {
	if b.IsUint64() {
		return b.Uint64()
	}
	return b.String()
}

func trackerInfo(ctx context.Context, c *ethclient.Client, tracker common.Address) error {
	inst := trackerABI.Instance(c, tracker)
	opts := &bind.CallOpts{Context: ctx}
	credit, err := bind.Call(inst, opts, trackerABI.PackInitialCredit(), trackerABI.UnpackInitialCredit)
	if err != nil {
		return fmt.Errorf("initialCredit: %w", err)
	}
	ref, err := bind.Call(inst, opts, trackerABI.PackReferrer(), trackerABI.UnpackReferrer)
	if err != nil {
		return fmt.Errorf("referrer: %w", err)
	}
	auth, err := bind.Call(inst, opts, trackerABI.PackTracker(), trackerABI.UnpackTracker)
	if err != nil {
		return fmt.Errorf("tracker: %w", err)
	}
	last, err := bind.Call(inst, opts, trackerABI.PackLastBatchId(), trackerABI.UnpackLastBatchId)
	if err != nil {
		return fmt.Errorf("lastBatchId: %w", err)
	}
	return printJSON(map[string]any{
		"tracker": tracker.Hex(), "initialCredit": u64(credit), "referrer": ref.Hex(),
		"authority": auth.Hex(), "lastBatchId": u64(last),
	})
}

func reputation(ctx context.Context, c *ethclient.Client, tracker common.Address, agents []string) error {
	type rep struct {
		Address     string `json:"address"`
		Upload      uint64 `json:"upload"`
		Download    uint64 `json:"download"`
		Known       bool   `json:"known"`
		LastUpdated int64  `json:"lastUpdated"`
	}
	out := []rep{}
	for _, a := range agents {
		if !common.IsHexAddress(a) {
			return fmt.Errorf("%q is not an address", a)
		}
		addr := common.HexToAddress(a)
		r, err := chain.ReadReputation(ctx, c, tracker, addr)
		if err != nil {
			return err
		}
		var lu int64
		if !r.LastUpdated.IsZero() {
			lu = r.LastUpdated.Unix()
		}
		out = append(out, rep{Address: addr.Hex(), Upload: r.Upload, Download: r.Download, Known: r.Known, LastUpdated: lu})
	}
	return printJSON(out)
}

// event is one decoded PBTS contract event.
type event struct {
	Event         string `json:"event"`
	Block         uint64 `json:"block"`
	Tx            string `json:"tx"`
	Agent         string `json:"agent,omitempty"`
	InitialCredit any    `json:"initialCredit,omitempty"`
	Upload        any    `json:"upload,omitempty"`
	Download      any    `json:"download,omitempty"`
	Referrer      string `json:"referrer,omitempty"`
	Source        string `json:"source,omitempty"` // AgentImported: the tracker the figures came from
	BatchID       any    `json:"batchId,omitempty"`
	Root          string `json:"root,omitempty"`
	AgentCount    any    `json:"agentCount,omitempty"`
	TotalUpload   any    `json:"totalUpload,omitempty"`
	TotalDownload any    `json:"totalDownload,omitempty"`
	Tracker       string `json:"tracker,omitempty"`
	Authority     string `json:"authority,omitempty"`
}

// events prints the ReputationTracker and RepFactory events of address since
// from, in chain order.
func events(ctx context.Context, c *ethclient.Client, addr common.Address, from uint64) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	logs, err := c.FilterLogs(cctx, ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(from), Addresses: []common.Address{addr}})
	if err != nil {
		return fmt.Errorf("eth_getLogs: %w", err)
	}
	out := []event{}
	for i := range logs {
		l := &logs[i]
		e := event{Block: l.BlockNumber, Tx: l.TxHash.Hex()}
		if ev, err := trackerABI.UnpackAgentRegisteredEvent(l); err == nil {
			e.Event, e.Agent, e.InitialCredit = "AgentRegistered", ev.Agent.Hex(), u64(ev.InitialCredit)
		} else if ev, err := trackerABI.UnpackAgentImportedEvent(l); err == nil {
			e.Event, e.Agent, e.Source, e.Upload, e.Download = "AgentImported", ev.Agent.Hex(), ev.Source.Hex(), u64(ev.UploadBytes), u64(ev.DownloadBytes)
		} else if ev, err := trackerABI.UnpackReputationUpdatedEvent(l); err == nil {
			e.Event, e.Agent, e.BatchID, e.Upload, e.Download = "ReputationUpdated", ev.Agent.Hex(), u64(ev.BatchId), u64(ev.UploadBytes), u64(ev.DownloadBytes)
		} else if ev, err := trackerABI.UnpackBatchSettledEvent(l); err == nil {
			e.Event, e.BatchID, e.Root, e.AgentCount = "BatchSettled", u64(ev.BatchId), common.Hash(ev.ReceiptsRoot).Hex(), u64(ev.AgentCount)
			e.TotalUpload, e.TotalDownload = u64(ev.TotalUploadDelta), u64(ev.TotalDownloadDelta)
		} else if ev, err := factoryABI.UnpackTrackerDeployedEvent(l); err == nil {
			e.Event, e.Tracker, e.Authority, e.Referrer, e.InitialCredit = "TrackerDeployed", ev.TrackerContract.Hex(), ev.Authority.Hex(), ev.Referrer.Hex(), u64(ev.InitialCredit)
		} else {
			continue
		}
		out = append(out, e)
	}
	return printJSON(out)
}
