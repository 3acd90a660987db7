package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/receipt"
)

// auditReported is returned after a --json report that already carries the
// failure: the command exits non-zero without printing a second document.
type auditReported struct{ err error }

func (e *auditReported) Error() string { return e.err.Error() }
func (e *auditReported) Unwrap() error { return e.err }

// isAuditReported tells the dispatcher that the output is already written.
func isAuditReported(err error) bool {
	var r *auditReported
	return errors.As(err, &r)
}

// auditOutput is what --json prints: the report, with the failure.
type auditOutput struct {
	*agent.AuditReport
	Error *auditErrJSON `json:"error,omitempty"`
}

type auditErrJSON struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// pbts audit: see agent.Agent.Audit for what is compared.
func (a *app) audit(ctx context.Context, args []string) error {
	var o opts
	fs := a.newFlagSet("audit", &o)
	agentFlag := fs.String("agent", "", "audit only this agent's totals and the batches that name it")
	rpcURL := fs.String("rpc-url", "", "Ethereum JSON-RPC endpoint (env PBTS_RPC_URL, default "+agent.DefaultRPCURL+")")
	recAddr := fs.String("receipts", "", "receipts service gRPC address (env PBTS_RECEIPTS, default "+agent.DefaultReceipts+")")
	fromBlock := fs.Int64("from-block", -1, "first block to read the contract's events from (default: the deployment block in --contracts, else found on chain, else 0)")
	contracts := fs.String("contracts", "", "the deployment record `make up` and `deploy` write (env PBTS_CONTRACTS, default .pbts/contracts.json when it exists): its block is where the audit starts, if it names this contract")
	pos, err := a.parse(fs, &o, args)
	if err != nil {
		return err
	}
	if err := noPositional("audit", pos); err != nil {
		return err
	}
	if o.trackerContract == "" {
		return usageErrorf("pbts audit needs the ReputationTracker address: pass --tracker-contract 0x… or set PBTS_TRACKER_CONTRACT")
	}
	d, err := o.domain()
	if err != nil {
		return err
	}
	var ao agent.AuditOptions
	if *agentFlag != "" {
		if ao.Agent, err = receipt.ParseAddress(*agentFlag); err != nil || ao.Agent == (common.Address{}) {
			return usageErrorf("--agent %q is not an agent address (0x + 40 hex)", *agentFlag)
		}
	}
	if *fromBlock >= 0 {
		b := uint64(*fromBlock)
		ao.FromBlock = &b
	} else if b, path, ok := a.deploymentRecord(*contracts, d); ok {
		ao.FromBlock, ao.FromBlockSource = &b, path
	}
	if ao.RPCURL = *rpcURL; ao.RPCURL == "" {
		ao.RPCURL = a.getenv("PBTS_RPC_URL")
	}
	ag, err := a.openAgent(ctx, &o, nil, d, &seedFlags{listen: new(string), receipts: recAddr, window: new(int64), upload: new(int64)}) // the receipts service only
	if err != nil {
		return err
	}
	defer ag.Close()
	shown := map[agent.AuditProblem]bool{} // printed under their batch's line
	if !o.json {
		ao.OnBatch = func(b *agent.AuditBatch, problems []agent.AuditProblem) {
			printAuditBatch(a.stdout, b, problems)
			for _, p := range problems {
				shown[p] = true
			}
		}
	}
	rep, err := ag.Audit(ctx, ao)
	if err != nil {
		return auditError(&o, a.receiptsAddr(*recAddr), err)
	}
	var fail error
	if !rep.OK {
		first := rep.Problems[0].String()
		fail = &cliError{kind: "audit_failed", msg: fmt.Sprintf("audit failed: %s; first: %s", plural(rep.ProblemCount, "problem"), first)}
	}
	if o.json {
		out := auditOutput{AuditReport: rep}
		if fail != nil {
			out.Error = &auditErrJSON{Kind: "audit_failed", Message: fail.Error()}
		}
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
		if fail != nil {
			return &auditReported{fail}
		}
		return nil
	}
	printAuditSummary(a.stdout, rep, shown)
	return fail
}

