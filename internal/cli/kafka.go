package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/flagcheck"
)

func init() { extraCommands = append(extraCommands, newKafkaCmd) }

// newKafkaCmd runs the development Kafka-protocol server on its own, for a
// cluster where no Kafka image can be had.
func newKafkaCmd(g *globals) *cobra.Command {
	cfg := devkafka.Config{Addr: "127.0.0.1:9092", DataDir: ".weft/kafka", DefaultPartitions: 3}
	var users []string
	c := &cobra.Command{
		Use:   "kafka",
		Short: "Run the development Kafka-protocol server (the one `weft dev` embeds) on its own",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := kafkaSecurity(&cfg, users); err != nil {
				return err
			}
			e, err := devkafka.Start(cfg)
			if err != nil {
				return err
			}
			defer e.Close()
			fmt.Fprintf(g.out, "kafka-protocol server listening on %s (advertised as %s), data dir %q\n", e.ListenAddr(), e.Addr(), cfg.DataDir)
			if cfg.TLSCertFile != "" {
				fmt.Fprintf(g.out, "  TLS:  on (certificate %s); clients need --kafka-tls --kafka-ca-file <CA>\n", cfg.TLSCertFile)
			}
			if len(cfg.Users) > 0 {
				names := make([]string, len(cfg.Users))
				for i, u := range cfg.Users {
					names[i] = u.Name
				}
				fmt.Fprintf(g.out, "  SASL: required, users %s, mechanisms %s\n", strings.Join(names, ", "), strings.Join(devkafka.Mechanisms, ", "))
			}
			fmt.Fprintln(g.out, "ready")
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
	f.StringVar(&cfg.TLSCertFile, "tls-cert-file", cfg.TLSCertFile, `PEM certificate (chain) to serve TLS only with; re-read when it changes ("": plaintext)`)
	f.StringVar(&cfg.TLSKeyFile, "tls-key-file", cfg.TLSKeyFile, "PEM private key of --tls-cert-file")
	f.StringArrayVar(&users, "sasl-user", users, "require SASL and add this user, as name:password, usable with SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN (repeatable; replaces users persisted in --data-dir; prefer the environment variable to the command line)")
	return c
}

// kafkaSecurity checks the TLS flags of `weft kafka` and parses its
// --sasl-user values into cfg.
func kafkaSecurity(cfg *devkafka.Config, users []string) error {
	var errs []error
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		errs = append(errs, fmt.Errorf("--tls-cert-file and --tls-key-file: set both or neither, got cert %q and key %q", cfg.TLSCertFile, cfg.TLSKeyFile))
	}
	cfg.Users = nil
	for _, v := range users {
		u, err := devkafka.ParseUser(v)
		if err != nil {
			name, _, _ := strings.Cut(v, ":")
			errs = append(errs, flagcheck.Errorf("--sasl-user", name+":***", "be name:password with a non-empty name and password"))
			continue
		}
		cfg.Users = append(cfg.Users, u)
	}
	return flagcheck.Join(errs...)
}
