package server

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// InvalidField is the one shape of a malformed request field in every
// service: INVALID_ARGUMENT whose message starts with the field's name and a
// google.rpc.BadRequest detail naming it (which the REST gateway renders in
// its JSON error's details, so a client can point at the field).
func InvalidField(field, desc string) error {
	st := status.New(codes.InvalidArgument, field+": "+desc)
	if d, err := st.WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: desc}},
	}); err == nil {
		return d.Err()
	}
	return st.Err()
}
