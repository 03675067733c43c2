// Command dispatcher runs a Weft dispatcher: it consumes broker topics,
// filters events per trigger and delivers them to subscribers.
package main

import (
	"context"
	"log/slog"

	"github.com/weft-dev/weft/internal/cmdutil"
	"github.com/weft-dev/weft/pkg/dispatcher"
	"github.com/weft-dev/weft/pkg/observability"
)

func main() {
	cfg := dispatcher.DefaultConfig()
	cmdutil.Main("dispatcher", cfg.AddFlags, func(ctx context.Context, logger *slog.Logger, tel *observability.Telemetry) error {
		return dispatcher.Run(ctx, cfg, dispatcher.WithLogger(logger),
			dispatcher.WithMetrics(tel.Metrics), dispatcher.WithTracerProvider(tel.TracerProvider))
	})
}
