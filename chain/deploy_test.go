package chain_test

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/pbts/pbts/chain"
	"github.com/pbts/pbts/chain/anviltest"
	"github.com/pbts/pbts/contracts/bindings"
)

func TestDeployRegisterAndMigrate(t *testing.T) {
	ctx := context.Background()
	c := anviltest.Start(t)
	key := anviltest.Key(0)

	const credit = 64 << 20
	d, err := chain.Deploy(ctx, c.Client, key, chain.DeployParams{InitialCredit: credit})
	if err != nil {
		t.Fatal(err)
	}
	if d.ChainID != 31337 || d.Authority != crypto.PubkeyToAddress(key.PublicKey) || d.InitialCredit != credit {
		t.Fatalf("deployment %+v: want chain 31337, authority = deployer, credit %d", d, credit)
	}
	rt := bindings.NewReputationTracker()
	inst := rt.Instance(c.Client, d.Tracker)
	authority, err := bind.Call(inst, nil, rt.PackTracker(), rt.UnpackTracker)
	if err != nil || authority != d.Authority {
		t.Fatalf("tracker() = %s, %v; want %s", authority, err, d.Authority)
	}

	// Register an agent the way the chainwriter will, then read it back.
	agent := common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
	opts := bind.NewKeyedTransactor(key, bigID(d.ChainID))
	tx, err := bind.Transact(inst, opts, rt.PackRegister(agent))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bind.WaitMined(ctx, c.Client, tx.Hash()); err != nil {
		t.Fatal(err)
	}
	rep, err := chain.ReadReputation(ctx, c.Client, d.Tracker, agent)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Known || rep.Upload != credit || rep.Download != 0 || rep.LastUpdated.IsZero() {
		t.Fatalf("reputation %+v: want known with %d upload credit", rep, credit)
	}
	stranger, err := chain.ReadReputation(ctx, c.Client, d.Tracker, common.HexToAddress("0x1234"))
	if err != nil || stranger.Known {
		t.Fatalf("stranger reputation %+v, %v: want unknown", stranger, err)
	}

	// A second tracker through the same factory, referring to the first:
	// it inherits the credit and reads the agent through unchanged.
	d2, err := chain.Deploy(ctx, c.Client, anviltest.Key(1), chain.DeployParams{Factory: d.Factory, Referrer: d.Tracker})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Factory != d.Factory || d2.Tracker == d.Tracker || d2.Referrer != d.Tracker || d2.InitialCredit != credit {
		t.Fatalf("second deployment %+v: want same factory, new tracker referring to %s with credit %d", d2, d.Tracker, credit)
	}
	rep2, err := chain.ReadReputation(ctx, c.Client, d2.Tracker, agent)
	if err != nil || rep2.Upload != rep.Upload || rep2.Download != rep.Download || !rep2.Known {
		t.Fatalf("agent through the new tracker %+v, %v; want %+v", rep2, err, rep)
	}
}
