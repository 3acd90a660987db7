package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/agent/keystore"
	"github.com/pbts/pbts/receipt"
)

// Defaults.
const (
	defaultTracker = "127.0.0.1:7001"
	defaultChainID = 31337
	defaultTimeout = 30 * time.Second
)

// opts are the flags every command accepts. Flag values win over the
// environment, which wins over the defaults.
type opts struct {
	json            bool
	home            string
	keyFile         string
	passwordFile    string
	tracker         string
	trackerContract string
	chainID         uint64
	timeout         time.Duration
	tlsCA           string
	tlsCert         string
	tlsKey          string
}

// passwordFlagNames are refused outright: a password given as a flag value
// shows in process listings and shell history.
var passwordFlagNames = []string{"password", "passphrase", "pass", "pw", "password-value"}

// newFlagSet builds a command's flag set with the common flags registered.
func (a *app) newFlagSet(name string, o *opts) *flag.FlagSet {
	fs := flag.NewFlagSet("pbts "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.BoolVar(&o.json, "json", false, "machine-readable JSON output")
	fs.StringVar(&o.home, "home", "", "state directory (env PBTS_HOME, default ~/.pbts)")
	fs.StringVar(&o.keyFile, "key", "", "keystore file (default HOME/key.json)")
	fs.StringVar(&o.passwordFile, "password-file", "", "file holding the keystore password (or env PBTS_KEY_PASSWORD)")
	fs.StringVar(&o.tracker, "tracker", "", "tracker gRPC address (env PBTS_TRACKER, default "+defaultTracker+")")
	fs.StringVar(&o.trackerContract, "tracker-contract", "", "ReputationTracker contract address (env PBTS_TRACKER_CONTRACT)")
	fs.Uint64Var(&o.chainID, "chain-id", 0, "chain id (env PBTS_CHAIN_ID, default 31337)")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "per-request timeout")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "PEM CA that the services' and an https tracker's TLS certificates are checked against (env PBTS_TLS_CA; default the system roots); TLS is used for grpcs://, https:// or tls:// addresses")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM client certificate offered to services that require one (mutual TLS; env PBTS_TLS_CERT; with --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM key of --tls-cert (env PBTS_TLS_KEY)")
	return fs
}

// parse parses args, allowing flags after positional arguments
// ("pbts publish PATH --name x"); "--" ends flag parsing. It returns the
// positional arguments.
func (a *app) parse(fs *flag.FlagSet, o *opts, args []string) ([]string, error) {
	for _, s := range args {
		if s == "--" {
			break
		}
		if name, ok := flagName(s); ok {
			for _, p := range passwordFlagNames {
				if name == p {
					return nil, usageErrorf("--%s is not accepted: a password on the command line leaks through process listings and shell history; use --password-file FILE or the PBTS_KEY_PASSWORD environment variable", name)
				}
			}
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErrorf("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return pos, o.resolve(a.getenv)
}

// flagName returns the name of a flag argument ("--name=x" -> "name").
func flagName(s string) (string, bool) {
	if len(s) < 2 || s[0] != '-' {
		return "", false
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "-")
	if i := strings.IndexByte(s, '='); i >= 0 {
		s = s[:i]
	}
	return s, s != ""
}

// resolve fills unset options from the environment and defaults.
func (o *opts) resolve(getenv func(string) string) error {
	if o.home == "" {
		o.home = getenv("PBTS_HOME")
	}
	if o.home == "" {
		h := getenv("HOME")
		if h == "" {
			var err error
			if h, err = os.UserHomeDir(); err != nil {
				return fmt.Errorf("cannot find a home directory: set PBTS_HOME or --home")
			}
		}
		o.home = filepath.Join(h, ".pbts")
	}
	if o.keyFile == "" {
		o.keyFile = filepath.Join(o.home, "key.json")
	}
	if o.tracker == "" {
		o.tracker = getenv("PBTS_TRACKER")
	}
	if o.tracker == "" {
		o.tracker = defaultTracker
	}
	if o.trackerContract == "" {
		o.trackerContract = getenv("PBTS_TRACKER_CONTRACT")
	}
	if o.tlsCA == "" {
		o.tlsCA = getenv("PBTS_TLS_CA")
	}
	if o.tlsCert == "" {
		o.tlsCert = getenv("PBTS_TLS_CERT")
	}
	if o.tlsKey == "" {
		o.tlsKey = getenv("PBTS_TLS_KEY")
	}
	if o.chainID == 0 {
		if s := getenv("PBTS_CHAIN_ID"); s != "" {
			id, err := strconv.ParseUint(s, 10, 64)
			if err != nil || id == 0 {
				return usageErrorf("PBTS_CHAIN_ID=%q is not a chain id", s)
			}
			o.chainID = id
		} else {
			o.chainID = defaultChainID
		}
	}
	if o.timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	return nil
}

// domain returns the signing domain (chain id + tracker contract).
func (o *opts) domain() (receipt.Domain, error) {
	if o.trackerContract == "" {
		return receipt.Domain{}, usageErrorf("the ReputationTracker contract address is needed to sign: pass --tracker-contract 0x… or set PBTS_TRACKER_CONTRACT")
	}
	addr, err := receipt.ParseAddress(o.trackerContract)
	if err != nil || addr == (common.Address{}) {
		return receipt.Domain{}, usageErrorf("--tracker-contract %q is not a contract address (0x + 40 hex)", o.trackerContract)
	}
	return receipt.Domain{ChainID: o.chainID, Tracker: addr}, nil
}

// password reads the keystore password from --password-file or
// PBTS_KEY_PASSWORD. One trailing newline of a file is dropped.
func (o *opts) password(getenv func(string) string) (string, error) {
	if o.passwordFile == "-" {
		return "", usageErrorf("--password-file - is not supported; give a file path")
	}
	p, err := keystore.Password(o.passwordFile, getenv)
	if errors.Is(err, keystore.ErrNoPassword) {
		return "", &cliError{kind: "no_password", msg: "the keystore password is needed: give --password-file FILE or set PBTS_KEY_PASSWORD", err: err}
	}
	return p, err
}

// noPositional rejects unexpected arguments.
func noPositional(cmd string, pos []string) error {
	if len(pos) > 0 {
		return usageErrorf("pbts %s takes no arguments (got %q)", cmd, strings.Join(pos, " "))
	}
	return nil
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := newJSONEncoder(w)
	return enc.Encode(v)
}

// tlsFiles are the TLS files the options name.
func (o *opts) tlsFiles() agent.TLSFiles {
	return agent.TLSFiles{CA: o.tlsCA, Cert: o.tlsCert, Key: o.tlsKey}
}
