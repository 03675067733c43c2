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
	if err := ingress.Run(ctx, cfg, ingress.WithLogger(env.Logger), ingress.WithListener(env.HTTP)); err != nil {
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
	if err := dispatcher.Run(ctx, cfg, dispatcher.WithLogger(env.Logger)); err != nil {
		return fmt.Errorf("dispatcher: %w", err)
	}
	return nil
}