// auditError explains why the audit could not run.
func auditError(o *opts, recAddr string, err error) error {
	var ae *agent.AddressError
	var ce *agent.ChainError
	var re *agent.ReceiptsError
	var me *agent.MisconfiguredError
	switch {
	case errors.As(err, &ae):
		return usageErrorf("--rpc-url %q: %v", ae.Addr, ae.Err)
	case errors.As(err, &me):
		return &cliError{kind: "misconfigured", msg: me.Msg, err: err}
	case errors.As(err, &ce) && errors.Is(err, context.Canceled):
		return &cliError{kind: "canceled", msg: "canceled", err: err}
	case errors.As(err, &ce):
		return &cliError{kind: "chain_error", msg: ce.Error(), err: err}
	case errors.As(err, &re):
		st, ok := status.FromError(re.Err)
		switch {
		case errors.Is(re.Err, context.Canceled) || (ok && st.Code() == codes.Canceled):
			return &cliError{kind: "canceled", msg: "canceled", err: err}
		case ok && st.Code() == codes.Unavailable:
			return &cliError{kind: "receipts_unreachable", msg: fmt.Sprintf("receipts service unreachable at %s (%s); check --receipts or PBTS_RECEIPTS", recAddr, st.Message()), err: err}
		case ok && st.Code() == codes.DeadlineExceeded, errors.Is(re.Err, context.DeadlineExceeded):
			return &cliError{kind: "receipts_timeout", msg: fmt.Sprintf("receipts service at %s did not answer within %s", recAddr, o.timeout), err: err}
		case ok:
			return &cliError{kind: "receipts_error", msg: fmt.Sprintf("receipts service at %s: %s: %s", recAddr, st.Code(), st.Message()), err: err}
		}
		return &cliError{kind: "receipts_error", msg: re.Error(), err: err}
	}
	return err
}

func printAuditBatch(w io.Writer, b *agent.AuditBatch, problems []agent.AuditProblem) {
	root := "root ok"
	if !b.RootOK {
		root = "root MISMATCH"
	}
	agents := plural(b.Agents, "agent") + " ok"
	if b.AgentsOK != b.Agents {
		agents = fmt.Sprintf("%d of %s ok", b.AgentsOK, plural(b.Agents, "agent"))
	}
	bad := ""
	if b.BadReceipts > 0 {
		bad = fmt.Sprintf(" (%d bad)", b.BadReceipts)
	}
	verdict := ""
	if !b.OK {
		verdict = " — FAILED"
	}
	fmt.Fprintf(w, "batch %d: %s%s, %s, %s%s\n", b.ID, plural(b.Receipts, "receipt"), bad, root, agents, verdict)
	for _, p := range problems {
		fmt.Fprintf(w, "  ! %s\n", p.String())
	}
}

func printAuditSummary(w io.Writer, rep *agent.AuditReport, shown map[agent.AuditProblem]bool) {
	bad := 0
	for i := range rep.Agents {
		ag := &rep.Agents[i]
		if !ag.OK || rep.Agent != "" {
			state := "matches the contract"
			if !ag.OK {
				state = "MISMATCH"
			}
			fmt.Fprintf(w, "agent %s (%s, %s): expected up %s, down %s; contract up %s, down %s: %s\n",
				ag.Address, ag.Source, plural(ag.Batches, "batch"), ag.ExpectedUpload, ag.ExpectedDownload, ag.ContractUpload, ag.ContractDownload, state)
			if ag.Note != "" {
				fmt.Fprintf(w, "  note: %s\n", ag.Note)
			}
		}
		if !ag.OK {
			bad++
		}
	}
	// Problems not printed under a batch line (sequence, totals) are listed here.
	for _, p := range rep.Problems {
		if !shown[p] {
			fmt.Fprintf(w, "  ! %s\n", p.String())
		}
	}
	scope := fmt.Sprintf("%s (%s)", plural(rep.BatchesAudited, "batch"), plural(rep.ReceiptsChecked, "receipt"))
	if rep.Agent != "" {
		scope = fmt.Sprintf("%d of %s naming %s (%s)", rep.BatchesAudited, plural(rep.BatchesSettled, "settled batch"), rep.Agent, plural(rep.ReceiptsChecked, "receipt"))
	}
	where := fmt.Sprintf("ReputationTracker %s on chain %d, blocks %d..%d", rep.Contract, rep.ChainID, rep.FromBlock, rep.ToBlock)
	if rep.OK {
		fmt.Fprintf(w, "audit ok: %s and %s match %s\n", scope, plural(len(rep.Agents), "agent total"), where)
		return
	}
	fmt.Fprintf(w, "audit FAILED: %s; %s audited, %d of %s differ; %s\n", plural(rep.ProblemCount, "problem"), scope, bad, plural(len(rep.Agents), "agent total"), where)
}

// plural is "1 batch", "2 batches".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "ch") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// deploymentRecord reads the deployment block of d's contract from the
// record at flagValue (or PBTS_CONTRACTS, or .pbts/contracts.json if it
// exists); a record of another contract or chain is not used.
func (a *app) deploymentRecord(flagValue string, d receipt.Domain) (uint64, string, bool) {
	path := flagValue
	if path == "" {
		path = a.getenv("PBTS_CONTRACTS")
	}
	if path == "" {
		path = filepath.Join(".pbts", "contracts.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if flagValue != "" {
			fmt.Fprintf(a.stderr, "pbts: --contracts %s: %v (reading from the deployment block found on chain)\n", path, err)
		}
		return 0, "", false
	}
	var dep chain.Deployment
	if err := json.Unmarshal(b, &dep); err != nil || dep.Tracker != d.Tracker || dep.ChainID != d.ChainID || dep.Block == 0 {
		return 0, "", false
	}
	return dep.Block, path, true
}
