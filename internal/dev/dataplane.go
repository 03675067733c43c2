package dev

import (
	"context"
	"fmt"

	"github.com/weft-dev/weft/pkg/dispatcher"
	"github.com/weft-dev/weft/pkg/ingress"
)

// runIngress runs the embedded ingress on env.HTTP, following the control
// plane's contract stream like a standalone ingress does.
func runIngress(ctx context.Context, env dataPlaneEnv) error {
	cfg := ingress.DefaultConfig()
	cfg.Kafka = env.Kafka
	cfg.ControlPlane = env.ControlPlane
	cfg.OpsAddr = ""
	cfg.ProcessID = "weft-dev-ingress"
	opts := []ingress.Option{ingress.WithLogger(env.Logger), ingress.WithListener(env.HTTP)}
	if tel := env.Telemetry; tel != nil {
		opts = append(opts, ingress.WithMetrics(tel.Metrics), ingress.WithTracerProvider(tel.TracerProvider))
	}
	if err := ingress.Run(ctx, cfg, opts...); err != nil {
		return fmt.Errorf("ingress: %w", err)
	}
	return nil
}

// runDispatcher runs the embedded dispatcher.
func runDispatcher(ctx context.Context, env dataPlaneEnv) error {
	cfg := dispatcher.DefaultConfig()
	cfg.Kafka = env.Kafka
	cfg.ControlPlane = env.ControlPlane
	cfg.OpsAddr = ""
	cfg.ProcessID = "weft-dev-dispatcher"
	opts := []dispatcher.Option{dispatcher.WithLogger(env.Logger)}
	if tel := env.Telemetry; tel != nil {
		opts = append(opts, dispatcher.WithMetrics(tel.Metrics), dispatcher.WithTracerProvider(tel.TracerProvider))
	}
	if err := dispatcher.Run(ctx, cfg, opts...); err != nil {
		return fmt.Errorf("dispatcher: %w", err)
	}
	return nil
}
