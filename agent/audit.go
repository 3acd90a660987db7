package agent

// Audit re-derives every settled batch from the receipts the receipts
// service serves and compares it, and every agent's figures, with the chain.
//
// What is compared (Expected is always what the receipts imply, Found what the
// chain, or for a digest the service, says):
//
//   - per BatchSettled event (from the contract's deployment block, or
//     --from-block, to the head pinned when the audit starts): the batch ids
//     run 1, 2, … without a gap and end at lastBatchId();
//   - every receipt the service lists for the batch: its fields parse, it
//     claims that batch, its digest recomputed for this chain id and contract
//     equals the digest served, its EIP-191 signature recovers to its
//     receiver, sender ≠ receiver, size > 0, no digest twice;
//   - the OpenZeppelin StandardMerkleTree root of the recomputed digests
//     equals the event's receiptsRoot;
//   - per agent, the chainwriter's rule (services/chainwriter/internal/store
//     BatchPayload): upload delta = Σ piece_size of the valid receipts it
//     sent, download delta = Σ piece_size of those it signed; compared with
//     the change of the agent's figures over the batch's ReputationUpdated
//     events (which carry running totals, not deltas; an agent listed twice
//     in one settle is handled), and the agent sets must be equal;
//   - the event's totalUploadDelta / totalDownloadDelta against the receipts'
//     sums, and its agentCount against the number of ReputationUpdated events
//     and the number of distinct agents in the receipts (one entry per agent);
//   - per agent (or only --agent A): the initial credit of its AgentRegistered
//     event, or the figures of its AgentImported event, plus the receipt
//     deltas of every batch, against getLocalReputation(agent) at the pinned
//     block. getLocalReputation, not getReputation: getReputation delegates
//     agents this tracker has never seen to the referrer, whose figures no
//     event of this contract accounts for. An agent imported from the referrer
//     starts from the imported figures (this audit does not audit the
//     referrer); an agent only the referrer knows is reported as such.
//
// With --agent A only the batches that name A (in their ReputationUpdated
// events, or in the receipts the service lists for A) are audited, and only
// A's totals. Memory is bounded by one batch's digests plus one entry per
// agent: receipts are paged, logs are read in block ranges.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"google.golang.org/grpc"

	"github.com/pbts/pbts/contracts/bindings"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

const (
	// DefaultRPCURL is the chain endpoint Audit reads when
	// AuditOptions.RPCURL is empty.
	DefaultRPCURL = "http://127.0.0.1:8545"
	// auditLogRange is the widest eth_getLogs block range asked for; halved
	// while the endpoint refuses a range.
	auditLogRange = 5000
	// auditPageSize receipts per ListReceipts call (the service caps it too).
	auditPageSize = 1000
	// auditMaxReceiptProblems receipt-level problems are itemised per batch;
	// the rest are counted.
	auditMaxReceiptProblems = 10
	// auditMaxProblems problems are kept in the report; the rest are counted.
	auditMaxProblems = 1000
)

var (
	auditABI          = bindings.NewReputationTracker()
	evBatchSettled    = auditABI.GetABI().Events[bindings.ReputationTrackerBatchSettledEventName].ID
	evRepUpdated      = auditABI.GetABI().Events[bindings.ReputationTrackerReputationUpdatedEventName].ID
	evAgentRegistered = auditABI.GetABI().Events[bindings.ReputationTrackerAgentRegisteredEventName].ID
	evAgentImported   = auditABI.GetABI().Events[bindings.ReputationTrackerAgentImportedEventName].ID
)

// AuditOptions tune Audit.
type AuditOptions struct {
	// RPCURL is the Ethereum JSON-RPC endpoint (DefaultRPCURL if empty).
	RPCURL string
	// Agent, if set, restricts the audit to this agent's totals and the
	// batches that name it.
	Agent common.Address
	// FromBlock is the first block whose events are read; nil: the
	// contract's deployment block (found where the endpoint keeps
	// historical state), else genesis.
	FromBlock *uint64
	// FromBlockSource names where FromBlock came from in the report
	// ("flag" if empty), e.g. "contracts.json".
	FromBlockSource string
	// OnBatch, if set, is called with each settled batch as it is audited
	// and the problems found in it (which the report holds as well).
	OnBatch func(b *AuditBatch, problems []AuditProblem)
}

// ChainError is Audit's error when the chain endpoint fails.
type ChainError struct {
	URL  string
	What string // what was asked for
	Err  error
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("chain endpoint %s: %s: %v", e.URL, e.What, e.Err)
}
func (e *ChainError) Unwrap() error { return e.Err }

// ReceiptsError is Audit's error when the receipts service fails (Err is
// a gRPC status error where the service answered).
type ReceiptsError struct {
	Addr string
	Err  error
}

