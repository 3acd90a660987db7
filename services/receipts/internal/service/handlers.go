package service

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/receipts/internal/ledger"
	"github.com/pbts/pbts/services/receipts/internal/verifier"
	"github.com/pbts/pbts/services/receipts/internal/watch"
)

// invalid is INVALID_ARGUMENT naming the field, with a BadRequest detail.
var invalid = server.InvalidField

var errNotReady = status.Error(codes.Unavailable, "receipts: database not connected yet; retry")

// SubmitReceipts verifies the batch, commits it in one transaction and
// answers each receipt.
func (s *Service) SubmitReceipts(ctx context.Context, req *pbtsv1.SubmitReceiptsRequest) (*pbtsv1.SubmitReceiptsResponse, error) {
	n := len(req.GetReceipts())
	switch {
	case n == 0:
		return nil, invalid("receipts", "at least one receipt is required")
	case n > s.cfg.MaxBatch:
		return nil, invalid("receipts", fmt.Sprintf("%d receipts exceed the limit of %d per request; nothing was applied", n, s.cfg.MaxBatch))
	}
	st := s.ledger()
	if st == nil {
		return nil, errNotReady
	}
	now := s.now()
	if err := s.limitAddress(ctx, n, now); err != nil {
		return nil, err
	}
	s.met.batchSize.Observe(float64(n))
	start := time.Now()
	items := verifier.Parse(req.GetReceipts())
	if first, all := verifier.FirstMalformed(items); all {
		field, desc, _ := strings.Cut(items[first].Detail, ": ")
		return nil, invalid(fmt.Sprintf("receipts[%d].%s", first, field), desc+" (no receipt in the request is well-formed; nothing was applied)")
	}
	// The cheap checks first, so that garbage costs no signature recovery;
	// the receivers' rate once they are known to be agents (limits.go).
	if err := s.ver.Precheck(ctx, st, items); err != nil {
		return nil, s.fail(ctx, "verify receipts", err)
	}
	if err := s.limitReceivers(items, now); err != nil {
		return nil, err
	}
	if err := s.ver.Recover(ctx, items); err != nil {
		return nil, s.fail(ctx, "verify receipts", err)
	}
	s.chargeReceivers(items, now)
	if err := s.ver.CheckSwarm(ctx, st, items); err != nil {
		return nil, s.fail(ctx, "verify receipts", err)
	}
	if err := s.expiredDuplicates(ctx, st, items); err != nil {
		return nil, s.fail(ctx, "look up expired receipts", err)
	}
	verified := time.Now()
	s.met.verify.Observe(verified.Sub(start).Seconds())
	acceptedAt := s.now().UTC().Truncate(time.Microsecond)
	attempts, err := st.Commit(ctx, items, acceptedAt)
	if err != nil {
		return nil, s.fail(ctx, "commit receipts", err)
	}
	s.met.commit.Observe(time.Since(verified).Seconds())
	if attempts > 1 {
		s.met.retries.Add(float64(attempts - 1))
	}

	resp := &pbtsv1.SubmitReceiptsResponse{Results: make([]*pbtsv1.ReceiptResult, n)}
	results := make([]pbtsv1.ReceiptResult, n) // one allocation for all
	var refused map[pbtsv1.RefusalReason]int
	var accepted []int
	for i := range items {
		it := &items[i]
		res := &results[i]
		res.Status, res.Reason, res.Detail = it.Status, it.Reason, it.Detail
		if it.Parsed {
			res.Digest = hex32(&it.Digest)
		}
		switch it.Status {
		case pbtsv1.ReceiptStatus_RECEIPT_STATUS_ACCEPTED:
			resp.AcceptedCount++
			accepted = append(accepted, i)
		case pbtsv1.ReceiptStatus_RECEIPT_STATUS_DUPLICATE:
			resp.DuplicateCount++
		default:
			resp.RefusedCount++
			if refused == nil {
				refused = make(map[pbtsv1.RefusalReason]int)
			}
			refused[it.Reason]++
		}
		resp.Results[i] = res
	}
	s.met.accepted.Add(float64(resp.AcceptedCount))
	s.met.duplicate.Add(float64(resp.DuplicateCount))
	for r, k := range refused {
		if c := s.met.refused[r]; c != nil {
			c.Add(float64(k))
		}
	}
	if len(accepted) > 0 && s.hub.Active() {
		s.hub.Publish(len(accepted),
			func(k int) (common.Address, common.Address) {
				r := &items[accepted[k]].Receipt
				return r.Sender, r.Receiver
			},
			func(k int) *pbtsv1.WatchReceiptsResponse {
				it := &items[accepted[k]]
				return &pbtsv1.WatchReceiptsResponse{Record: recordProto(&ledger.Record{
					Receipt: it.Receipt, Sig: it.Sig, Digest: it.Digest, AcceptedAt: acceptedAt,
				})}
			})
	}
	return resp, nil
}

