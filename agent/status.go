package agent

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// Standing is an agent's reputation as the tracker holds it: bytes
// settled on chain, bytes accepted but not settled yet, the ratio of
// upload to download, and whether the tracker lets it download (and why
// not).
type Standing struct {
	Address              common.Address
	RegisteredAt         time.Time // zero if the tracker did not say
	ChainRegistration    string    // "pending", "confirmed" or ""
	SettledUploadBytes   uint64
	SettledDownloadBytes uint64
	PendingUploadBytes   uint64
	PendingDownloadBytes uint64
	Ratio                float64 // meaningless when RatioInfinite
	RatioInfinite        bool    // nothing downloaded yet
	CanLeech             bool
	LeechRefusal         string // the tracker's reason, when !CanLeech
	PublishedCount       uint32
}

// Status is the standing of the agent at addr (the zero address: this
// agent's). An address the tracker does not know is a NotFound error.
func (a *Agent) Status(ctx context.Context, addr common.Address) (*Standing, error) {
	if addr == (common.Address{}) {
		addr = a.Address()
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	resp, err := a.agents.GetAgent(cctx, &pbtsv1.GetAgentRequest{Address: addr.Hex()})
	if err != nil {
		return nil, err
	}
	ag := resp.GetAgent()
	s := &Standing{
		Address: addr, ChainRegistration: chainRegName(ag.GetChainRegistration()),
		SettledUploadBytes: ag.GetSettledUploadBytes(), SettledDownloadBytes: ag.GetSettledDownloadBytes(),
		PendingUploadBytes: ag.GetPendingUploadBytes(), PendingDownloadBytes: ag.GetPendingDownloadBytes(),
		Ratio: ag.GetRatio(), RatioInfinite: ag.GetRatioInfinite(), CanLeech: ag.GetCanLeech(), LeechRefusal: ag.GetLeechRefusal(),
		PublishedCount: ag.GetPublishedCount(),
	}
	if got, err := receipt.ParseAddress(ag.GetAddress()); err == nil && got != (common.Address{}) {
		s.Address = got
	}
	if t := ag.GetRegisteredAt(); t != nil {
		s.RegisteredAt = t.AsTime().UTC()
	}
	return s, nil
}
