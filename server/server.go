package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

// Config is the part of every service's configuration that concerns its
// listeners, logs and shutdown.
type Config struct {
	GRPCAddr        string
	MetricsAddr     string
	LogFormat       string
	LogLevel        string
	ShutdownTimeout time.Duration
	// TrustedProxies are the CIDRs (comma-separated) whose calls may name
	// their client's address in ForwardedForKey (the REST gateway's).
	TrustedProxies string
	// AddrFile, when set, receives the bound listener addresses as a JSON
	// object ({"grpc": "127.0.0.1:40123", "metrics": …, and any listener the
	// service added}) once the server runs: a harness starts the service on
	// port 0 and reads the ports back, so no port is ever guessed.
	AddrFile string
	// PprofAddr serves net/http/pprof when set (keep it on loopback: it
	// shows the process's insides); reported as the listener "pprof".
	PprofAddr string
	// TLS, when it names a certificate and key, makes every listener of the
	// service but metrics and pprof serve TLS (see TLSFiles).
	TLS TLSFiles
}

// RegisterFlags defines the shared flags on fs with the given listener defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet, grpcAddr, metricsAddr string) {
	fs.StringVar(&c.GRPCAddr, "grpc-addr", grpcAddr, "gRPC listen address (host:port; port 0 picks one)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", metricsAddr, "Prometheus /metrics listen address (empty disables)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "graceful shutdown deadline")
	fs.StringVar(&c.AddrFile, "addr-file", "", "write the bound listener addresses here as JSON once serving (for port 0)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "net/http/pprof listen address (empty disables; keep it on loopback)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs of callers (the REST gateway) whose forwarded client address is believed")
	fs.StringVar(&c.TLS.Cert, "tls-cert", "", "PEM certificate (chain) the gRPC and HTTP listeners serve TLS with, with -tls-key (empty: plaintext)")
	fs.StringVar(&c.TLS.Key, "tls-key", "", "PEM private key of -tls-cert")
	fs.StringVar(&c.TLS.CA, "tls-ca", "", "PEM CA: the gRPC listener requires client certificates it signed (with -tls-cert), and calls to other services use TLS verified against it")
}

// Validate reports the first bad setting by its environment variable name.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.GRPCAddr); err != nil {
		return fmt.Errorf("invalid %s %q: %w", EnvName("grpc-addr"), c.GRPCAddr, err)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("invalid %s %q: %w", EnvName("metrics-addr"), c.MetricsAddr, err)
		}
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			return fmt.Errorf("invalid %s %q: %w", EnvName("pprof-addr"), c.PprofAddr, err)
		}
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("invalid %s %v: must be positive", EnvName("shutdown-timeout"), c.ShutdownTimeout)
	}
	if _, err := ParsePrefixes(c.TrustedProxies); err != nil {
		return fmt.Errorf("invalid %s %q: %w", EnvName("trusted-proxies"), c.TrustedProxies, err)
	}
	return c.TLS.validate()
}

// LogValue lets the config be logged as a group.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("log_format", c.LogFormat),
		slog.String("log_level", c.LogLevel),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.String("addr_file", c.AddrFile),
		slog.String("trusted_proxies", c.TrustedProxies),
		slog.String("pprof_addr", c.PprofAddr),
		slog.String("tls_cert", c.TLS.Cert),
		slog.String("tls_ca", c.TLS.CA),
	)
}

// Server is a gRPC server with the standard health service and reflection,
// plus a metrics HTTP listener. Listeners open in New, so Addr is known
// before Run (port 0 in tests).
type Server struct {
	name     string
	cfg      Config
	log      *slog.Logger
	grpc     *grpc.Server
	health   *health.Server
	registry *prometheus.Registry
	grpcLis  net.Listener
	metLis   net.Listener
	pprofLis net.Listener
	extra    map[string]net.Addr
	httpTLS  *tls.Config // ListenHTTP's, nil without a certificate
}

// New opens the listeners and builds the gRPC server. The service registers
// its handlers on GRPC() and its collectors on Registry() before Run.
func New(name string, cfg Config, log *slog.Logger, opts ...grpc.ServerOption) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newRPCMetrics(reg)
	proxies, _ := ParsePrefixes(cfg.TrustedProxies) // checked by Validate
	fw := forwarded(proxies)
	opts = append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(fw.unary, m.unary(log)),
		grpc.ChainStreamInterceptor(fw.stream, m.stream(log)),
		grpc.MaxRecvMsgSize(4 << 20),
	}, opts...)

	grpcTLS, err := cfg.TLS.ServerTLS(true)
	if err != nil {
		return nil, err
	}
	httpTLS, err := cfg.TLS.ServerTLS(false)
	if err != nil {
		return nil, err
	}
	if grpcTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(grpcTLS)))
	}

	gl, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", EnvName("grpc-addr"), cfg.GRPCAddr, err)
	}
	s := &Server{name: name, cfg: cfg, log: log, registry: reg, grpcLis: gl, httpTLS: httpTLS}
	if cfg.MetricsAddr != "" {
		ml, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			gl.Close()
			return nil, fmt.Errorf("listen %s %s: %w", EnvName("metrics-addr"), cfg.MetricsAddr, err)
		}
		s.metLis = ml
	}
	if cfg.PprofAddr != "" {
		pl, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			gl.Close()
			if s.metLis != nil {
				s.metLis.Close()
			}
			return nil, fmt.Errorf("listen %s %s: %w", EnvName("pprof-addr"), cfg.PprofAddr, err)
		}
		s.pprofLis = pl
		s.AddListener("pprof", pl.Addr())
	}
	s.grpc = grpc.NewServer(opts...)
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	return s, nil
}

