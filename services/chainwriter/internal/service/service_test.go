package service

import (
	"context"
	"io"
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/pbts/pbts/database/dbtest"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/chainwriter/internal/seed"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
	"github.com/pbts/pbts/services/chainwriter/internal/writer"
)

type fixedStatus writer.Status

func (f fixedStatus) Status() writer.Status { return writer.Status(f) }

// fixture: 5 batches of 4 receipts (batches 1-3 settled), 3 receipts
// pending, one agent waiting for registration, one settle transaction in
// flight for batch 4.
func fixture(t *testing.T) (*Service, *store.Store, writer.Status) {
	t.Helper()
	db := dbtest.New(t)
	st := store.New(db)
	ctx := context.Background()
	a, _ := crypto.GenerateKey()
	b, _ := crypto.GenerateKey()
	aa, ba := crypto.PubkeyToAddress(a.PublicKey), crypto.PubkeyToAddress(b.PublicKey)
	if err := seed.Agents(ctx, db.Pool, aa, ba, common.Address{7}); err != nil {
		t.Fatal(err)
	}
	if err := st.ConfirmAgents(ctx, []common.Address{aa, ba}); err != nil {
		t.Fatal(err)
	}
	d := receipt.Domain{ChainID: 31337, Tracker: common.Address{9}}
	rs, err := seed.Transfer(d, [32]byte{1}, aa, b, 0, 23, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := seed.Insert(ctx, db.Pool, rs[4*i:4*i+4]); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateBatch(ctx, store.BatchLimits{MaxReceipts: 4, MaxAgents: 256}); err != nil {
			t.Fatal(err)
		}
	}
	if err := seed.Insert(ctx, db.Pool, rs[20:]); err != nil {
		t.Fatal(err)
	}
	for id := uint64(1); id <= 3; id++ {
		inc := store.Inclusion{Hash: common.Hash{byte(id)}, Block: 10 + id, GasUsed: 70_000}
		if err := st.SettleBatchExternally(ctx, id, inc, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	signer := common.Address{5}
	tx := &store.Tx{Signer: signer, Nonce: 7, Kind: store.KindSettle, BatchID: 4, To: common.Address{9}, Data: []byte{1}, GasLimit: 100_000}
	att := store.Attempt{Hash: common.Hash{0x44}, Raw: []byte{1}, TipCap: big.NewInt(1e9), FeeCap: big.NewInt(3e9)}
	if _, err := st.InsertTx(ctx, tx, att); err != nil {
		t.Fatal(err)
	}
	ws := writer.Status{ChainID: 31337, Contract: common.Address{9}, Signer: signer, Balance: big.NewInt(5e18),
		ChainNonce: 7, Head: 42, LastBatchOnChain: 3, Reachable: true, ObservedAt: time.Unix(1700000000, 0), Confirmations: 1,
		Factory: common.Address{8}, Referrers: []common.Address{{7}, {6}}, InitialCredit: 1 << 30}
	return New(st, fixedStatus(ws), slog.New(slog.NewTextHandler(io.Discard, nil))), st, ws
}

func TestGetChainStatus(t *testing.T) {
	s, _, _ := fixture(t)
	got, err := s.GetChainStatus(context.Background(), &pbtsv1.GetChainStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &pbtsv1.GetChainStatusResponse{
		ChainId: 31337, Contract: common.Address{9}.Hex(), Signer: common.Address{5}.Hex(), BalanceWei: "5000000000000000000",
		NextNonce: 8, ChainNonce: 7, LastBatchIdOnChain: 3, LastSettledBatchId: 3, LastBatchId: 5,
		PendingReceipts: 3, PendingRegistrations: 1, ChainReachable: true, HeadBlock: 42, Confirmations: 1,
		Factory: common.Address{8}.Hex(), Referrers: []string{common.Address{7}.Hex(), common.Address{6}.Hex()}, InitialCredit: 1 << 30,
		InFlight: []*pbtsv1.InFlightTransaction{{
			Nonce: 7, Kind: pbtsv1.TransactionKind_TRANSACTION_KIND_SETTLE, State: pbtsv1.TransactionState_TRANSACTION_STATE_PENDING,
			BatchId: 4, TxHash: common.Hash{0x44}.Hex(), Attempts: 1, GasTipCapWei: "1000000000", GasFeeCapWei: "3000000000",
		}},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform(),
		protocmp.IgnoreFields(&pbtsv1.GetChainStatusResponse{}, "oldest_pending_age", "observed_at"),
		protocmp.IgnoreFields(&pbtsv1.InFlightTransaction{}, "created_at")); diff != "" {
		t.Errorf("GetChainStatus (-want +got):\n%s", diff)
	}
	if got.OldestPendingAge == nil || got.ObservedAt.AsTime().Unix() != 1700000000 {
		t.Errorf("oldest pending age %v, observed at %v", got.OldestPendingAge, got.ObservedAt)
	}
}

func TestListBatches(t *testing.T) {
	s, _, _ := fixture(t)
	ctx := context.Background()
	first, err := s.ListBatches(ctx, &pbtsv1.ListBatchesRequest{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Batches) != 2 || first.Batches[0].Id != 5 || first.Batches[1].Id != 4 || first.NextPageToken == "" {
		t.Fatalf("page 1: %v", first)
	}
	if first.Batches[0].State != pbtsv1.BatchState_BATCH_STATE_RECORDED || first.Batches[1].State != pbtsv1.BatchState_BATCH_STATE_SENT ||
		first.Batches[1].TxHash != (common.Hash{0x44}).Hex() {
		t.Errorf("unsettled batches: %v", first.Batches)
	}
	second, err := s.ListBatches(ctx, &pbtsv1.ListBatchesRequest{PageSize: 2, PageToken: first.NextPageToken})
	if err != nil {
		t.Fatal(err)
	}
	third, err := s.ListBatches(ctx, &pbtsv1.ListBatchesRequest{PageSize: 2, PageToken: second.NextPageToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Batches) != 2 || second.Batches[0].Id != 3 || len(third.Batches) != 1 || third.Batches[0].Id != 1 || third.NextPageToken != "" {
		t.Fatalf("pages 2 and 3: %v %v", second, third)
	}
	b1 := third.Batches[0]
	want := &pbtsv1.Batch{Id: 1, State: pbtsv1.BatchState_BATCH_STATE_SETTLED, ReceiptCount: 4, AgentCount: 2, TotalBytes: 4000,
		TxHash: common.Hash{1}.Hex(), BlockNumber: 11, GasUsed: 70_000}
	if diff := cmp.Diff(want, b1, protocmp.Transform(), protocmp.IgnoreFields(&pbtsv1.Batch{}, "root", "created_at", "settled_at")); diff != "" {
		t.Errorf("batch 1 (-want +got):\n%s", diff)
	}
	if b1.SettledAt == nil || len(b1.Root) != 66 {
		t.Errorf("batch 1 settled at %v root %q", b1.SettledAt, b1.Root)
	}
	all, err := s.ListBatches(ctx, &pbtsv1.ListBatchesRequest{})
	if err != nil || len(all.Batches) != 5 || all.NextPageToken != "" {
		t.Errorf("default page: %d batches, token %q, %v", len(all.GetBatches()), all.GetNextPageToken(), err)
	}
}

func TestListBatchesErrors(t *testing.T) {
	s, _, _ := fixture(t)
	for _, tc := range []struct {
		name string
		req  *pbtsv1.ListBatchesRequest
		want codes.Code
	}{
		{"negative page size", &pbtsv1.ListBatchesRequest{PageSize: -1}, codes.InvalidArgument},
		{"garbage token", &pbtsv1.ListBatchesRequest{PageToken: "!!"}, codes.InvalidArgument},
		{"foreign token", &pbtsv1.ListBatchesRequest{PageToken: "YWJj"}, codes.InvalidArgument},
		{"huge page capped", &pbtsv1.ListBatchesRequest{PageSize: 1 << 30}, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ListBatches(context.Background(), tc.req)
			if status.Code(err) != tc.want {
				t.Errorf("ListBatches = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDatabaseDownIsUnavailable(t *testing.T) {
	s, st, _ := fixture(t)
	st.Pool().Close()
	if _, err := s.GetChainStatus(context.Background(), &pbtsv1.GetChainStatusRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("GetChainStatus with the pool closed: %v, want Unavailable", err)
	}
	if _, err := s.ListBatches(context.Background(), &pbtsv1.ListBatchesRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("ListBatches with the pool closed: %v, want Unavailable", err)
	}
}
