package dispatcher

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/wire"
)

// Config is everything a dispatcher process needs to run.
type Config struct {
	// ControlPlane is the control plane's gRPC address (host:port). Empty
	// runs without a contract stream: contracts then come only from
	// ApplyContract calls (an embedding such as `weft dev`, or tests).
	ControlPlane string
	// AuthTokenFile holds the bearer token sent to the control plane.
	AuthTokenFile string
	// ControlPlaneTLS dials the control plane over TLS (mTLS with a client
	// certificate) when set.
	ControlPlaneTLS contract.TLS
	// CAFile holds PEM CA certificates trusted, besides the system's, when
	// delivering to https destinations ("" : the system's only).
	CAFile string
	// OpsAddr serves /healthz, /readyz and /metrics ("" disables it).
	OpsAddr string
	// ProcessID identifies this process to the control plane.
	ProcessID string
	// MaxInFlight bounds concurrent deliveries per partition for unordered
	// triggers (a trigger's own max_in_flight overrides it).
	MaxInFlight int
	// DrainTimeout bounds how long in-flight deliveries may run on shutdown,
	// on a trigger's removal and on partition revocation before they are
	// abandoned (uncommitted, so redelivered later).
	DrainTimeout time.Duration
	// DeadLetterRetryMaxBackoff caps the backoff between retries of a record
	// whose dead-letter sink failed.
	DeadLetterRetryMaxBackoff time.Duration
	// CommitInterval is how often finished offsets are committed.
	CommitInterval time.Duration
	// RetryTopicAfter moves an event whose next retry is due this far
	// ahead or further to the broker's retry topic, so its partition commits
	// past it while it waits (unordered triggers; ordered ones wait in
	// place to keep their order). 0 moves no event there (those already
	// there are still delivered).
	RetryTopicAfter time.Duration
	// SessionTimeout is how long the group waits for a silent member before
	// moving its partitions to others (a crashed dispatcher).
	SessionTimeout time.Duration
	// StatsInterval is how often the egresses' delivery counters that
	// changed are reported to the control plane (its console shows them).
	StatsInterval time.Duration
	// HTTPClient is what deliveries are sent with: HTTPClientFast
	// (fasthttp) or HTTPClientNetHTTP (Go's net/http: HTTP/2 with TLS
	// subscribers that offer it, at more CPU per delivery).
	HTTPClient string
	// Kafka says how to reach the cluster.
	Kafka kafka.Config
}

// The values of Config.HTTPClient (--http-client).
const (
	HTTPClientFast    = "fasthttp"
	HTTPClientNetHTTP = "net/http"
)

// DefaultConfig returns the defaults the flags start from.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "dispatcher"
	}
	return Config{
		ControlPlane:              "127.0.0.1:9090",
		OpsAddr:                   "127.0.0.1:8082",
		ProcessID:                 host + "-" + strconv.Itoa(os.Getpid()),
		MaxInFlight:               100,
		DrainTimeout:              20 * time.Second,
		DeadLetterRetryMaxBackoff: 30 * time.Second,
		CommitInterval:            time.Second,
		RetryTopicAfter:           5 * time.Second,
		SessionTimeout:            30 * time.Second,
		StatsInterval:             5 * time.Second,
		HTTPClient:                HTTPClientFast,
		Kafka:                     kafka.DefaultConfig(),
	}
}

// AddFlags registers the dispatcher's flags (and the Kafka flags) on fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.ControlPlane, "control-plane", c.ControlPlane, `gRPC address of the control plane ("" runs without one)`)
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", c.AuthTokenFile, "file holding the bearer token presented to the control plane")
	c.ControlPlaneTLS.AddFlags(fs)
	fs.StringVar(&c.CAFile, "ca-file", c.CAFile, `PEM CA certificates trusted, besides the system's, when delivering to https subscribers, reply and dead-letter sinks ("" : the system's only)`)
	fs.StringVar(&c.OpsAddr, "ops-addr", c.OpsAddr, `address of /healthz, /readyz and /metrics ("" disables)`)
	fs.StringVar(&c.ProcessID, "process-id", c.ProcessID, "identity of this process towards the control plane")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", c.MaxInFlight, "deliveries in flight per partition for unordered triggers")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long in-flight deliveries may finish on shutdown or revocation")
	fs.DurationVar(&c.DeadLetterRetryMaxBackoff, "dead-letter-retry-max-backoff", c.DeadLetterRetryMaxBackoff, "backoff cap when retrying an event whose dead-letter sink failed")
	fs.DurationVar(&c.CommitInterval, "commit-interval", c.CommitInterval, "how often finished offsets are committed")
	fs.DurationVar(&c.RetryTopicAfter, "retry-topic-after", c.RetryTopicAfter, "an unordered trigger's event whose next retry is due this far ahead waits in the broker's retry topic, so its partition commits past it (0: retries wait in place; events already in the retry topic are still delivered)")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", c.SessionTimeout, "consumer group session timeout: how soon a crashed dispatcher's partitions move (0: the client's default)")
	fs.DurationVar(&c.StatsInterval, "stats-interval", c.StatsInterval, "how often the triggers' delivery counters that changed are reported to the control plane (its console shows them)")
	fs.StringVar(&c.HTTPClient, "http-client", c.HTTPClient, `what deliveries are sent with: fasthttp (HTTP/1.1, the least CPU per delivery) or net/http (Go's client: HTTP/2 with TLS subscribers that offer it, gzip); net/http is used whatever this says when HTTP_PROXY or HTTPS_PROXY is set`)
	c.Kafka.AddFlags(fs)
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	return flagcheck.Join(
		flagcheck.OptionalHostPort("--control-plane", c.ControlPlane),
		c.ControlPlaneTLS.Validate(),
		flagcheck.OptionalHostPort("--ops-addr", c.OpsAddr),
		flagcheck.Required("--process-id", c.ProcessID),
		flagcheck.AtLeast("--max-in-flight", c.MaxInFlight, 1),
		flagcheck.Positive("--drain-timeout", c.DrainTimeout),
		flagcheck.Positive("--dead-letter-retry-max-backoff", c.DeadLetterRetryMaxBackoff),
		flagcheck.Positive("--commit-interval", c.CommitInterval),
		flagcheck.AtLeast("--retry-topic-after", c.RetryTopicAfter, 0),
		flagcheck.AtLeast("--session-timeout", c.SessionTimeout, 0),
		flagcheck.Positive("--stats-interval", c.StatsInterval),
		flagcheck.OneOf("--http-client", c.HTTPClient, HTTPClientFast, HTTPClientNetHTTP),
		c.Kafka.Validate(),
	)
}

// authToken reads the token file ("" when none is configured).
func (c *Config) authToken() (string, error) {
	tok, err := wire.ReadTokenFile(c.AuthTokenFile)
	if err != nil {
		return "", fmt.Errorf("--auth-token-file: %w", err)
	}
	return tok, nil
}
