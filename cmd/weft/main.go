// Command weft is Weft's CLI: resource commands against a control plane,
// event tools, and `weft dev`, the whole mesh in one process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/weft-dev/weft/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
