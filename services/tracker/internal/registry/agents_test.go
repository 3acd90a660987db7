package registry_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/tracker/internal/registry"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

// wantCode fails unless err has the code and (when given) its message contains substr.
func wantCode(t *testing.T, err error, code codes.Code, substr string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("code = %v (%v), want %v", got, err, code)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, substr) {
		t.Fatalf("message %q does not contain %q", msg, substr)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	e := newEnv(t)
	ok := registry.Config{Domain: domain, AnnounceBase: announceBase}
	if _, err := registry.New(ok, e.store, e.rep, e.swarms); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, mutate := range map[string]func(*registry.Config){
		"zero chain":          func(c *registry.Config) { c.Domain.ChainID = 0 },
		"zero tracker":        func(c *registry.Config) { c.Domain.Tracker = common.Address{} },
		"no announce base":    func(c *registry.Config) { c.AnnounceBase = "" },
		"announce base query": func(c *registry.Config) { c.AnnounceBase = "http://h/?x=1" },
		"udp announce base":   func(c *registry.Config) { c.AnnounceBase = "udp://h:1" },
		"negative window":     func(c *registry.Config) { c.Window = -time.Second },
		"zero denominator":    func(c *registry.Config) { c.MinRatioNum, c.MinRatioDen = 1, 0 },
		"default above max":   func(c *registry.Config) { c.Limits.DefaultPageSize = 500 },
		"name above schema":   func(c *registry.Config) { c.Limits.MaxNameChars = 201 },
		"tags above schema":   func(c *registry.Config) { c.Limits.MaxTags = 17 },
	} {
		c := ok
		mutate(&c)
		if _, err := registry.New(c, e.store, e.rep, e.swarms); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := registry.New(ok, e.store, nil, e.swarms); err == nil {
		t.Errorf("nil reputation accepted")
	}
}

func TestRegisterAgent(t *testing.T) {
	e := newEnv(t)
	k := newKey(t)
	other := newKey(t)
	e.rep.set(k.addr, registry.Figures{SettledUpload: 2 * GiB})

	bad := func(mutate func(*pbtsv1.RegisterAgentRequest)) *pbtsv1.RegisterAgentRequest {
		req := e.registerReq(t, k, domain, e.ts())
		mutate(req)
		return req
	}
	sigBy := func(k agentKey, d receipt.Domain, ts uint64) string { return e.registerReq(t, k, d, ts).Signature }
	tests := []struct {
		name   string
		req    *pbtsv1.RegisterAgentRequest
		code   codes.Code
		substr string
	}{
		{"no address", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Address = "" }), codes.InvalidArgument, "address: required"},
		{"short address", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Address = r.Address[:41] }), codes.InvalidArgument, "address"},
		{"bad checksum", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Address = flipCase(r.Address) }), codes.InvalidArgument, "checksum"},
		{"zero address", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Address = common.Address{}.Hex() }), codes.InvalidArgument, "address: zero"},
		{"no timestamp", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Timestamp = 0 }), codes.InvalidArgument, "timestamp"},
		{"no signature", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Signature = "" }), codes.InvalidArgument, "signature: required"},
		{"signature not hex", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Signature = "0x" + strings.Repeat("zz", 65) }), codes.InvalidArgument, "signature"},
		{"short signature", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Signature = r.Signature[:130] }), codes.InvalidArgument, "signature"},
		{"signed by another key", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Signature = sigBy(other, domain, e.ts()) }), codes.Unauthenticated, "does not verify"},
		{"wrong chain id", bad(func(r *pbtsv1.RegisterAgentRequest) {
			r.Signature = sigBy(k, receipt.Domain{ChainID: 1, Tracker: domain.Tracker}, e.ts())
		}), codes.Unauthenticated, "does not verify"},
		{"wrong tracker", bad(func(r *pbtsv1.RegisterAgentRequest) {
			r.Signature = sigBy(k, receipt.Domain{ChainID: domain.ChainID, Tracker: common.Address{9}}, e.ts())
		}), codes.Unauthenticated, "does not verify"},
		{"timestamp changed after signing", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Timestamp++ }), codes.Unauthenticated, "does not verify"},
		{"expired", e.registerReq(t, k, domain, e.ts()-301), codes.Unauthenticated, "outside the accepted window"},
		{"future", e.registerReq(t, k, domain, e.ts()+301), codes.Unauthenticated, "outside the accepted window"},
		{"rotation signature", bad(func(r *pbtsv1.RegisterAgentRequest) { r.Signature = e.rotateReq(t, k, domain, e.ts()).Signature }), codes.Unauthenticated, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.agents.RegisterAgent(ctx, tt.req)
			wantCode(t, err, tt.code, tt.substr)
		})
	}
	if _, err := e.store.AgentByAddress(ctx, k.addr); err == nil {
		t.Fatal("a refused registration stored the agent")
	}

	// Within the window (edge) and with a lowercase address: accepted.
	req := e.registerReq(t, k, domain, e.ts()-300)
	req.Address = strings.ToLower(req.Address)
	resp, err := e.agents.RegisterAgent(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	pk := resp.GetPasskey()
	if !store.WellFormedPasskey(pk) || resp.GetAnnounceUrl() != announceBase+"/announce/"+pk || resp.GetAlreadyRegistered() {
		t.Errorf("response = %v", resp)
	}
	want := &pbtsv1.Agent{
		Address: k.addr.Hex(), ChainRegistration: pbtsv1.ChainRegistration_CHAIN_REGISTRATION_PENDING,
		SettledUploadBytes: 2 * GiB, RatioInfinite: true, CanLeech: true,
	}
	if diff := cmp.Diff(want, resp.GetAgent(), protocmp.Transform(), protocmp.IgnoreFields(&pbtsv1.Agent{}, "registered_at")); diff != "" {
		t.Errorf("agent (-want +got):\n%s", diff)
	}
	stored, err := e.store.AgentByAddress(ctx, k.addr)
	if err != nil || stored.PasskeyHash != store.HashPasskey(pk) || stored.RegTimestamp != e.ts()-300 {
		t.Errorf("stored %+v, %v", stored, err)
	}
	if a, err := e.store.AgentByPasskey(ctx, pk); err != nil || a != k.addr {
		t.Errorf("AgentByPasskey = %v, %v", a, err)
	}

	// Again: already registered, no passkey, nothing changes.
	again, err := e.agents.RegisterAgent(ctx, e.registerReq(t, k, domain, e.ts()))
	if err != nil || !again.GetAlreadyRegistered() || again.GetPasskey() != "" || again.GetAnnounceUrl() != "" || again.GetAgent().GetAddress() != k.addr.Hex() {
		t.Errorf("second registration = %v, %v", again, err)
	}
	if a, err := e.store.AgentByPasskey(ctx, pk); err != nil || a != k.addr {
		t.Errorf("first passkey stopped working: %v", err)
	}
}

