// Package registry implements the tracker's gRPC services: the agent registry
// (pbts.v1.AgentService) and the dataset catalog (pbts.v1.DatasetService),
// on the store, a Reputation source and the live Swarms.
//
// # Status codes
//
// A malformed field is InvalidArgument naming the field. A well-formed signed
// request whose signature does not verify (wrong key, other chain or tracker
// contract, altered content) or whose timestamp is outside the window is
// Unauthenticated; so is an unknown passkey. A replayed or out-of-order
// rotation message is FailedPrecondition, as is publishing as an unregistered
// agent. A refusal by the ratio gate is PermissionDenied with the figures, as is
// resolving peers of a swarm the asker is not in. Internal errors are logged
// and answered with an opaque "internal error". See toStatus.
//
// # Trust in piece hashes
//
// PublishDataset cannot check the published SHA-256 of each piece against the
// data, which the tracker never sees. It does not need to: the receipts
// service accepts a receipt only if its piece hash equals the published one,
// and downloaders sign receipts only for pieces that passed the torrent's SHA-1
// check and whose SHA-256 they computed themselves. A publisher that lies about
// the hashes only gets no receipts, so no credit, for its own uploads.
package registry

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pbts/pbts/database"
	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

// Registry serves AgentService and DatasetService.
type Registry struct {
	cfg    Config
	store  *store.Store
	rep    Reputation
	swarms Swarms
	log    *slog.Logger
	// signedLimit bounds RegisterAgent and RotatePasskey per client address;
	// regLimit the new agents per client.
	signedLimit, regLimit *server.IPLimiter
	bootstrap             map[common.Address]bool
}

// New returns a Registry. Every dependency is required.
func New(cfg Config, st *store.Store, rep Reputation, sw Swarms) (*Registry, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("registry config: %w", err)
	}
	if st == nil || rep == nil || sw == nil {
		return nil, errors.New("registry: store, reputation and swarms are required")
	}
	r := &Registry{cfg: cfg, store: st, rep: rep, swarms: sw, log: cfg.Log,
		signedLimit: server.NewIPLimiter(cfg.SignedEvery, cfg.SignedBurst, 100_000),
		regLimit:    server.NewIPLimiter(cfg.RegisterEvery, cfg.RegisterBurst, 100_000),
		bootstrap:   map[common.Address]bool{}}
	for _, a := range cfg.Bootstrap {
		r.bootstrap[a] = true
	}
	return r, nil
}

// AgentService returns the pbts.v1.AgentService implementation.
func (r *Registry) AgentService() pbtsv1.AgentServiceServer { return &agentServer{r: r} }

// DatasetService returns the pbts.v1.DatasetService implementation.
func (r *Registry) DatasetService() pbtsv1.DatasetServiceServer { return &datasetServer{r: r} }

// Register registers both services on s.
func (r *Registry) Register(s grpc.ServiceRegistrar) {
	pbtsv1.RegisterAgentServiceServer(s, r.AgentService())
	pbtsv1.RegisterDatasetServiceServer(s, r.DatasetService())
}

// reply returns (resp, nil) or (nil, status) through toStatus.
func reply[T any](ctx context.Context, r *Registry, method string, resp *T, err error) (*T, error) {
	if err != nil {
		return nil, toStatus(ctx, r.log, method, err)
	}
	return resp, nil
}

// announceURL is the agent's personal announce URL.
func (r *Registry) announceURL(passkey string) string {
	return r.cfg.AnnounceBase + "/announce/" + passkey
}

// figures asks the Reputation source, marking its failures.
func (r *Registry) figures(ctx context.Context, agent common.Address) (Figures, error) {
	f, err := r.rep.Figures(ctx, agent)
	if err != nil {
		if ctx.Err() != nil {
			return Figures{}, ctx.Err()
		}
		return Figures{}, fmt.Errorf("%w: %s: %w", errReputation, agent.Hex(), err)
	}
	return f, nil
}

// Parsing -----------------------------------------------------------------

func parseAddress(field, s string) (common.Address, error) {
	if s == "" {
		return common.Address{}, invalid(field, "required (0x + 40 hex digits)")
	}
	a, err := receipt.ParseAddress(s)
	if err != nil {
		return common.Address{}, invalid(field, "%s", strings.TrimPrefix(err.Error(), "receipt: "))
	}
	if a == (common.Address{}) {
		return common.Address{}, invalid(field, "zero address")
	}
	return a, nil
}

func parseSignature(field, s string) (receipt.Signature, error) {
	if s == "" {
		return receipt.Signature{}, invalid(field, "required (0x + 130 hex digits)")
	}
	sig, err := receipt.ParseSignature(s)
	if err != nil {
		return receipt.Signature{}, invalid(field, "%s", strings.TrimPrefix(err.Error(), "receipt: "))
	}
	return sig, nil
}

// parseInfoHash parses a v1 info hash: 0x + 40 hex digits, or the 40 digits
// alone (as BitTorrent clients show it).
func parseInfoHash(s string) ([20]byte, bool) {
	var ih [20]byte
	h := strings.TrimPrefix(s, "0x")
	if len(h) != 40 {
		return ih, false
	}
	if _, err := hex.Decode(ih[:], []byte(h)); err != nil {
		return ih, false
	}
	return ih, true
}

