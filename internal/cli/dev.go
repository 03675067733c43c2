package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/dev"
	"github.com/weft-dev/weft/pkg/observability"
)

func init() { extraCommands = append(extraCommands, newDevCmd) }

func newDevCmd(g *globals) *cobra.Command {
	cfg := dev.DefaultConfig()
	logCfg := observability.LogConfig{Format: "text", Level: "warn"}
	c := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole mesh in one process: embedded Kafka-protocol server, control plane, ingress, dispatcher",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := observability.NewLogger(g.errw, logCfg)
			if err != nil {
				return err
			}
			// One set-up for the whole process: every component's spans
			// and metrics go out as service weft-dev.
			tel, err := observability.SetupTelemetry(cmd.Context(), "weft-dev", logger)
			if err != nil {
				return err
			}
			err = dev.Run(cmd.Context(), cfg, logger, tel, g.out, nil)
			if serr := tel.Shutdown(context.Background()); serr != nil {
				logger.Warn("telemetry not flushed", "err", serr)
			}
			return err
		},
	}
	cfg.AddFlags(c.Flags())
	c.Flags().StringVar(&logCfg.Format, "log-format", logCfg.Format, "log format: text or json")
	c.Flags().StringVar(&logCfg.Level, "log-level", logCfg.Level, "log level: debug, info, warn or error")
	return c
}
