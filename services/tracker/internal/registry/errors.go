package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pbts/pbts/database"
	"github.com/pbts/pbts/receipt"
	"github.com/pbts/pbts/server"
	"github.com/pbts/pbts/services/tracker/internal/store"
)

// clientError is an error whose message is meant for the client, with its
// gRPC code. Handlers build them with the helpers below.
type clientError struct {
	code  codes.Code
	msg   string
	field string // for InvalidArgument: the malformed field
}

func (e *clientError) Error() string {
	if e.field != "" {
		return e.field + ": " + e.msg
	}
	return e.msg
}

func clientErr(code codes.Code, format string, args ...any) error {
	return &clientError{code: code, msg: fmt.Sprintf(format, args...)}
}

// invalid names the offending request field.
func invalid(field, format string, args ...any) error {
	return &clientError{code: codes.InvalidArgument, msg: fmt.Sprintf(format, args...), field: field}
}

// errReputation marks a failure of the Reputation backend.
var errReputation = errors.New("reputation unavailable")

// toStatus is the one place that turns errors into gRPC statuses.
//
//   - clientError: its code and message.
//   - Signature and timestamp failures of a well-formed request (receipt's
//     ErrBadSignature, ErrExpired, ErrFutureTimestamp): Unauthenticated.
//     Malformed fields are InvalidArgument before any verification.
//   - database.ErrNotFound: NotFound; store.ErrExists: AlreadyExists;
//     store.ErrStaleTimestamp (a replayed rotation) and store.ErrUnknownAgent:
//     FailedPrecondition; store.ErrBadPageToken: InvalidArgument.
//   - A Reputation failure, or a database that cannot be reached: Unavailable.
//   - Context cancellation and deadlines: Canceled, DeadlineExceeded.
//   - Anything else is logged and answered Internal "internal error".
//
// Messages of sentinel errors are built by this package and the store and
// carry no secrets (never a passkey, a signature or a key).
func toStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	var ce *clientError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce) && ce.field != "":
		return server.InvalidField(ce.field, ce.msg)
	case errors.As(err, &ce):
		return status.Error(ce.code, ce.msg)
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, receipt.ErrBadSignature), errors.Is(err, receipt.ErrExpired), errors.Is(err, receipt.ErrFutureTimestamp):
		return status.Error(codes.Unauthenticated, err.Error())
	case errors.Is(err, database.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, store.ErrExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, store.ErrStaleTimestamp), errors.Is(err, store.ErrUnknownAgent):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, store.ErrBadPageToken):
		return server.InvalidField("page_token", "invalid (it must come from the previous page of the same query)")
	case database.Unavailable(err):
		log.WarnContext(ctx, "database unavailable", "method", method, "err", err)
		return status.Error(codes.Unavailable, "the tracker's database is unavailable; try again later")
	case errors.Is(err, errReputation):
		log.WarnContext(ctx, "reputation unavailable", "method", method, "err", err)
		return status.Error(codes.Unavailable, "reputation is unavailable; try again later")
	}
	log.ErrorContext(ctx, "internal error", "method", method, "err", err)
	return status.Error(codes.Internal, "internal error")
}