func TestRegisterAgentSurvivesReputationOutage(t *testing.T) {
	e := newEnv(t)
	e.rep.fail(errors.New("rpc down"))
	k := newKey(t)
	resp, err := e.agents.RegisterAgent(ctx, e.registerReq(t, k, domain, e.ts()))
	if err != nil || resp.GetPasskey() == "" {
		t.Fatalf("RegisterAgent during an outage = %v, %v; the passkey must not be lost", resp, err)
	}
	if a := resp.GetAgent(); a.GetCanLeech() || !strings.Contains(a.GetLeechRefusal(), "unavailable") {
		t.Errorf("agent without figures = %v", a)
	}
}

func TestRotatePasskey(t *testing.T) {
	e := newEnv(t)
	k, oldPK := e.register(t)
	reg := e.ts()

	e.now = e.now.Add(10 * time.Second)
	first := e.rotateReq(t, k, domain, e.ts())
	resp, err := e.agents.RotatePasskey(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	newPK := resp.GetPasskey()
	if !store.WellFormedPasskey(newPK) || newPK == oldPK || resp.GetAnnounceUrl() != announceBase+"/announce/"+newPK {
		t.Fatalf("rotation = %v", resp)
	}
	if _, err := e.store.AgentByPasskey(ctx, oldPK); err == nil {
		t.Error("old passkey still works")
	}
	if a, err := e.store.AgentByPasskey(ctx, newPK); err != nil || a != k.addr {
		t.Errorf("new passkey: %v, %v", a, err)
	}

	other := newKey(t)
	tests := []struct {
		name   string
		req    *pbtsv1.RotatePasskeyRequest
		code   codes.Code
		substr string
	}{
		{"replay", first, codes.FailedPrecondition, "replayed or out of order"},
		{"older than the last rotation", e.rotateReq(t, k, domain, e.ts()-1), codes.FailedPrecondition, "not newer"},
		{"registration timestamp", e.rotateReq(t, k, domain, reg), codes.FailedPrecondition, "not newer"},
		{"registration signature", func() *pbtsv1.RotatePasskeyRequest {
			r := e.rotateReq(t, k, domain, e.ts()+1)
			r.Signature = e.registerReq(t, k, domain, e.ts()+1).Signature
			return r
		}(), codes.Unauthenticated, "does not verify"},
		{"wrong chain", e.rotateReq(t, k, receipt.Domain{ChainID: 5, Tracker: domain.Tracker}, e.ts()+1), codes.Unauthenticated, "does not verify"},
		{"expired", e.rotateReq(t, k, domain, e.ts()-400), codes.Unauthenticated, "outside"},
		{"unregistered", e.rotateReq(t, other, domain, e.ts()), codes.NotFound, "not registered"},
		{"malformed", &pbtsv1.RotatePasskeyRequest{Address: k.addr.Hex(), Timestamp: e.ts(), Signature: "0x12"}, codes.InvalidArgument, "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.agents.RotatePasskey(ctx, tt.req)
			wantCode(t, err, tt.code, tt.substr)
		})
	}
	if a, err := e.store.AgentByPasskey(ctx, newPK); err != nil || a != k.addr {
		t.Errorf("refused rotations changed the passkey: %v", err)
	}
	// A newer message in the same second as the last one is refused; one second later works.
	e.now = e.now.Add(time.Second)
	if _, err := e.agents.RotatePasskey(ctx, e.rotateReq(t, k, domain, e.ts())); err != nil {
		t.Errorf("newer rotation: %v", err)
	}
}

