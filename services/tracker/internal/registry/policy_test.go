package registry_test

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/tracker/internal/registry"
)

// Cheap identities (issue 13, attack 2), open policy: new agents are
// bounded per client, and a client is an IPv4 address or a whole IPv6 /64,
// not each of its 2^64 addresses.
func TestNewAgentsLimitedPerClient(t *testing.T) {
	e := newEnv(t, func(c *registry.Config) { c.RegisterBurst = 2 })
	reg := func(ip string) (agentKey, error) {
		k := newKey(t)
		_, err := e.agents.RegisterAgent(from(ip), e.registerReq(t, k, domain, e.ts()))
		return k, err
	}
	first, err := reg("2001:db8:1:2::1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg("2001:db8:1:2::2"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg("2001:db8:1:2:ffff:ffff:ffff:ffff"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third agent from the same /64: %v, want ResourceExhausted", err)
	}
	if _, err := reg("2001:db8:1:3::1"); err != nil {
		t.Fatalf("the next /64: %v", err)
	}
	for _, ip := range []string{"192.0.2.1", "192.0.2.1"} {
		if _, err := reg(ip); err != nil {
			t.Fatalf("IPv4 %s: %v", ip, err)
		}
	}
	if _, err := reg("192.0.2.1"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third agent from one IPv4 address: %v", err)
	}
	// Registering an existing agent again costs nothing and is not refused.
	resp, err := e.agents.RegisterAgent(from("2001:db8:1:2::3"), e.registerReq(t, first, domain, e.ts()))
	if err != nil || !resp.GetAlreadyRegistered() {
		t.Fatalf("an existing agent from the exhausted /64: %v, %v", resp, err)
	}
}

func (e *env) inviteReq(t *testing.T, inviter agentKey, invitee common.Address) *pbtsv1.CreateInvitationRequest {
	t.Helper()
	sig, err := receipt.SignInvitation(domain, invitee, e.ts(), inviter.key)
	if err != nil {
		t.Fatal(err)
	}
	return &pbtsv1.CreateInvitationRequest{Inviter: inviter.addr.Hex(), Invitee: invitee.Hex(), Timestamp: e.ts(), Signature: sig.Hex()}
}

