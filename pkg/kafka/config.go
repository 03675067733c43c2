package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/weft-dev/weft/internal/flagcheck"
)

// Config says how to reach a Kafka cluster.
type Config struct {
	// BootstrapServers are host:port seeds.
	BootstrapServers []string
	// ClientID is sent to the brokers (defaults to "weft").
	ClientID string
	// TLS enables TLS; CAFile adds a CA bundle to the system pool.
	TLS    bool
	CAFile string
	// SASLMechanism is "", "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512".
	SASLMechanism string
	SASLUser      string
	SASLPassword  string
}

// DefaultConfig points at a local Kafka.
func DefaultConfig() Config {
	return Config{BootstrapServers: []string{"127.0.0.1:9092"}, ClientID: "weft"}
}

// AddFlags registers the Kafka flags on fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&c.BootstrapServers, "bootstrap-servers", c.BootstrapServers, "Kafka bootstrap servers (host:port, comma separated)")
	fs.StringVar(&c.ClientID, "kafka-client-id", c.ClientID, "Kafka client id")
	fs.BoolVar(&c.TLS, "kafka-tls", c.TLS, "connect to Kafka with TLS")
	fs.StringVar(&c.CAFile, "kafka-ca-file", c.CAFile, "PEM CA bundle for Kafka TLS")
	fs.StringVar(&c.SASLMechanism, "kafka-sasl-mechanism", c.SASLMechanism, "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&c.SASLUser, "kafka-sasl-user", c.SASLUser, "SASL user")
	fs.StringVar(&c.SASLPassword, "kafka-sasl-password", c.SASLPassword, "SASL password (prefer the environment variable to a command-line flag)")
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	errs := []error{flagcheck.HostPorts("--bootstrap-servers", c.BootstrapServers)}
	if c.SASLMechanism != "" {
		errs = append(errs, flagcheck.OneOf("--kafka-sasl-mechanism", c.SASLMechanism, "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"))
		if c.SASLUser == "" {
			errs = append(errs, fmt.Errorf("--kafka-sasl-user: must be set with --kafka-sasl-mechanism %s", c.SASLMechanism))
		}
	}
	if c.CAFile != "" && !c.TLS {
		errs = append(errs, fmt.Errorf("--kafka-ca-file: must come with --kafka-tls, got %q without it", c.CAFile))
	}
	return flagcheck.Join(errs...)
}

// Opts returns the franz-go options for c, logging through logger (nil: no logs).
func (c *Config) Opts(logger *slog.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.BootstrapServers...)}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	if logger != nil {
		opts = append(opts, kgo.WithLogger(kslog.New(slog.New(quietHandler{logger.With("component", "kafka").Handler()}))))
	}
	if c.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("read kafka CA file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("read kafka CA file %s: no PEM certificate", c.CAFile)
			}
			tc.RootCAs = pool
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch c.SASLMechanism {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha512Mechanism()))
	}
	return opts, nil
}

// ForCluster is the Config of another Kafka cluster (a KafkaSink's or a
// KafkaSource's) reached through seeds: c's client id, none of c's TLS or
// SASL settings (those credentials are Weft's own cluster's, not its).
func (c *Config) ForCluster(seeds []string) Config {
	return Config{BootstrapServers: slices.Clone(seeds), ClientID: c.ClientID}
}

// NewClient builds a franz-go client from c plus extra options.
func (c *Config) NewClient(logger *slog.Logger, extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := c.Opts(logger)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("create kafka client: %w", err)
	}
	return cl, nil
}

// quietHandler passes on franz-go's warnings and errors, and its info lines
// only when the process logs at debug level: at info, franz-go narrates every
// transaction, join and metadata refresh, which drowns the service's own log.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if l < slog.LevelWarn && !h.Handler.Enabled(ctx, slog.LevelDebug) {
		return false
	}
	return h.Handler.Enabled(ctx, l)
}

func (h quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(as)}
}
func (h quietHandler) WithGroup(g string) slog.Handler { return quietHandler{h.Handler.WithGroup(g)} }
