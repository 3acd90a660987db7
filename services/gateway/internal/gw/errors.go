package gw

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorHandler is the one error shape of the REST API: a JSON body
// {code, message, details} (the gRPC status: code, a message a person
// understands, and details such as refusal reasons and BadRequest field
// violations) with the HTTP status of the standard mapping. A backend that
// cannot be reached is a 503 naming it; internal causes never leave the
// gateway (the backends log them).
func (g *Gateway) errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	if strings.Contains(st.Message(), "http: request body too large") {
		// a body without Content-Length that ran over MaxBytesReader
		g.tooLarge(w, r, fmt.Sprintf("request body is over the limit of %d bytes", g.cfg.BodyLimit))
		return
	}
	method, _ := runtime.RPCMethod(ctx)
	st = withInfo(g.publicStatus(st, method), g.backendName(method))
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, st.Err())
}

// tooLarge answers 413 in the API's shape.
func (g *Gateway) tooLarge(w http.ResponseWriter, r *http.Request, msg string) {
	_, out := runtime.MarshalerForRequest(g.mux, r)
	runtime.DefaultHTTPErrorHandler(r.Context(), g.mux, out, w, r, &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestEntityTooLarge,
		Err: withInfo(status.New(codes.ResourceExhausted, msg), "gateway").Err()})
}

// publicStatus rewrites what a client must not see or cannot act on.
func (g *Gateway) publicStatus(st *status.Status, method string) *status.Status {
	name := g.backendName(method)
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		if transportError(msg) {
			return status.New(codes.Unavailable, name+" is unavailable; try again shortly")
		}
	case codes.DeadlineExceeded:
		return status.New(codes.DeadlineExceeded, name+" did not answer in time; try again")
	case codes.Canceled:
		return status.New(codes.Canceled, "request canceled")
	case codes.Internal, codes.Unknown, codes.DataLoss:
		if transportError(msg) {
			return status.New(codes.Unavailable, name+" is unavailable; try again shortly")
		}
		return status.New(st.Code(), "internal error in the "+name+"; it has been logged")
	case codes.ResourceExhausted:
		if strings.Contains(msg, "received message larger than max") || strings.Contains(msg, "message larger than") {
			return status.New(codes.ResourceExhausted, "request too large")
		}
	}
	return st
}

// withInfo gives every error a machine-readable detail: one without details
// of its own gets a google.rpc.ErrorInfo whose reason is the code's name
// (INVALID_ARGUMENT, UNAVAILABLE, ...) and whose metadata names the service
// that answered, so a client can branch on details without parsing messages.
func withInfo(st *status.Status, service string) *status.Status {
	if len(st.Details()) > 0 || st.Code() == codes.OK {
		return st
	}
	info := &errdetails.ErrorInfo{
		Reason:   rpccode.Code(st.Code()).String(),
		Domain:   "pbts.v1",
		Metadata: map[string]string{"service": service},
	}
	if d, err := st.WithDetails(info); err == nil {
		return d
	}
	return st
}

func (g *Gateway) backendName(method string) string {
	if b := g.backendOf(method); b != nil {
		return b.name
	}
	return "gateway"
}

// transportError tells a gRPC client's connection failure (whose message
// names addresses and dial errors) from a backend's own answer.
func transportError(msg string) bool {
	for _, s := range []string{"connection error", "transport:", "dial tcp", "connection refused", "no healthy upstream", "name resolver", "error reading from server", "connection closed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// backendOf is the backend serving a gRPC method ("/pbts.v1.AgentService/GetAgent").
func (g *Gateway) backendOf(method string) *backend {
	parts := strings.Split(strings.TrimPrefix(method, "/"), "/")
	if len(parts) == 0 {
		return nil
	}
	return g.byServ[parts[0]]
}

// routingErrorHandler answers unknown paths and methods in the same shape.
func (g *Gateway) routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	msg := http.StatusText(httpStatus)
	code := codes.Unknown
	switch httpStatus {
	case http.StatusNotFound:
		code, msg = codes.NotFound, "no such route: "+r.Method+" "+r.URL.Path+" (see /openapi.json)"
	case http.StatusMethodNotAllowed:
		code, msg = codes.Unimplemented, "method "+r.Method+" not allowed on "+r.URL.Path
	case http.StatusBadRequest:
		code, msg = codes.InvalidArgument, "bad request"
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{HTTPStatus: httpStatus, Err: withInfo(status.New(code, msg), "gateway").Err()})
}

// writeErr answers err in the API's shape (publicStatus applies; method
// names the gRPC method behind it, for the backend's name).
func (g *Gateway) writeErr(w http.ResponseWriter, r *http.Request, err error, method string) {
	st := withInfo(g.publicStatus(status.Convert(err), method), g.backendName(method))
	_, out := runtime.MarshalerForRequest(g.mux, r)
	runtime.DefaultHTTPErrorHandler(r.Context(), g.mux, out, w, r, st.Err())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
