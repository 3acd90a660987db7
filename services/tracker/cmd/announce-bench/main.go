// Command announce-bench measures the PBTS tracker's announce path.
//
//	announce-bench serve  -addr 127.0.0.1:0 -addr-file F   run the real bt+announce+swarm stack with an
//	                                                        in-memory directory (10,000 torrents, 100,000
//	                                                        passkeys) and a gate that applies the ratio rule
//	announce-bench load   -url 'http://127.0.0.1:P/announce/{passkey}' -duration 10s
//	                                                        keep-alive announce load (loopback targets only)
//	announce-bench mem                                      heap bytes per stored peer
//	announce-bench hashes                                   the torrents' info hashes, hex, one a line
//	                                                        (an opentracker whitelist)
//
// Server and load generator derive the same torrents, passkeys and peers
// from their indexes, so they agree without sharing files.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		err = serveMain(ctx, args)
	case "load":
		err = loadMain(ctx, args)
	case "mem":
		err = memMain(args)
	case "hashes":
		err = hashesMain(args)
	default:
		usage()
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "announce-bench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: announce-bench serve|load|mem|hashes [flags] (-h for each)")
	os.Exit(2)
}

func hashesMain(args []string) error {
	fs := flag.NewFlagSet("hashes", flag.ContinueOnError)
	torrents := fs.Int("torrents", defaultTorrents, "number of torrents")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w := newLineWriter(os.Stdout)
	for i := range *torrents {
		w.line(infoHash(i).String())
	}
	return w.flush()
}
