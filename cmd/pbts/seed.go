package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/pbts/pbts/agent"
)

func (a *app) seed(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("seed", &o)
	sf := addSeedFlags(fs)
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("seed", pos); err != nil {
		return err
	}
	items, err := agent.Seedable(o.home, o.tracker)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return &cliError{kind: "nothing_to_seed", msg: fmt.Sprintf("nothing to seed for tracker %s: publish a dataset (`pbts publish`) or download one (`pbts get`) first", o.tracker)}
	}
	ag, err := a.openSigner(ctx, &o, sf)
	if err != nil {
		return err
	}
	defer ag.Close()
	return a.runSeeder(ctx, &o, ag, items)
}

// seedFlags are the flags of every command that seeds.
type seedFlags struct {
	listen   *string
	receipts *string
	window   *int64
	upload   *int64
}

func addSeedFlags(fs *flag.FlagSet) *seedFlags {
	return &seedFlags{
		listen:   fs.String("listen", agent.DefaultListen, "BitTorrent listen address host:port"),
		receipts: fs.String("receipts", "", "receipts service gRPC address (env PBTS_RECEIPTS, default "+agent.DefaultReceipts+")"),
		window:   fs.Int64("receipt-window", 0, "pieces a peer may have unpaid before its requests for new pieces are refused (0: 16 MiB worth, 4 to 64; it grows to 1/8 of what the peer has paid, up to 64 MiB worth)"),
		upload:   fs.Int64("upload-rate", 0, "upload cap in bytes per second over all connections (0: none)"),
	}
}

// receiptsAddr resolves --receipts, PBTS_RECEIPTS and the default.
func (a *app) receiptsAddr(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := a.getenv("PBTS_RECEIPTS"); v != "" {
		return v
	}
	return agent.DefaultReceipts
}

// runSeeder serves items until ctx ends and tells what it does: a line per
// dataset, then what the seeder does every 10 s while it changes (a live
// spinner on a terminal; JSON objects under "seeding" with --json).
func (a *app) runSeeder(ctx context.Context, o *opts, ag *agent.Agent, items []agent.SeedItem) error {
	every := 10 * time.Second
	terminal := !o.json && isTerminal(a.stdout)
	if terminal {
		every = time.Second // the spinner is redrawn every second
	}
	var bar *progressbar.ProgressBar
	var last agent.SeedReport
	events := func(e agent.Event) {
		switch e := e.(type) {
		case agent.Seeding:
			if o.json {
				b, _ := json.Marshal(e)
				fmt.Fprintln(a.stdout, string(b))
				return
			}
			state := "seeding"
			if !e.Complete {
				state = fmt.Sprintf("seeding (incomplete: %d of %d bytes on disk verified)", e.VerifiedBytes, e.TotalBytes)
			}
			fmt.Fprintf(a.stdout, "%s %s %q (%s, %d pieces) from %s\n", state, e.InfoHash, e.Name, e.Source, e.Pieces, e.Path)
		case agent.Listening:
			if !o.json {
				fmt.Fprintf(a.stdout, "listening on %s; press Ctrl-C to stop\n", strings.Join(e.Addrs, ", "))
			}
			if terminal {
				bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(a.stdout), progressbar.OptionShowBytes(true),
					progressbar.OptionUseIECUnits(true), progressbar.OptionSpinnerType(14), progressbar.OptionShowCount(), progressbar.OptionShowDescriptionAtLineEnd())
			}
		case agent.SeedReport:
			changed := e.UploadedBytes != last.UploadedBytes || e.Peers != last.Peers || e.HandedReceipts != last.HandedReceipts
			last = e
			switch {
			case bar != nil:
				bar.Describe(fmt.Sprintf("peers %d  receipts handed to us %d  requests refused %d", e.Peers, e.HandedReceipts, e.Stalls))
				_ = bar.Set64(e.UploadedBytes)
			case !changed:
			case o.json:
				b, _ := json.Marshal(struct {
					Seeding agent.SeedReport `json:"seeding"`
				}{e})
				fmt.Fprintln(a.stdout, string(b))
			default:
				fmt.Fprintf(a.stdout, "seeding: uploaded %s  %s/s  peers %d  receipts handed to us %d  requests refused for missing receipts %d\n",
					humanBytes(uint64(e.UploadedBytes)), humanBytes(uint64(e.BytesPerSecond)), e.Peers, e.HandedReceipts, e.Stalls)
			}
		}
	}
	st, err := ag.Seed(ctx, agent.SeedOptions{Items: items, Events: events, ReportEvery: every})
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(a.stdout)
	}
	if err != nil {
		return a.agentError(o, ag, "", err)
	}
	if st == nil {
		return nil // stopped before seeding began
	}
	if o.json {
		b, _ := json.Marshal(map[string]any{"stopped": true, "stalls": st.Stalls, "handed_receipts": st.HandedReceipts, "handed_total": st.HandedTotal, "unpaid_pieces": st.UnpaidPieces, "handed_refused": st.HandedRefused,
			"handed_accepted": st.HandedAccepted, "handed_duplicate": st.HandedDuplicate, "handed_service_refused": st.HandedServiceRefused})
		fmt.Fprintln(a.stdout, string(b))
	} else {
		fmt.Fprintf(a.stdout, "stopped seeding (receipts handed to us: %d, refused: %d; requests refused for missing receipts: %d)\n", st.HandedReceipts, st.HandedRefused, st.Stalls)
	}
	return nil
}
