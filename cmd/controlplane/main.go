// Command controlplane runs a Weft control-plane replica: the resource API,
// the state on a compacted Kafka topic (or, with --store kubernetes, custom
// resources on the Kubernetes API), and the data-plane contract stream.
package main

import (
	"context"
	"log/slog"

	"github.com/weft-dev/weft/internal/cmdutil"
	"github.com/weft-dev/weft/pkg/controlplane"
	"github.com/weft-dev/weft/pkg/controlplane/kubemode"
	"github.com/weft-dev/weft/pkg/observability"
)

func main() {
	cfg := controlplane.DefaultConfig()
	cmdutil.Main("controlplane", cfg.AddFlags, func(ctx context.Context, logger *slog.Logger, tel *observability.Telemetry) error {
		run := controlplane.Run
		if cfg.Store == controlplane.StoreKubernetes {
			run = kubemode.Run
		}
		return run(ctx, cfg, controlplane.WithLogger(logger),
			controlplane.WithMetrics(tel.Metrics), controlplane.WithTracerProvider(tel.TracerProvider))
	})
}
