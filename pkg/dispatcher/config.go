package dispatcher

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"

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
	// SessionTimeout is how long the group waits for a silent member before
	// moving its partitions to others (a crashed dispatcher).
	SessionTimeout time.Duration
	// Kafka says how to reach the cluster.
	Kafka kafka.Config
}

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
		SessionTimeout:            30 * time.Second,
		Kafka:                     kafka.DefaultConfig(),
	}
}

// AddFlags registers the dispatcher's flags (and the Kafka flags) on fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.ControlPlane, "control-plane", c.ControlPlane, "control plane gRPC address (host:port) [WEFT_CONTROL_PLANE]")
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", c.AuthTokenFile, "file holding the bearer token for the control plane [WEFT_AUTH_TOKEN_FILE]")
	fs.StringVar(&c.OpsAddr, "ops-addr", c.OpsAddr, "address serving /healthz, /readyz and /metrics (empty disables) [WEFT_OPS_ADDR]")
	fs.StringVar(&c.ProcessID, "process-id", c.ProcessID, "identity of this process towards the control plane [WEFT_PROCESS_ID]")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", c.MaxInFlight, "deliveries in flight per partition for unordered triggers [WEFT_MAX_IN_FLIGHT]")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long in-flight deliveries may finish on shutdown or revocation [WEFT_DRAIN_TIMEOUT]")
	fs.DurationVar(&c.DeadLetterRetryMaxBackoff, "dead-letter-retry-max-backoff", c.DeadLetterRetryMaxBackoff, "backoff cap when retrying an event whose dead-letter sink failed [WEFT_DEAD_LETTER_RETRY_MAX_BACKOFF]")
	fs.DurationVar(&c.CommitInterval, "commit-interval", c.CommitInterval, "how often finished offsets are committed [WEFT_COMMIT_INTERVAL]")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", c.SessionTimeout, "consumer group session timeout: how soon a crashed dispatcher's partitions move [WEFT_SESSION_TIMEOUT]")
	c.Kafka.AddFlags(fs)
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	if c.ControlPlane != "" {
		if _, _, err := net.SplitHostPort(c.ControlPlane); err != nil {
			return fmt.Errorf("--control-plane: %q is not host:port", c.ControlPlane)
		}
	}
	if c.OpsAddr != "" {
		if _, _, err := net.SplitHostPort(c.OpsAddr); err != nil {
			return fmt.Errorf("--ops-addr: %q is not host:port", c.OpsAddr)
		}
	}
	if c.ProcessID == "" {
		return errors.New("--process-id: must not be empty")
	}
	if c.MaxInFlight < 1 {
		return fmt.Errorf("--max-in-flight: %d must be at least 1", c.MaxInFlight)
	}
	if c.DrainTimeout <= 0 {
		return fmt.Errorf("--drain-timeout: %s must be positive", c.DrainTimeout)
	}
	if c.DeadLetterRetryMaxBackoff <= 0 {
		return fmt.Errorf("--dead-letter-retry-max-backoff: %s must be positive", c.DeadLetterRetryMaxBackoff)
	}
	if c.CommitInterval <= 0 {
		return fmt.Errorf("--commit-interval: %s must be positive", c.CommitInterval)
	}
	if c.SessionTimeout < 0 {
		return fmt.Errorf("--session-timeout: %s must not be negative", c.SessionTimeout)
	}
	return c.Kafka.Validate()
}

// authToken reads the token file ("" when none is configured).
func (c *Config) authToken() (string, error) {
	tok, err := wire.ReadTokenFile(c.AuthTokenFile)
	if err != nil {
		return "", fmt.Errorf("--auth-token-file: %w", err)
	}
	return tok, nil
}
