package registry

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pbts/pbts/database"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

type datasetServer struct {
	pbtsv1.UnimplementedDatasetServiceServer
	r *Registry
}

// metadata is a validated publish request's catalog metadata.
type metadata struct {
	name, description, license string
	modality                   store.Modality
	tags                       []string
}

func (r *Registry) checkMetadata(req *pbtsv1.PublishDatasetRequest) (metadata, error) {
	l := r.cfg.Limits
	m := metadata{name: req.GetName(), description: req.GetDescription(), license: req.GetLicense(), tags: req.GetTags()}
	switch n := utf8.RuneCountInString(m.name); {
	case strings.TrimSpace(m.name) == "":
		return m, invalid("name", "required")
	case n > l.MaxNameChars:
		return m, invalid("name", "%d characters, at most %d", n, l.MaxNameChars)
	case strings.TrimSpace(m.name) != m.name:
		return m, invalid("name", "must not start or end with white space")
	}
	if err := checkText("name", m.name, false); err != nil {
		return m, err
	}
	if _, ok := parseInfoHash(m.name); ok {
		return m, invalid("name", "must not look like an info hash")
	}
	if len(m.description) > l.MaxDescriptionBytes {
		return m, invalid("description", "%d bytes, at most %d", len(m.description), l.MaxDescriptionBytes)
	}
	if err := checkText("description", m.description, true); err != nil {
		return m, err
	}
	if n := utf8.RuneCountInString(m.license); n > l.MaxLicenseChars {
		return m, invalid("license", "%d characters, at most %d", n, l.MaxLicenseChars)
	}
	if err := checkText("license", m.license, false); err != nil {
		return m, err
	}
	switch req.GetModality() {
	case pbtsv1.Modality_MODALITY_VIDEO, pbtsv1.Modality_MODALITY_AUDIO:
		m.modality = store.Modality(req.GetModality())
	default:
		return m, invalid("modality", "required: MODALITY_VIDEO or MODALITY_AUDIO")
	}
	return m, r.checkTags("tags", m.tags)
}

func (s *datasetServer) PublishDataset(ctx context.Context, req *pbtsv1.PublishDatasetRequest) (*pbtsv1.PublishDatasetResponse, error) {
	resp, err := s.publishDataset(ctx, req)
	return reply(ctx, s.r, "PublishDataset", resp, err)
}

func (s *datasetServer) publishDataset(ctx context.Context, req *pbtsv1.PublishDatasetRequest) (*pbtsv1.PublishDatasetResponse, error) {
	r := s.r
	publisher, err := parseAddress("publisher", req.GetPublisher())
	if err != nil {
		return nil, err
	}
	switch n := len(req.GetTorrent()); {
	case n == 0:
		return nil, invalid("torrent", "required (a bencoded info dictionary or .torrent file)")
	case n > r.cfg.Limits.MaxTorrentBytes:
		return nil, invalid("torrent", "%d bytes, at most %d", n, r.cfg.Limits.MaxTorrentBytes)
	}
	info, err := infoBytes(req.GetTorrent())
	if err != nil {
		return nil, err
	}
	layout, err := parseTorrent(info)
	if err != nil {
		return nil, err
	}
	if got, want := len(req.GetPieceSha256()), 32*layout.NumPieces; got != want {
		return nil, invalid("piece_sha256", "%d bytes for %d pieces; want 32 bytes per piece = %d", got, layout.NumPieces, want)
	}
	m, err := r.checkMetadata(req)
	if err != nil {
		return nil, err
	}
	if req.GetTimestamp() == 0 {
		return nil, invalid("timestamp", "required (unix seconds of the signed message)")
	}
	sig, err := parseSignature("signature", req.GetSignature())
	if err != nil {
		return nil, err
	}
	ih := [20]byte(layout.InfoHash[:20])
	err = receipt.VerifyPublication(r.cfg.Domain, publisher, ih,
		receipt.PiecesDigest(req.GetPieceSha256()),
		receipt.MetadataDigest(m.name, m.description, modalityNames[m.modality], m.tags, m.license),
		req.GetTimestamp(), sig[:], r.cfg.Now(), r.cfg.Window)
	if err != nil {
		return nil, unauthenticated("dataset publication", err, req.GetTimestamp())
	}
	unregistered := clientErr(codes.FailedPrecondition, "publisher %s is not registered; register it first", publisher.Hex())
	switch _, err := r.store.AgentByAddress(ctx, publisher); {
	case errors.Is(err, database.ErrNotFound):
		return nil, unregistered
	case err != nil:
		return nil, err
	}
	d, created, err := r.store.PublishDataset(ctx, store.Dataset{
		InfoHash: ih, Publisher: publisher,
		Name: m.name, Description: m.description, Modality: m.modality, Tags: m.tags, License: m.license,
		PieceLength: layout.PieceLength, PieceCount: layout.NumPieces, TotalBytes: layout.TotalLength,
		PublishTimestamp: req.GetTimestamp(), PublishSignature: sig,
	}, info, req.GetPieceSha256())
	switch {
	case errors.Is(err, store.ErrUnknownAgent):
		return nil, unregistered
	case errors.Is(err, store.ErrExists):
		return nil, clientErr(codes.AlreadyExists, "info hash %s is already published by another agent", formatInfoHash(ih))
	case err != nil:
		return nil, err
	}
	if created {
		r.log.InfoContext(ctx, "dataset published", "info_hash", formatInfoHash(ih), "publisher", publisher.Hex(), "bytes", d.TotalBytes)
	}
	return &pbtsv1.PublishDatasetResponse{Dataset: r.datasetProto(ctx, d), AlreadyPublished: !created}, nil
}

