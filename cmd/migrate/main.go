// Command migrate applies the suite's database migrations and exits: the
// Kubernetes migrations Job runs it before a rollout. The services apply the
// same migrations at start under the same advisory lock, so running it is
// idempotent and never races them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	url := fs.String("database-url", "", "Postgres URL (postgres://user:pass@host:5432/db?sslmode=…)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up when the database has not answered by then")
	logFormat := fs.String("log-format", "json", "text or json")
	if err := server.ParseFlags(fs, args); err != nil {
		return err
	}
	if *url == "" {
		return fmt.Errorf("set --database-url or %s", server.EnvName("database-url"))
	}
	log, err := server.NewLogger(os.Stderr, *logFormat, "info")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// A Job may start before its database answers: retry until the deadline.
	if err := database.MigrateUntilDone(ctx, *url, log); err != nil {
		return fmt.Errorf("migrations not applied within %s: %w", *timeout, err)
	}
	log.Info("migrations applied")
	return nil
}