func (e *ReceiptsError) Error() string {
	return fmt.Sprintf("receipts service at %s: %v", e.Addr, e.Err)
}
func (e *ReceiptsError) Unwrap() error { return e.Err }

// MisconfiguredError is Audit's error when the endpoint, the chain id and
// the contract address do not go together.
type MisconfiguredError struct{ Msg string }

func (e *MisconfiguredError) Error() string { return e.Msg }

// Audit re-derives every settled batch of the agent's ReputationTracker
// (Config.Domain) from the receipts the receipts service serves and
// compares it, and every agent's figures, with the chain (see the comment
// at the top of audit.go for what is compared). The report's OK says
// whether everything matches; an error is a failure to audit at all.
func (a *Agent) Audit(ctx context.Context, opts AuditOptions) (*AuditReport, error) {
	if a.cfg.Domain.Tracker == (common.Address{}) {
		return nil, errors.New("agent: Audit needs Config.Domain (the ReputationTracker contract)")
	}
	url := opts.RPCURL
	if url == "" {
		url = DefaultRPCURL
	}
	cctx, cancel := a.call(ctx)
	eth, err := ethclient.DialContext(cctx, url)
	cancel()
	if err != nil {
		return nil, &AddressError{Service: "chain", Addr: url, Err: err}
	}
	defer eth.Close()
	au := &auditor{eth: eth, rc: a.receipts, domain: a.cfg.Domain, timeout: a.cfg.Timeout, rpcURL: url, recAddr: a.cfg.Receipts,
		from: -1, fromSource: "flag", onBatch: opts.OnBatch}
	if opts.FromBlock != nil {
		au.from = int64(*opts.FromBlock)
	}
	if opts.FromBlockSource != "" {
		au.fromSource = opts.FromBlockSource
	}
	if opts.Agent != (common.Address{}) {
		au.agent = &opts.Agent
	}
	return au.run(ctx)
}

// receiptLister is the part of the receipts service the audit reads.
type receiptLister interface {
	ListReceipts(ctx context.Context, in *pbtsv1.ListReceiptsRequest, opts ...grpc.CallOption) (*pbtsv1.ListReceiptsResponse, error)
}

// AuditProblem is one mismatch. Expected is what the receipts imply, Found
// what the chain (or, for a digest, the service) has.
type AuditProblem struct {
	Batch    uint64 `json:"batch_id,omitempty"`
	Agent    string `json:"agent,omitempty"`
	Receipt  string `json:"receipt,omitempty"`
	Check    string `json:"check"`
	Detail   string `json:"detail"`
	Expected string `json:"expected,omitempty"`
	Found    string `json:"found,omitempty"`
}

func (p AuditProblem) String() string {
	var b strings.Builder
	if p.Batch != 0 {
		fmt.Fprintf(&b, "batch %d, ", p.Batch)
	}
	if p.Agent != "" {
		fmt.Fprintf(&b, "agent %s, ", p.Agent)
	}
	if p.Receipt != "" {
		fmt.Fprintf(&b, "receipt %s, ", p.Receipt)
	}
	b.WriteString(p.Detail)
	if p.Expected != "" || p.Found != "" {
		fmt.Fprintf(&b, ": expected %s, found %s", p.Expected, p.Found)
	}
	return b.String()
}

// AuditBatch is one settled batch as audited.
type AuditBatch struct {
	ID             uint64   `json:"batch_id"`
	Block          uint64   `json:"block"`
	TxHash         string   `json:"tx_hash"`
	Root           string   `json:"root"`
	RecomputedRoot string   `json:"recomputed_root,omitempty"`
	RootOK         bool     `json:"root_ok"`
	Receipts       int      `json:"receipts"`
	BadReceipts    int      `json:"bad_receipts"`
	Agents         int      `json:"agents"`
	AgentsOK       int      `json:"agents_ok"`
	UploadDelta    *big.Int `json:"upload_delta"`
	DownloadDelta  *big.Int `json:"download_delta"`
	OK             bool     `json:"ok"`
	Problems       int      `json:"problems"`
}

// AuditAgent is one agent's totals as audited.
type AuditAgent struct {
	Address string `json:"address"`
	// Source of its starting figures: "registered" (initial credit),
	// "imported" (from the referrer) or "unknown" (no event here).
	Source           string   `json:"source"`
	Batches          int      `json:"batches"`
	ExpectedUpload   *big.Int `json:"expected_upload"`
	ExpectedDownload *big.Int `json:"expected_download"`
	ContractUpload   *big.Int `json:"contract_upload"`
	ContractDownload *big.Int `json:"contract_download"`
	ContractKnown    bool     `json:"contract_known"`
	OK               bool     `json:"ok"`
	Note             string   `json:"note,omitempty"`
}

