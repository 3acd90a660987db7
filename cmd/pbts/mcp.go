package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/grpc"

	"github.com/pbts/pbts/agent"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// mcpServer is the state behind `pbts mcp`: one agent opened over the
// common flags, the tools an LLM agent calls, and a background seeder.
type mcpServer struct {
	a       *app
	o       *opts
	ag      *agent.Agent
	keyErr  error // why the agent cannot sign (no key, no password), nil if it can
	rpcURL  string
	outDir  string // default download directory
	cc      *grpc.ClientConn
	agents  pbtsv1.AgentServiceClient
	catalog pbtsv1.DatasetServiceClient

	seedMu sync.Mutex // serializes starting and stopping the seeder
	mu     sync.Mutex // guards seeder and its fields
	seeder *mcpSeeder
}

// mcpSeeder is one run of the background seeder.
type mcpSeeder struct {
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time
	// under mcpServer.mu
	serving   []agent.Seeding
	listening []string
	report    agent.SeedReport
	err       error
	stopped   bool
}

// pbts mcp: a Model Context Protocol server over stdio (or streamable HTTP).
func (a *app) mcp(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("mcp", &o)
	httpAddr := fs.String("http", "", "serve streamable HTTP on this address (host:port, port 0 allowed) instead of stdio; loopback only unless --http-allow-remote")
	allowRemote := fs.Bool("http-allow-remote", false, "let --http listen beyond loopback: whoever reaches it acts as this agent (no authentication)")
	rpcURL := fs.String("rpc-url", "", "Ethereum JSON-RPC endpoint for the audit tool (env PBTS_RPC_URL)")
	outDir := fs.String("out", "", "default directory of download_dataset (default HOME/downloads)")
	sf := addSeedFlags(fs)
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("mcp", pos); err != nil {
		return err
	}
	s := &mcpServer{a: a, o: &o, rpcURL: *rpcURL, outDir: *outDir}
	if s.rpcURL == "" {
		s.rpcURL = a.getenv("PBTS_RPC_URL")
	}
	if s.outDir == "" {
		s.outDir = filepath.Join(o.home, "downloads")
	}
	// The key is decrypted once, with the password from the environment or
	// the password file; without it the read-only tools still work.
	var key *ecdsa.PrivateKey
	var d receipt.Domain
	if d, err = o.domain(); err != nil {
		s.keyErr = err
	} else if key, err = o.loadKey(a.getenv); err != nil {
		s.keyErr = err
	}
	if s.keyErr != nil {
		key = nil
		fmt.Fprintf(a.stderr, "pbts mcp: signing tools are unavailable: %v\n", s.keyErr)
	}
	if s.ag, err = a.openAgent(ctx, &o, key, d, sf); err != nil {
		return err
	}
	defer s.ag.Close()
	target, creds, err := o.tlsFiles().DialOption(o.tracker)
	if err != nil {
		return usageErrorf("--tls-ca/--tls-cert/--tls-key: %v", err)
	}
	if s.cc, err = grpc.NewClient(target, creds); err != nil {
		return usageErrorf("--tracker %q: %v", o.tracker, err)
	}
	defer s.cc.Close()
	s.agents, s.catalog = pbtsv1.NewAgentServiceClient(s.cc), pbtsv1.NewDatasetServiceClient(s.cc)
	defer s.stopSeeder()

	server := s.newServer()
	if *httpAddr == "" {
		t := &mcp.IOTransport{Reader: io.NopCloser(a.stdin), Writer: nopWriteCloser{a.stdout}}
		err := server.Run(ctx, t)
		if ctx.Err() != nil || errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	if err := checkMCPListen(*httpAddr, *allowRemote); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return usageErrorf("--http %q: %v", *httpAddr, err)
	}
	var handler http.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	if !*allowRemote {
		handler = loopbackHostOnly(handler)
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(a.stderr, "pbts mcp: serving MCP (streamable HTTP) at http://%s/\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// ---- seeding in the background ----

// startSeeder (re)starts the background seeder over everything the home
// can seed for this tracker; it returns how many datasets that is.
func (s *mcpServer) startSeeder() (int, error) {
	s.seedMu.Lock()
	defer s.seedMu.Unlock()
	if s.keyErr != nil {
		return 0, s.keyErr
	}
	items, err := agent.Seedable(s.o.home, s.o.tracker)
	if err != nil {
		return 0, err
	}
	if len(items) == 0 {
		return 0, fmt.Errorf("nothing to seed for tracker %s: publish a dataset (publish_dataset) or download one (download_dataset) first", s.o.tracker)
	}
	s.stopSeederLocked()
	ctx, cancel := context.WithCancel(context.Background())
	sd := &mcpSeeder{cancel: cancel, done: make(chan struct{}), started: time.Now()}
	events := func(e agent.Event) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch e := e.(type) {
		case agent.Seeding:
			sd.serving = append(sd.serving, e)
		case agent.Listening:
			sd.listening = e.Addrs
		case agent.SeedReport:
			sd.report = e
		}
	}
	go func() {
		defer close(sd.done)
		_, err := s.ag.Seed(ctx, agent.SeedOptions{Items: items, Events: events, ReportEvery: 2 * time.Second})
		s.mu.Lock()
		sd.err, sd.stopped = err, true
		s.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(s.a.stderr, "pbts mcp: seeder stopped: %v\n", err)
		}
	}()
	s.mu.Lock()
	s.seeder = sd
	s.mu.Unlock()
	return len(items), nil
}

func (s *mcpServer) stopSeeder() {
	s.seedMu.Lock()
	defer s.seedMu.Unlock()
	s.stopSeederLocked()
}

func (s *mcpServer) stopSeederLocked() {
	s.mu.Lock()
	sd := s.seeder
	s.seeder = nil
	s.mu.Unlock()
	if sd != nil {
		sd.cancel()
		<-sd.done
	}
}

// ---- errors ----

// toolError is what a tool returns on failure: the CLI's explanation of
// err (the tracker's reason among it), for the LLM to act on.
func (s *mcpServer) toolError(target string, err error) error {
	e := s.a.agentError(s.o, s.ag, target, err)
	var ce *cliError
	if errors.As(e, &ce) {
		return fmt.Errorf("%s: %s", ce.kind, ce.msg)
	}
	return e
}

// needSigner is the error of a tool that signs when the agent cannot.
func (s *mcpServer) needSigner() error {
	if s.keyErr == nil {
		return nil
	}
	msg := s.keyErr.Error()
	var ce *cliError
	if errors.As(s.keyErr, &ce) {
		msg = ce.msg
	}
	return fmt.Errorf("no_signer: this tool needs the agent's key, which the MCP server could not open: %s (set PBTS_KEY_PASSWORD or --password-file in the server's configuration, not in a tool call; create the key with `pbts key new`)", msg)
}

// ---- ratio arithmetic ----

// minRatio is the tracker's minimum ratio as a fraction.
func (s *mcpServer) minRatio(ctx context.Context) (num, den uint64, f float64, err error) {
	cctx, cancel := context.WithTimeout(ctx, s.o.timeout)
	defer cancel()
	info, err := s.agents.GetTrackerInfo(cctx, &pbtsv1.GetTrackerInfoRequest{})
	if err != nil {
		return 0, 0, 0, err
	}
	num, den = info.GetMinRatioNum(), info.GetMinRatioDen()
	if den == 0 {
		num, den = 1, 2
	}
	return num, den, float64(num) / float64(den), nil
}

// uploadNeeded is how many more bytes an agent that uploaded up and
// downloaded down must upload before it may download size more bytes:
// min_ratio*(down+size) - up, rounded up, and 0 if none.
func uploadNeeded(up, down, size, num, den uint64) uint64 {
	total, carry := bits.Add64(down, size, 0)
	if carry != 0 {
		total = ^uint64(0)
	}
	need := ceilMulDiv(total, num, den)
	if need <= up {
		return 0
	}
	return need - up
}

// downloadAllowance is the most an agent may download now: up/min_ratio - down.
func downloadAllowance(up, down, num, den uint64) uint64 {
	if num == 0 {
		return ^uint64(0)
	}
	can := mulDiv(up, den, num)
	if can <= down {
		return 0
	}
	return can - down
}

// mulDiv is floor(a*b/c) and ceilMulDiv ceil(a*b/c), in 128-bit integers.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

func ceilMulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return ^uint64(0)
	}
	q, r := bits.Div64(hi, lo, c)
	if r != 0 {
		q++
	}
	return q
}

