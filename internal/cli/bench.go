package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/bench"
)

func init() { extraCommands = append(extraCommands, newBenchCmd) }

func newBenchCmd(g *globals) *cobra.Command {
	cfg := bench.DefaultConfig()
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure Weft (weft dev against weft kafka, as processes) beside a bare HTTP server, an HTTP -> Kafka floor and a raw Kafka producer",
		Long: `Starts weft kafka, weft dev and a bare HTTP 202 server as processes on
loopback, drives them with keep-alive HTTP connections, counts every event at
its own subscribers, and prints markdown tables: throughput against the
baselines measured in the same run (bare HTTP, a minimal HTTP -> produce
acks=all -> 202 server, raw producers), latency percentiles, lost and duplicate
events, CPU and memory, and how they grow with triggers, brokers and payload.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := bench.Bench(cmd.Context(), cfg, g.errw)
			if err != nil {
				return err
			}
			rep.Markdown(g.out)
			if n := rep.Lost(); n > 0 {
				return fmt.Errorf("%d acknowledged events were never delivered", n)
			}
			return nil
		},
	}
	cfg.AddFlags(c.Flags())
	var addr string
	bare := &cobra.Command{
		Use:    "bare-server",
		Short:  "The HTTP ceiling: a server that answers 202 to everything (started by weft bench)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.ServeBare(cmd.Context(), addr, g.out)
		},
	}
	bare.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address")
	c.AddCommand(bare)
	floorCfg := bench.FloorConfig{Addr: "127.0.0.1:0", Bootstrap: "127.0.0.1:9092", Topic: "weft.bench.floor"}
	floor := &cobra.Command{
		Use:    "floor-server",
		Short:  "The architecture's floor: HTTP -> one Kafka record per event (a batch split into its events), acks=all -> 202 (started by weft bench)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.ServeFloor(cmd.Context(), floorCfg, g.out)
		},
	}
	floor.Flags().StringVar(&floorCfg.Addr, "addr", floorCfg.Addr, "listen address")
	floor.Flags().StringVar(&floorCfg.Bootstrap, "bootstrap", floorCfg.Bootstrap, "Kafka bootstrap server (host:port)")
	floor.Flags().StringVar(&floorCfg.Topic, "topic", floorCfg.Topic, "topic every record goes to (it must exist)")
	c.AddCommand(floor)
	return c
}