// expiredDuplicates answers DUPLICATE, rather than out of window, for an
// expired receipt that is already in the ledger: a client retrying after a
// long outage learns that its receipt counted.
func (s *Service) expiredDuplicates(ctx context.Context, st *ledger.Store, items []ledger.Item) error {
	var ds [][32]byte
	for i := range items {
		if it := &items[i]; it.Parsed && it.Reason == pbtsv1.RefusalReason_REFUSAL_REASON_TIMESTAMP_OUT_OF_WINDOW {
			ds = append(ds, it.Digest)
		}
	}
	if len(ds) == 0 {
		return nil
	}
	have, err := st.Existing(ctx, ds)
	if err != nil {
		return err
	}
	for i := range items {
		if it := &items[i]; it.Parsed && it.Reason == pbtsv1.RefusalReason_REFUSAL_REASON_TIMESTAMP_OUT_OF_WINDOW && have[it.Digest] {
			it.MarkDuplicate()
		}
	}
	return nil
}

func hex32(b *[32]byte) string { return "0x" + hex.EncodeToString(b[:]) }

func recordProto(rec *ledger.Record) *pbtsv1.ReceiptRecord {
	r := &rec.Receipt
	out := &pbtsv1.ReceiptRecord{
		Receipt: &pbtsv1.Receipt{
			InfoHash:   hex32(&r.InfoHash),
			Sender:     r.Sender.Hex(),
			Receiver:   r.Receiver.Hex(),
			PieceHash:  hex32(&r.PieceHash),
			PieceIndex: r.PieceIndex,
			PieceSize:  r.PieceSize,
			Timestamp:  r.Timestamp,
			Signature:  rec.Sig.Hex(),
		},
		Digest:     hex32(&rec.Digest),
		State:      pbtsv1.SettlementState_SETTLEMENT_STATE_PENDING,
		BatchId:    rec.BatchID,
		AcceptedAt: timestamppb.New(rec.AcceptedAt),
	}
	if rec.BatchID != 0 {
		out.State = pbtsv1.SettlementState_SETTLEMENT_STATE_BATCHED
		out.BatchRoot = hex32(&rec.BatchRoot)
		if rec.TxHash != nil {
			out.TxHash = hex32(rec.TxHash)
		}
		if rec.SettledAt != nil {
			out.State = pbtsv1.SettlementState_SETTLEMENT_STATE_SETTLED
			out.BlockNumber = rec.Block
			out.SettledAt = timestamppb.New(*rec.SettledAt)
		}
	}
	return out
}

// GetReceipt returns a receipt with, once batched, its batch root and proof.
func (s *Service) GetReceipt(ctx context.Context, req *pbtsv1.GetReceiptRequest) (*pbtsv1.GetReceiptResponse, error) {
	d, err := receipt.ParseBytes32(req.GetDigest())
	if err != nil {
		return nil, invalid("digest", strings.TrimPrefix(err.Error(), "receipt: "))
	}
	st := s.ledger()
	if st == nil {
		return nil, errNotReady
	}
	rec, err := st.Get(ctx, d)
	if err != nil {
		return nil, s.fail(ctx, "get receipt", err)
	}
	out := recordProto(&rec)
	if rec.BatchID != 0 {
		tree, err := s.trees.get(ctx, st, rec.BatchID, rec.BatchRoot)
		if err != nil {
			return nil, s.fail(ctx, "batch tree", err)
		}
		proof, err := tree.Proof(rec.Digest)
		if err != nil {
			return nil, s.fail(ctx, "batch proof", err)
		}
		out.MerkleProof = make([]string, len(proof))
		for i := range proof {
			out.MerkleProof[i] = hex32(&proof[i])
		}
	}
	return &pbtsv1.GetReceiptResponse{Record: out}, nil
}

// parseOptionalAddress parses an optional filter address.
func parseOptionalAddress(field, v string) (common.Address, error) {
	if v == "" {
		return common.Address{}, nil
	}
	a, err := receipt.ParseAddress(v)
	if err != nil {
		return a, invalid(field, strings.TrimPrefix(err.Error(), "receipt: "))
	}
	if a == (common.Address{}) {
		return a, invalid(field, "zero address")
	}
	return a, nil
}