func TestGetAgent(t *testing.T) {
	e := newEnv(t)
	k, _ := e.register(t)
	tests := []struct {
		name string
		f    registry.Figures
		want *pbtsv1.Agent
	}{
		{"fresh", registry.Figures{}, &pbtsv1.Agent{RatioInfinite: true,
			LeechRefusal: "insufficient ratio: uploaded 0 B, downloaded 0 B + 1 B left; need uploaded/(downloaded+left) >= 0.50; seed to earn credit"}},
		{"credit", registry.Figures{SettledUpload: GiB, OnChain: true}, &pbtsv1.Agent{SettledUploadBytes: GiB, RatioInfinite: true, CanLeech: true}},
		{"mixed", registry.Figures{SettledUpload: 3 * GiB, PendingUpload: GiB, SettledDownload: GiB, PendingDownload: GiB},
			&pbtsv1.Agent{SettledUploadBytes: 3 * GiB, PendingUploadBytes: GiB, SettledDownloadBytes: GiB, PendingDownloadBytes: GiB, Ratio: 2, CanLeech: true}},
		{"at the limit", registry.Figures{SettledUpload: GiB, SettledDownload: 2 * GiB},
			&pbtsv1.Agent{SettledUploadBytes: GiB, SettledDownloadBytes: 2 * GiB, Ratio: 0.5,
				LeechRefusal: "insufficient ratio: uploaded 1.0 GiB, downloaded 2.0 GiB + 1 B left; need uploaded/(downloaded+left) >= 0.50; seed to earn credit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.rep.set(k.addr, tt.f)
			resp, err := e.agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: k.addr.Hex()})
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Address = k.addr.Hex()
			tt.want.ChainRegistration = pbtsv1.ChainRegistration_CHAIN_REGISTRATION_PENDING
			if diff := cmp.Diff(tt.want, resp.GetAgent(), protocmp.Transform(), protocmp.IgnoreFields(&pbtsv1.Agent{}, "registered_at")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	if err := e.store.MarkRegistered(ctx, k.addr, common.Hash{1}); err != nil {
		t.Fatal(err)
	}
	resp, err := e.agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: strings.ToLower(k.addr.Hex())})
	if err != nil || resp.GetAgent().GetChainRegistration() != pbtsv1.ChainRegistration_CHAIN_REGISTRATION_CONFIRMED {
		t.Errorf("after MarkRegistered: %v, %v", resp, err)
	}
	if got := resp.GetAgent().GetRegisteredAt().AsTime(); got.IsZero() || time.Since(got) > time.Hour {
		t.Errorf("registered_at = %v", got)
	}

	_, err = e.agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: newKey(t).addr.Hex()})
	wantCode(t, err, codes.NotFound, "not registered")
	_, err = e.agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: "bob"})
	wantCode(t, err, codes.InvalidArgument, "address")
	e.rep.fail(errors.New("rpc down"))
	_, err = e.agents.GetAgent(ctx, &pbtsv1.GetAgentRequest{Address: k.addr.Hex()})
	wantCode(t, err, codes.Unavailable, "reputation")
}

