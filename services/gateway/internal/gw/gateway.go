package gw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/health" // client-side health checking (the service config below)
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pbts/pbts/gen/openapiv2"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/server"
)

// backend is one gRPC service behind the gateway.
type backend struct {
	name     string   // as errors name it: "tracker", "receipts service", "chainwriter"
	services []string // the gRPC services it serves (and its health names)
	conn     *grpc.ClientConn
}

// healthConfig makes each connection use the backend only while its
// health service says SERVING (a backend going down is seen at once).
const healthConfig = `{"healthCheckConfig": {"serviceName": ""}}`

func dial(name, addr string, files server.TLSFiles, services ...string) (*backend, error) {
	target, creds, err := files.DialOption(addr)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(target, creds, grpc.WithDefaultServiceConfig(healthConfig))
	if err != nil {
		return nil, err
	}
	return &backend{name: name, services: services, conn: conn}, nil
}

// Gateway is the REST front.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	backends []*backend
	byServ   map[string]*backend // gRPC service name -> backend
	mux      *runtime.ServeMux
	handler  http.Handler
	events   *hub
	metrics  *httpMetrics
	agents   pbtsv1.AgentServiceClient
	receipts pbtsv1.ReceiptServiceClient
	chain    pbtsv1.ChainwriterServiceClient
}

// New dials the backends (lazily: the gateway starts while they are down)
// and builds the handler.
func New(ctx context.Context, cfg Config, log *slog.Logger, metrics *httpMetrics) (*Gateway, error) {
	tracker, err := dial("tracker", cfg.TrackerAddr, cfg.TLS, "pbts.v1.AgentService", "pbts.v1.DatasetService")
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", server.EnvName("tracker-addr"), err)
	}
	rec, err := dial("receipts service", cfg.ReceiptsAddr, cfg.TLS, "pbts.v1.ReceiptService")
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", server.EnvName("receipts-addr"), err)
	}
	cw, err := dial("chainwriter", cfg.ChainwriterAddr, cfg.TLS, "pbts.v1.ChainwriterService")
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", server.EnvName("chainwriter-addr"), err)
	}
	g := &Gateway{cfg: cfg, log: log, backends: []*backend{tracker, rec, cw}, byServ: map[string]*backend{}, metrics: metrics,
		agents: pbtsv1.NewAgentServiceClient(tracker.conn), receipts: pbtsv1.NewReceiptServiceClient(rec.conn),
		chain: pbtsv1.NewChainwriterServiceClient(cw.conn)}
	for _, b := range g.backends {
		for _, s := range b.services {
			g.byServ[s] = b
		}
	}
	g.mux = runtime.NewServeMux(
		runtime.WithErrorHandler(g.errorHandler),
		runtime.WithRoutingErrorHandler(g.routingErrorHandler),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithMetadata(g.forwardedFor),
		runtime.WithMiddlewares(g.routeMetrics),
		runtime.WithForwardResponseOption(streamStarted),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
	)
	for _, reg := range []func() error{
		func() error { return pbtsv1.RegisterAgentServiceHandler(ctx, g.mux, tracker.conn) },
		func() error { return pbtsv1.RegisterDatasetServiceHandler(ctx, g.mux, tracker.conn) },
		func() error { return pbtsv1.RegisterReceiptServiceHandler(ctx, g.mux, rec.conn) },
		func() error { return pbtsv1.RegisterChainwriterServiceHandler(ctx, g.mux, cw.conn) },
	} {
		if err := reg(); err != nil {
			g.Close()
			return nil, err
		}
	}
	g.events = newHub(cfg.MaxSubscribers, cfg.EventsBuffer, log)
	g.handler = g.routes()
	return g, nil
}

// Close closes the backend connections.
func (g *Gateway) Close() {
	for _, b := range g.backends {
		b.conn.Close()
	}
}

// Handler is the gateway's HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.handler }