func (s *datasetServer) SearchDatasets(ctx context.Context, req *pbtsv1.SearchDatasetsRequest) (*pbtsv1.SearchDatasetsResponse, error) {
	resp, err := s.searchDatasets(ctx, req)
	return reply(ctx, s.r, "SearchDatasets", resp, err)
}

func (s *datasetServer) searchDatasets(ctx context.Context, req *pbtsv1.SearchDatasetsRequest) (*pbtsv1.SearchDatasetsResponse, error) {
	r := s.r
	q := store.Search{Text: strings.TrimSpace(req.GetQuery()), Tags: req.GetTags()}
	if n := utf8.RuneCountInString(q.Text); n > r.cfg.Limits.MaxQueryChars {
		return nil, invalid("query", "%d characters, at most %d", n, r.cfg.Limits.MaxQueryChars)
	}
	if err := checkText("query", q.Text, false); err != nil {
		return nil, err
	}
	switch m := req.GetModality(); m {
	case pbtsv1.Modality_MODALITY_UNSPECIFIED:
	case pbtsv1.Modality_MODALITY_VIDEO, pbtsv1.Modality_MODALITY_AUDIO:
		q.Modality = store.Modality(m)
	default:
		return nil, invalid("modality", "unknown value %d", m)
	}
	if err := r.checkTags("tags", q.Tags); err != nil {
		return nil, err
	}
	if req.GetPublisher() != "" {
		p, err := parseAddress("publisher", req.GetPublisher())
		if err != nil {
			return nil, err
		}
		q.Publisher = &p
	}
	size, err := r.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	if len(req.GetPageToken()) > 256 {
		return nil, store.ErrBadPageToken
	}
	ds, next, err := r.store.SearchDatasets(ctx, q, req.GetPageToken(), size)
	if err != nil {
		return nil, err
	}
	resp := &pbtsv1.SearchDatasetsResponse{NextPageToken: next, Datasets: make([]*pbtsv1.Dataset, len(ds))}
	for i, d := range ds {
		resp.Datasets[i] = r.datasetProto(ctx, d)
	}
	return resp, nil
}

func (s *datasetServer) GetDataset(ctx context.Context, req *pbtsv1.GetDatasetRequest) (*pbtsv1.GetDatasetResponse, error) {
	d, err := s.r.lookup(ctx, "info_hash", req.GetInfoHash())
	if err != nil {
		return reply[pbtsv1.GetDatasetResponse](ctx, s.r, "GetDataset", nil, err)
	}
	return &pbtsv1.GetDatasetResponse{Dataset: s.r.datasetProto(ctx, d)}, nil
}