// GRPC is the server to register service handlers on.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Health sets serving status per service name ("" is the whole server).
func (s *Server) Health() *health.Server { return s.health }

// Registry is where the service registers its Prometheus collectors.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// AddListener names another listener the service opened (the tracker's
// announce HTTP, the gateway's REST port), so that it is reported in the
// "serving" log line and the address file. Call it before Run.
func (s *Server) AddListener(name string, addr net.Addr) {
	if s.extra == nil {
		s.extra = map[string]net.Addr{}
	}
	s.extra[name] = addr
}

// Addrs is every bound listener by name: "grpc", "metrics" (when enabled)
// and those added with AddListener.
func (s *Server) Addrs() map[string]string {
	m := map[string]string{"grpc": s.Addr().String()}
	if a := s.MetricsAddr(); a != nil {
		m["metrics"] = a.String()
	}
	for k, a := range s.extra {
		m[k] = a.String()
	}
	return m
}

// Addr is the gRPC listen address.
func (s *Server) Addr() net.Addr { return s.grpcLis.Addr() }

// MetricsAddr is the metrics listen address, nil when disabled.
func (s *Server) MetricsAddr() net.Addr {
	if s.metLis == nil {
		return nil
	}
	return s.metLis.Addr()
}

// healthz answers on the metrics port what the gRPC health service says of
// ?service= (the whole server when absent): 200 SERVING, 503 otherwise, 404
// for a service it does not know. It is for probes that cannot speak TLS to
// the gRPC port (a kubelet's gRPC probe has no TLS); the metrics port stays
// plain HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("service")
	code := http.StatusOK
	resp, err := s.health.Check(r.Context(), &healthpb.HealthCheckRequest{Service: name})
	st := resp.GetStatus().String()
	switch {
	case status.Code(err) == codes.NotFound:
		code, st = http.StatusNotFound, "SERVICE_UNKNOWN"
	case err != nil:
		code, st = http.StatusServiceUnavailable, "UNKNOWN"
	case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"service": name, "status": st})
}

// Run serves until ctx ends, then reports NOT_SERVING, stops gracefully
// within the shutdown deadline (forcing after it) and closes the listeners.
func (s *Server) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)

	g.Go(func() error {
		if err := s.grpc.Serve(s.grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("grpc serve: %w", err)
		}
		return nil
	})
	var msrv *http.Server
	if s.metLis != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /healthz", s.healthz)
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := msrv.Serve(s.metLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics serve: %w", err)
			}
			return nil
		})
	}
	var psrv *http.Server
	if s.pprofLis != nil {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		psrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := psrv.Serve(s.pprofLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("pprof serve: %w", err)
			}
			return nil
		})
	}
	s.log.Info("serving", "service", s.name, "addrs", s.Addrs(), "tls", s.cfg.TLS.Enabled(), "mtls", s.cfg.TLS.Enabled() && s.cfg.TLS.CA != "")
	if s.cfg.AddrFile != "" {
		if err := WriteAddrFile(s.cfg.AddrFile, s.Addrs()); err != nil {
			return fmt.Errorf("%s: %w", EnvName("addr-file"), err)
		}
	}

	g.Go(func() error {
		<-gctx.Done()
		s.log.Info("shutting down", "service", s.name, "deadline", s.cfg.ShutdownTimeout)
		s.health.Shutdown()
		done := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(done) }()
		timer := time.NewTimer(s.cfg.ShutdownTimeout)
		defer timer.Stop()
		select {
		case <-done:
		case <-timer.C:
			s.log.Warn("graceful stop deadline passed; forcing", "service", s.name)
			s.grpc.Stop()
		}
		if msrv != nil {
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = msrv.Shutdown(sctx)
		}
		if psrv != nil {
			_ = psrv.Close() // a profile in progress is cut short
		}
		return nil
	})
	return g.Wait()
}

// WriteAddrFile writes addrs as JSON to path atomically (a temporary file in
// the same directory, then a rename), so a reader never sees half a file.
func WriteAddrFile(path string, addrs map[string]string) error {
	b, err := json.Marshal(addrs)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".addr-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ShutdownTimeout is the graceful shutdown deadline.
func (s *Server) ShutdownTimeout() time.Duration { return s.cfg.ShutdownTimeout }