// routes assembles the gateway: its own endpoints, the seed's paths, the
// REST API and the static files, wrapped in the limits and hygiene.
func (g *Gateway) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", g.readyz)
	m.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapiv2.JSON)
	})
	m.HandleFunc("GET /v1/events", g.serveEvents)
	m.HandleFunc("GET /v1/config", func(w http.ResponseWriter, r *http.Request) {
		// What a browser needs besides the API: where it may read the chain.
		writeJSON(w, http.StatusOK, map[string]string{"chainRpcUrl": g.cfg.PublicRPCURL})
	})
	m.HandleFunc("POST /register", g.seedRegister)
	m.HandleFunc("POST /report", g.seedReport)
	m.HandleFunc("GET /reputation/{address}", g.seedReputation)
	m.Handle("/v1/", g.mux)
	if g.cfg.StaticDir != "" {
		m.Handle("/", g.static(g.cfg.StaticDir))
	} else {
		m.Handle("/", g.mux) // unknown paths get the gateway's JSON 404
	}
	var h http.Handler = m
	h = g.limit(h)
	h = gzipResponses(h)
	h = g.cors(h)
	h = g.accessLog(h)
	return h
}

// static serves the files under dir (the dashboard): a file, or a
// directory's index.html; never a directory listing, nothing outside dir
// (http.Dir refuses "..") and no dot-files. Anything else is the API's JSON
// 404.
func (g *Gateway) static(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			g.routingErrorHandler(r.Context(), g.mux, &runtime.JSONPb{}, w, r, http.StatusMethodNotAllowed)
			return
		}
		name := path.Clean("/" + r.URL.Path)
		ok := !strings.Contains(name, "/.")
		if ok {
			fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
			if ok = err == nil; ok && fi.IsDir() {
				_, err = os.Stat(filepath.Join(dir, filepath.FromSlash(name), "index.html"))
				ok = err == nil
			}
		}
		if !ok {
			g.routingErrorHandler(r.Context(), g.mux, &runtime.JSONPb{}, w, r, http.StatusNotFound)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// readyz reports 200 when every backend's services answer SERVING, else 503
// naming those that do not.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{}
	ok := true
	for _, b := range g.backends {
		hc := healthpb.NewHealthClient(b.conn)
		for _, s := range b.services {
			resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: s})
			switch {
			case err != nil:
				status[s], ok = b.name+" unreachable", false
			case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
				status[s], ok = strings.ToLower(resp.GetStatus().String()), false
			default:
				status[s] = "serving"
			}
		}
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": ok, "services": status})
}

// incomingHeader is the allow-list of HTTP headers passed to the backends
// as gRPC metadata: none but a request id (authorization, cookies and the
// rest stay at the gateway).
func incomingHeader(key string) (string, bool) {
	switch strings.ToLower(key) {
	case "x-request-id":
		return "x-request-id", true
	}
	return "", false
}

// forwardedFor passes the client's address on (see clientIP), so that the
// backends' per-address limits see the real client, not the gateway.
func (g *Gateway) forwardedFor(ctx context.Context, r *http.Request) metadata.MD {
	if ip := g.clientIP(r); ip.IsValid() {
		return metadata.Pairs(server.ForwardedForKey, ip.String())
	}
	return nil
}

// Run serves HTTP on ln and the event sources until ctx ends, then shuts
// the server down within its deadline.
func (g *Gateway) Run(ctx context.Context, ln net.Listener, shutdown time.Duration) error {
	srv := &http.Server{Handler: g.handler, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	eg.Go(func() error { g.runSources(ctx); return nil })
	eg.Go(func() error {
		<-ctx.Done()
		g.events.close()
		sctx, cancel := context.WithTimeout(context.Background(), shutdown)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return eg.Wait()
}

// streamStarted answers a stream's headers as soon as the backend has
// accepted it (grpc-gateway calls the options with no message once, before
// the first message of a stream), so a watcher knows it is subscribed before
// anything happens rather than when the first event arrives.
func streamStarted(_ context.Context, w http.ResponseWriter, m proto.Message) error {
	if m != nil {
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return http.NewResponseController(w).Flush()
}
