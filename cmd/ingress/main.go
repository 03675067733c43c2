// Command ingress receives CloudEvents over HTTP and appends them to Kafka.
package main

import (
	"context"
	"log/slog"

	"github.com/weft-dev/weft/internal/cmdutil"
	"github.com/weft-dev/weft/pkg/ingress"
)

func main() {
	cfg := ingress.DefaultConfig()
	cmdutil.Main("ingress", cfg.AddFlags, func(ctx context.Context, logger *slog.Logger) error {
		return ingress.Run(ctx, cfg, ingress.WithLogger(logger))
	})
}
