package controlplane

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/pkg/apis"
)

// errorCodes maps errors to gRPC codes, first match wins. This is the one
// place where errors meet codes.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{apis.ErrImmutable, codes.FailedPrecondition},
	{apis.ErrUnsupportedKind, codes.InvalidArgument},
	{apis.ErrInvalid, codes.InvalidArgument},
	{ErrStaleVersion, codes.Aborted},
	{ErrConflict, codes.Aborted},
	{ErrNotFound, codes.NotFound},
	{ErrUnavailable, codes.Unavailable},
	{ErrClusterUnavailable, codes.Unavailable},
	{ErrUnknownOutcome, codes.Unavailable},
	{ErrVersionTooOld, codes.OutOfRange},
	{ErrReadOnly, codes.FailedPrecondition},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{context.Canceled, codes.Canceled},
}

// toStatus converts err into a gRPC status error, attaching field
// violations when err carries apis.FieldErrors.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			code = e.code
			break
		}
	}
	st := status.New(code, err.Error())
	var fes apis.FieldErrors
	if errors.As(err, &fes) {
		br := &errdetails.BadRequest{}
		for _, fe := range fes {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: fe.Path, Description: fe.Message})
		}
		if d, derr := st.WithDetails(br); derr == nil {
			st = d
		}
	}
	return st.Err()
}
