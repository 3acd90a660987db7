package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pbts/pbts/database"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/tracker/internal/gate"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

type agentServer struct {
	pbtsv1.UnimplementedAgentServiceServer
	r *Registry
}

// signedRequest parses the fields every signed agent request carries.
func signedRequest(address string, ts uint64, signature string) (common.Address, receipt.Signature, error) {
	addr, err := parseAddress("address", address)
	if err != nil {
		return common.Address{}, receipt.Signature{}, err
	}
	if ts == 0 {
		return common.Address{}, receipt.Signature{}, invalid("timestamp", "required (unix seconds of the signed message)")
	}
	sig, err := parseSignature("signature", signature)
	return addr, sig, err
}

// unauthenticated explains a failed verification of a signed message.
func unauthenticated(what string, err error, ts uint64) error {
	switch {
	case errors.Is(err, receipt.ErrExpired), errors.Is(err, receipt.ErrFutureTimestamp):
		return clientErr(codes.Unauthenticated, "%s timestamp %d is outside the accepted window around the tracker's clock; sign a fresh message", what, ts)
	case errors.Is(err, receipt.ErrBadSignature):
		return clientErr(codes.Unauthenticated, "signature does not verify: it must be the address's personal_sign of the %s message for this chain and tracker", what)
	}
	return err
}

func (s *agentServer) RegisterAgent(ctx context.Context, req *pbtsv1.RegisterAgentRequest) (*pbtsv1.RegisterAgentResponse, error) {
	resp, err := s.registerAgent(ctx, req)
	return reply(ctx, s.r, "RegisterAgent", resp, err)
}

func (s *agentServer) registerAgent(ctx context.Context, req *pbtsv1.RegisterAgentRequest) (*pbtsv1.RegisterAgentResponse, error) {
	r := s.r
	if err := r.limitSigned(ctx); err != nil {
		return nil, err
	}
	addr, sig, err := signedRequest(req.GetAddress(), req.GetTimestamp(), req.GetSignature())
	if err != nil {
		return nil, err
	}
	if err := receipt.VerifyRegistration(r.cfg.Domain, addr, req.GetTimestamp(), sig[:], r.cfg.Now(), r.cfg.Window); err != nil {
		return nil, unauthenticated("registration", err, req.GetTimestamp())
	}
	// A new identity: bounded per client, and under the invite policy only
	// with an invitation.
	if _, err := r.store.AgentByAddress(ctx, addr); errors.Is(err, database.ErrNotFound) {
		if !r.regLimit.Allow(server.PeerIP(ctx), r.cfg.Now()) {
			return nil, clientErr(codes.ResourceExhausted, "too many new agents registered from this network; retry later")
		}
	} else if err != nil {
		return nil, err
	}
	passkey, hash := store.NewPasskey()
	a, created, err := r.store.CreateAgent(ctx, store.NewAgent{Address: addr, PasskeyHash: hash, Timestamp: req.GetTimestamp(), Signature: sig,
		RequireInvitation: r.cfg.Policy == PolicyInvite && !r.bootstrap[addr]})
	if errors.Is(err, store.ErrNotInvited) {
		return nil, clientErr(codes.PermissionDenied,
			"this tracker registers invited agents only: ask a registered agent in good standing to invite %s (pbts invite %s)", addr.Hex(), addr.Hex())
	}
	if err != nil {
		return nil, err
	}
	if created {
		if err := r.rep.ExpectBase(ctx, addr); err != nil {
			// Its figures are read from the chain until the chainwriter
			// records what its registration granted.
			r.log.WarnContext(ctx, "register agent: expected base not recorded", "agent", addr.Hex(), "err", err)
		}
	}
	// The passkey is shown once: a reputation outage must not lose it, so
	// the agent comes back without figures then.
	var fp *Figures
	if f, err := r.figures(ctx, addr); err == nil {
		fp = &f
	} else {
		r.log.WarnContext(ctx, "register agent: reputation unavailable", "agent", addr.Hex(), "err", err)
	}
	resp := &pbtsv1.RegisterAgentResponse{Agent: r.agentProto(a, fp)}
	if !created {
		resp.AlreadyRegistered = true
		return resp, nil
	}
	r.log.InfoContext(ctx, "agent registered", "agent", addr.Hex())
	resp.Passkey, resp.AnnounceUrl = passkey, r.announceURL(passkey)
	return resp, nil
}

