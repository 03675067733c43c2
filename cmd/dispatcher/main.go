// Command dispatcher runs a Weft dispatcher: it consumes broker topics,
// filters events per trigger and delivers them to subscribers.
package main

import (
	"context"
	"log/slog"

	"github.com/weft-dev/weft/internal/cmdutil"
	"github.com/weft-dev/weft/pkg/dispatcher"
)

func main() {
	cfg := dispatcher.DefaultConfig()
	cmdutil.Main("dispatcher", cfg.AddFlags, func(ctx context.Context, logger *slog.Logger) error {
		return dispatcher.Run(ctx, cfg, dispatcher.WithLogger(logger))
	})
}
