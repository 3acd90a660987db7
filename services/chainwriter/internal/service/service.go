// Package service implements pbts.v1.ChainwriterService: read-only views of
// the writer's chain state and of the settlement batches.
package service

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/chainwriter/internal/store"
	"github.com/pbts/pbts/services/chainwriter/internal/writer"
)

// Name is the gRPC service name (also its health service name).
const Name = "pbts.v1.ChainwriterService"

// Page sizes of ListBatches.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// StatusSource is the writer's view of the chain.
type StatusSource interface {
	Status() writer.Status
}

// Service answers ChainwriterService.
type Service struct {
	pbtsv1.UnimplementedChainwriterServiceServer
	st  *store.Store
	w   StatusSource
	log *slog.Logger
}

// New returns the service.
func New(st *store.Store, w StatusSource, log *slog.Logger) *Service {
	return &Service{st: st, w: w, log: log}
}

// Register adds the service to srv.
func (s *Service) Register(srv *grpc.Server) { pbtsv1.RegisterChainwriterServiceServer(srv, s) }

// unavailable logs the cause and answers opaquely (or with the request's
// own cancellation).
func (s *Service) unavailable(ctx context.Context, method string, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	s.log.Warn("request failed", "method", method, "err", err)
	return status.Error(codes.Unavailable, "database unavailable")
}

// GetChainStatus implements the RPC.
func (s *Service) GetChainStatus(ctx context.Context, _ *pbtsv1.GetChainStatusRequest) (*pbtsv1.GetChainStatusResponse, error) {
	ws := s.w.Status()
	b, err := s.st.Backlog(ctx)
	if err != nil {
		return nil, s.unavailable(ctx, "GetChainStatus", err)
	}
	live, err := s.st.LiveTxs(ctx, ws.Signer)
	if err != nil {
		return nil, s.unavailable(ctx, "GetChainStatus", err)
	}
	next, err := s.st.NextNonce(ctx, ws.Signer)
	if err != nil {
		return nil, s.unavailable(ctx, "GetChainStatus", err)
	}
	resp := &pbtsv1.GetChainStatusResponse{
		ChainId:              ws.ChainID,
		Contract:             ws.Contract.Hex(),
		Signer:               ws.Signer.Hex(),
		NextNonce:            max(next, ws.ChainNonce),
		ChainNonce:           ws.ChainNonce,
		LastBatchIdOnChain:   ws.LastBatchOnChain,
		LastSettledBatchId:   b.LastSettledBatchID,
		LastBatchId:          b.LastBatchID,
		PendingReceipts:      b.PendingReceipts,
		OldestPendingAge:     durationpb.New(b.OldestAge),
		PendingRegistrations: b.PendingRegistrations,
		ChainReachable:       ws.Reachable,
		HeadBlock:            ws.Head,
		Confirmations:        ws.Confirmations,
		Problem:              ws.Problem,
		InitialCredit:        ws.InitialCredit,
	}
	if ws.Factory != (common.Address{}) {
		resp.Factory = ws.Factory.Hex()
	}
	for _, r := range ws.Referrers {
		resp.Referrers = append(resp.Referrers, r.Hex())
	}
	if ws.Balance != nil {
		resp.BalanceWei = ws.Balance.String()
	}
	if !ws.ObservedAt.IsZero() {
		resp.ObservedAt = timestamppb.New(ws.ObservedAt)
	}
	for i := range live {
		t := &live[i]
		latest := t.Latest()
		f := &pbtsv1.InFlightTransaction{
			Nonce:        t.Nonce,
			Kind:         kind(t.Kind),
			State:        state(t.State),
			BatchId:      t.BatchID,
			AgentCount:   uint32(len(t.Agents)),
			TxHash:       latest.Hash.Hex(),
			Attempts:     uint32(len(t.Attempts)),
			GasTipCapWei: latest.TipCap.String(),
			GasFeeCapWei: latest.FeeCap.String(),
			CreatedAt:    timestamppb.New(t.CreatedAt),
		}
		if t.State == store.StateMined {
			f.TxHash, f.BlockNumber = t.Included.Hash.Hex(), t.Included.Block
		}
		resp.InFlight = append(resp.InFlight, f)
	}
	return resp, nil
}

func kind(k store.Kind) pbtsv1.TransactionKind {
	switch k {
	case store.KindRegister:
		return pbtsv1.TransactionKind_TRANSACTION_KIND_REGISTER
	case store.KindSettle:
		return pbtsv1.TransactionKind_TRANSACTION_KIND_SETTLE
	}
	return pbtsv1.TransactionKind_TRANSACTION_KIND_UNSPECIFIED
}

func state(s store.State) pbtsv1.TransactionState {
	switch s {
	case store.StatePending:
		return pbtsv1.TransactionState_TRANSACTION_STATE_PENDING
	case store.StateMined:
		return pbtsv1.TransactionState_TRANSACTION_STATE_MINED
	case store.StateConfirmed:
		return pbtsv1.TransactionState_TRANSACTION_STATE_CONFIRMED
	case store.StateFailed:
		return pbtsv1.TransactionState_TRANSACTION_STATE_FAILED
	case store.StateDropped:
		return pbtsv1.TransactionState_TRANSACTION_STATE_DROPPED
	}
	return pbtsv1.TransactionState_TRANSACTION_STATE_UNSPECIFIED
}

const tokenPrefix = "batches:"

// pageToken encodes the keyset position: list ids below id.
func pageToken(id uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.FormatUint(id, 10)))
}

func parsePageToken(tok string) (uint64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), tokenPrefix) {
		return 0, false
	}
	id, err := strconv.ParseUint(strings.TrimPrefix(string(b), tokenPrefix), 10, 63)
	return id, err == nil && id > 0
}

// ListBatches implements the RPC.
func (s *Service) ListBatches(ctx context.Context, req *pbtsv1.ListBatchesRequest) (*pbtsv1.ListBatchesResponse, error) {
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, server.InvalidField("page_size", "must not be negative")
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	var before uint64
	if tok := req.GetPageToken(); tok != "" {
		var ok bool
		if before, ok = parsePageToken(tok); !ok {
			return nil, server.InvalidField("page_token", "malformed")
		}
	}
	batches, err := s.st.ListBatches(ctx, before, size+1)
	if err != nil {
		return nil, s.unavailable(ctx, "ListBatches", err)
	}
	resp := &pbtsv1.ListBatchesResponse{}
	if len(batches) > size {
		batches = batches[:size]
		resp.NextPageToken = pageToken(batches[size-1].ID)
	}
	for i := range batches {
		resp.Batches = append(resp.Batches, batchPB(&batches[i]))
	}
	return resp, nil
}

func batchPB(b *store.Batch) *pbtsv1.Batch {
	out := &pbtsv1.Batch{
		Id:           b.ID,
		State:        pbtsv1.BatchState_BATCH_STATE_RECORDED,
		Root:         b.Root.Hex(),
		ReceiptCount: uint32(b.ReceiptCount),
		AgentCount:   uint32(b.AgentCount),
		TotalBytes:   b.TotalBytes,
		CreatedAt:    timestamppb.New(b.CreatedAt),
		BlockNumber:  b.BlockNumber,
		GasUsed:      b.GasUsed,
	}
	if b.TxHash != (common.Hash{}) {
		out.TxHash = b.TxHash.Hex()
	}
	switch {
	case b.Settled():
		out.State = pbtsv1.BatchState_BATCH_STATE_SETTLED
		out.SettledAt = timestamppb.New(b.SettledAt)
	case b.Live:
		out.State = pbtsv1.BatchState_BATCH_STATE_SENT
	}
	return out
}
