package agent

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
)

// Invitation is one agent's invitation of another (needed where the
// tracker registers invited agents only).
type Invitation struct {
	Inviter   string
	Invitee   string
	CreatedAt time.Time
	UsedAt    time.Time // zero until the invitee has registered
}

func invitationOf(p *pbtsv1.Invitation) Invitation {
	i := Invitation{Inviter: p.GetInviter(), Invitee: p.GetInvitee(), CreatedAt: p.GetCreatedAt().AsTime().UTC()}
	if p.GetUsedAt() != nil {
		i.UsedAt = p.GetUsedAt().AsTime().UTC()
	}
	return i
}

// Invite signs this agent's invitation of invitee and hands it to the
// tracker; it returns the invitation and how many this agent has left.
func (a *Agent) Invite(ctx context.Context, invitee common.Address) (*Invitation, uint32, error) {
	key, err := a.signer("Invite")
	if err != nil {
		return nil, 0, err
	}
	ts := uint64(time.Now().Unix())
	sig, err := receipt.SignInvitation(a.cfg.Domain, invitee, ts, key)
	if err != nil {
		return nil, 0, err
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	resp, err := a.agents.CreateInvitation(cctx, &pbtsv1.CreateInvitationRequest{
		Inviter: a.Address().Hex(), Invitee: invitee.Hex(), Timestamp: ts, Signature: sig.Hex(),
	})
	if err != nil {
		return nil, 0, err
	}
	inv := invitationOf(resp.GetInvitation())
	return &inv, resp.GetInvitationsLeft(), nil
}

// Invitations lists the invitations made by inviter, an agent address
// (0x + 40 hex, checked by the tracker); "" for this agent's.
func (a *Agent) Invitations(ctx context.Context, inviter string) ([]Invitation, error) {
	if inviter == "" {
		inviter = a.Address().Hex()
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	resp, err := a.agents.ListInvitations(cctx, &pbtsv1.ListInvitationsRequest{Inviter: inviter})
	if err != nil {
		return nil, err
	}
	out := []Invitation{}
	for _, p := range resp.GetInvitations() {
		out = append(out, invitationOf(p))
	}
	return out, nil
}