// AuditReport is the whole result (--json prints it).
type AuditReport struct {
	OK              bool           `json:"ok"`
	Contract        string         `json:"contract"`
	ChainID         uint64         `json:"chain_id"`
	Agent           string         `json:"agent,omitempty"`
	FromBlock       uint64         `json:"from_block"`
	FromBlockSource string         `json:"from_block_source"`
	ToBlock         uint64         `json:"to_block"`
	LastBatchID     uint64         `json:"last_batch_id"`
	BatchesSettled  int            `json:"batches_settled"`
	BatchesAudited  int            `json:"batches_audited"`
	ReceiptsChecked int            `json:"receipts_checked"`
	Batches         []AuditBatch   `json:"batches"`
	Agents          []AuditAgent   `json:"agents"`
	ProblemCount    int            `json:"problem_count"`
	Problems        []AuditProblem `json:"problems"`
}

// figs is an upload/download pair.
type figs struct{ up, down *big.Int }

func newFigs() figs              { return figs{new(big.Int), new(big.Int)} }
func (f figs) clone() figs       { return figs{new(big.Int).Set(f.up), new(big.Int).Set(f.down)} }
func (f figs) String() string    { return fmt.Sprintf("up %s, down %s", f.up, f.down) }
func (f figs) equal(g figs) bool { return f.up.Cmp(g.up) == 0 && f.down.Cmp(g.down) == 0 }
func (f figs) sub(g figs) figs {
	return figs{new(big.Int).Sub(f.up, g.up), new(big.Int).Sub(f.down, g.down)}
}
func (f figs) addTo(g figs) { f.up.Add(f.up, g.up); f.down.Add(f.down, g.down) }
func (f figs) addSize(up, down int) {
	f.up.Add(f.up, big.NewInt(int64(up)))
	f.down.Add(f.down, big.NewInt(int64(down)))
}

// auditAgentState is what the audit knows of one agent.
type auditAgentState struct {
	// chain: running figures as the events report them.
	chain    figs
	hasChain bool
	// expected: starting figures + receipt deltas.
	expected figs
	source   string
	batches  int
}

// entryRange is an agent's figures around one batch's ReputationUpdated events.
type entryRange struct {
	before, after figs
	n             int
}

type batchEvents struct {
	entries  int
	agents   map[common.Address]*entryRange
	problems []AuditProblem
}

// auditor runs one audit.
type auditor struct {
	eth        *ethclient.Client
	rc         receiptLister
	domain     receipt.Domain
	agent      *common.Address
	timeout    time.Duration
	rpcURL     string
	recAddr    string
	from       int64 // < 0: find the deployment block
	fromSource string
	onBatch    func(b *AuditBatch, problems []AuditProblem)
	at         *big.Int // the pinned block
	agents     map[common.Address]*auditAgentState
	pending    map[uint64]*batchEvents
	relevant   map[uint64]bool
	last       uint64 // last batch id seen
	rep        AuditReport
}

func (au *auditor) state(a common.Address) *auditAgentState {
	s := au.agents[a]
	if s == nil {
		s = &auditAgentState{chain: newFigs(), expected: newFigs(), source: "unknown"}
		au.agents[a] = s
	}
	return s
}

func (au *auditor) problem(p AuditProblem) {
	au.rep.ProblemCount++
	if len(au.rep.Problems) < auditMaxProblems {
		au.rep.Problems = append(au.rep.Problems, p)
	}
}

func (au *auditor) chainErr(what string, err error) error {
	return &ChainError{URL: au.rpcURL, What: what, Err: err}
}

func (au *auditor) receiptsErr(err error) error {
	return &ReceiptsError{Addr: au.recAddr, Err: err}
}

func (au *auditor) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, au.timeout)
}

// call runs a view call at the pinned block.
func call[T any](ctx context.Context, au *auditor, what string, data []byte, unpack func([]byte) (T, error)) (T, error) {
	cctx, cancel := au.ctx(ctx)
	defer cancel()
	v, err := bind.Call(auditABI.Instance(au.eth, au.domain.Tracker), &bind.CallOpts{Context: cctx, BlockNumber: au.at}, data, unpack)
	if err != nil {
		return v, au.chainErr(what, err)
	}
	return v, nil
}

