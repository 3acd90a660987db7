// Package chain holds the suite's Ethereum plumbing that is not the receipt
// encoding: deploying the contracts and reading reputation from them.
package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/pbts/pbts/contracts/bindings"
)

// GiB is the default initial credit: what a newly registered agent may download.
const GiB = 1 << 30

// Deployment is where a PBTS deployment lives; printed as JSON by cmd/deploy
// and kept by the local stack.
type Deployment struct {
	ChainID       uint64         `json:"chainId"`
	Factory       common.Address `json:"factory"`
	Tracker       common.Address `json:"tracker"`
	Authority     common.Address `json:"authority"`
	Referrer      common.Address `json:"referrer"`
	InitialCredit uint64         `json:"initialCredit"`
	Block         uint64         `json:"block"`
}

// DeployParams choose what Deploy does.
type DeployParams struct {
	// InitialCredit in bytes granted on registration (ignored with a referrer:
	// the new tracker then inherits the referrer's credit unless set).
	InitialCredit uint64
	// Referrer is an existing ReputationTracker the new one delegates to.
	Referrer common.Address
	// Factory reuses an existing RepFactory instead of deploying one.
	Factory common.Address
}

// Deploy deploys a RepFactory (unless params name one) and, through it, a
// ReputationTracker whose authority is key's address. It waits for each
// transaction to be mined.
func Deploy(ctx context.Context, client *ethclient.Client, key *ecdsa.PrivateKey, p DeployParams) (Deployment, error) {
	chainID, err := client.ChainID(ctx)
	if err != nil {
		return Deployment{}, fmt.Errorf("chain id: %w", err)
	}
	opts := bind.NewKeyedTransactor(key, chainID)
	opts.Context = ctx
	factoryABI := bindings.NewRepFactory()

	factory := p.Factory
	if factory == (common.Address{}) {
		credit := p.InitialCredit
		if credit == 0 {
			credit = GiB
		}
		addr, tx, err := bind.DeployContract(opts, common.FromHex(bindings.RepFactoryMetaData.Bin), client,
			factoryABI.PackConstructor(new(big.Int).SetUint64(credit)))
		if err != nil {
			return Deployment{}, fmt.Errorf("deploy RepFactory: %w", err)
		}
		if _, err := waitOK(ctx, client, tx); err != nil {
			return Deployment{}, fmt.Errorf("deploy RepFactory: %w", err)
		}
		factory = addr
	}

	inst := factoryABI.Instance(client, factory)
	var data []byte
	if p.InitialCredit != 0 {
		data = factoryABI.PackDeployNewTrackerWithCredit(p.Referrer, new(big.Int).SetUint64(p.InitialCredit))
	} else {
		data = factoryABI.PackDeployNewTracker(p.Referrer)
	}
	tx, err := bind.Transact(inst, opts, data)
	if err != nil {
		return Deployment{}, fmt.Errorf("deployNewTracker: %w", err)
	}
	rcpt, err := waitOK(ctx, client, tx)
	if err != nil {
		return Deployment{}, fmt.Errorf("deployNewTracker: %w", err)
	}
	for _, l := range rcpt.Logs {
		ev, err := factoryABI.UnpackTrackerDeployedEvent(l)
		if err != nil || l.Address != factory {
			continue
		}
		if !ev.InitialCredit.IsUint64() {
			return Deployment{}, errors.New("initial credit does not fit 64 bits")
		}
		return Deployment{
			ChainID:       chainID.Uint64(),
			Factory:       factory,
			Tracker:       ev.TrackerContract,
			Authority:     crypto.PubkeyToAddress(key.PublicKey),
			Referrer:      ev.Referrer,
			InitialCredit: ev.InitialCredit.Uint64(),
			Block:         rcpt.BlockNumber.Uint64(),
		}, nil
	}
	return Deployment{}, errors.New("deployNewTracker: no TrackerDeployed event in the receipt")
}

// waitOK waits for tx to be mined (bounded by ctx and two minutes) and
// fails when it reverted.
func waitOK(ctx context.Context, client *ethclient.Client, tx *types.Transaction) (*types.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rcpt, err := bind.WaitMined(ctx, client, tx.Hash())
	if err != nil {
		return nil, fmt.Errorf("wait for %s: %w", tx.Hash(), err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return rcpt, fmt.Errorf("transaction %s reverted", tx.Hash())
	}
	return rcpt, nil
}