// authenticate maps a passkey to its agent.
func (r *Registry) authenticate(ctx context.Context, passkey string) (common.Address, error) {
	if passkey == "" {
		return common.Address{}, clientErr(codes.Unauthenticated, "passkey required")
	}
	a, err := r.store.AgentByPasskey(ctx, passkey)
	if errors.Is(err, database.ErrNotFound) {
		return common.Address{}, clientErr(codes.Unauthenticated, "unknown passkey")
	}
	return a, err
}

func (s *datasetServer) GetTorrent(ctx context.Context, req *pbtsv1.GetTorrentRequest) (*httpbody.HttpBody, error) {
	resp, err := s.getTorrent(ctx, req)
	return reply(ctx, s.r, "GetTorrent", resp, err)
}

func (s *datasetServer) getTorrent(ctx context.Context, req *pbtsv1.GetTorrentRequest) (*httpbody.HttpBody, error) {
	r := s.r
	caller, err := r.authenticate(ctx, req.GetPasskey())
	if err != nil {
		return nil, err
	}
	d, err := r.lookup(ctx, "info_hash", req.GetInfoHash())
	if err != nil {
		return nil, err
	}
	// The gate, with everything not yet receipted to the caller left to
	// download, plus what it is downloading elsewhere meanwhile. The
	// publisher has the data (it seeds: left = 0), so it is never refused
	// its own torrent.
	if caller != d.Publisher {
		f, err := r.figures(ctx, caller)
		if err != nil {
			return nil, err
		}
		credited, err := r.store.Credited(ctx, d.InfoHash, caller)
		if err != nil {
			return nil, err
		}
		if left := uint64(d.TotalBytes) - min(credited, uint64(d.TotalBytes)); left > 0 {
			elsewhere, err := r.swarms.AgentLeft(ctx, caller, d.InfoHash)
			if err != nil {
				return nil, err
			}
			dec := Decide(f, left+elsewhere, r.cfg.MinRatioNum, r.cfg.MinRatioDen)
			dec.Elsewhere = elsewhere
			if !dec.Allowed {
				return nil, clientErr(codes.PermissionDenied, "%s", dec.Message())
			}
		}
	}
	info, err := r.store.TorrentInfo(ctx, d.InfoHash)
	if err != nil {
		return nil, err
	}
	// The passkey is valid here: AgentByPasskey accepted it.
	body, err := personalTorrent(info, r.announceURL(req.GetPasskey()), d.Name, d.PublishedAt.Unix())
	if err != nil {
		return nil, fmt.Errorf("encode torrent: %w", err)
	}
	return &httpbody.HttpBody{ContentType: "application/x-bittorrent", Data: body}, nil
}

func (s *datasetServer) GetPieceHashes(ctx context.Context, req *pbtsv1.GetPieceHashesRequest) (*pbtsv1.GetPieceHashesResponse, error) {
	resp, err := s.getPieceHashes(ctx, req)
	return reply(ctx, s.r, "GetPieceHashes", resp, err)
}

func (s *datasetServer) getPieceHashes(ctx context.Context, req *pbtsv1.GetPieceHashesRequest) (*pbtsv1.GetPieceHashesResponse, error) {
	d, err := s.r.lookup(ctx, "info_hash", req.GetInfoHash())
	if err != nil {
		return nil, err
	}
	p, err := s.r.store.PieceHashes(ctx, d.InfoHash)
	if err != nil {
		return nil, err
	}
	return &pbtsv1.GetPieceHashesResponse{PieceLength: uint32(p.PieceLength), TotalBytes: uint64(p.TotalBytes), PieceSha256: p.SHA256}, nil
}

func (s *datasetServer) GetSwarm(ctx context.Context, req *pbtsv1.GetSwarmRequest) (*pbtsv1.GetSwarmResponse, error) {
	resp, err := s.getSwarm(ctx, req)
	return reply(ctx, s.r, "GetSwarm", resp, err)
}