// Page tokens are base64url(kind || cursor || hash of the filters), so a
// token is refused with other filters. The cursor is the last receipt's id
// (kind 1) or, in key order, its receiver, piece index and sender (kind 2).
const (
	tokenByID  = 1
	tokenByKey = 2
	// maxTokenLen bounds page_token (the longest token is 71 characters).
	maxTokenLen = 128
)

func filterHash(f *ledger.Filter) []byte {
	h := fnv.New64a()
	h.Write(f.Agent[:])
	h.Write(f.InfoHash[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], f.BatchID)
	h.Write(b[:])
	return h.Sum(nil)
}

func encodeToken(f *ledger.Filter, last *ledger.Record) string {
	var b []byte
	if f.KeyOrder() {
		k := last.Receipt.Key()
		b = append([]byte{tokenByKey}, k[32:]...)
	} else {
		b = binary.BigEndian.AppendUint64([]byte{tokenByID}, uint64(last.ID))
	}
	return base64.RawURLEncoding.EncodeToString(append(b, filterHash(f)...))
}

// decodeToken sets f's cursor from tok.
func decodeToken(f *ledger.Filter, tok string) error {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	bad := invalid("page_token", "not a token from this service")
	if err != nil || len(b) < 9 {
		return bad
	}
	kind, cursor, hash := b[0], b[1:len(b)-8], b[len(b)-8:]
	if string(hash) != string(filterHash(f)) {
		return invalid("page_token", "was issued for other filters")
	}
	switch {
	case kind == tokenByID && len(cursor) == 8 && !f.KeyOrder():
		f.AfterID = int64(binary.BigEndian.Uint64(cursor))
		if f.AfterID < 0 {
			return bad
		}
	case kind == tokenByKey && len(cursor) == receipt.KeyLen-32 && f.KeyOrder():
		var k receipt.Key
		copy(k[:32], f.InfoHash[:])
		copy(k[32:], cursor)
		f.AfterKey = &k
	default:
		return bad
	}
	return nil
}

// ListReceipts pages receipts in acceptance order, or, filtered by torrent
// alone, in (receiver, piece index, sender) order.
func (s *Service) ListReceipts(ctx context.Context, req *pbtsv1.ListReceiptsRequest) (*pbtsv1.ListReceiptsResponse, error) {
	var f ledger.Filter
	var err error
	if f.Agent, err = parseOptionalAddress("agent", req.GetAgent()); err != nil {
		return nil, err
	}
	if v := req.GetInfoHash(); v != "" {
		if f.InfoHash, err = receipt.ParseBytes32(v); err != nil {
			return nil, invalid("info_hash", strings.TrimPrefix(err.Error(), "receipt: "))
		}
	}
	f.BatchID = req.GetBatchId()
	if f.BatchID > 1<<63-1 {
		return nil, invalid("batch_id", "out of range")
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, invalid("page_size", "must not be negative")
	case size == 0:
		size = min(DefaultPageSize, s.cfg.MaxPageSize)
	case size > s.cfg.MaxPageSize:
		size = s.cfg.MaxPageSize
	}
	if tok := req.GetPageToken(); tok != "" {
		if len(tok) > maxTokenLen {
			return nil, invalid("page_token", "too long")
		}
		if err := decodeToken(&f, tok); err != nil {
			return nil, err
		}
	}
	st := s.ledger()
	if st == nil {
		return nil, errNotReady
	}
	f.Limit = size + 1
	recs, err := st.List(ctx, f)
	if err != nil {
		return nil, s.fail(ctx, "list receipts", err)
	}
	resp := &pbtsv1.ListReceiptsResponse{}
	if len(recs) > size {
		recs = recs[:size]
		resp.NextPageToken = encodeToken(&f, &recs[size-1])
	}
	resp.Records = make([]*pbtsv1.ReceiptRecord, len(recs))
	for i := range recs {
		resp.Records[i] = recordProto(&recs[i])
	}
	return resp, nil
}

// GetPendingTotals returns an agent's unsettled bytes.
func (s *Service) GetPendingTotals(ctx context.Context, req *pbtsv1.GetPendingTotalsRequest) (*pbtsv1.GetPendingTotalsResponse, error) {
	a, err := receipt.ParseAddress(req.GetAgent())
	if err != nil {
		return nil, invalid("agent", strings.TrimPrefix(err.Error(), "receipt: "))
	}
	st := s.ledger()
	if st == nil {
		return nil, errNotReady
	}
	t, err := st.PendingTotals(ctx, a)
	if err != nil {
		return nil, s.fail(ctx, "pending totals", err)
	}
	return &pbtsv1.GetPendingTotalsResponse{
		Agent: a.Hex(), UploadBytes: t.UploadBytes, DownloadBytes: t.DownloadBytes, ReceiptCount: t.ReceiptCount,
	}, nil
}

