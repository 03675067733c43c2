// Command ingress receives CloudEvents over HTTP and appends them to Kafka.
package main

import (
	"context"
	"log/slog"

	"github.com/weft-dev/weft/internal/cmdutil"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/observability"
)

func main() {
	cfg := ingress.DefaultConfig()
	cmdutil.Main("ingress", cfg.AddFlags, func(ctx context.Context, logger *slog.Logger, tel *observability.Telemetry) error {
		return ingress.Run(ctx, cfg, ingress.WithLogger(logger),
			ingress.WithMetrics(tel.Metrics), ingress.WithTracerProvider(tel.TracerProvider))
	})
}
