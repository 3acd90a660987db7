package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/receipt"
)

// dial opens a client connection to the tracker. grpc.NewClient connects
// lazily, so an unreachable tracker shows up as Unavailable on the first call.
func dial(o *opts) (*grpc.ClientConn, error) {
	cc, err := grpc.NewClient(o.tracker, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, usageErrorf("--tracker %q: %v", o.tracker, err)
	}
	return cc, nil
}

// rpcContext bounds one call by --timeout.
func rpcContext(ctx context.Context, o *opts) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, o.timeout)
}

// rpcError turns a gRPC error into one a person understands.
func rpcError(o *opts, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) {
			return &cliError{kind: "tracker_timeout", msg: fmt.Sprintf("tracker at %s did not answer within %s", o.tracker, o.timeout), err: err}
		}
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		return &cliError{kind: "tracker_unreachable", msg: fmt.Sprintf("tracker unreachable at %s (%s); check --tracker or PBTS_TRACKER and that the tracker is running", o.tracker, st.Message()), err: err}
	case codes.DeadlineExceeded:
		return &cliError{kind: "tracker_timeout", msg: fmt.Sprintf("tracker at %s did not answer within %s", o.tracker, o.timeout), err: err}
	case codes.Canceled:
		return &cliError{kind: "canceled", msg: "canceled", err: err}
	case codes.InvalidArgument:
		return &cliError{kind: "invalid_argument", msg: "rejected by the tracker: " + st.Message(), err: err}
	case codes.FailedPrecondition:
		return &cliError{kind: "failed_precondition", msg: st.Message(), err: err}
	case codes.Unauthenticated:
		return &cliError{kind: "unauthenticated", msg: "not accepted by the tracker: " + st.Message(), err: err}
	case codes.PermissionDenied:
		return &cliError{kind: "permission_denied", msg: st.Message(), err: err}
	case codes.NotFound:
		return &cliError{kind: "not_found", msg: st.Message(), err: err}
	case codes.AlreadyExists:
		return &cliError{kind: "already_exists", msg: st.Message(), err: err}
	case codes.Unimplemented:
		return &cliError{kind: "unimplemented", msg: fmt.Sprintf("the service at %s does not implement this call; is --tracker pointing at the tracker's gRPC port?", o.tracker), err: err}
	}
	return &cliError{kind: "tracker_error", msg: fmt.Sprintf("tracker at %s: %s: %s", o.tracker, st.Code(), st.Message()), err: err}
}

// openAgent opens the agent library over the options; key and d may be
// zero for what signs nothing.
func openAgent(ctx context.Context, o *opts, key *ecdsa.PrivateKey, d receipt.Domain) (*agent.Agent, error) {
	ag, err := agent.Open(ctx, agent.Config{Home: o.home, Key: key, Tracker: o.tracker, Domain: d, Timeout: o.timeout})
	var ae *agent.AddressError
	if errors.As(err, &ae) {
		return nil, usageErrorf("--tracker %q: %v", ae.Addr, ae.Err)
	}
	return ag, err
}

// maskSecret shows the first 4 characters of a secret only.
func maskSecret(s string) string {
	if len(s) <= 4 {
		return "****"
	}
	return s[:4] + "…(hidden; --show-passkey shows it)"
}

// maskURL hides a passkey inside an announce URL.
func maskURL(u, passkey string) string {
	if passkey == "" {
		return u
	}
	for i := 0; i+len(passkey) <= len(u); i++ {
		if u[i:i+len(passkey)] == passkey {
			return u[:i] + "<passkey>" + u[i+len(passkey):]
		}
	}
	return u
}
