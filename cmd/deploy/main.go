// Command deploy deploys the PBTS contracts to any JSON-RPC chain: a
// RepFactory (unless --factory names one) and, through it, a
// ReputationTracker whose authority is the deploying key (give it the
// chainwriter's key). It prints the deployment as JSON on stdout.
package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	rpcURL := fs.String("rpc-url", "http://127.0.0.1:8545", "JSON-RPC endpoint")
	keyFile := fs.String("private-key-file", "", "file holding the deployer's hex private key (or set PBTS_PRIVATE_KEY)")
	credit := fs.Uint64("initial-credit", 0, "bytes granted on registration (0: 1 GiB, or the referrer's with --referrer)")
	referrer := fs.String("referrer", "", "existing ReputationTracker the new one delegates to")
	factory := fs.String("factory", "", "existing RepFactory to deploy through")
	timeout := fs.Duration("timeout", 3*time.Minute, "overall deadline")
	expect := fs.String("expect-tracker", "", "the ReputationTracker address this deployment must give (a fresh chain and key make it predictable): when code is already there, deploy nothing and say so; when the deployment lands elsewhere, fail (a Job that may run twice)")
	if err := server.ParseFlags(fs, args); err != nil {
		return err
	}
	key, err := loadKey(*keyFile)
	if err != nil {
		return err
	}
	var p chain.DeployParams
	p.InitialCredit = *credit
	for _, a := range []struct {
		flag, val string
		dst       *common.Address
	}{{"referrer", *referrer, &p.Referrer}, {"factory", *factory, &p.Factory}} {
		if a.val == "" {
			continue
		}
		if !common.IsHexAddress(a.val) {
			return fmt.Errorf("invalid --%s %q: want a 0x address", a.flag, a.val)
		}
		*a.dst = common.HexToAddress(a.val)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client, err := ethclient.DialContext(ctx, *rpcURL)
	if err != nil {
		return fmt.Errorf("dial %s: %w", *rpcURL, err)
	}
	defer client.Close()
	if *expect != "" {
		if !common.IsHexAddress(*expect) {
			return fmt.Errorf("invalid --expect-tracker %q: want a 0x address", *expect)
		}
		code, err := client.CodeAt(ctx, common.HexToAddress(*expect), nil)
		if err != nil {
			return fmt.Errorf("read the code at %s: %w", *expect, err)
		}
		if len(code) > 0 {
			fmt.Fprintf(os.Stderr, "deploy: a contract is already at %s; nothing deployed\n", common.HexToAddress(*expect).Hex())
			return json.NewEncoder(os.Stdout).Encode(map[string]any{"tracker": common.HexToAddress(*expect).Hex(), "alreadyDeployed": true})
		}
		if p.Factory == (common.Address{}) {
			// A new factory lands at CREATE(deployer, nonce) and deploys the
			// tracker as its first creation (contract nonces start at 1):
			// refuse before spending gas on a deployment that lands elsewhere.
			from := crypto.PubkeyToAddress(key.PublicKey)
			nonce, err := client.PendingNonceAt(ctx, from)
			if err != nil {
				return fmt.Errorf("read the deployer's nonce: %w", err)
			}
			if at := crypto.CreateAddress(crypto.CreateAddress(from, nonce), 1); at != common.HexToAddress(*expect) {
				return fmt.Errorf("the tracker would land at %s, not at --expect-tracker %s (deployer %s at nonce %d); nothing deployed", at.Hex(), *expect, from.Hex(), nonce)
			}
		}
	}
	d, err := chain.Deploy(ctx, client, key, p)
	if err != nil {
		return err
	}
	if *expect != "" && d.Tracker != common.HexToAddress(*expect) {
		return fmt.Errorf("the tracker landed at %s, not at --expect-tracker %s (the key's nonce was not 0?)", d.Tracker.Hex(), *expect)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// loadKey reads the key from a file, else from PBTS_PRIVATE_KEY; never from
// a flag value (it would show in process listings).
func loadKey(file string) (*ecdsa.PrivateKey, error) {
	raw := os.Getenv("PBTS_PRIVATE_KEY")
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read --private-key-file: %w", err)
		}
		raw = string(b)
	}
	raw = strings.TrimPrefix(strings.TrimSpace(raw), "0x")
	if raw == "" {
		return nil, errors.New("no deployer key: give --private-key-file or set PBTS_PRIVATE_KEY")
	}
	key, err := crypto.HexToECDSA(raw)
	if err != nil {
		return nil, errors.New("invalid deployer key (not shown): want 64 hex digits")
	}
	return key, nil
}
