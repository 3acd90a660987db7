package store_test

import (
	"context"
	"crypto/ecdsa"
	"database/sql"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/database/dbtest"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/chainwriter/internal/seed"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
)

func TestMigrationDownAndUp(t *testing.T) {
	url := dbtest.NewURL(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, database.Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.DownTo(ctx, 3); err != nil {
		t.Fatalf("down to 3: %v", err)
	}
	if tableExists(t, db, "chainwriter_txs") {
		t.Fatal("chainwriter_txs survives the down migration")
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if !tableExists(t, db, "chainwriter_txs") {
		t.Fatal("chainwriter_txs missing after up")
	}
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	var ok bool
	if err := db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestBatchesAndJournal(t *testing.T) {
	ctx := context.Background()
	db := dbtest.New(t)
	st := store.New(db)
	keys := make([]common.Address, 5)
	privs := make([]*ecdsa.PrivateKey, 5)
	for i := range keys {
		k, _ := crypto.GenerateKey()
		privs[i] = k
		keys[i] = crypto.PubkeyToAddress(k.PublicKey)
	}
	if err := seed.Agents(ctx, db.Pool, keys...); err != nil {
		t.Fatal(err)
	}
	// Nothing is batchable while the agents are not confirmed on chain.
	d := receipt.Domain{ChainID: 1, Tracker: common.Address{1}}
	for i := 0; i < 4; i++ {
		rs, err := seed.Transfer(d, [32]byte{byte(i)}, keys[i], privs[i+1], 0, 5, 100)
		if err != nil {
			t.Fatal(err)
		}
		if err := seed.Insert(ctx, db.Pool, rs); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := st.CreateBatch(ctx, store.BatchLimits{MaxReceipts: 100, MaxAgents: 256}); err != nil || b != nil {
		t.Fatalf("CreateBatch with unregistered agents = %+v, %v; want nothing", b, err)
	}
	pending, err := st.PendingAgents(ctx, 3)
	if err != nil || len(pending) != 3 {
		t.Fatalf("PendingAgents(3) = %v, %v", pending, err)
	}
	// A registration in flight hides its agents from PendingAgents.
	tx := &store.Tx{Signer: common.Address{5}, Nonce: 0, Kind: store.KindRegister, To: common.Address{1}, Data: []byte{1}, GasLimit: 50000, Agents: keys[:3]}
	att := store.Attempt{Hash: common.Hash{1}, Raw: []byte{1}, TipCap: big.NewInt(1), FeeCap: big.NewInt(2)}
	id, err := st.InsertTx(ctx, tx, att)
	if err != nil {
		t.Fatal(err)
	}
	if pending, _ = st.PendingAgents(ctx, 10); len(pending) != 2 {
		t.Errorf("PendingAgents with 3 in flight = %v, want the other 2", pending)
	}
	tx.ID = id
	if err := st.Confirm(ctx, tx, store.Inclusion{Hash: common.Hash{1}, Block: 3, BlockHash: common.Hash{3}, Status: 1, GasUsed: 9}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.ConfirmAgents(ctx, keys[3:]); err != nil {
		t.Fatal(err)
	}
	// The same nonce twice is refused.
	dup := &store.Tx{Signer: common.Address{5}, Nonce: 0, Kind: store.KindRegister, To: common.Address{1}, Data: []byte{1}, GasLimit: 50000}
	if _, err := st.InsertTx(ctx, dup, store.Attempt{Hash: common.Hash{2}, Raw: []byte{1}, TipCap: big.NewInt(1), FeeCap: big.NewInt(2)}); !database.IsUniqueViolation(err) {
		t.Errorf("second tx with nonce 0: %v, want a unique violation", err)
	}
	if n, _ := st.NextNonce(ctx, common.Address{5}); n != 1 {
		t.Errorf("NextNonce = %d, want 1", n)
	}

	// At most 3 agents: transfers 0->1 and 1->2 fit, 2->3 would add a fourth.
	b1, err := st.CreateBatch(ctx, store.BatchLimits{MaxReceipts: 100, MaxAgents: 3, BaseBatchID: 10})
	if err != nil || b1 == nil || b1.ID != 11 || b1.ReceiptCount != 10 || b1.AgentCount != 3 || b1.TotalBytes != 1000 {
		t.Fatalf("first batch %+v, %v; want id 11 (base 10), 10 receipts, 3 agents", b1, err)
	}
	b2, err := st.CreateBatch(ctx, store.BatchLimits{MaxReceipts: 7, MaxAgents: 256, BaseBatchID: 10})
	if err != nil || b2 == nil || b2.ID != 12 || b2.ReceiptCount != 7 {
		t.Fatalf("second batch %+v, %v; want id 12 with 7 receipts", b2, err)
	}
	p1, err := st.BatchPayload(ctx, 11)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := st.BatchPayload(ctx, 11)
	if len(p1.Agents) != 3 || p1.Root != b1.Root || len(again.Agents) != 3 {
		t.Fatalf("payload %+v", p1)
	}
	for i := range p1.Agents {
		if i > 0 && string(p1.Agents[i-1][:]) >= string(p1.Agents[i][:]) {
			t.Errorf("payload agents not sorted: %v", p1.Agents)
		}
		if p1.Agents[i] != again.Agents[i] || p1.Up[i].Cmp(again.Up[i]) != 0 || p1.Down[i].Cmp(again.Down[i]) != 0 {
			t.Errorf("payload differs between reads")
		}
	}
	// A second live transaction for the same batch is refused.
	s1 := &store.Tx{Signer: common.Address{5}, Nonce: 1, Kind: store.KindSettle, BatchID: 11, To: common.Address{1}, Data: []byte{1}, GasLimit: 50000}
	if _, err := st.InsertTx(ctx, s1, store.Attempt{Hash: common.Hash{3}, Raw: []byte{1}, TipCap: big.NewInt(1), FeeCap: big.NewInt(2)}); err != nil {
		t.Fatal(err)
	}
	s2 := &store.Tx{Signer: common.Address{5}, Nonce: 2, Kind: store.KindSettle, BatchID: 11, To: common.Address{1}, Data: []byte{1}, GasLimit: 50000}
	if _, err := st.InsertTx(ctx, s2, store.Attempt{Hash: common.Hash{4}, Raw: []byte{1}, TipCap: big.NewInt(1), FeeCap: big.NewInt(2)}); !database.IsUniqueViolation(err) {
		t.Errorf("second live settle for batch 11: %v, want a unique violation", err)
	}
	unsettled, err := st.UnsettledBatches(ctx)
	if err != nil || len(unsettled) != 2 || !unsettled[0].Live || unsettled[1].Live {
		t.Errorf("unsettled %+v, %v; want 11 live, 12 not", unsettled, err)
	}
}