// The invite policy: only invited addresses (and the operator's bootstrap
// agents) register; an inviter must be in good standing and has a limited
// number of invitations; who invited whom is recorded.
func TestInvitePolicy(t *testing.T) {
	boot := newKey(t)
	e := newEnv(t, func(c *registry.Config) {
		c.Policy, c.Bootstrap, c.InvitesPerAgent = registry.PolicyInvite, []common.Address{boot.addr}, 2
	})
	stranger := newKey(t)
	if _, err := e.agents.RegisterAgent(ctx, e.registerReq(t, stranger, domain, e.ts())); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("uninvited registration: %v, want PermissionDenied", err)
	}
	if _, err := e.agents.RegisterAgent(ctx, e.registerReq(t, boot, domain, e.ts())); err != nil {
		t.Fatalf("bootstrap agent: %v", err)
	}
	alice, bob, carol := newKey(t), newKey(t), newKey(t)

	// A fresh agent, however clean its ratio, is not in good standing: it
	// has uploaded nothing to others.
	e.rep.set(boot.addr, registry.Figures{SettledUpload: 1 << 30})
	if _, err := e.agents.CreateInvitation(ctx, e.inviteReq(t, boot, alice.addr)); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("invitation by an agent that uploaded nothing: %v", err)
	}
	// Nor is one that downloads more than it uploads.
	e.rep.set(boot.addr, registry.Figures{SettledUpload: 3 << 30, SettledDownload: 4 << 30, Earned: 2 << 30})
	if _, err := e.agents.CreateInvitation(ctx, e.inviteReq(t, boot, alice.addr)); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("invitation by an agent below ratio 1: %v", err)
	}
	e.rep.set(boot.addr, registry.Figures{SettledUpload: 3 << 30, SettledDownload: 1 << 30, Earned: 2 << 30})
	resp, err := e.agents.CreateInvitation(ctx, e.inviteReq(t, boot, alice.addr))
	if err != nil || resp.InvitationsLeft != 1 || resp.Invitation.Invitee != alice.addr.Hex() {
		t.Fatalf("invitation: %v, %v", resp, err)
	}
	if _, err := e.agents.CreateInvitation(ctx, e.inviteReq(t, boot, alice.addr)); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("second invitation of alice: %v", err)
	}
	// An invitation binds its invitee: bob cannot spend alice's, a signature
	// for alice does not invite bob, and nobody invites on boot's behalf.
	if _, err := e.agents.RegisterAgent(ctx, e.registerReq(t, bob, domain, e.ts())); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("bob without an invitation: %v", err)
	}
	forged := e.inviteReq(t, boot, alice.addr)
	forged.Invitee = bob.addr.Hex()
	if _, err := e.agents.CreateInvitation(ctx, forged); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("alice's signature reused for bob: %v", err)
	}
	byCarol := e.inviteReq(t, carol, bob.addr)
	byCarol.Inviter = boot.addr.Hex()
	if _, err := e.agents.CreateInvitation(ctx, byCarol); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("an invitation signed by carol in boot's name: %v", err)
	}
	reg, err := e.agents.RegisterAgent(ctx, e.registerReq(t, alice, domain, e.ts()))
	if err != nil || reg.GetPasskey() == "" || reg.Agent.InvitedBy != boot.addr.Hex() {
		t.Fatalf("invited registration: %v, %v", reg, err)
	}
	got, err := e.agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: alice.addr.Hex()})
	if err != nil || got.Agent.InvitedBy != boot.addr.Hex() {
		t.Fatalf("GetAgent: %v, %v; want invited by boot", got, err)
	}
	list, err := e.agents.ListInvitations(ctx, &pbtsv1.ListInvitationsRequest{Inviter: boot.addr.Hex()})
	if err != nil || len(list.Invitations) != 1 || list.Invitations[0].UsedAt == nil {
		t.Fatalf("ListInvitations: %v, %v; want alice's, used", list, err)
	}
	if _, err := e.agents.CreateInvitation(ctx, e.inviteReq(t, boot, alice.addr)); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("inviting a registered agent: %v", err)
	}
	// The limit: two in all.
	if _, err := e.agents.CreateInvitation(ctx, e.inviteReq(t, boot, bob.addr)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.agents.CreateInvitation(ctx, e.inviteReq(t, boot, carol.addr)); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third invitation with a limit of 2: %v", err)
	}
	if _, err := e.agents.RegisterAgent(ctx, e.registerReq(t, bob, domain, e.ts())); err != nil {
		t.Fatalf("bob, invited: %v", err)
	}
}

// Under the open policy an invitation is optional, and recorded when used.
func TestOpenPolicyRecordsInvitations(t *testing.T) {
	e := newEnv(t)
	inviter, _ := e.register(t)
	e.rep.set(inviter.addr, registry.Figures{SettledUpload: 4 << 30, Earned: 3 << 30})
	guest := newKey(t)
	if _, err := e.agents.CreateInvitation(ctx, e.inviteReq(t, inviter, guest.addr)); err != nil {
		t.Fatal(err)
	}
	reg, err := e.agents.RegisterAgent(ctx, e.registerReq(t, guest, domain, e.ts()))
	if err != nil || reg.Agent.InvitedBy != inviter.addr.Hex() {
		t.Fatalf("registration: %v, %v", reg, err)
	}
	other, _ := e.register(t) // no invitation needed
	got, err := e.agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: other.addr.Hex()})
	if err != nil || got.Agent.InvitedBy != "" {
		t.Fatalf("uninvited agent: %v, %v", got, err)
	}
}