func (s *agentServer) RotatePasskey(ctx context.Context, req *pbtsv1.RotatePasskeyRequest) (*pbtsv1.RotatePasskeyResponse, error) {
	resp, err := s.rotatePasskey(ctx, req)
	return reply(ctx, s.r, "RotatePasskey", resp, err)
}

func (s *agentServer) rotatePasskey(ctx context.Context, req *pbtsv1.RotatePasskeyRequest) (*pbtsv1.RotatePasskeyResponse, error) {
	r := s.r
	if err := r.limitSigned(ctx); err != nil {
		return nil, err
	}
	addr, sig, err := signedRequest(req.GetAddress(), req.GetTimestamp(), req.GetSignature())
	if err != nil {
		return nil, err
	}
	if err := receipt.VerifyRotation(r.cfg.Domain, addr, req.GetTimestamp(), sig[:], r.cfg.Now(), r.cfg.Window); err != nil {
		return nil, unauthenticated("passkey rotation", err, req.GetTimestamp())
	}
	passkey, hash := store.NewPasskey()
	switch err := r.store.RotatePasskey(ctx, addr, hash, req.GetTimestamp()); {
	case errors.Is(err, database.ErrNotFound):
		return nil, clientErr(codes.NotFound, "agent %s is not registered", addr.Hex())
	case errors.Is(err, store.ErrStaleTimestamp):
		return nil, clientErr(codes.FailedPrecondition,
			"rotation message replayed or out of order: timestamp %d is not newer than the last one this agent used; sign a new rotation message", req.GetTimestamp())
	case err != nil:
		return nil, err
	}
	r.log.InfoContext(ctx, "passkey rotated", "agent", addr.Hex())
	return &pbtsv1.RotatePasskeyResponse{Passkey: passkey, AnnounceUrl: r.announceURL(passkey)}, nil
}

func (s *agentServer) GetAgent(ctx context.Context, req *pbtsv1.GetAgentRequest) (*pbtsv1.GetAgentResponse, error) {
	resp, err := s.getAgent(ctx, req)
	return reply(ctx, s.r, "GetAgent", resp, err)
}

func (s *agentServer) getAgent(ctx context.Context, req *pbtsv1.GetAgentRequest) (*pbtsv1.GetAgentResponse, error) {
	r := s.r
	addr, err := parseAddress("address", req.GetAddress())
	if err != nil {
		return nil, err
	}
	a, err := r.store.AgentByAddress(ctx, addr)
	if errors.Is(err, database.ErrNotFound) {
		return nil, clientErr(codes.NotFound, "agent %s is not registered", addr.Hex())
	}
	if err != nil {
		return nil, err
	}
	f, err := r.figures(ctx, addr)
	if err != nil {
		return nil, err
	}
	return &pbtsv1.GetAgentResponse{Agent: r.agentProto(a, &f)}, nil
}

// reputationConcurrency bounds the Reputation calls of one ListAgents page.
const reputationConcurrency = 8

func (s *agentServer) ListAgents(ctx context.Context, req *pbtsv1.ListAgentsRequest) (*pbtsv1.ListAgentsResponse, error) {
	resp, err := s.listAgents(ctx, req)
	return reply(ctx, s.r, "ListAgents", resp, err)
}

