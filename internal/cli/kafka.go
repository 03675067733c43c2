package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/devkafka"
)

func init() { extraCommands = append(extraCommands, newKafkaCmd) }

// newKafkaCmd runs the development Kafka-protocol server on its own, for a
// cluster where no Kafka image can be had.
func newKafkaCmd(g *globals) *cobra.Command {
	cfg := devkafka.Config{Addr: "127.0.0.1:9092", DataDir: ".weft/kafka", DefaultPartitions: 3}
	c := &cobra.Command{
		Use:   "kafka",
		Short: "Run the development Kafka-protocol server (the one `weft dev` embeds) on its own",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := devkafka.Start(cfg)
			if err != nil {
				return err
			}
			defer e.Close()
			fmt.Fprintf(g.out, "kafka-protocol server listening on %s (advertised as %s), data dir %q\nready\n", e.ListenAddr(), e.Addr(), cfg.DataDir)
			<-cmd.Context().Done()
			fmt.Fprintln(g.out, "stopped")
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (host:port)")
	f.StringVar(&cfg.AdvertisedAddr, "advertised-addr", cfg.AdvertisedAddr, "host:port clients are told to connect to (default: the listen address)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory keeping topics, offsets and groups (empty: memory only)")
	f.IntVar(&cfg.DefaultPartitions, "default-partitions", cfg.DefaultPartitions, "partitions of auto-created topics")
	f.BoolVar(&cfg.SyncWrites, "sync-writes", cfg.SyncWrites, "fsync every produced batch before acknowledging it")
	return c
}
