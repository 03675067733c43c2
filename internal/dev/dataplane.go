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
	if t := env.TLS; t != nil {
		cfg.HTTPAddr, cfg.HTTPSAddr = "", env.HTTP.Addr().String()
		cfg.TLSCertFile, cfg.TLSKeyFile = t.ServerCert, t.ServerKey
		cfg.ControlPlaneTLS = t.clientFiles()
		opts = []ingress.Option{ingress.WithLogger(env.Logger), ingress.WithTLSListener(env.HTTP)}
	}
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
	if t := env.TLS; t != nil {
		cfg.CAFile = t.CAFile // brokers and channels are https:// addresses
		cfg.ControlPlaneTLS = t.clientFiles()
	}
	opts := []dispatcher.Option{dispatcher.WithLogger(env.Logger)}
	if tel := env.Telemetry; tel != nil {
		opts = append(opts, dispatcher.WithMetrics(tel.Metrics), dispatcher.WithTracerProvider(tel.TracerProvider))
	}
	if err := dispatcher.Run(ctx, cfg, opts...); err != nil {
		return fmt.Errorf("dispatcher: %w", err)
	}
	return nil
}
