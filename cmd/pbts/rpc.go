package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/agent"
	"github.com/pbts/pbts/receipt"
)

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
// zero for what signs nothing, sf nil for what neither seeds nor downloads.
// Its warnings go to stderr.
func (a *app) openAgent(ctx context.Context, o *opts, key *ecdsa.PrivateKey, d receipt.Domain, sf *seedFlags) (*agent.Agent, error) {
	cfg := agent.Config{Home: o.home, Key: key, Tracker: o.tracker, Domain: d, Timeout: o.timeout, TLSCA: o.tlsCA, TLSCert: o.tlsCert, TLSKey: o.tlsKey,
		Warn: func(s string) { fmt.Fprintln(a.stderr, "pbts: "+s) }, Log: a.stderr}
	if sf != nil {
		cfg.Receipts, cfg.Listen, cfg.Window, cfg.UploadRate = a.receiptsAddr(*sf.receipts), *sf.listen, *sf.window, *sf.upload
	}
	ag, err := agent.Open(ctx, cfg)
	var ae *agent.AddressError
	if errors.As(err, &ae) {
		return nil, usageErrorf("--%s %q: %v", ae.Service, ae.Addr, ae.Err)
	}
	return ag, err
}

// openSigner opens the agent with its key and signing domain, for what signs.
func (a *app) openSigner(ctx context.Context, o *opts, sf *seedFlags) (*agent.Agent, error) {
	d, err := o.domain()
	if err != nil {
		return nil, err
	}
	key, err := o.loadKey(a.getenv)
	if err != nil {
		return nil, err
	}
	return a.openAgent(ctx, o, key, d, sf)
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