func (s *agentServer) listAgents(ctx context.Context, req *pbtsv1.ListAgentsRequest) (*pbtsv1.ListAgentsResponse, error) {
	r := s.r
	size, err := r.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	if len(req.GetPageToken()) > 256 {
		return nil, store.ErrBadPageToken
	}
	agents, next, err := r.store.ListAgents(ctx, req.GetPageToken(), size)
	if err != nil {
		return nil, err
	}
	figs := make([]Figures, len(agents))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(reputationConcurrency)
	for i, a := range agents {
		g.Go(func() error {
			f, err := r.figures(gctx, a.Address)
			figs[i] = f
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	resp := &pbtsv1.ListAgentsResponse{NextPageToken: next, Agents: make([]*pbtsv1.Agent, len(agents))}
	for i, a := range agents {
		resp.Agents[i] = r.agentProto(a, &figs[i])
	}
	return resp, nil
}

// limitSigned applies the per-client-address rate of registrations and
// passkey rotations (each costs a signature recovery and a database write).
func (s *agentServer) CreateInvitation(ctx context.Context, req *pbtsv1.CreateInvitationRequest) (*pbtsv1.CreateInvitationResponse, error) {
	resp, err := s.createInvitation(ctx, req)
	return reply(ctx, s.r, "CreateInvitation", resp, err)
}

func (s *agentServer) createInvitation(ctx context.Context, req *pbtsv1.CreateInvitationRequest) (*pbtsv1.CreateInvitationResponse, error) {
	r := s.r
	if err := r.limitSigned(ctx); err != nil {
		return nil, err
	}
	inviter, sig, err := signedRequest(req.GetInviter(), req.GetTimestamp(), req.GetSignature())
	if err != nil {
		return nil, err
	}
	invitee, err := parseAddress("invitee", req.GetInvitee())
	if err != nil {
		return nil, err
	}
	if invitee == inviter {
		return nil, invalid("invitee", "an agent cannot invite itself")
	}
	if err := receipt.VerifyInvitation(r.cfg.Domain, inviter, invitee, req.GetTimestamp(), sig[:], r.cfg.Now(), r.cfg.Window); err != nil {
		return nil, unauthenticated("invitation", err, req.GetTimestamp())
	}
	// Good standing: a registered agent whose ratio is at least the minimum.
	if _, err := r.store.AgentByAddress(ctx, inviter); errors.Is(err, database.ErrNotFound) {
		return nil, clientErr(codes.FailedPrecondition, "inviter %s is not a registered agent", inviter.Hex())
	} else if err != nil {
		return nil, err
	}
	f, err := r.figures(ctx, inviter)
	if err != nil {
		return nil, err
	}
	if !inviteStanding(f, r.cfg.InviteMinRatioNum, r.cfg.InviteMinRatioDen) || f.Earned < r.cfg.InviteMinUpload {
		return nil, clientErr(codes.FailedPrecondition,
			"inviter %s is not in good standing: inviting needs a ratio of at least %d/%d and %s uploaded to others here; it has uploaded %s (%s of it to others) against %s downloaded; seed first",
			inviter.Hex(), r.cfg.InviteMinRatioNum, r.cfg.InviteMinRatioDen, gate.FormatBytes(r.cfg.InviteMinUpload),
			gate.FormatBytes(f.Upload()), gate.FormatBytes(f.Earned), gate.FormatBytes(f.Download()))
	}
	inv, made, err := r.store.CreateInvitation(ctx, store.NewInvitation{Inviter: inviter, Invitee: invitee, Timestamp: req.GetTimestamp(), Signature: sig},
		r.cfg.InvitesPerAgent)
	switch {
	case errors.Is(err, store.ErrInvitationLimit):
		return nil, clientErr(codes.ResourceExhausted, "inviter %s has made all %d invitations an agent may make", inviter.Hex(), r.cfg.InvitesPerAgent)
	case errors.Is(err, store.ErrAlreadyInvited):
		return nil, clientErr(codes.AlreadyExists, "%s holds an invitation already", invitee.Hex())
	case errors.Is(err, store.ErrExists):
		return nil, clientErr(codes.AlreadyExists, "%s is registered already", invitee.Hex())
	case err != nil:
		return nil, err
	}
	r.log.InfoContext(ctx, "invitation recorded", "inviter", inviter.Hex(), "invitee", invitee.Hex())
	return &pbtsv1.CreateInvitationResponse{Invitation: invitationProto(inv), InvitationsLeft: uint32(max(0, r.cfg.InvitesPerAgent-made))}, nil
}

func (s *agentServer) ListInvitations(ctx context.Context, req *pbtsv1.ListInvitationsRequest) (*pbtsv1.ListInvitationsResponse, error) {
	resp, err := s.listInvitations(ctx, req)
	return reply(ctx, s.r, "ListInvitations", resp, err)
}

func (s *agentServer) listInvitations(ctx context.Context, req *pbtsv1.ListInvitationsRequest) (*pbtsv1.ListInvitationsResponse, error) {
	inviter, err := parseAddress("inviter", req.GetInviter())
	if err != nil {
		return nil, err
	}
	invs, err := s.r.store.Invitations(ctx, inviter)
	if err != nil {
		return nil, err
	}
	resp := &pbtsv1.ListInvitationsResponse{}
	for _, inv := range invs {
		resp.Invitations = append(resp.Invitations, invitationProto(inv))
	}
	return resp, nil
}

func invitationProto(inv store.Invitation) *pbtsv1.Invitation {
	p := &pbtsv1.Invitation{Inviter: inv.Inviter.Hex(), Invitee: inv.Invitee.Hex(), CreatedAt: timestamppb.New(inv.CreatedAt)}
	if !inv.UsedAt.IsZero() {
		p.UsedAt = timestamppb.New(inv.UsedAt)
	}
	return p
}

// inviteStanding reports upload / download >= num/den (nothing downloaded
// counts as infinite).
func inviteStanding(f Figures, num, den uint64) bool {
	return gate.Ratio{Num: num, Den: den}.Allows(f.Upload(), f.Download(), 0)
}

func (r *Registry) limitSigned(ctx context.Context) error {
	if !r.signedLimit.Allow(server.PeerIP(ctx), r.cfg.Now()) {
		return clientErr(codes.ResourceExhausted, "too many registrations or passkey rotations from this address; retry in a minute")
	}
	return nil
}

func (s *agentServer) GetTrackerInfo(ctx context.Context, req *pbtsv1.GetTrackerInfoRequest) (*pbtsv1.GetTrackerInfoResponse, error) {
	resp, err := s.getTrackerInfo(ctx)
	return reply(ctx, s.r, "GetTrackerInfo", resp, err)
}

func (s *agentServer) getTrackerInfo(ctx context.Context) (*pbtsv1.GetTrackerInfoResponse, error) {
	r := s.r
	t, err := r.store.Totals(ctx)
	if err != nil {
		return nil, err
	}
	swarms, seeders, leechers, err := r.swarms.Totals(ctx)
	if err != nil {
		return nil, err
	}
	c := r.cfg
	return &pbtsv1.GetTrackerInfoResponse{
		Agents: t.Agents, Datasets: t.Datasets, DatasetBytes: t.DatasetBytes,
		ActiveSwarms: swarms, Seeders: seeders, Leechers: leechers,
		MinRatioNum: c.MinRatioNum, MinRatioDen: c.MinRatioDen, MinRatio: float64(c.MinRatioNum) / float64(c.MinRatioDen),
		RegistrationPolicy:   string(c.Policy),
		InviteMinRatio:       float64(c.InviteMinRatioNum) / float64(c.InviteMinRatioDen),
		InviteMinUploadBytes: c.InviteMinUpload, InvitesPerAgent: uint32(c.InvitesPerAgent),
		AnnounceBase: c.AnnounceBase,
	}, nil
}
