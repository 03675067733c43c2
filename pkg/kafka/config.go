package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kslog"
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
	fs.StringSliceVar(&c.BootstrapServers, "bootstrap-servers", c.BootstrapServers, "Kafka bootstrap servers (host:port, comma separated) [WEFT_BOOTSTRAP_SERVERS]")
	fs.StringVar(&c.ClientID, "kafka-client-id", c.ClientID, "Kafka client id")
	fs.BoolVar(&c.TLS, "kafka-tls", c.TLS, "connect to Kafka with TLS")
	fs.StringVar(&c.CAFile, "kafka-ca-file", c.CAFile, "PEM CA bundle for Kafka TLS")
	fs.StringVar(&c.SASLMechanism, "kafka-sasl-mechanism", c.SASLMechanism, "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&c.SASLUser, "kafka-sasl-user", c.SASLUser, "SASL user")
	fs.StringVar(&c.SASLPassword, "kafka-sasl-password", c.SASLPassword, "SASL password [WEFT_KAFKA_SASL_PASSWORD]")
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	if len(c.BootstrapServers) == 0 {
		return errors.New("--bootstrap-servers: at least one host:port is required")
	}
	for _, s := range c.BootstrapServers {
		if i := strings.LastIndexByte(s, ':'); i <= 0 || i == len(s)-1 {
			return fmt.Errorf("--bootstrap-servers: %q is not host:port", s)
		}
	}
	switch c.SASLMechanism {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return fmt.Errorf("--kafka-sasl-mechanism: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.SASLMechanism)
	}
	if c.SASLMechanism != "" && c.SASLUser == "" {
		return errors.New("--kafka-sasl-user: required with --kafka-sasl-mechanism")
	}
	return nil
}

// Opts returns the franz-go options for c, logging through logger (nil: no logs).
func (c *Config) Opts(logger *slog.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.BootstrapServers...)}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	if logger != nil {
		opts = append(opts, kgo.WithLogger(kslog.New(logger.With("component", "kafka"))))
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
