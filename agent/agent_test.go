package agent_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pbts/pbts/agent"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/testkit"
)

var testDomain = receipt.Domain{ChainID: 31337, Tracker: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}

// fakeTracker checks signatures as the tracker does and answers from memory.
type fakeTracker struct {
	pbtsv1.UnimplementedAgentServiceServer
	pbtsv1.UnimplementedDatasetServiceServer

	mu          sync.Mutex
	registered  map[common.Address]time.Time
	invitations []*pbtsv1.Invitation
	datasets    []*pbtsv1.Dataset
	pages       int // SearchDatasets calls
}

func (f *fakeTracker) RegisterAgent(_ context.Context, req *pbtsv1.RegisterAgentRequest) (*pbtsv1.RegisterAgentResponse, error) {
	addr, err := receipt.ParseAddress(req.GetAddress())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	sig, err := receipt.ParseSignature(req.GetSignature())
	if err != nil || receipt.VerifyRegistration(testDomain, addr, req.GetTimestamp(), sig[:], time.Now(), time.Minute) != nil {
		return nil, status.Error(codes.Unauthenticated, "bad registration signature")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if at, ok := f.registered[addr]; ok {
		return &pbtsv1.RegisterAgentResponse{AlreadyRegistered: true, Agent: &pbtsv1.Agent{Address: addr.Hex(), RegisteredAt: timestamppb.New(at)}}, nil
	}
	at := time.Unix(1700000000, 0)
	f.registered[addr] = at
	pk := fmt.Sprintf("%032x", addr[:16])
	return &pbtsv1.RegisterAgentResponse{Passkey: pk, AnnounceUrl: "http://tracker/announce/" + pk,
		Agent: &pbtsv1.Agent{Address: addr.Hex(), RegisteredAt: timestamppb.New(at), ChainRegistration: pbtsv1.ChainRegistration_CHAIN_REGISTRATION_PENDING}}, nil
}

func (f *fakeTracker) GetAgent(_ context.Context, req *pbtsv1.GetAgentRequest) (*pbtsv1.GetAgentResponse, error) {
	addr, _ := receipt.ParseAddress(req.GetAddress())
	f.mu.Lock()
	at, ok := f.registered[addr]
	f.mu.Unlock()
	if !ok {
		return nil, status.Error(codes.NotFound, "unknown agent")
	}
	return &pbtsv1.GetAgentResponse{Agent: &pbtsv1.Agent{Address: addr.Hex(), RegisteredAt: timestamppb.New(at),
		SettledUploadBytes: 8 << 20, PendingDownloadBytes: 3, RatioInfinite: true, CanLeech: false, LeechRefusal: "ratio 0.1 below 0.5",
		PublishedCount: 2, ChainRegistration: pbtsv1.ChainRegistration_CHAIN_REGISTRATION_CONFIRMED}}, nil
}

func (f *fakeTracker) CreateInvitation(_ context.Context, req *pbtsv1.CreateInvitationRequest) (*pbtsv1.CreateInvitationResponse, error) {
	inviter, _ := receipt.ParseAddress(req.GetInviter())
	invitee, _ := receipt.ParseAddress(req.GetInvitee())
	sig, err := receipt.ParseSignature(req.GetSignature())
	if err != nil || receipt.VerifyInvitation(testDomain, inviter, invitee, req.GetTimestamp(), sig[:], time.Now(), time.Minute) != nil {
		return nil, status.Error(codes.Unauthenticated, "bad invitation signature")
	}
	inv := &pbtsv1.Invitation{Inviter: inviter.Hex(), Invitee: invitee.Hex(), CreatedAt: timestamppb.New(time.Unix(1700000100, 0))}
	f.mu.Lock()
	f.invitations = append(f.invitations, inv)
	f.mu.Unlock()
	return &pbtsv1.CreateInvitationResponse{Invitation: inv, InvitationsLeft: 4}, nil
}

func (f *fakeTracker) ListInvitations(_ context.Context, req *pbtsv1.ListInvitationsRequest) (*pbtsv1.ListInvitationsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &pbtsv1.ListInvitationsResponse{}
	for _, i := range f.invitations {
		if i.GetInviter() == req.GetInviter() {
			resp.Invitations = append(resp.Invitations, i)
		}
	}
	return resp, nil
}

// SearchDatasets pages through every dataset, ignoring the query.
func (f *fakeTracker) SearchDatasets(_ context.Context, req *pbtsv1.SearchDatasetsRequest) (*pbtsv1.SearchDatasetsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pages++
	from := 0
	fmt.Sscan(req.GetPageToken(), &from)
	to := min(from+int(req.GetPageSize()), len(f.datasets))
	resp := &pbtsv1.SearchDatasetsResponse{Datasets: f.datasets[from:to]}
	if to < len(f.datasets) {
		resp.NextPageToken = fmt.Sprint(to)
	}
	return resp, nil
}

func startTracker(t *testing.T) (*fakeTracker, string) {
	t.Helper()
	f := &fakeTracker{registered: map[common.Address]time.Time{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pbtsv1.RegisterAgentServiceServer(srv, f)
	pbtsv1.RegisterDatasetServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f, lis.Addr().String()
}

func open(t *testing.T, cfg agent.Config) *agent.Agent {
	t.Helper()
	a, err := agent.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestRegisterSavesThePasskeyAndKeepsIt(t *testing.T) {
	_, addr := startTracker(t)
	key, _ := crypto.GenerateKey()
	home := filepath.Join(t.TempDir(), "home")
	a := open(t, agent.Config{Home: home, Key: key, Tracker: addr, Domain: testDomain})
	ctx := context.Background()
	reg, err := a.Register(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reg.AlreadyRegistered || reg.Passkey == "" || reg.AnnounceURL == "" || reg.ChainRegistration != "pending" ||
		reg.Address != a.Address().Hex() || reg.Tracker != addr || reg.StateFile != agent.StateFile(home) || !reg.RegisteredAt.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("first registration: %+v", reg)
	}
	if fi, err := os.Stat(reg.StateFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file %v %v", fi, err)
	}
	// The tracker issues the passkey once; the second answer has none, and
	// the one saved is kept.
	again, err := a.Register(ctx)
	if err != nil || !again.AlreadyRegistered || again.Passkey != reg.Passkey || again.AnnounceURL != reg.AnnounceURL {
		t.Fatalf("second registration: %+v %v", again, err)
	}
	st, err := agent.LoadState(home)
	if err != nil || st.Passkey != reg.Passkey || st.TrackerContract != testDomain.Tracker.Hex() || st.ChainID != testDomain.ChainID {
		t.Fatalf("state: %+v %v", st, err)
	}
	// Another tracker's agent does not inherit it.
	other := open(t, agent.Config{Home: home, Key: key, Tracker: "dns:///" + addr, Domain: testDomain})
	if reg, err := other.Register(ctx); err != nil || reg.Passkey != "" {
		t.Fatalf("registration at another tracker address kept the passkey: %+v %v", reg, err)
	}
}

func TestStatusOfRegisteredAndUnknownAgents(t *testing.T) {
	_, addr := startTracker(t)
	key, _ := crypto.GenerateKey()
	a := open(t, agent.Config{Home: t.TempDir(), Key: key, Tracker: addr, Domain: testDomain})
	ctx := context.Background()
	if _, err := a.Status(ctx, common.Address{}); status.Code(err) != codes.NotFound {
		t.Fatalf("status before registering: %v", err)
	}
	if _, err := a.Register(ctx); err != nil {
		t.Fatal(err)
	}
	// Status needs no key: anybody's standing can be read.
	anon := open(t, agent.Config{Home: t.TempDir(), Tracker: addr})
	s, err := anon.Status(ctx, a.Address())
	if err != nil {
		t.Fatal(err)
	}
	want := agent.Standing{Address: a.Address(), RegisteredAt: time.Unix(1700000000, 0).UTC(), ChainRegistration: "confirmed",
		SettledUploadBytes: 8 << 20, PendingDownloadBytes: 3, RatioInfinite: true, LeechRefusal: "ratio 0.1 below 0.5", PublishedCount: 2}
	if *s != want {
		t.Fatalf("standing\n got %+v\nwant %+v", *s, want)
	}
}

func TestSearchPagesUpToTheLimit(t *testing.T) {
	f, addr := startTracker(t)
	for i := range 250 {
		f.datasets = append(f.datasets, &pbtsv1.Dataset{InfoHash: fmt.Sprintf("0x%040x", i), Name: fmt.Sprint("d", i), Modality: pbtsv1.Modality_MODALITY_AUDIO})
	}
	f.datasets[0].Tags = []string{"tone"}
	f.datasets[0].PublishedAt = timestamppb.New(time.Unix(1700000200, 0))
	a := open(t, agent.Config{Home: t.TempDir(), Tracker: addr})
	ctx := context.Background()
	got, err := a.Search(ctx, agent.SearchQuery{Limit: 230})
	f.mu.Lock()
	pages := f.pages
	f.mu.Unlock()
	if err != nil || len(got) != 230 || pages != 3 || got[229].Name != "d229" {
		t.Fatalf("Search: %d results, %d pages, %v", len(got), pages, err)
	}
	d := got[0]
	if d.Modality != "audio" || len(d.Tags) != 1 || !d.PublishedAt.Equal(time.Unix(1700000200, 0)) || got[1].Tags == nil || !got[1].PublishedAt.IsZero() {
		t.Fatalf("datasets: %+v %+v", got[0], got[1])
	}
	if got, err := a.Search(ctx, agent.SearchQuery{}); err != nil || len(got) != agent.DefaultSearchLimit {
		t.Fatalf("default limit: %d %v", len(got), err)
	}
	if _, err := a.Search(ctx, agent.SearchQuery{Modality: "text"}); err == nil {
		t.Fatal("an unknown modality was searched")
	}
}

func TestInviteAndList(t *testing.T) {
	_, addr := startTracker(t)
	key, _ := crypto.GenerateKey()
	a := open(t, agent.Config{Home: t.TempDir(), Key: key, Tracker: addr, Domain: testDomain})
	ctx := context.Background()
	guest := common.Address{7}
	inv, left, err := a.Invite(ctx, guest)
	if err != nil || left != 4 || inv.Invitee != guest.Hex() || inv.Inviter != a.Address().Hex() || !inv.UsedAt.IsZero() {
		t.Fatalf("Invite: %+v %d %v", inv, left, err)
	}
	list, err := a.Invitations(ctx, "")
	if err != nil || len(list) != 1 || list[0] != *inv {
		t.Fatalf("Invitations: %+v %v", list, err)
	}
	if list, err := a.Invitations(ctx, guest.Hex()); err != nil || len(list) != 0 {
		t.Fatalf("the guest's invitations: %+v %v", list, err)
	}
}

func TestWhatNeedsAKeyOrADomainSaysSo(t *testing.T) {
	_, addr := startTracker(t)
	ctx := context.Background()
	anon := open(t, agent.Config{Home: t.TempDir(), Tracker: addr})
	if _, err := anon.Register(ctx); err == nil {
		t.Fatal("Register without a key")
	}
	key, _ := crypto.GenerateKey()
	noDomain := open(t, agent.Config{Home: t.TempDir(), Key: key, Tracker: addr})
	if _, _, err := noDomain.Invite(ctx, common.Address{1}); err == nil {
		t.Fatal("Invite without a domain")
	}
	for _, cfg := range []agent.Config{{Tracker: addr}, {Home: t.TempDir()}} {
		if _, err := agent.Open(ctx, cfg); err == nil {
			t.Fatalf("Open(%+v) accepted", cfg)
		}
	}
	var ae *agent.AddressError
	if _, err := agent.Open(ctx, agent.Config{Home: t.TempDir(), Tracker: "bad\x00scheme://"}); !errors.As(err, &ae) || ae.Service != "tracker" {
		t.Fatalf("a bad tracker address: %v", err)
	}
}

func TestUnreachableTrackerIsUnavailable(t *testing.T) {
	a := open(t, agent.Config{Home: t.TempDir(), Tracker: testkit.ClosedAddr, Timeout: 3 * time.Second})
	if _, err := a.Status(context.Background(), common.Address{1}); status.Code(err) != codes.Unavailable {
		t.Fatalf("status from a closed port: %v", err)
	}
}
