package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sync/errgroup"
)

// Service describes one PBTS service to Main.
type Service struct {
	// Name is used in logs and as the flag set's name.
	Name string
	// Default listener addresses (each overridable by flag or PBTS_* variable).
	GRPCAddr, MetricsAddr string
	// Flags registers the service's own flags (optional).
	Flags func(fs *flag.FlagSet)
	// Setup validates the service's settings, registers its handlers on srv and
	// returns the background work to run beside the server (optional; a nil
	// run function means none). It must not block.
	Setup func(ctx context.Context, srv *Server, log *slog.Logger) (run func(context.Context) error, err error)
}

// Main runs a service until SIGINT or SIGTERM and exits non-zero with a
// message on a bad setting or a failure.
func Main(svc Service) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, svc, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", svc.Name, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, svc Service, args []string) error {
	var cfg Config
	fs := flag.NewFlagSet(svc.Name, flag.ContinueOnError)
	cfg.RegisterFlags(fs, svc.GRPCAddr, svc.MetricsAddr)
	if svc.Flags != nil {
		svc.Flags(fs)
	}
	if err := ParseFlags(fs, args); err != nil {
		return err
	}
	log, err := NewLogger(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	srv, err := New(svc.Name, cfg, log)
	if err != nil {
		return err
	}
	var work func(context.Context) error
	if svc.Setup != nil {
		if work, err = svc.Setup(ctx, srv, log); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	if work != nil {
		g.Go(func() error { return work(gctx) })
	}
	return g.Wait()
}