// WatchReceipts streams accepted receipts until the client leaves, the
// subscriber falls behind or the server stops.
func (s *Service) WatchReceipts(req *pbtsv1.WatchReceiptsRequest, stream grpc.ServerStreamingServer[pbtsv1.WatchReceiptsResponse]) error {
	sender, err := parseOptionalAddress("sender", req.GetSender())
	if err != nil {
		return err
	}
	receiver, err := parseOptionalAddress("receiver", req.GetReceiver())
	if err != nil {
		return err
	}
	client := server.ClientKey(server.PeerIP(stream.Context()))
	sub, err := s.hub.Subscribe(client, sender, receiver)
	switch {
	case errors.Is(err, watch.ErrClientLimit):
		s.met.limited["watch_address"].Inc()
		return status.Errorf(codes.ResourceExhausted, "receipts: client %s already holds %d watches, the most per client address; end one first", clientString(client), s.cfg.MaxWatchersPerAddress)
	case errors.Is(err, watch.ErrAgentLimit):
		s.met.limited["watch_agent"].Inc()
		return status.Errorf(codes.ResourceExhausted, "receipts: %d watches already name agent %s, from as many clients; retry later", s.cfg.MaxWatchersPerAgent, watchAgent(sender, receiver).Hex())
	case errors.Is(err, watch.ErrTooMany):
		s.met.limited["watch_total"].Inc()
		return status.Errorf(codes.ResourceExhausted, "receipts: all %d watch slots are taken, by clients holding no more than this one; retry later", s.cfg.MaxWatchers)
	case err != nil:
		return status.Error(codes.Unavailable, "receipts: server shutting down")
	}
	defer s.hub.Unsubscribe(sub)
	// Headers tell the client that the subscription is active.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	ctx := stream.Context()
	for {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case v := <-sub.C():
			if err := stream.Send(v); err != nil {
				return err
			}
		case <-sub.Done():
			if errors.Is(sub.Err(), watch.ErrDisplaced) {
				s.met.limited["watch_displaced"].Inc()
				return status.Error(codes.ResourceExhausted,
					"receipts: watch ended to give its slot to a client holding fewer watches (the slots are full and this client holds the most); watch fewer at once")
			}
			if errors.Is(sub.Err(), watch.ErrSlow) {
				return status.Errorf(codes.ResourceExhausted,
					"receipts: watcher fell more than %d receipts behind and was dropped; catch up with ListReceipts and watch again", s.cfg.WatchBuffer)
			}
			return status.Error(codes.Unavailable, "receipts: server shutting down; watch again")
		}
	}
}

// watchAgent is the agent a watch counts for: its sender filter, else its receiver.
func watchAgent(sender, receiver common.Address) common.Address {
	if sender != (common.Address{}) {
		return sender
	}
	return receiver
}

// statsTTL is how long GetReceiptStats' answer is reused: the count scans the
// ledger, and a dashboard full of browsers must not turn into one scan each.
const statsTTL = time.Second

// statsCache holds the last GetReceiptStats answer; callers during a refresh
// wait for it rather than start their own.
type statsCache struct {
	mu sync.Mutex
	at time.Time
	v  *pbtsv1.GetReceiptStatsResponse
}

// GetReceiptStats counts the receipts accepted and settled (at most statsTTL old).
func (s *Service) GetReceiptStats(ctx context.Context, _ *pbtsv1.GetReceiptStatsRequest) (*pbtsv1.GetReceiptStatsResponse, error) {
	st := s.ledger()
	if st == nil {
		return nil, errNotReady
	}
	c := &s.stats
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := s.now(); c.v == nil || now.Sub(c.at) >= statsTTL || now.Before(c.at) {
		t, err := st.Stats(ctx)
		if err != nil {
			return nil, s.fail(ctx, "receipt stats", err)
		}
		c.at, c.v = now, &pbtsv1.GetReceiptStatsResponse{
			ReceiptsAccepted: t.Accepted, ReceiptsSettled: t.Settled, ReceiptsPending: t.Accepted - t.Settled,
			BytesAccepted: t.BytesAccepted, BytesSettled: t.BytesSettled,
		}
	}
	return proto.CloneOf(c.v), nil
}
