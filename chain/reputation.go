package chain

import (
	"context"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/pbts/pbts/contracts/bindings"
)

// Reputation is an agent's settled figures as the contract reports them
// (delegating up the referrer chain, at most 8 trackers, for agents it has never seen).
type Reputation struct {
	Upload, Download uint64
	LastUpdated      time.Time
	// Known is false for an agent neither the tracker nor its referrer has seen.
	Known bool
}

var trackerABI = bindings.NewReputationTracker()

// ReadReputation calls getReputation(agent) on the ReputationTracker at tracker.
func ReadReputation(ctx context.Context, backend bind.ContractBackend, tracker, agent common.Address) (Reputation, error) {
	inst := trackerABI.Instance(backend, tracker)
	out, err := bind.Call(inst, &bind.CallOpts{Context: ctx}, trackerABI.PackGetReputation(agent), trackerABI.UnpackGetReputation)
	if err != nil {
		return Reputation{}, fmt.Errorf("getReputation(%s): %w", agent, err)
	}
	if !out.UploadBytes.IsUint64() || !out.DownloadBytes.IsUint64() {
		return Reputation{}, fmt.Errorf("getReputation(%s): figures exceed 64 bits", agent)
	}
	r := Reputation{Upload: out.UploadBytes.Uint64(), Download: out.DownloadBytes.Uint64(), Known: out.Known}
	if out.LastUpdated.Sign() > 0 {
		r.LastUpdated = time.Unix(out.LastUpdated.Int64(), 0)
	}
	return r, nil
}
