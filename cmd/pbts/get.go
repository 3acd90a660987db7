package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent"
)

func (a *app) get(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("get", &o)
	out := fs.String("out", "", "output directory (required)")
	sf := addSeedFlags(fs)
	keepSeeding := fs.Bool("seed", false, "keep seeding after the download completes, until stopped")
	submitWait := fs.Duration("submit-wait", 30*time.Second, "after the download, how long to keep retrying receipts the service has not acknowledged (they stay in the journal)")
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("pbts get needs exactly one INFOHASH or NAME")
	}
	if *out == "" {
		return usageErrorf("--out DIR is required")
	}
	ag, err := a.openSigner(ctx, &o, sf)
	if err != nil {
		return err
	}
	defer ag.Close()
	// Progress goes to stdout, or to stderr when stdout carries --json.
	pw := a.stdout
	if o.json {
		pw = a.stderr
	}
	terminal := isTerminal(pw)
	every := time.Second
	if terminal && !o.json {
		every = 200 * time.Millisecond // a live bar
	}
	var prog *progress
	finish := func() {
		if prog != nil {
			prog.finish()
			prog = nil
		}
	}
	defer finish()
	events := func(e agent.Event) {
		switch e := e.(type) {
		case agent.Resent:
			fmt.Fprintf(pw, "resent %d receipts from the journal\n", e.Receipts)
		case agent.Started:
			fmt.Fprintf(pw, "downloading %s %q (%s, %d pieces) to %s\n", e.InfoHash, e.Name, humanBytes(uint64(e.TotalBytes)), e.Pieces, e.Dir)
			prog = newProgress(pw, o.json, terminal, e.TotalBytes)
		case agent.Progress:
			if prog != nil {
				prog.update(e)
			}
		case agent.Downloaded:
			finish()
			a.printDownload(&o, e.Download, *keepSeeding)
		}
	}
	_, err = ag.Get(ctx, pos[0], agent.GetOptions{Out: *out, Seed: *keepSeeding, SubmitWait: *submitWait, Events: events, ProgressEvery: every})
	if err != nil {
		finish()
		return a.agentError(&o, ag, pos[0], err)
	}
	return nil
}

func (a *app) printDownload(o *opts, sum *agent.Download, seeding bool) {
	if o.json {
		_ = writeJSON(a.stdout, sum)
	} else {
		fmt.Fprintf(a.stdout, "done %s: %s in %.1fs, verified against the published SHA-256 of %d pieces\n", sum.Path, humanBytes(uint64(sum.Bytes)), sum.Seconds, sum.Pieces)
		fmt.Fprintf(a.stdout, "receipts signed %d  accepted %d  duplicate %d  refused %d  unsent %d\n", sum.ReceiptsSigned, sum.ReceiptsAccepted, sum.ReceiptsDuplicate, sum.ReceiptsRefused, sum.ReceiptsUnsent)
		if sum.ReceiptsUnsent > 0 {
			fmt.Fprintf(a.stdout, "unsent receipts are kept in %s and resent by the next `pbts get`\n", sum.JournalDir)
		}
	}
	if seeding && !o.json {
		fmt.Fprintln(a.stdout, "seeding; press Ctrl-C to stop")
	}
}

// agentError explains an error of the agent's Get, Seed or Publish (target
// is what was asked for, if anything) the way a person understands it.
func (a *app) agentError(o *opts, ag *agent.Agent, target string, err error) error {
	var ne *agent.NameError
	var ie *agent.InterruptedError
	switch {
	case errors.Is(err, agent.ErrNotRegistered):
		return &cliError{kind: "unregistered", msg: fmt.Sprintf("%s has no passkey for tracker %s: run `pbts register` first", ag.Address().Hex(), o.tracker), err: err}
	case errors.As(err, &ne) && len(ne.InfoHashes) == 0:
		return &cliError{kind: "not_found", msg: fmt.Sprintf("no dataset named %q at %s (try `pbts search`)", ne.Name, o.tracker), err: err}
	case errors.As(err, &ne):
		return &cliError{kind: "ambiguous", msg: fmt.Sprintf("%d datasets are named %q: give the info hash (%s)", len(ne.InfoHashes), ne.Name, strings.Join(ne.InfoHashes, ", ")), err: err}
	case errors.As(err, &ie):
		return &cliError{kind: "canceled", msg: fmt.Sprintf("download interrupted at %d of %d bytes; unacknowledged receipts are kept in %s and resent by the next `pbts get`", ie.Bytes, ie.TotalBytes, ie.JournalDir), err: err}
	}
	if target != "" {
		switch status.Code(err) {
		case codes.PermissionDenied:
			return &cliError{kind: "insufficient_ratio", msg: "the tracker refuses this download (ratio gate): " + status.Convert(err).Message() + "; upload (seed) more or wait for pending receipts to settle", err: err}
		case codes.Unauthenticated:
			return &cliError{kind: "unregistered", msg: fmt.Sprintf("the tracker at %s does not know this agent's passkey: run `pbts register`", o.tracker), err: err}
		case codes.NotFound:
			return &cliError{kind: "not_found", msg: fmt.Sprintf("no dataset %s at %s", target, o.tracker), err: err}
		}
	}
	return rpcError(o, err)
}

// isTerminal reports whether w is a character device (a live status line
// is drawn there; plain lines otherwise).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
