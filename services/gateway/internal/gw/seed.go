package gw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pbtsv1 "github.com/pbts/pbts/gen/pbts/v1"
	"github.com/pbts/pbts/server"
)

// The seed's paths: thin aliases for clients written against the original
// API, over the same backends and rules as the /v1 routes.

// outgoing is the request's context with the client's address for the
// backends (as the /v1 routes pass it).
func (g *Gateway) outgoing(r *http.Request) context.Context {
	if ip := g.clientIP(r); ip.IsValid() {
		return metadata.AppendToOutgoingContext(r.Context(), server.ForwardedForKey, ip.String())
	}
	return r.Context()
}

// decodeBody reads a JSON body into v, refusing unknown fields.
func decodeBody(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return status.Errorf(codes.ResourceExhausted, "request body over the limit of %d bytes", mbe.Limit)
		}
		return status.Errorf(codes.InvalidArgument, "body: %v", err)
	}
	return nil
}

func writeProto(w http.ResponseWriter, code int, m proto.Message) {
	b, err := protojson.Marshal(m)
	if err != nil {
		http.Error(w, `{"code":13,"message":"encoding failed","details":[]}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// seedRegister is POST /register {"address", "timestamp", "signature"}: the
// signed registration message's fields (AgentService.RegisterAgent).
func (g *Gateway) seedRegister(w http.ResponseWriter, r *http.Request) {
	const method = "/pbts.v1.AgentService/RegisterAgent"
	var req struct {
		Address   string `json:"address"`
		Timestamp uint64 `json:"timestamp"`
		Signature string `json:"signature"`
	}
	if err := decodeBody(r, &req); err != nil {
		g.writeErr(w, r, err, method)
		return
	}
	resp, err := g.agents.RegisterAgent(g.outgoing(r), &pbtsv1.RegisterAgentRequest{Address: req.Address, Timestamp: req.Timestamp, Signature: req.Signature})
	if err != nil {
		g.writeErr(w, r, err, method)
		return
	}
	writeProto(w, http.StatusOK, resp)
}

// seedReceipt is a receipt in the seed's JSON field names.
type seedReceipt struct {
	InfoHash   string `json:"infohash"`
	Sender     string `json:"sender"`
	Receiver   string `json:"receiver"`
	PieceHash  string `json:"pieceHash"`
	PieceIndex uint32 `json:"pieceIndex"`
	PieceSize  uint32 `json:"pieceSize"`
	Timestamp  uint64 `json:"timestamp"`
	Signature  string `json:"signature"`
}

// seedReport is POST /report with one receipt (ReceiptService.SubmitReceipts).
// Accepted and duplicate receipts answer 200 with the result; a refused one
// answers 400 with the refusal reason and its detail.
func (g *Gateway) seedReport(w http.ResponseWriter, r *http.Request) {
	const method = "/pbts.v1.ReceiptService/SubmitReceipts"
	var rc seedReceipt
	if err := decodeBody(r, &rc); err != nil {
		g.writeErr(w, r, err, method)
		return
	}
	resp, err := g.receipts.SubmitReceipts(g.outgoing(r), &pbtsv1.SubmitReceiptsRequest{Receipts: []*pbtsv1.Receipt{{
		InfoHash: rc.InfoHash, Sender: rc.Sender, Receiver: rc.Receiver, PieceHash: rc.PieceHash,
		PieceIndex: rc.PieceIndex, PieceSize: rc.PieceSize, Timestamp: rc.Timestamp, Signature: rc.Signature,
	}}})
	if err != nil {
		g.writeErr(w, r, err, method)
		return
	}
	if len(resp.GetResults()) != 1 {
		g.writeErr(w, r, status.Error(codes.Internal, "unexpected answer"), method)
		return
	}
	res := resp.GetResults()[0]
	if res.GetStatus() == pbtsv1.ReceiptStatus_RECEIPT_STATUS_REFUSED {
		g.writeErr(w, r, status.Errorf(codes.InvalidArgument, "receipt refused: %s: %s", res.GetReason(), res.GetDetail()), method)
		return
	}
	writeProto(w, http.StatusOK, res)
}

// seedReputation is GET /reputation/{address}: the agent's figures as the
// gate sees them (AgentService.GetAgent), with the totals up front.
func (g *Gateway) seedReputation(w http.ResponseWriter, r *http.Request) {
	const method = "/pbts.v1.AgentService/GetAgent"
	resp, err := g.agents.GetAgent(g.outgoing(r), &pbtsv1.GetAgentRequest{Address: r.PathValue("address")})
	if err != nil {
		g.writeErr(w, r, err, method)
		return
	}
	a := resp.GetAgent()
	agent, err := protojson.Marshal(a)
	if err != nil {
		g.writeErr(w, r, err, method)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"address":    a.GetAddress(),
		"uploaded":   fmt.Sprint(a.GetSettledUploadBytes() + a.GetPendingUploadBytes()),
		"downloaded": fmt.Sprint(a.GetSettledDownloadBytes() + a.GetPendingDownloadBytes()),
		"ratio":      a.GetRatio(), "ratioInfinite": a.GetRatioInfinite(),
		"canLeech": a.GetCanLeech(), "leechRefusal": a.GetLeechRefusal(),
		"agent": json.RawMessage(agent),
	})
}