func formatInfoHash(ih [20]byte) string { return "0x" + hex.EncodeToString(ih[:]) }

// lookup finds a dataset by info hash or, when the argument is not one, by
// exact name.
func (r *Registry) lookup(ctx context.Context, field, arg string) (store.Dataset, error) {
	if arg == "" {
		return store.Dataset{}, invalid(field, "required (0x + 40 hex digits, or a dataset's exact name)")
	}
	if len(arg) > 4*r.cfg.Limits.MaxNameChars || !utf8.ValidString(arg) || strings.IndexByte(arg, 0) >= 0 {
		return store.Dataset{}, invalid(field, "not an info hash or a dataset name")
	}
	var (
		d   store.Dataset
		err error
	)
	if ih, ok := parseInfoHash(arg); ok {
		d, err = r.store.DatasetByInfoHash(ctx, ih)
	} else {
		d, err = r.store.DatasetByName(ctx, arg)
	}
	if errors.Is(err, database.ErrNotFound) {
		return store.Dataset{}, clientErr(codes.NotFound, "no dataset %q", arg)
	}
	return d, err
}

// Text checks ---------------------------------------------------------------

// checkText refuses NUL (Postgres text cannot hold it), bidirectional
// overrides and isolates (they make a name display as another) and, unless
// multiline, every control character (multiline text may hold \n, \r, \t).
func checkText(field, s string, multiline bool) error {
	for _, c := range s {
		switch {
		case c == 0 || unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\t' || c == '\r')):
			return invalid(field, "control character %U", c)
		case 0x202a <= c && c <= 0x202e || 0x2066 <= c && c <= 0x2069:
			return invalid(field, "bidirectional control character %U", c)
		}
	}
	return nil
}

func validTag(t string, maxChars int) bool {
	if t == "" || len(t) > maxChars {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkTags validates a tag list: at most MaxTags, each [a-z0-9-]{1,MaxTagChars}, distinct.
func (r *Registry) checkTags(field string, tags []string) error {
	l := r.cfg.Limits
	if len(tags) > l.MaxTags {
		return invalid(field, "%d tags, at most %d", len(tags), l.MaxTags)
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if !validTag(t, l.MaxTagChars) {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not a tag: 1 to %d characters of a-z, 0-9 and -", t, l.MaxTagChars)
		}
		if seen[t] {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "duplicate tag %q", t)
		}
		seen[t] = true
	}
	return nil
}

func (r *Registry) pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, invalid("page_size", "must not be negative")
	case n == 0:
		return r.cfg.Limits.DefaultPageSize, nil
	case int(n) > r.cfg.Limits.MaxPageSize:
		return r.cfg.Limits.MaxPageSize, nil
	}
	return int(n), nil
}

// Protos ----------------------------------------------------------------------

var modalityNames = map[store.Modality]string{store.ModalityVideo: "video", store.ModalityAudio: "audio"}

// agentProto builds an Agent from stored facts and figures (nil figures:
// reputation unknown).
func (r *Registry) agentProto(a store.Agent, f *Figures) *pbtsv1.Agent {
	p := &pbtsv1.Agent{
		Address:           a.Address.Hex(),
		RegisteredAt:      timestamppb.New(a.RegisteredAt),
		ChainRegistration: pbtsv1.ChainRegistration_CHAIN_REGISTRATION_PENDING,
		PublishedCount:    a.PublishedCount,
	}
	if a.ChainState == store.ChainConfirmed {
		p.ChainRegistration = pbtsv1.ChainRegistration_CHAIN_REGISTRATION_CONFIRMED
	}
	if a.InvitedBy != (common.Address{}) {
		p.InvitedBy = a.InvitedBy.Hex()
	}
	if f == nil {
		p.LeechRefusal = "reputation is unavailable; try again later"
		return p
	}
	p.SettledUploadBytes, p.SettledDownloadBytes = f.SettledUpload, f.SettledDownload
	p.PendingUploadBytes, p.PendingDownloadBytes = f.PendingUpload, f.PendingDownload
	p.Ratio, p.RatioInfinite = f.Ratio()
	// can_leech answers "could it start any download now": the gate with one
	// byte left.
	d := Decide(*f, 1, r.cfg.MinRatioNum, r.cfg.MinRatioDen)
	p.CanLeech, p.LeechRefusal = d.Allowed, d.Message()
	return p
}

func (r *Registry) datasetProto(ctx context.Context, d store.Dataset) *pbtsv1.Dataset {
	seeders, leechers, completed := r.swarms.Counts(ctx, d.InfoHash)
	return &pbtsv1.Dataset{
		InfoHash:    formatInfoHash(d.InfoHash),
		Name:        d.Name,
		Description: d.Description,
		Modality:    pbtsv1.Modality(d.Modality),
		Tags:        d.Tags,
		License:     d.License,
		Publisher:   d.Publisher.Hex(),
		TotalBytes:  uint64(d.TotalBytes),
		PieceLength: uint32(d.PieceLength),
		PieceCount:  uint32(d.PieceCount),
		PublishedAt: timestamppb.New(d.PublishedAt),
		Seeders:     seeders,
		Leechers:    leechers,
		Completed:   completed,
	}
}
