package cli

import (
	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/cmdutil"
)

func init() { extraCommands = append(extraCommands, newProbeCmd) }

// newProbeCmd checks a URL or TCP port once: the HEALTHCHECK of images built
// FROM scratch, which have no curl or shell.
func newProbeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "probe URL",
		Short: "Exit 0 when an http(s) URL answers 200 or a tcp://host:port accepts a connection",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Probe(cmd.Context(), args[0])
		},
	}
}
