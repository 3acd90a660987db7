package agent

import (
	"context"
	"strings"
	"time"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// Registration is the tracker's answer to Register.
type Registration struct {
	State
	// AlreadyRegistered: the agent was registered before; the tracker
	// issues the passkey at the first registration only, so Passkey is the
	// one kept in the state directory, if any.
	AlreadyRegistered bool
	// ChainRegistration is "pending" or "confirmed" (on chain), or "".
	ChainRegistration string
	// StateFile is where the registration was saved.
	StateFile string
}

// Register registers the agent with the tracker (a signed registration
// message) and saves what the tracker answered, the passkey among it, in
// the state directory.
func (a *Agent) Register(ctx context.Context) (*Registration, error) {
	key, err := a.signer("Register")
	if err != nil {
		return nil, err
	}
	addr := a.Address()
	ts := uint64(time.Now().Unix())
	sig, err := receipt.SignRegistration(a.cfg.Domain, ts, key)
	if err != nil {
		return nil, err
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	resp, err := a.agents.RegisterAgent(cctx, &pbtsv1.RegisterAgentRequest{Address: addr.Hex(), Timestamp: ts, Signature: sig.Hex()})
	if err != nil {
		return nil, err
	}
	prev, err := LoadState(a.cfg.Home)
	if err != nil {
		return nil, err
	}
	st := State{Address: addr.Hex(), Tracker: a.cfg.Tracker, TrackerContract: a.cfg.Domain.Tracker.Hex(), ChainID: a.cfg.Domain.ChainID, RegisteredAt: time.Now().UTC()}
	if ra := resp.GetAgent().GetRegisteredAt(); ra != nil {
		st.RegisteredAt = ra.AsTime()
	}
	if resp.GetPasskey() != "" {
		st.Passkey, st.AnnounceURL = resp.GetPasskey(), resp.GetAnnounceUrl()
	} else if prev != nil && strings.EqualFold(prev.Address, st.Address) && prev.Tracker == st.Tracker {
		st.Passkey, st.AnnounceURL = prev.Passkey, prev.AnnounceURL
	}
	if err := saveState(a.cfg.Home, &st); err != nil {
		return nil, err
	}
	return &Registration{State: st, AlreadyRegistered: resp.GetAlreadyRegistered(),
		ChainRegistration: chainRegName(resp.GetAgent().GetChainRegistration()), StateFile: StateFile(a.cfg.Home)}, nil
}

func chainRegName(c pbtsv1.ChainRegistration) string {
	switch c {
	case pbtsv1.ChainRegistration_CHAIN_REGISTRATION_PENDING:
		return "pending"
	case pbtsv1.ChainRegistration_CHAIN_REGISTRATION_CONFIRMED:
		return "confirmed"
	}
	return ""
}
