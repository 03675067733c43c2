package kafka

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kslog"
	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/internal/flagcheck"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
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
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that require one (mTLS).
	CertFile, KeyFile string
	// CAPEM, CertPEM and KeyPEM are the same in memory (a KafkaSink's or a
	// KafkaSource's credentials from a Secret); a file and its PEM may not
	// both be set.
	CAPEM, CertPEM, KeyPEM string
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
	fs.StringVar(&c.CertFile, "kafka-cert-file", c.CertFile, "PEM client certificate for Kafka TLS (brokers requiring client certificates); needs --kafka-key-file")
	fs.StringVar(&c.KeyFile, "kafka-key-file", c.KeyFile, "PEM private key of --kafka-cert-file")
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
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, fmt.Errorf("--kafka-cert-file and --kafka-key-file: set both or neither, got cert %q and key %q", c.CertFile, c.KeyFile))
	}
	if c.CertFile != "" && !c.TLS {
		errs = append(errs, fmt.Errorf("--kafka-cert-file: must come with --kafka-tls, got %q without it", c.CertFile))
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
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	var mech sasl.Mechanism
	switch c.SASLMechanism {
	case "":
	case "PLAIN":
		mech = plain.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsMechanism()
	case "SCRAM-SHA-256":
		mech = scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		mech = scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha512Mechanism()
	default:
		return nil, fmt.Errorf("%w: SASL mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", ErrInvalidAuth, c.SASLMechanism)
	}
	if c.TLS || mech != nil {
		w := newWatch(c, logger)
		if mech != nil {
			mech = w.wrap(mech)
			opts = append(opts, kgo.SASL(mech))
		}
		opts = append(opts, kgo.WithHooks(w))
	}
	return opts, nil
}

// ForCluster is the Config of another Kafka cluster (a KafkaSink's or a
// KafkaSource's) reached through seeds with auth (nil: plaintext, no SASL):
// c's client id, none of c's TLS or SASL settings (those credentials are
// Weft's own cluster's, never sent to another).
func (c *Config) ForCluster(seeds []string, auth *weftv1.KafkaAuth) Config {
	out := Config{BootstrapServers: slices.Clone(seeds), ClientID: c.ClientID}
	if auth != nil {
		out.TLS = auth.GetTls()
		out.CAPEM, out.CertPEM, out.KeyPEM = auth.GetCaCert(), auth.GetCert(), auth.GetKey()
		out.SASLMechanism, out.SASLUser, out.SASLPassword = auth.GetSaslMechanism(), auth.GetSaslUser(), auth.GetSaslPassword()
	}
	return out
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

// ClusterKey names a set of bootstrap servers whatever their order and
// repetitions, and the credentials used to reach them: the servers alone
// without auth, else followed by AuthKey's digest (never the secrets), so
// clients with other credentials for the same cluster are told apart.
func ClusterKey(seeds []string, auth *weftv1.KafkaAuth) string {
	s := slices.Clone(seeds)
	slices.Sort(s)
	key := strings.Join(slices.Compact(s), ",")
	if a := AuthKey(auth); a != "" {
		key += " (auth " + a + ")"
	}
	return key
}

// AuthKey is a digest of a (never the secrets themselves), "" when a asks
// for nothing: clients reaching the same cluster with other credentials are
// told apart by it.
func AuthKey(a *weftv1.KafkaAuth) string {
	if a == nil || proto.Size(a) == 0 {
		return ""
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(a)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}
