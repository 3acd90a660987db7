// Package audittest helps test audits of a ReputationTracker: a receipts
// service serving ListReceipts from memory and a chain (anvil) on which
// batches of those receipts are settled, right or wrong on purpose. It is
// for tests only.
package audittest

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"math/big"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/contracts/bindings"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// ABI is the ReputationTracker's, to pack calls for Transact.
var ABI = bindings.NewReputationTracker()

// Receipts serves ListReceipts (by batch or by agent) from memory, two
// records a page so that paging is exercised.
type Receipts struct {
	pbtsv1.UnimplementedReceiptServiceServer
	mu      sync.Mutex
	batches map[uint64][]*pbtsv1.ReceiptRecord
}

// NewReceipts is an empty service.
func NewReceipts() *Receipts { return &Receipts{batches: map[uint64][]*pbtsv1.ReceiptRecord{}} }

// Put makes recs the receipts of batch id.
func (f *Receipts) Put(id uint64, recs []*pbtsv1.ReceiptRecord) {
	f.mu.Lock()
	f.batches[id] = recs
	f.mu.Unlock()
}

// ListReceipts pages through the receipts of a batch or of an agent.
func (f *Receipts) ListReceipts(_ context.Context, req *pbtsv1.ListReceiptsRequest) (*pbtsv1.ListReceiptsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []*pbtsv1.ReceiptRecord
	ids := make([]uint64, 0, len(f.batches))
	for id := range f.batches {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if req.GetBatchId() != 0 && id != req.GetBatchId() {
			continue
		}
		for _, r := range f.batches[id] {
			if a := req.GetAgent(); a != "" && !strings.EqualFold(a, r.Receipt.Sender) && !strings.EqualFold(a, r.Receipt.Receiver) {
				continue
			}
			all = append(all, r)
		}
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		start, _ = strconv.Atoi(tok)
	}
	end := min(start+2, len(all))
	resp := &pbtsv1.ListReceiptsResponse{Records: all[start:end]}
	if end < len(all) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// Serve serves f over gRPC on a loopback port until the test ends and
// returns its address.
func (f *Receipts) Serve(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pbtsv1.RegisterReceiptServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// Transact sends data to the contract at to from anvil's first account and
// waits until it is mined successfully.
func Transact(t testing.TB, c *anviltest.Chain, to common.Address, data []byte) *types.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := bind.NewKeyedTransactor(anviltest.Key(0), big.NewInt(31337))
	opts.Context = ctx
	tx, err := bind.Transact(ABI.Instance(c.Client, to), opts, data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := bind.WaitMined(ctx, c.Client, tx.Hash())
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("tx %s: %v %v", tx.Hash(), r, err)
	}
	return r
}

// Chain is a deployed ReputationTracker whose batches' receipts R serves.
type Chain struct {
	T testing.TB
	C *anviltest.Chain
	D chain.Deployment
	R *Receipts
}

// Domain is the deployment's signing domain.
func (ac *Chain) Domain() receipt.Domain {
	return receipt.Domain{ChainID: ac.D.ChainID, Tracker: ac.D.Tracker}
}

// Receipt is one receipt to settle: From sent Size bytes to the holder of To.
type Receipt struct {
	From common.Address
	To   *ecdsa.PrivateKey
	Size uint32
}

// Settle records the receipts as batch id in R and settles id on chain
// with root and deltas (nil: the receipts' own).
func (ac *Chain) Settle(id uint64, rs []Receipt, root *common.Hash, agents []common.Address, up, down []int64) {
	t := ac.T
	t.Helper()
	var (
		recs    []*pbtsv1.ReceiptRecord
		digests [][32]byte
		deltas  = map[common.Address][2]int64{}
	)
	hexBytes := func(b []byte) string { return "0x" + hex.EncodeToString(b) }
	for i, tr := range rs {
		r := receipt.Receipt{
			InfoHash: [32]byte{0xab, byte(id)}, Sender: tr.From, Receiver: crypto.PubkeyToAddress(tr.To.PublicKey),
			PieceHash: [32]byte{byte(i)}, PieceIndex: uint32(i), PieceSize: tr.Size, Timestamp: 1_700_000_000 + uint64(i),
		}
		sig, err := receipt.Sign(ac.Domain(), r, tr.To)
		if err != nil {
			t.Fatal(err)
		}
		dg := receipt.Digest(ac.Domain(), r)
		digests = append(digests, dg)
		recs = append(recs, &pbtsv1.ReceiptRecord{
			Receipt: &pbtsv1.Receipt{
				InfoHash: hexBytes(r.InfoHash[:]), Sender: r.Sender.Hex(), Receiver: r.Receiver.Hex(), PieceHash: hexBytes(r.PieceHash[:]),
				PieceIndex: r.PieceIndex, PieceSize: r.PieceSize, Timestamp: r.Timestamp, Signature: sig.Hex(),
			},
			Digest: hexBytes(dg[:]), State: pbtsv1.SettlementState_SETTLEMENT_STATE_SETTLED, BatchId: id,
		})
		s, d := deltas[r.Sender], deltas[r.Receiver]
		s[0] += int64(r.PieceSize)
		d[1] += int64(r.PieceSize)
		deltas[r.Sender], deltas[r.Receiver] = s, d
	}
	ac.R.Put(id, recs)
	if root == nil {
		rt, err := receipt.MerkleRoot(digests)
		if err != nil {
			t.Fatal(err)
		}
		h := common.Hash(rt)
		root = &h
	}
	if agents == nil {
		for a := range deltas {
			agents = append(agents, a)
		}
		slices.SortFunc(agents, func(a, b common.Address) int { return a.Cmp(b) })
		for _, a := range agents {
			up, down = append(up, deltas[a][0]), append(down, deltas[a][1])
		}
	}
	bigs := func(v []int64) []*big.Int {
		out := make([]*big.Int, len(v))
		for i, x := range v {
			out[i] = big.NewInt(x)
		}
		return out
	}
	Transact(t, ac.C, ac.D.Tracker, ABI.PackSettle(new(big.Int).SetUint64(id), *root, agents, bigs(up), bigs(down)))
}

// Update changes receipt i of batch id in place (a tampered record).
func (f *Receipts) Update(id uint64, i int, change func(*pbtsv1.ReceiptRecord)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f.batches[id][i])
}
