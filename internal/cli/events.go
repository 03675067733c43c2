package cli

import (
	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/display"
	"github.com/weft-dev/weft/internal/send"
	"github.com/weft-dev/weft/internal/watch"
)

func init() { extraCommands = append(extraCommands, newDisplayCmd, newWatchCmd) }

func newDisplayCmd(g *globals) *cobra.Command {
	cfg := display.DefaultConfig()
	c := &cobra.Command{
		Use:   "display",
		Short: "Run a sink that prints every CloudEvent it receives (like Knative's event_display)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			return display.Run(cmd.Context(), cfg, g.out)
		},
	}
	cfg.AddFlags(c.Flags())
	return c
}

func newWatchCmd(g *globals) *cobra.Command {
	cfg := watch.DefaultConfig()
	c := &cobra.Command{
		Use:   "watch --broker B [-n NS]",
		Short: "Tail a broker's events live from its Kafka topic (commits no offsets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			return watch.Run(cmd.Context(), cfg, g.out)
		},
	}
	cfg.AddFlags(c.Flags())
	return c
}

func init() { extraCommands = append(extraCommands, newSendCmd) }

func newSendCmd(g *globals) *cobra.Command {
	cfg := send.DefaultConfig()
	c := &cobra.Command{
		Use:   "send --broker B [-n NS] --type T --source S [--data D | --data-file F]",
		Short: "Build a CloudEvent and post it to a broker's ingress (or any --url)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			return send.Run(cmd.Context(), cfg, g.out, g.errw)
		},
	}
	cfg.AddFlags(c.Flags())
	return c
}