// run performs the audit; err is an infrastructure failure (the report's
// OK says whether the figures match).
func (au *auditor) run(ctx context.Context) (*AuditReport, error) {
	au.agents = map[common.Address]*auditAgentState{}
	au.pending = map[uint64]*batchEvents{}
	au.rep = AuditReport{Contract: au.domain.Tracker.Hex(), ChainID: au.domain.ChainID, Batches: []AuditBatch{}, Agents: []AuditAgent{}, Problems: []AuditProblem{}}
	if au.agent != nil {
		au.rep.Agent = au.agent.Hex()
	}

	cctx, cancel := au.ctx(ctx)
	id, err := au.eth.ChainID(cctx)
	cancel()
	if err != nil {
		return nil, au.chainErr("chain id", err)
	}
	if !id.IsUint64() || id.Uint64() != au.domain.ChainID {
		return nil, &MisconfiguredError{fmt.Sprintf("the endpoint %s serves chain %s, but the receipts are checked for chain %d (--chain-id / PBTS_CHAIN_ID)", au.rpcURL, id, au.domain.ChainID)}
	}
	cctx, cancel = au.ctx(ctx)
	head, err := au.eth.BlockNumber(cctx)
	cancel()
	if err != nil {
		return nil, au.chainErr("block number", err)
	}
	au.at = new(big.Int).SetUint64(head)
	au.rep.ToBlock = head
	cctx, cancel = au.ctx(ctx)
	code, err := au.eth.CodeAt(cctx, au.domain.Tracker, au.at)
	cancel()
	if err != nil {
		return nil, au.chainErr("code", err)
	}
	if len(code) == 0 {
		return nil, &MisconfiguredError{fmt.Sprintf("no contract at %s on chain %d (block %d): check --tracker-contract", au.domain.Tracker.Hex(), au.domain.ChainID, head)}
	}
	lastID, err := call(ctx, au, "lastBatchId()", auditABI.PackLastBatchId(), auditABI.UnpackLastBatchId)
	if err != nil {
		return nil, err
	}
	if !lastID.IsUint64() {
		return nil, &MisconfiguredError{fmt.Sprintf("lastBatchId() of %s is %s: not a PBTS ReputationTracker?", au.domain.Tracker.Hex(), lastID)}
	}
	au.rep.LastBatchID = lastID.Uint64()

	switch {
	case au.from >= 0:
		au.rep.FromBlock, au.rep.FromBlockSource = uint64(au.from), au.fromSource
	default:
		if b, ok := au.deploymentBlock(ctx, head); ok {
			au.rep.FromBlock, au.rep.FromBlockSource = b, "deployment"
		} else {
			au.rep.FromBlock, au.rep.FromBlockSource = 0, "genesis"
		}
	}

	if au.agent != nil {
		if err := au.findAgentBatches(ctx); err != nil {
			return nil, err
		}
	}

	if err := au.scan(ctx, au.rep.FromBlock, head); err != nil {
		return nil, err
	}
	for id := range au.pending {
		au.problem(AuditProblem{Batch: id, Check: "events", Detail: "ReputationUpdated events without a BatchSettled event"})
	}
	if au.last != au.rep.LastBatchID {
		au.problem(AuditProblem{Check: "batch_sequence", Detail: fmt.Sprintf("the last BatchSettled event in blocks %d..%d is not lastBatchId()", au.rep.FromBlock, head),
			Expected: fmt.Sprint(au.rep.LastBatchID), Found: fmt.Sprint(au.last)})
	}
	if err := au.totals(ctx); err != nil {
		return nil, err
	}
	au.rep.OK = au.rep.ProblemCount == 0
	return &au.rep, nil
}

