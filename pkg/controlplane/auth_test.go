package controlplane

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

const rolesBrokerYAML = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: roles
  namespace: default
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Each role may call what it may, and is told plainly what it may not,
// on a real gRPC server.
func TestTokenRoles(t *testing.T) {
	e := testutil.StartKafka(t)
	tokens := writeFile(t, "tokens", `# role token
admin    adm1n
viewer   v1ewer

data-plane   dp-t0ken
`)
	legacy := writeFile(t, "token", "legacy-admin\n")
	r := startReplica(t, e, func(c *Config) { c.AuthTokensFile, c.AuthTokenFile = tokens, legacy })
	ctx := testCtx(t)

	dial := func(tok string) *grpc.ClientConn {
		conn, err := grpc.NewClient(r.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(wire.BearerToken(tok)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	calls := map[string]func(*grpc.ClientConn) error{
		"Apply": func(c *grpc.ClientConn) error {
			_, err := weftv1.NewControlPlaneClient(c).Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, rolesBrokerYAML)})
			return err
		},
		"Get": func(c *grpc.ClientConn) error {
			_, err := weftv1.NewControlPlaneClient(c).Get(ctx, &weftv1.GetRequest{Kind: "Broker", Namespace: "default", Name: "roles"})
			return err
		},
		"List": func(c *grpc.ClientConn) error {
			_, err := weftv1.NewControlPlaneClient(c).List(ctx, &weftv1.ListRequest{})
			return err
		},
		"Watch": func(c *grpc.ClientConn) error {
			s, err := weftv1.NewControlPlaneClient(c).Watch(ctx, &weftv1.WatchRequest{Kind: "Broker"})
			if err != nil {
				return err
			}
			_, err = s.Recv() // the initial ADDED of the broker
			return err
		},
		"WatchContract": func(c *grpc.ClientConn) error {
			s, err := weftv1.NewContractServiceClient(c).WatchContract(ctx)
			if err != nil {
				return err
			}
			defer s.CloseSend()
			if err := s.Send(&weftv1.WatchContractRequest{ProcessId: "roles-test", Role: string(wire.RoleIngress)}); err != nil {
				return err
			}
			_, err = s.Recv() // the current contract
			return err
		},
		"Delete": func(c *grpc.ClientConn) error {
			_, err := weftv1.NewControlPlaneClient(c).Delete(ctx, &weftv1.DeleteRequest{Kind: "Broker", Namespace: "default", Name: "roles"})
			return err
		},
	}
	// In order: Apply creates what Get finds and Delete removes.
	order := []string{"Apply", "Get", "List", "Watch", "WatchContract", "Delete"}
	for _, tc := range []struct {
		token   string
		role    string
		allowed []string
		denied  string // in every PermissionDenied message
	}{
		{"adm1n", "admin", order, ""},
		{"legacy-admin", "admin (--auth-token-file)", order, ""},
		{"v1ewer", "viewer", []string{"Get", "List", "Watch"}, "the token's role viewer may only read (Get, List, Watch)"},
		{"dp-t0ken", "data-plane", []string{"WatchContract"}, "the token's role data-plane may only open the contract stream (WatchContract)"},
	} {
		t.Run(tc.role, func(t *testing.T) {
			// The broker exists for every role's Get, Watch and Delete.
			if err := calls["Apply"](dial("adm1n")); err != nil {
				t.Fatalf("admin Apply: %v", err)
			}
			conn := dial(tc.token)
			for _, m := range order {
				err := calls[m](conn)
				if slices.Contains(tc.allowed, m) {
					if err != nil {
						t.Errorf("%s %s: %v, want OK", tc.role, m, err)
					}
					continue
				}
				st, _ := status.FromError(err)
				if st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), tc.denied) || !strings.Contains(st.Message(), m+" needs a token of role") {
					t.Errorf("%s %s: %v, want PermissionDenied saying %q and what %s needs", tc.role, m, err, tc.denied, m)
				}
			}
		})
	}
	want := "rpc error: code = PermissionDenied desc = the token's role data-plane may only open the contract stream (WatchContract); Apply needs a token of role admin"
	if err := calls["Apply"](dial("dp-t0ken")); err == nil || err.Error() != want {
		t.Errorf("data-plane Apply:\n got %v\nwant %s", err, want)
	}
	for _, tok := range []string{"wrong", ""} {
		if err := calls["List"](dial(tok)); status.Code(err) != codes.Unauthenticated {
			t.Errorf("token %q: %v, want Unauthenticated", tok, err)
		}
	}
}

func TestReadTokensFile(t *testing.T) {
	for name, tc := range map[string]struct{ content, want string }{
		"unknown role": {"root s3cret\n", `:1: role "root" is not admin, viewer or data-plane`},
		"one field":    {"# c\nadmin\n", `:2: must be "role token" (2 fields separated by spaces), got 1 fields`},
		"three fields": {"admin s3cret extra\n", "got 3 fields"},
		"repeated":     {"admin s3cret\nviewer s3cret\n", ":2: the token of line 1 again: a token has one role"},
		"no token":     {"# nothing\n\n", "holds no token"},
		"empty":        {"", "holds no token"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := readTokensFile(writeFile(t, "tokens", tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("readTokensFile = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
	if _, err := readTokensFile(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
	// A token cannot be an admin's in --auth-token-file and another role's
	// in --auth-tokens-file.
	cfg := DefaultConfig()
	cfg.AuthTokenFile = writeFile(t, "token", "s3cret")
	cfg.AuthTokensFile = writeFile(t, "tokens", "viewer s3cret\n")
	if _, err := cfg.authTokens(); err == nil || !strings.Contains(err.Error(), "has the role viewer there") {
		t.Errorf("authTokens = %v", err)
	}
}
