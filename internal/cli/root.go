package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// globals are the flags every control-plane command shares.
type globals struct {
	server    string
	tokenFile string
	timeout   time.Duration
	out, errw io.Writer
	in        io.Reader
}

// Main runs the CLI with args and returns the process exit code.
func Main(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	root := NewRoot(in, out, errw)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(errw, "error: "+oneLine(err))
		return 1
	}
	return 0
}

// oneLine renders err as the single line the user sees.
func oneLine(err error) string {
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s (%s)", st.Message(), st.Code())
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// NewRoot builds the command tree.
func NewRoot(in io.Reader, out, errw io.Writer) *cobra.Command {
	g := &globals{out: out, errw: errw, in: in}
	root := &cobra.Command{
		Use:           "weft",
		Short:         "Weft: a Kafka-backed CloudEvents broker that speaks the Knative Eventing API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errw)
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", envOr("WEFT_SERVER", "127.0.0.1:9090"), "control plane gRPC address [WEFT_SERVER]")
	pf.StringVar(&g.tokenFile, "token-file", os.Getenv("WEFT_TOKEN_FILE"), "file holding the control plane's bearer token [WEFT_TOKEN_FILE; WEFT_TOKEN holds the token itself]")
	pf.DurationVar(&g.timeout, "timeout", 30*time.Second, "timeout of each control-plane call")
	root.AddCommand(
		newApplyCmd(g), newGetCmd(g), newDescribeCmd(g), newDeleteCmd(g),
		newBrokerCmd(g), newTriggerCmd(g),
	)
	for _, add := range extraCommands {
		root.AddCommand(add(g))
	}
	return root
}

// extraCommands are registered by the files that implement them (send,
// display, watch, dev, ...), so adding a command touches only its own file.
var extraCommands []func(*globals) *cobra.Command

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// dial connects to the control plane.
func (g *globals) dial() (weftv1.ControlPlaneClient, func(), error) {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	tok := os.Getenv("WEFT_TOKEN")
	if g.tokenFile != "" {
		var err error
		if tok, err = wire.ReadTokenFile(g.tokenFile); err != nil {
			return nil, nil, fmt.Errorf("--token-file: %w", err)
		}
	}
	if tok != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(wire.BearerToken(tok)))
	}
	conn, err := grpc.NewClient(g.server, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to control plane %s: %w", g.server, err)
	}
	return weftv1.NewControlPlaneClient(conn), func() { conn.Close() }, nil
}

// call runs fn with a dialled client and the per-call timeout.
func (g *globals) call(ctx context.Context, fn func(context.Context, weftv1.ControlPlaneClient) error) error {
	cl, closeFn, err := g.dial()
	if err != nil {
		return err
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	err = fn(ctx, cl)
	if st, ok := status.FromError(err); ok && st.Code().String() == "Unavailable" && strings.Contains(st.Message(), "connection refused") {
		return fmt.Errorf("cannot reach the control plane at %s (is `weft dev` running? set --server or WEFT_SERVER)", g.server)
	}
	return err
}

// namespaceFlag adds -n/--namespace.
func namespaceFlag(fs *pflag.FlagSet, ns *string) {
	fs.StringVarP(ns, "namespace", "n", "default", "namespace")
}

var errUsage = errors.New("usage")