// sha256Files hashes path (a file, or every file under a directory).
func sha256Files(path string) ([]mcpFile, error) {
	var files []mcpFile
	err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return err
		}
		files = append(files, mcpFile{Path: p, Bytes: n, SHA256: fmt.Sprintf("%x", h.Sum(nil))})
		return nil
	})
	return files, err
}

type pbtsGetDataset = pbtsv1.GetDatasetRequest

// datasetFromProto is the catalog's dataset as the agent library has it.
func datasetFromProto(d *pbtsv1.Dataset) agent.Dataset {
	mod := "unspecified"
	switch d.GetModality() {
	case pbtsv1.Modality_MODALITY_VIDEO:
		mod = "video"
	case pbtsv1.Modality_MODALITY_AUDIO:
		mod = "audio"
	}
	out := agent.Dataset{
		InfoHash: d.GetInfoHash(), Name: d.GetName(), Description: d.GetDescription(), Modality: mod, Tags: d.GetTags(), License: d.GetLicense(),
		Publisher: d.GetPublisher(), TotalBytes: d.GetTotalBytes(), PieceLength: d.GetPieceLength(),
		PieceCount: d.GetPieceCount(), Seeders: d.GetSeeders(), Leechers: d.GetLeechers(), Completed: d.GetCompleted(),
	}
	if t := d.GetPublishedAt(); t != nil {
		out.PublishedAt = t.AsTime().UTC()
	}
	return out
}

// checkMCPListen refuses an --http address beyond loopback unless allowed:
// the server acts as this agent with its unlocked key, and has no
// authentication of its own.
func checkMCPListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("--http %q: want host:port (e.g. 127.0.0.1:0)", addr)
	}
	if allowRemote || isLoopbackHost(host) {
		return nil
	}
	return usageErrorf("--http %q is not a loopback address: anyone reaching it would act as this agent; use 127.0.0.1 or pass --http-allow-remote", addr)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHostOnly answers 403 to a request whose Host header is not a
// loopback name: a web page the user visits cannot reach the server by
// DNS rebinding (its requests carry the attacker's host name).
func loopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if !isLoopbackHost(strings.Trim(host, "[]")) {
			http.Error(w, "pbts mcp: only loopback host names are served (see --http-allow-remote)", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
