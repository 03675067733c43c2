package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/cmdutil"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// globals are the streams every command writes to, and the flags every
// control-plane command shares (registered by serverFlags on just those
// commands, so the others do not show flags they ignore).
type globals struct {
	server    string
	tokenFile string
	tls       contract.TLS
	timeout   time.Duration
	out, errw io.Writer
	in        io.Reader
}

// Main runs the CLI with args and returns the process exit code.
func Main(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	root := NewRoot(in, out, errw)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(errw, "error: "+cmdutil.OneLine(err))
		return 1
	}
	return 0
}

// NewRoot builds the command tree.
func NewRoot(in io.Reader, out, errw io.Writer) *cobra.Command {
	g := &globals{out: out, errw: errw, in: in}
	root := &cobra.Command{
		Use:   "weft",
		Short: "Weft: a Kafka-backed CloudEvents broker that speaks the Knative Eventing API",
		Long: `Weft: a Kafka-backed CloudEvents broker that speaks the Knative Eventing API.

Every flag of every command can also be set by an environment variable:
WEFT_ and the flag's name in upper snake case (--server: WEFT_SERVER). A flag
given on the command line wins. WEFT_TOKEN holds the control plane's bearer
token itself, for when no --token-file is given.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Flags not given on the command line come from WEFT_* variables.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.ApplyEnv(cmd.Flags())
		},
	}
	root.SetOut(out)
	root.SetErr(errw)
	root.AddCommand(
		newApplyCmd(g), newGetCmd(g), newDescribeCmd(g), newDeleteCmd(g),
		newBrokerCmd(g), newTriggerCmd(g),
	)
	for _, add := range extraCommands {
		root.AddCommand(add(g))
	}
	annotateEnv(root)
	return root
}

// serverFlags registers the flags of commands that call the control plane.
func (g *globals) serverFlags(fs *pflag.FlagSet) {
	fs.StringVar(&g.server, "server", "127.0.0.1:9090", "control plane gRPC address")
	g.tls.AddFlags(fs)
	fs.StringVar(&g.tokenFile, "token-file", "", "file holding the control plane's bearer token (without it, $WEFT_TOKEN holds the token itself)")
	fs.DurationVar(&g.timeout, "request-timeout", 30*time.Second, "how long one control-plane call may take")
}

// annotateEnv names each flag's WEFT_* variable in the help of c and every
// command below it.
func annotateEnv(c *cobra.Command) {
	cmdutil.AnnotateEnv(c.Flags(), c.PersistentFlags())
	for _, sub := range c.Commands() {
		annotateEnv(sub)
	}
}

// extraCommands are registered by the files that implement them (send,
// display, watch, dev, ...), so adding a command touches only its own file.
var extraCommands []func(*globals) *cobra.Command

// dial connects to the control plane.
func (g *globals) dial() (weftv1.ControlPlaneClient, func(), error) {
	creds, err := g.tls.DialOption(nil)
	if err != nil {
		return nil, nil, err
	}
	opts := []grpc.DialOption{creds}
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
	if hint := tlsHint(err, g.tls.Enabled()); hint != "" {
		return fmt.Errorf("control plane at %s: %w (%s)", g.server, err, hint)
	}
	return err
}

// tlsHint says which flag to look at when a call failed on TLS ("" when
// err is not about TLS).
func tlsHint(err error, tlsOn bool) string {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return ""
	}
	msg := st.Message()
	switch {
	case strings.Contains(msg, "x509:"):
		return "the control plane's certificate is not trusted: set --control-plane-ca-file to the CA that signed it"
	case strings.Contains(msg, "client certificate"), strings.Contains(msg, "certificate required"), strings.Contains(msg, "bad certificate"):
		return "the control plane requires a client certificate it trusts: set --control-plane-cert-file and --control-plane-key-file"
	case !tlsOn && (strings.Contains(msg, "server preface") || strings.Contains(msg, "connection reset")):
		return "the control plane may serve TLS: set --control-plane-ca-file"
	}
	return ""
}

// namespaceFlag adds -n/--namespace.
func namespaceFlag(fs *pflag.FlagSet, ns *string) {
	fs.StringVarP(ns, "namespace", "n", "default", "namespace")
}
