package cli

import (
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
			return dev.Run(cmd.Context(), cfg, logger, g.out, nil)
		},
	}
	cfg.AddFlags(c.Flags())
	c.Flags().StringVar(&logCfg.Format, "log-format", logCfg.Format, "log format: text or json")
	c.Flags().StringVar(&logCfg.Level, "log-level", logCfg.Level, "log level: debug, info, warn or error")
	return c
}