// deploymentBlock bisects for the first block with the contract's code. It
// needs historical state (anvil, an archive node); without it the audit
// starts at genesis.
func (au *auditor) deploymentBlock(ctx context.Context, head uint64) (uint64, bool) {
	has := func(b uint64) (bool, error) {
		cctx, cancel := au.ctx(ctx)
		defer cancel()
		code, err := au.eth.CodeAt(cctx, au.domain.Tracker, new(big.Int).SetUint64(b))
		return len(code) > 0, err
	}
	ok, err := has(0)
	if err != nil {
		return 0, false
	}
	if ok {
		return 0, true
	}
	lo, hi := uint64(0), head // code absent at lo, present at hi
	for lo+1 < hi {
		mid := lo + (hi-lo)/2
		ok, err := has(mid)
		if err != nil {
			return 0, false
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true
}

// findAgentBatches lists the batches holding receipts of --agent.
func (au *auditor) findAgentBatches(ctx context.Context) error {
	au.relevant = map[uint64]bool{}
	req := &pbtsv1.ListReceiptsRequest{Agent: au.agent.Hex(), PageSize: auditPageSize}
	return au.listReceipts(ctx, req, func(r *pbtsv1.ReceiptRecord) {
		if b := r.GetBatchId(); b != 0 {
			au.relevant[b] = true
		}
	})
}

// listReceipts pages through req.
func (au *auditor) listReceipts(ctx context.Context, req *pbtsv1.ListReceiptsRequest, fn func(*pbtsv1.ReceiptRecord)) error {
	for {
		cctx, cancel := au.ctx(ctx)
		resp, err := au.rc.ListReceipts(cctx, req)
		cancel()
		if err != nil {
			return au.receiptsErr(err)
		}
		for _, r := range resp.GetRecords() {
			fn(r)
		}
		next := resp.GetNextPageToken()
		if next == "" {
			return nil
		}
		if len(resp.GetRecords()) == 0 || next == req.GetPageToken() {
			return au.receiptsErr(errors.New("ListReceipts returned a page token without progress"))
		}
		req.PageToken = next
	}
}

// scan reads the contract's events in block ranges and applies them in chain order.
func (au *auditor) scan(ctx context.Context, from, to uint64) error {
	span := uint64(auditLogRange)
	for from <= to {
		end := min(to, from+span-1)
		cctx, cancel := au.ctx(ctx)
		logs, err := au.eth.FilterLogs(cctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(end),
			Addresses: []common.Address{au.domain.Tracker},
			Topics:    [][]common.Hash{{evBatchSettled, evRepUpdated, evAgentRegistered, evAgentImported}},
		})
		cancel()
		if err != nil {
			if ctx.Err() == nil && span > 1 {
				span /= 2 // the endpoint may refuse wide ranges or large results
				continue
			}
			return au.chainErr(fmt.Sprintf("logs %d..%d", from, end), err)
		}
		slices.SortFunc(logs, func(a, b types.Log) int {
			if a.BlockNumber != b.BlockNumber {
				return cmpU64(a.BlockNumber, b.BlockNumber)
			}
			return cmpU64(uint64(a.Index), uint64(b.Index))
		})
		for i := range logs {
			if err := au.apply(ctx, &logs[i]); err != nil {
				return err
			}
		}
		from = end + 1
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (au *auditor) apply(ctx context.Context, l *types.Log) error {
	if l.Removed || len(l.Topics) == 0 || l.Address != au.domain.Tracker {
		return nil
	}
	bad := func(err error) error {
		return au.chainErr(fmt.Sprintf("undecodable event in tx %s", l.TxHash.Hex()), err)
	}
	switch l.Topics[0] {
	case evAgentRegistered:
		ev, err := auditABI.UnpackAgentRegisteredEvent(l)
		if err != nil {
			return bad(err)
		}
		s := au.state(ev.Agent)
		s.chain = figs{new(big.Int).Set(ev.InitialCredit), new(big.Int)}
		s.expected = s.chain.clone()
		s.hasChain, s.source = true, "registered"
	case evAgentImported:
		ev, err := auditABI.UnpackAgentImportedEvent(l)
		if err != nil {
			return bad(err)
		}
		s := au.state(ev.Agent)
		s.chain = figs{new(big.Int).Set(ev.UploadBytes), new(big.Int).Set(ev.DownloadBytes)}
		s.expected = s.chain.clone()
		s.hasChain, s.source = true, "imported"
	case evRepUpdated:
		ev, err := auditABI.UnpackReputationUpdatedEvent(l)
		if err != nil {
			return bad(err)
		}
		if !ev.BatchId.IsUint64() {
			return bad(fmt.Errorf("batch id %s", ev.BatchId))
		}
		id := ev.BatchId.Uint64()
		be := au.pending[id]
		if be == nil {
			be = newBatchEvents()
			au.pending[id] = be
		}
		s := au.state(ev.Agent)
		if !s.hasChain {
			be.problems = append(be.problems, AuditProblem{Batch: id, Agent: ev.Agent.Hex(), Check: "history",
				Detail: fmt.Sprintf("updated without an AgentRegistered or AgentImported event since block %d (is --from-block after the deployment?)", au.rep.FromBlock)})
			s.hasChain = true
		}
		e := be.agents[ev.Agent]
		if e == nil {
			e = &entryRange{before: s.chain.clone()}
			be.agents[ev.Agent] = e
		}
		e.after = figs{new(big.Int).Set(ev.UploadBytes), new(big.Int).Set(ev.DownloadBytes)}
		e.n++
		be.entries++
		s.chain = e.after.clone()
	case evBatchSettled:
		ev, err := auditABI.UnpackBatchSettledEvent(l)
		if err != nil {
			return bad(err)
		}
		if !ev.BatchId.IsUint64() {
			return bad(fmt.Errorf("batch id %s", ev.BatchId))
		}
		id := ev.BatchId.Uint64()
		be := au.pending[id]
		delete(au.pending, id)
		if be == nil {
			be = newBatchEvents()
		}
		return au.batch(ctx, ev, be)
	}
	return nil
}

func newBatchEvents() *batchEvents { return &batchEvents{agents: map[common.Address]*entryRange{}} }

// batchCheck accumulates one batch's receipts.
type batchCheck struct {
	id       uint64
	digests  [][32]byte
	seen     map[[32]byte]struct{}
	deltas   map[common.Address]figs
	total    *big.Int
	count    int
	bad      int // receipts that prove nothing
	itemised int // receipt problems listed
	more     int // receipt problems not listed
	problems []AuditProblem
}

func (bc *batchCheck) receiptProblem(p AuditProblem) {
	if bc.itemised < auditMaxReceiptProblems {
		bc.itemised++
		bc.problems = append(bc.problems, p)
	} else {
		bc.more++
	}
}

// batch audits one settled batch against its receipts.
func (au *auditor) batch(ctx context.Context, ev *bindings.ReputationTrackerBatchSettled, be *batchEvents) error {
	id := ev.BatchId.Uint64()
	au.rep.BatchesSettled++
	problems := be.problems
	if id != au.last+1 {
		want := au.last + 1
		detail := "batch ids are not consecutive"
		if au.last == 0 {
			detail = fmt.Sprintf("the first BatchSettled event since block %d is not batch 1 (is --from-block after the deployment?)", au.rep.FromBlock)
		}
		problems = append(problems, AuditProblem{Batch: id, Check: "batch_sequence", Detail: detail, Expected: fmt.Sprint(want), Found: fmt.Sprint(id)})
	}
	au.last = id
	if au.agent != nil && !au.relevant[id] && be.agents[*au.agent] == nil {
		for _, p := range problems {
			au.problem(p)
		}
		return nil
	}
	au.rep.BatchesAudited++

	bc := &batchCheck{id: id, seen: map[[32]byte]struct{}{}, deltas: map[common.Address]figs{}, total: new(big.Int)}
	req := &pbtsv1.ListReceiptsRequest{BatchId: id, PageSize: auditPageSize}
	if err := au.listReceipts(ctx, req, func(r *pbtsv1.ReceiptRecord) { au.checkReceipt(bc, r) }); err != nil {
		return err
	}
	au.rep.ReceiptsChecked += bc.count
	problems = append(problems, bc.problems...)
	if bc.more > 0 {
		problems = append(problems, AuditProblem{Batch: id, Check: "receipts", Detail: fmt.Sprintf("%d more problems with receipts (%d bad receipts in all)", bc.more, bc.bad)})
	}

	out := AuditBatch{
		ID: id, Block: ev.Raw.BlockNumber, TxHash: ev.Raw.TxHash.Hex(), Root: hexBytes(ev.ReceiptsRoot[:]),
		Receipts: bc.count, BadReceipts: bc.bad, UploadDelta: ev.TotalUploadDelta, DownloadDelta: ev.TotalDownloadDelta,
	}
	// The root.
	if len(bc.digests) == 0 {
		problems = append(problems, AuditProblem{Batch: id, Check: "root", Detail: "the receipts service lists no receipts for this batch, so its root cannot be recomputed",
			Expected: "receipts whose root is " + out.Root, Found: "none"})
	} else {
		root, err := receipt.MerkleRoot(bc.digests)
		if err != nil {
			return fmt.Errorf("batch %d: merkle root: %w", id, err)
		}
		out.RecomputedRoot = hexBytes(root[:])
		out.RootOK = root == ev.ReceiptsRoot
		if !out.RootOK {
			problems = append(problems, AuditProblem{Batch: id, Check: "root", Detail: "receiptsRoot on chain is not the Merkle root of the batch's receipts",
				Expected: out.RecomputedRoot, Found: out.Root})
		}
	}
	// Per agent: the receipts' deltas against the change of its figures.
	agents := make([]common.Address, 0, len(bc.deltas)+len(be.agents))
	for a := range bc.deltas {
		agents = append(agents, a)
	}
	for a := range be.agents {
		if _, ok := bc.deltas[a]; !ok {
			agents = append(agents, a)
		}
	}
	slices.SortFunc(agents, func(a, b common.Address) int { return a.Cmp(b) })
	out.Agents = len(agents)
	for _, a := range agents {
		want, inReceipts := bc.deltas[a]
		if !inReceipts {
			want = newFigs()
		}
		got := newFigs()
		e := be.agents[a]
		if e != nil {
			got = e.after.sub(e.before)
		}
		ok := true
		switch {
		case e == nil:
			ok = false
			problems = append(problems, AuditProblem{Batch: id, Agent: a.Hex(), Check: "agents", Detail: "in the batch's receipts but not settled in it",
				Expected: want.String(), Found: "no ReputationUpdated event"})
		case !inReceipts:
			ok = false
			problems = append(problems, AuditProblem{Batch: id, Agent: a.Hex(), Check: "agents", Detail: "settled in the batch but in none of its receipts",
				Expected: "no entry", Found: got.String()})
		default:
			if want.up.Cmp(got.up) != 0 {
				ok = false
				problems = append(problems, AuditProblem{Batch: id, Agent: a.Hex(), Check: "upload_delta", Detail: "upload delta settled on chain differs from the receipts", Expected: want.up.String(), Found: got.up.String()})
			}
			if want.down.Cmp(got.down) != 0 {
				ok = false
				problems = append(problems, AuditProblem{Batch: id, Agent: a.Hex(), Check: "download_delta", Detail: "download delta settled on chain differs from the receipts", Expected: want.down.String(), Found: got.down.String()})
			}
		}
		if ok {
			out.AgentsOK++
		}
		if inReceipts || e != nil {
			s := au.state(a)
			s.batches++
			if inReceipts {
				s.expected.addTo(want)
			}
		}
	}
	// Totals and entry count of the event.
	if bc.total.Cmp(ev.TotalUploadDelta) != 0 {
		problems = append(problems, AuditProblem{Batch: id, Check: "total_upload", Detail: "BatchSettled totalUploadDelta differs from the bytes of the receipts", Expected: bc.total.String(), Found: ev.TotalUploadDelta.String()})
	}
	if bc.total.Cmp(ev.TotalDownloadDelta) != 0 {
		problems = append(problems, AuditProblem{Batch: id, Check: "total_download", Detail: "BatchSettled totalDownloadDelta differs from the bytes of the receipts", Expected: bc.total.String(), Found: ev.TotalDownloadDelta.String()})
	}
	if !ev.AgentCount.IsUint64() || ev.AgentCount.Uint64() != uint64(be.entries) {
		problems = append(problems, AuditProblem{Batch: id, Check: "events", Detail: "BatchSettled agentCount is not the number of ReputationUpdated events of the batch",
			Expected: fmt.Sprint(be.entries), Found: ev.AgentCount.String()})
	} else if len(bc.deltas) != be.entries {
		problems = append(problems, AuditProblem{Batch: id, Check: "agent_count", Detail: "BatchSettled agentCount is not the number of agents in the receipts (one entry per agent)",
			Expected: fmt.Sprint(len(bc.deltas)), Found: ev.AgentCount.String()})
	}
	out.Problems = len(problems)
	out.OK = len(problems) == 0
	for i := range problems {
		au.problem(problems[i])
	}
	au.rep.Batches = append(au.rep.Batches, out)
	if au.onBatch != nil {
		au.onBatch(&au.rep.Batches[len(au.rep.Batches)-1], problems)
	}
	return nil
}

// checkReceipt verifies one listed receipt and adds it to the batch.
func (au *auditor) checkReceipt(bc *batchCheck, rec *pbtsv1.ReceiptRecord) {
	bc.count++
	valid := false // until proven
	defer func() {
		if !valid {
			bc.bad++
		}
	}()
	m := rec.GetReceipt()
	served := rec.GetDigest()
	if m == nil {
		bc.receiptProblem(AuditProblem{Batch: bc.id, Receipt: served, Check: "receipt", Detail: "record without a receipt"})
		return
	}
	var (
		r   receipt.Receipt
		err error
	)
	fail := func(field string, err error) {
		bc.receiptProblem(AuditProblem{Batch: bc.id, Receipt: served, Check: "receipt", Detail: fmt.Sprintf("%s: %s", field, strings.TrimPrefix(err.Error(), "receipt: "))})
	}
	if r.InfoHash, err = receipt.ParseBytes32(m.GetInfoHash()); err != nil {
		fail("info_hash", err)
		return
	}
	if r.Sender, err = receipt.ParseAddress(m.GetSender()); err != nil {
		fail("sender", err)
		return
	}
	if r.Receiver, err = receipt.ParseAddress(m.GetReceiver()); err != nil {
		fail("receiver", err)
		return
	}
	if r.PieceHash, err = receipt.ParseBytes32(m.GetPieceHash()); err != nil {
		fail("piece_hash", err)
		return
	}
	r.PieceIndex, r.PieceSize, r.Timestamp = m.GetPieceIndex(), m.GetPieceSize(), m.GetTimestamp()
	digest := receipt.Digest(au.domain, r)
	dhex := hexBytes(digest[:])
	// The root is over the recomputed digests: what the receipts' content commits to.
	if _, dup := bc.seen[digest]; dup {
		bc.receiptProblem(AuditProblem{Batch: bc.id, Receipt: dhex, Check: "duplicate", Detail: "listed twice in the batch"})
		return
	}
	bc.seen[digest] = struct{}{}
	bc.digests = append(bc.digests, digest)
	valid = true
	if b := rec.GetBatchId(); b != bc.id {
		valid = false
		bc.receiptProblem(AuditProblem{Batch: bc.id, Receipt: dhex, Check: "batch_id", Detail: "listed for the batch but names another", Expected: fmt.Sprint(bc.id), Found: fmt.Sprint(b)})
	}
	if sd, err := receipt.ParseBytes32(served); err != nil || sd != digest {
		valid = false
		bc.receiptProblem(AuditProblem{Batch: bc.id, Receipt: dhex, Check: "digest", Detail: "digest recomputed from the receipt's fields differs from the digest served",
			Expected: dhex, Found: served})
	}
	if err := r.Validate(); err != nil {
		valid = false
		fail("fields", err)
	}
	if sig, err := receipt.ParseSignature(m.GetSignature()); err != nil {
		valid = false
		bc.receiptProblem(AuditProblem{Batch: bc.id, Receipt: dhex, Check: "signature", Detail: "signature: " + strings.TrimPrefix(err.Error(), "receipt: ")})
	} else if signer, err := receipt.Recover(au.domain, r, sig[:]); err != nil || signer != r.Receiver {
		valid = false
		found := signer.Hex()
		if err != nil {
			found = err.Error()
		}
		bc.receiptProblem(AuditProblem{Batch: bc.id, Receipt: dhex, Check: "signature", Detail: "the signature does not recover to the receiver",
			Expected: r.Receiver.Hex(), Found: found})
	}
	if !valid {
		return // an invalid receipt proves no bytes
	}
	// The chainwriter's rule: the sender uploaded piece_size, the receiver downloaded it.
	up, ok := bc.deltas[r.Sender]
	if !ok {
		up = newFigs()
		bc.deltas[r.Sender] = up
	}
	up.addSize(int(r.PieceSize), 0)
	down, ok := bc.deltas[r.Receiver]
	if !ok {
		down = newFigs()
		bc.deltas[r.Receiver] = down
	}
	down.addSize(0, int(r.PieceSize))
	bc.total.Add(bc.total, big.NewInt(int64(r.PieceSize)))
}

// totals compares every agent's expected figures with getLocalReputation.
func (au *auditor) totals(ctx context.Context) error {
	var list []common.Address
	if au.agent != nil {
		list = []common.Address{*au.agent}
	} else {
		for a := range au.agents {
			list = append(list, a)
		}
		slices.SortFunc(list, func(a, b common.Address) int { return a.Cmp(b) })
	}
	for _, a := range list {
		s := au.agents[a]
		if s == nil {
			s = &auditAgentState{chain: newFigs(), expected: newFigs(), source: "unknown"}
		}
		rep, err := call(ctx, au, "getLocalReputation("+a.Hex()+")", auditABI.PackGetLocalReputation(a), auditABI.UnpackGetLocalReputation)
		if err != nil {
			return err
		}
		out := AuditAgent{
			Address: a.Hex(), Source: s.source, Batches: s.batches,
			ExpectedUpload: s.expected.up, ExpectedDownload: s.expected.down,
			ContractUpload: rep.UploadBytes, ContractDownload: rep.DownloadBytes, ContractKnown: rep.Known,
		}
		known := s.source != "unknown"
		got := figs{rep.UploadBytes, rep.DownloadBytes}
		switch {
		case known != rep.Known:
			au.problem(AuditProblem{Agent: a.Hex(), Check: "known", Detail: "registered here per the events, per getLocalReputation",
				Expected: fmt.Sprint(known), Found: fmt.Sprint(rep.Known)})
		case !s.expected.equal(got):
			if s.expected.up.Cmp(got.up) != 0 {
				au.problem(AuditProblem{Agent: a.Hex(), Check: "upload_total", Detail: "uploadBytes on chain (getLocalReputation) differs from its starting figures plus its receipts", Expected: s.expected.up.String(), Found: got.up.String()})
			}
			if s.expected.down.Cmp(got.down) != 0 {
				au.problem(AuditProblem{Agent: a.Hex(), Check: "download_total", Detail: "downloadBytes on chain (getLocalReputation) differs from its starting figures plus its receipts", Expected: s.expected.down.String(), Found: got.down.String()})
			}
		default:
			out.OK = true
		}
		if !rep.Known && au.agent != nil {
			// Unknown here: getReputation may delegate to the referrer.
			ref, err := call(ctx, au, "referrer()", auditABI.PackReferrer(), auditABI.UnpackReferrer)
			if err != nil {
				return err
			}
			if ref != (common.Address{}) {
				out.Note = fmt.Sprintf("unknown to this tracker: getReputation delegates to the referrer %s, whose figures this audit does not cover", ref.Hex())
			} else {
				out.Note = "unknown to this tracker (no referrer)"
			}
		} else if s.source == "imported" {
			out.Note = "starting figures imported from the referrer (not audited here)"
		}
		au.rep.Agents = append(au.rep.Agents, out)
	}
	return nil
}

func hexBytes(b []byte) string { return "0x" + hex.EncodeToString(b) }
