// Command pbts is the PBTS agent CLI: it keeps the agent's Ethereum key,
// registers the agent with a tracker, publishes datasets to the catalog,
// searches it, seeds and downloads with anacrolix/torrent (signing one
// receipt per sender of every verified piece), shows an agent's
// reputation and audits the chain. The agent's logic is the library
// github.com/pbts/pbts/agent (with agent/keystore and agent/wire); this
// command is its flags, output and progress bars.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exit codes
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// app carries the process environment so tests can run commands in-process.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

const usage = `pbts — PBTS agent CLI

Usage:
  pbts key new     [--light] [--force]       create a new agent key
  pbts key import  [--from FILE] [--light]   import a hex private key (file or stdin)
  pbts key show                              print the agent address
  pbts key sign-registration                 print a signed registration (JSON) for the REST gateway
  pbts register                              register the agent with the tracker
  pbts invite ADDRESS                        invite an address (needed where the tracker registers invited agents only)
  pbts invite --list [ADDRESS]               the invitations an agent made
  pbts publish PATH --name N --modality video|audio [--tags a,b] [--desc D] [--license L]
  pbts search [QUERY] [--modality M] [--tags a,b] [--publisher ADDR]
  pbts status [ADDRESS]                      reputation: settled, pending, ratio, leech gate
  pbts seed [--listen HOST:PORT]             seed everything published or downloaded, until stopped
  pbts get INFOHASH|NAME --out DIR [--seed] [--receipts ADDR] [--listen HOST:PORT]
                                             download, signing and submitting receipts per verified piece
  pbts mcp [--http ADDR] [--rpc-url URL]     Model Context Protocol server (stdio, or streamable HTTP) for LLM agents

Common flags (every command):
  --json                 machine-readable output
  --home DIR             state directory (env PBTS_HOME, default ~/.pbts)
  --key FILE             keystore file (default HOME/key.json)
  --password-file FILE   keystore password file (or env PBTS_KEY_PASSWORD);
                         the password is never accepted as a flag value
  --tracker ADDR         tracker gRPC address (env PBTS_TRACKER, default 127.0.0.1:7001);
                         grpcs://HOST:PORT (or https://, tls://) calls it over TLS
  --tls-ca FILE          PEM CA for TLS services and https trackers (env PBTS_TLS_CA,
                         default the system roots)
  --tls-cert FILE        PEM client certificate for services that require one
  --tls-key FILE         (mutual TLS; env PBTS_TLS_CERT, PBTS_TLS_KEY)
  --tracker-contract A   ReputationTracker address (env PBTS_TRACKER_CONTRACT)
  --chain-id N           chain id (env PBTS_CHAIN_ID, default 31337)
  --timeout D            per-request timeout (default 30s)

Run "pbts COMMAND -h" for a command's flags.
`

// run executes one command line and returns the exit code.
func (a *app) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "key":
		if len(rest) == 0 {
			err = usageErrorf("pbts key needs a subcommand: new, import, show or sign-registration")
			break
		}
		switch rest[0] {
		case "new":
			err = a.keyNew(rest[1:])
		case "import":
			err = a.keyImport(rest[1:])
		case "show":
			err = a.keyShow(rest[1:])
		case "sign-registration":
			err = a.keySignRegistration(rest[1:])
		default:
			err = usageErrorf("unknown key subcommand %q (want new, import, show or sign-registration)", rest[0])
		}
	case "register":
		err = a.register(ctx, rest)
	case "invite":
		err = a.invite(ctx, rest)
	case "publish":
		err = a.publish(ctx, rest)
	case "search":
		err = a.search(ctx, rest)
	case "status":
		err = a.status(ctx, rest)
	case "seed":
		err = a.seed(ctx, rest)
	case "get":
		err = a.get(ctx, rest)
	case "mcp":
		err = a.mcp(ctx, rest)
	case "audit":
		if err = a.audit(ctx, rest); isAuditReported(err) {
			return exitFail // the --json report already carries the failure
		}
	case "help", "-h", "--help", "-help":
		fmt.Fprint(a.stdout, usage)
		return exitOK
	default:
		fmt.Fprint(a.stderr, usage)
		err = usageErrorf("unknown command %q", cmd)
	}
	return a.finish(args, err)
}

// finish reports err the way the command line asked for (JSON or text).
func (a *app) finish(args []string, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	code := exitFail
	var ue *usageError
	if errors.As(err, &ue) {
		code = exitUsage
	}
	if wantsJSON(args) {
		kind := "error"
		var ce *cliError
		if errors.As(err, &ce) {
			kind = ce.kind
		} else if code == exitUsage {
			kind = "usage"
		}
		body := map[string]any{"error": map[string]string{"kind": kind, "message": err.Error()}}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(body)
		return code
	}
	fmt.Fprintln(a.stderr, "pbts: "+err.Error())
	return code
}

// wantsJSON reports whether --json was given anywhere before a "--".
func wantsJSON(args []string) bool {
	for _, s := range args {
		if s == "--" {
			return false
		}
		if s == "--json" || s == "-json" || s == "--json=true" || s == "-json=true" {
			return true
		}
	}
	return false
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// cliError is an error with a stable kind for --json output
// ("unregistered", "tracker_unreachable", "invalid_argument", ...).
type cliError struct {
	kind string
	msg  string
	err  error
}

func (e *cliError) Error() string { return e.msg }
func (e *cliError) Unwrap() error { return e.err }

func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}
