package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TokenRole is what the holder of a control-plane bearer token may do.
type TokenRole string

// The roles of Config.AuthTokensFile.
const (
	// RoleAdmin may call everything: Apply and Delete too.
	RoleAdmin TokenRole = "admin"
	// RoleViewer may only read: Get, List and Watch.
	RoleViewer TokenRole = "viewer"
	// RoleDataPlane may only open the contract stream (WatchContract): the
	// token of ingress and dispatcher processes.
	RoleDataPlane TokenRole = "data-plane"
)

var tokenRoles = []TokenRole{RoleAdmin, RoleViewer, RoleDataPlane}

// may says what r may do, for PermissionDenied messages.
func (r TokenRole) may() string {
	switch r {
	case RoleAdmin:
		return "may call everything"
	case RoleViewer:
		return "may only read (Get, List, Watch)"
	case RoleDataPlane:
		return "may only open the contract stream (WatchContract)"
	}
	return "may call nothing"
}

// methodRoles are the roles allowed each method; a method not listed (a
// service added later, reflection) is the admin's only.
var methodRoles = map[string][]TokenRole{
	weftv1.ControlPlane_Apply_FullMethodName:            {RoleAdmin},
	weftv1.ControlPlane_Delete_FullMethodName:           {RoleAdmin},
	weftv1.ControlPlane_Get_FullMethodName:              {RoleAdmin, RoleViewer},
	weftv1.ControlPlane_List_FullMethodName:             {RoleAdmin, RoleViewer},
	weftv1.ControlPlane_Watch_FullMethodName:            {RoleAdmin, RoleViewer},
	weftv1.ContractService_WatchContract_FullMethodName: {RoleAdmin, RoleDataPlane},
}

// allowed reports whether role may call fullMethod.
func allowed(role TokenRole, fullMethod string) bool {
	roles, ok := methodRoles[fullMethod]
	if !ok {
		return role == RoleAdmin
	}
	return slices.Contains(roles, role)
}

// needed names the roles that may call fullMethod.
func needed(fullMethod string) string {
	roles, ok := methodRoles[fullMethod]
	if !ok {
		roles = []TokenRole{RoleAdmin}
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, " or ")
}

// roleToken is one token and its role.
type roleToken struct {
	token []byte
	role  TokenRole
}

// tokenAuth checks "authorization: Bearer <token>" on every call, and that
// the token's role may make it. Safe for concurrent use (read-only).
type tokenAuth struct{ tokens []roleToken }

// roleOf returns the role of the token of header. Every token is compared,
// each in constant time, so the time taken does not tell which matched.
func (a tokenAuth) roleOf(header string) (TokenRole, error) {
	if header == "" {
		return "", wire.ErrNoToken
	}
	tok, ok := strings.CutPrefix(header, "Bearer ")
	var role TokenRole
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare([]byte(tok), t.token) == 1 {
			role = t.role
		}
	}
	if !ok || role == "" {
		return "", wire.ErrBadToken
	}
	return role, nil
}

func (a tokenAuth) check(ctx context.Context, fullMethod string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	var header string
	if vals := md.Get(wire.AuthorizationHeader); len(vals) > 0 {
		header = vals[0]
	}
	role, err := a.roleOf(header)
	switch {
	case errors.Is(err, wire.ErrNoToken):
		return status.Error(codes.Unauthenticated, "missing bearer token: the CLI sends --token-file (or WEFT_TOKEN), data-plane processes --auth-token-file")
	case err != nil:
		return status.Error(codes.Unauthenticated, err.Error())
	}
	if !allowed(role, fullMethod) {
		method := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
		return status.Errorf(codes.PermissionDenied, "the token's role %s %s; %s needs a token of role %s",
			role, role.may(), method, needed(fullMethod))
	}
	return nil
}

func (a tokenAuth) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := a.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (a tokenAuth) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := a.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

// readTokensFile reads a tokens file: one "role token" per line, the role
// admin, viewer or data-plane; blank lines and lines starting with # are
// ignored. Errors name the line, never the token. A file without tokens is
// an error, so a control plane never runs without the authentication it
// was configured with.
func readTokensFile(path string) ([]roleToken, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokens file: %w", err)
	}
	var out []roleToken
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: must be \"role token\" (2 fields separated by spaces), got %d fields", path, n, len(fields))
		}
		role := TokenRole(fields[0])
		if !validRole(role) {
			return nil, fmt.Errorf("%s:%d: role %q is not admin, viewer or data-plane", path, n, fields[0])
		}
		if prev, dup := seen[fields[1]]; dup {
			return nil, fmt.Errorf("%s:%d: the token of line %d again: a token has one role", path, n, prev)
		}
		seen[fields[1]] = n
		out = append(out, roleToken{token: []byte(fields[1]), role: role})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tokens file %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tokens file %s holds no token", path)
	}
	return out, nil
}

func validRole(r TokenRole) bool { return slices.Contains(tokenRoles, r) }