func TestListAgents(t *testing.T) {
	e := newEnv(t)
	var keys []agentKey
	for i := range 5 {
		e.now = baseTime.Add(time.Duration(i) * time.Second)
		k, _ := e.register(t)
		keys = append(keys, k)
		e.rep.set(k.addr, registry.Figures{SettledUpload: uint64(i) * GiB})
	}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		resp, err := e.agents.ListAgents(ctx, &pbtsv1.ListAgentsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetAgents()) > 2 || pages > 5 {
			t.Fatalf("page of %d", len(resp.GetAgents()))
		}
		for _, a := range resp.GetAgents() {
			got = append(got, a.GetAddress())
			if want := e.rep.figs[common.HexToAddress(a.GetAddress())].SettledUpload; a.GetSettledUploadBytes() != want {
				t.Errorf("%s: settled upload %d, want %d", a.GetAddress(), a.GetSettledUploadBytes(), want)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	var want []string
	for i := len(keys) - 1; i >= 0; i-- {
		want = append(want, keys[i].addr.Hex())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("agents, newest first (-want +got):\n%s", diff)
	}
	// Default and clamped page sizes.
	for _, size := range []int32{0, 1000} {
		resp, err := e.agents.ListAgents(ctx, &pbtsv1.ListAgentsRequest{PageSize: size})
		if err != nil || len(resp.GetAgents()) != 5 || resp.GetNextPageToken() != "" {
			t.Errorf("page size %d: %d agents, %v", size, len(resp.GetAgents()), err)
		}
	}
	_, err := e.agents.ListAgents(ctx, &pbtsv1.ListAgentsRequest{PageSize: -1})
	wantCode(t, err, codes.InvalidArgument, "page_size")
	_, err = e.agents.ListAgents(ctx, &pbtsv1.ListAgentsRequest{PageToken: "bogus"})
	wantCode(t, err, codes.InvalidArgument, "page_token")
	_, err = e.agents.ListAgents(ctx, &pbtsv1.ListAgentsRequest{PageToken: strings.Repeat("A", 300)})
	wantCode(t, err, codes.InvalidArgument, "page_token")
	e.rep.fail(errors.New("rpc down"))
	_, err = e.agents.ListAgents(ctx, &pbtsv1.ListAgentsRequest{})
	wantCode(t, err, codes.Unavailable, "reputation")
}

// flipCase flips the case of the first hex letter of a checksummed address,
// which breaks its EIP-55 checksum (the address keeps letters of both cases).
func flipCase(a string) string {
	b := []byte(a)
	for i := 2; i < len(b); i++ {
		switch c := b[i]; {
		case 'a' <= c && c <= 'f':
			b[i] = c - 'a' + 'A'
			return string(b)
		case 'A' <= c && c <= 'F':
			b[i] = c - 'A' + 'a'
			return string(b)
		}
	}
	return a
}

func TestGetTrackerInfo(t *testing.T) {
	e := newEnv(t, func(c *registry.Config) {
		c.Policy, c.Bootstrap = registry.PolicyInvite, nil
		c.MinRatioNum, c.MinRatioDen = 3, 4
	})
	empty, err := e.agents.GetTrackerInfo(ctx, &pbtsv1.GetTrackerInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &pbtsv1.GetTrackerInfoResponse{MinRatioNum: 3, MinRatioDen: 4, MinRatio: 0.75, RegistrationPolicy: "invite",
		InviteMinRatio: 1, InviteMinUploadBytes: GiB, InvitesPerAgent: 5, AnnounceBase: announceBase}
	if diff := cmp.Diff(want, empty, protocmp.Transform()); diff != "" {
		t.Errorf("empty tracker (-want +got):\n%s", diff)
	}

	open := newEnv(t)
	k, _ := open.register(t)
	open.register(t)
	b := buildTorrent(t, "clip", 3<<20, 7)
	if _, err := open.datasets.PublishDataset(ctx, publishReq(t, k, domain, b.whole, b.infoHash, b.pieces(), speech, open.ts())); err != nil {
		t.Fatal(err)
	}
	open.swarms.counts[b.infoHash] = [3]uint32{2, 3, 1}
	open.swarms.counts[[20]byte{9}] = [3]uint32{0, 0, 4} // no peers now: not an active swarm
	got, err := open.agents.GetTrackerInfo(ctx, &pbtsv1.GetTrackerInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAgents() != 2 || got.GetDatasets() != 1 || got.GetDatasetBytes() != 3<<20 ||
		got.GetActiveSwarms() != 1 || got.GetSeeders() != 2 || got.GetLeechers() != 3 ||
		got.GetMinRatio() != 0.5 || got.GetRegistrationPolicy() != "open" {
		t.Errorf("tracker info = %v", got)
	}
}
