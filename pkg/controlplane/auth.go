package controlplane

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/pkg/wire"
)

// bearerAuth checks "authorization: Bearer <token>" on every call.
type bearerAuth struct{ token string }

func (a bearerAuth) check(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	var header string
	if vals := md.Get(wire.AuthorizationHeader); len(vals) > 0 {
		header = vals[0]
	}
	switch err := wire.CheckBearer(header, a.token); {
	case errors.Is(err, wire.ErrNoToken):
		return status.Error(codes.Unauthenticated, "missing bearer token: the CLI sends --token-file (or WEFT_TOKEN), data-plane processes --auth-token-file")
	case err != nil:
		return status.Error(codes.Unauthenticated, err.Error())
	}
	return nil
}

func (a bearerAuth) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := a.check(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (a bearerAuth) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := a.check(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}
