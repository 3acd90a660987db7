// Package server holds what every PBTS service shares at its edges: flags that
// default from PBTS_* environment variables, the slog logger, and a gRPC server
// with health, reflection and a separate Prometheus metrics listener that stops
// gracefully when its context ends.
package server

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// EnvName is the environment variable that sets the flag called name:
// "grpc-addr" is set by PBTS_GRPC_ADDR.
func EnvName(name string) string {
	return "PBTS_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
}

// ParseFlags sets every flag of fs from its PBTS_* variable (see EnvName) when
// that variable is set, then parses args, so a command-line flag wins over the
// environment. A bad value names the setting that holds it.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	return parseFlags(fs, args, os.LookupEnv)
}

func parseFlags(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		env := EnvName(f.Name)
		v, ok := lookup(env)
		if !ok {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = fmt.Errorf("invalid %s: %w", env, serr)
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}
