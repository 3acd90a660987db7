package gw

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
)

// The live events of /v1/events (Server-Sent Events): "receipt" (a receipt
// accepted: the receipts service's WatchReceipts), "batch" (a batch
// settled, with its transaction, block, gas, receipt count and Merkle
// root: the chainwriter's ListBatches, polled and deduplicated) and
// "agent" (an agent registered: ListAgents, polled). Each event's id is
// "<epoch>-<n>", the epoch naming this gateway process: a client that
// reconnects with Last-Event-ID gets what it missed from the last
// events-buffer events, or a "reset" event when they are gone (or the
// gateway restarted) and it must reload what it shows.

type event struct {
	id   uint64
	kind string
	data []byte
}

// subBuffer is how many events a subscriber may fall behind before it is
// dropped (it reconnects and resumes from the buffer).
const subBuffer = 256

type subscriber struct {
	ch      chan event
	dropped bool
}

type hub struct {
	max   int
	log   *slog.Logger
	epoch string

	mu     sync.Mutex
	ring   []event // the last events, oldest first
	size   int
	next   uint64
	subs   map[*subscriber]struct{}
	closed bool
	done   chan struct{}
}

func newHub(maxSubs, buffer int, log *slog.Logger) *hub {
	return &hub{max: maxSubs, size: buffer, log: log, epoch: strconv.FormatInt(time.Now().UnixNano(), 36),
		next: 1, subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
}

// publish sends an event to every subscriber; one that is too far behind
// is dropped.
func (h *hub) publish(kind string, m proto.Message) {
	data, err := protojson.Marshal(m)
	if err != nil {
		h.log.Error("event encoding", "kind", kind, "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	e := event{id: h.next, kind: kind, data: data}
	h.next++
	if len(h.ring) == h.size {
		copy(h.ring, h.ring[1:])
		h.ring = h.ring[:len(h.ring)-1]
	}
	h.ring = append(h.ring, e)
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			s.dropped = true
			close(s.ch)
			delete(h.subs, s)
		}
	}
}

// subscribe registers a subscriber and returns the events after last (the
// id of the last event the client saw; "" for none) and whether the client
// must reset (what it missed is gone).
func (h *hub) subscribe(last string) (*subscriber, []event, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, false, status.Error(codes.Unavailable, "the gateway is shutting down")
	}
	if len(h.subs) >= h.max {
		return nil, nil, false, status.Errorf(codes.ResourceExhausted, "too many event streams open (%d); try again later", h.max)
	}
	s := &subscriber{ch: make(chan event, subBuffer)}
	h.subs[s] = struct{}{}
	if last == "" {
		return s, nil, false, nil
	}
	epoch, n, ok := strings.Cut(last, "-")
	seq, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil || epoch != h.epoch || (len(h.ring) > 0 && seq+1 < h.ring[0].id) || seq >= h.next {
		return s, nil, true, nil
	}
	var backlog []event
	for _, e := range h.ring {
		if e.id > seq {
			backlog = append(backlog, e)
		}
	}
	return s, backlog, false, nil
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

func (h *hub) eventID(e event) string { return h.epoch + "-" + strconv.FormatUint(e.id, 10) }

// serveEvents is GET /v1/events.
func (g *Gateway) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		g.writeErr(w, r, status.Error(codes.Internal, "streaming unsupported"), "")
		return
	}
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("lastEventId")
	}
	sub, backlog, reset, err := g.events.subscribe(last)
	if err != nil {
		g.writeErr(w, r, err, "")
		return
	}
	defer g.events.unsubscribe(sub)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	if reset {
		fmt.Fprintf(w, "event: reset\ndata: {\"reason\":\"the events after %s are no longer kept; reload\"}\n\n", strings.ReplaceAll(last, "\n", ""))
	}
	for _, e := range backlog {
		g.writeEvent(w, e)
	}
	fl.Flush()
	beat := time.NewTicker(g.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-g.events.done:
			return
		case <-beat.C:
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		case e, ok := <-sub.ch:
			if !ok {
				return // too far behind: the client reconnects and resumes
			}
			g.writeEvent(w, e)
			fl.Flush()
		}
	}
}

func (g *Gateway) writeEvent(w http.ResponseWriter, e event) {
	fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", g.events.eventID(e), e.kind, e.data)
}

// runSources feeds the hub until ctx ends.
func (g *Gateway) runSources(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); g.watchReceipts(ctx) }()
	go func() { defer wg.Done(); g.pollBatches(ctx) }()
	go func() { defer wg.Done(); g.pollAgents(ctx) }()
	wg.Wait()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// watchReceipts relays the receipts service's stream of accepted receipts,
// reconnecting while the service is away.
func (g *Gateway) watchReceipts(ctx context.Context) {
	for ctx.Err() == nil {
		stream, err := g.receipts.WatchReceipts(ctx, &pbtsv1.WatchReceiptsRequest{})
		if err == nil {
			for {
				resp, err := stream.Recv()
				if err != nil {
					break
				}
				g.events.publish("receipt", resp.GetRecord())
			}
		}
		if !sleepCtx(ctx, g.cfg.PollInterval) {
			return
		}
	}
}

// pollBatches publishes each batch once it is settled.
func (g *Gateway) pollBatches(ctx context.Context) {
	seen := map[uint64]bool{}
	first := true
	for {
		cctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
		resp, err := g.chain.ListBatches(cctx, &pbtsv1.ListBatchesRequest{PageSize: 50})
		cancel()
		if err == nil {
			bs := resp.GetBatches()
			for i := len(bs) - 1; i >= 0; i-- { // oldest first
				b := bs[i]
				if b.GetState() != pbtsv1.BatchState_BATCH_STATE_SETTLED || seen[b.GetId()] {
					continue
				}
				seen[b.GetId()] = true
				if !first {
					g.events.publish("batch", b)
				}
			}
			if len(bs) > 0 { // forget what fell off the page
				low := bs[len(bs)-1].GetId()
				for id := range seen {
					if id < low {
						delete(seen, id)
					}
				}
			}
			first = false
		}
		if !sleepCtx(ctx, g.cfg.PollInterval) {
			return
		}
	}
}

// pollAgents publishes each newly registered agent once. The first page
// read is the baseline: of it only the agents registered since the poller
// started are new (a registration may land before the first poll answers).
func (g *Gateway) pollAgents(ctx context.Context) {
	seen := map[string]bool{}
	first := true
	since := time.Now().Add(-time.Second) // the database's clock may lag ours a little
	for {
		cctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
		resp, err := g.agents.ListAgents(cctx, &pbtsv1.ListAgentsRequest{PageSize: 20})
		cancel()
		if err == nil {
			as := resp.GetAgents()
			page := map[string]bool{}
			for i := len(as) - 1; i >= 0; i-- { // oldest first
				a := as[i]
				page[a.GetAddress()] = true
				if seen[a.GetAddress()] {
					continue
				}
				if !first || a.GetRegisteredAt().AsTime().After(since) {
					g.events.publish("agent", a)
				}
			}
			seen = page
			first = false
		}
		if !sleepCtx(ctx, g.cfg.PollInterval) {
			return
		}
	}
}