func (s *datasetServer) getSwarm(ctx context.Context, req *pbtsv1.GetSwarmRequest) (*pbtsv1.GetSwarmResponse, error) {
	r := s.r
	d, err := r.lookup(ctx, "info_hash", req.GetInfoHash())
	if err != nil {
		return nil, err
	}
	resp := &pbtsv1.GetSwarmResponse{PeersHidden: true}
	resp.Seeders, resp.Leechers, resp.Completed = r.swarms.Counts(ctx, d.InfoHash)
	if req.GetAgent() == "" && req.GetSignature() == "" {
		return resp, nil // counts are public; the peers are the members' business
	}
	viewer, sig, err := signedRequest(req.GetAgent(), req.GetTimestamp(), req.GetSignature())
	if err != nil {
		return nil, err
	}
	if err := receipt.VerifySwarmView(r.cfg.Domain, viewer, d.InfoHash, req.GetTimestamp(), sig[:], r.cfg.Now(), r.cfg.Window); err != nil {
		return nil, unauthenticated("swarm view", err, req.GetTimestamp())
	}
	peers, err := r.swarms.Peers(ctx, d.InfoHash)
	if err != nil {
		return nil, fmt.Errorf("swarm peers: %w", err)
	}
	if !slices.ContainsFunc(peers, func(p SwarmPeer) bool { return p.Agent == viewer }) {
		return nil, clientErr(codes.PermissionDenied, "%s has no peer in this swarm: only its members see who is in it (the counts are public)", viewer.Hex())
	}
	resp.PeersHidden = false
	resp.Peers = make([]*pbtsv1.SwarmPeer, len(peers))
	for i, p := range peers {
		resp.Peers[i] = &pbtsv1.SwarmPeer{
			Agent: p.Agent.Hex(), Seeder: p.Seeder, Uploaded: p.Uploaded, Downloaded: p.Downloaded, Left: p.Left,
			LastAnnounce: timestamppb.New(p.LastAnnounce), Client: clientName(p.PeerID),
		}
	}
	return resp, nil
}

func (s *datasetServer) ResolvePeer(ctx context.Context, req *pbtsv1.ResolvePeerRequest) (*pbtsv1.ResolvePeerResponse, error) {
	resp, err := s.resolvePeer(ctx, req)
	return reply(ctx, s.r, "ResolvePeer", resp, err)
}

func (s *datasetServer) resolvePeer(ctx context.Context, req *pbtsv1.ResolvePeerRequest) (*pbtsv1.ResolvePeerResponse, error) {
	r := s.r
	var (
		peerID []byte
		addr   string
	)
	switch {
	case req.GetPeerId() != "" && req.GetAddr() != "":
		return nil, invalid("peer_id", "give either peer_id or addr, not both")
	case req.GetPeerId() != "":
		id, ok := parsePeerID(req.GetPeerId())
		if !ok {
			return nil, invalid("peer_id", "want 0x + 40 hex digits (the 20-byte peer id)")
		}
		peerID = id[:]
	case req.GetAddr() != "":
		ap, err := netip.ParseAddrPort(req.GetAddr())
		if err != nil || ap.Port() == 0 {
			return nil, invalid("addr", "want ip:port (e.g. 192.0.2.1:6881 or [2001:db8::1]:6881)")
		}
		addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	default:
		return nil, invalid("peer_id", "give peer_id or addr")
	}
	asker, err := r.authenticate(ctx, req.GetPasskey())
	if err != nil {
		return nil, err
	}
	d, err := r.lookup(ctx, "info_hash", req.GetInfoHash())
	if err != nil {
		return nil, err
	}
	member, err := r.store.IsMember(ctx, d.InfoHash, asker)
	if err != nil {
		return nil, err
	}
	if !member {
		return nil, clientErr(codes.PermissionDenied, "only members of a swarm may resolve its peers: %s has not announced on %s", asker.Hex(), formatInfoHash(d.InfoHash))
	}
	agent, err := r.swarms.Resolve(ctx, d.InfoHash, asker, peerID, addr)
	switch {
	case errors.Is(err, ErrPeerNotFound), errors.Is(err, database.ErrNotFound):
		return nil, clientErr(codes.NotFound, "no such peer in the swarm of %s", formatInfoHash(d.InfoHash))
	case err != nil:
		return nil, fmt.Errorf("resolve peer: %w", err)
	}
	return &pbtsv1.ResolvePeerResponse{Agent: agent.Hex()}, nil
}

// parsePeerID parses 0x + 40 hex digits.
func parsePeerID(s string) ([20]byte, bool) {
	if !strings.HasPrefix(s, "0x") {
		return [20]byte{}, false
	}
	return parseInfoHash(s)
}
