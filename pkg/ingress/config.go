package ingress

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/kafka"
)

// Config is everything the ingress process is configured with. Every field
// has a flag (AddFlags) and, through cmdutil.ApplyEnv, a WEFT_* environment variable.
type Config struct {
	// HTTPAddr is where events are received over plain HTTP ("" turns
	// plain HTTP off; then HTTPSAddr must be set).
	HTTPAddr string
	// HTTPSAddr, when set, receives events over HTTPS too, with the
	// certificate of TLSCertFile and TLSKeyFile (re-read when they change).
	HTTPSAddr   string
	TLSCertFile string
	TLSKeyFile  string
	// OpsAddr serves /healthz, /readyz and /metrics ("" disables it).
	OpsAddr string
	// ControlPlane is the gRPC address of the control plane whose contract
	// stream the ingress follows ("" disables it: contracts then come only
	// from ApplyContract calls, as when a process embeds the ingress).
	ControlPlane string
	// AuthTokenFile holds the bearer token presented to the control plane.
	AuthTokenFile string
	// ControlPlaneTLS dials the control plane over TLS (mTLS with a client
	// certificate) when set.
	ControlPlaneTLS contract.TLS
	// MaxEventBytes bounds one event: the body of a binary or structured
	// request, each event of a batch.
	MaxEventBytes int64
	// MaxBatchBytes bounds the body of a batch request, MaxBatchEvents the
	// number of events in it.
	MaxBatchBytes  int64
	MaxBatchEvents int
	// ProduceTimeout bounds how long a request waits for Kafka to
	// acknowledge its records before it is answered 503.
	ProduceTimeout time.Duration
	// MaxBufferedRecords and MaxBufferedBytes bound the producer buffer;
	// when it is full, requests are answered 503 at once.
	MaxBufferedRecords int
	MaxBufferedBytes   int64
	// MaxInFlight bounds the requests handled at once (each may buffer up
	// to MaxEventBytes); requests above it are answered 503 at once.
	MaxInFlight int
	// ProduceLinger is how long a partition waits for more records before a
	// batch is sent (0: send at once; batches still form while requests are
	// in flight).
	ProduceLinger time.Duration
	// Compression is the batch compression: none, gzip, snappy, lz4 or zstd.
	Compression string
	// KafkaCheckInterval is how often Kafka reachability is checked.
	KafkaCheckInterval time.Duration
	// DrainTimeout bounds the graceful shutdown.
	DrainTimeout time.Duration
	// ProcessID identifies this process to the control plane.
	ProcessID string
	// OIDCIssuers are the issuers whose tokens senders may present to the
	// entries that require one (the control plane's --oidc-authentication);
	// empty: such entries refuse every request (401).
	OIDCIssuers []string
	// OIDCJWKSFile, when set, holds the issuers' public keys (a JSON Web
	// Key Set): nothing is fetched (offline set-ups). Otherwise each
	// issuer's keys are found through OIDC discovery and its jwks_uri.
	OIDCJWKSFile string
	// OIDCCAFile holds PEM certificates trusted, beside the system's, when
	// fetching from an https issuer.
	OIDCCAFile string
	// EventTypeMaxTracked bounds the (type, source, schema) triples the
	// ingress remembers having reported for EventType auto-registration;
	// EventTypeQueue bounds those waiting to be reported.
	EventTypeMaxTracked int
	EventTypeQueue      int
	// Kafka says how to reach the Kafka cluster.
	Kafka kafka.Config

	// HTTP server limits (server.go): how long a client may hold a
	// connection without sending a request, and how large its headers may
	// be.
	//
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body (0:
	// ReadHeaderTimeout plus MaxBatchBytes at MinBodyRate).
	ReadTimeout time.Duration
	// MinBodyRate (bytes/s) is the slowest upload accepted: a body with a
	// Content-Length must arrive within ReadHeaderTimeout plus its length
	// at this rate (and within ReadTimeout).
	MinBodyRate int64
	// WriteTimeout bounds a request from the end of its headers to the end
	// of the response (0: ReadTimeout plus ProduceTimeout plus 5s).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (431 above).
	MaxHeaderBytes int

	// RateLimitPerBroker is the events per second each served entry
	// (broker, channel, sink, ...) accepts; 0: no limit (ratelimit.go).
	RateLimitPerBroker float64
	// RateLimitBurst is how many events above the rate an entry accepts at
	// once (0: the rate, rounded up); a batch larger than it is refused.
	RateLimitBurst int
}

// DefaultConfig returns the defaults every flag starts from.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:            "127.0.0.1:8080",
		OpsAddr:             "127.0.0.1:8081",
		ControlPlane:        "127.0.0.1:9090",
		MaxEventBytes:       1 << 20,
		MaxBatchBytes:       4 << 20,
		MaxBatchEvents:      1000,
		ProduceTimeout:      10 * time.Second,
		MaxBufferedRecords:  10000,
		MaxBufferedBytes:    256 << 20,
		MaxInFlight:         4096,
		Compression:         "snappy",
		KafkaCheckInterval:  time.Second,
		DrainTimeout:        20 * time.Second,
		ProcessID:           defaultProcessID(),
		Kafka:               kafka.DefaultConfig(),
		ReadHeaderTimeout:   10 * time.Second,
		MinBodyRate:         64 << 10,
		IdleTimeout:         2 * time.Minute,
		MaxHeaderBytes:      64 << 10,
		EventTypeMaxTracked: 10000,
		EventTypeQueue:      1000,
	}
}

func defaultProcessID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ingress"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// AddFlags registers the ingress flags (and the Kafka flags) on fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, `address events are received on over plain HTTP ("" disables; --https-addr is then required)`)
	fs.StringVar(&c.HTTPSAddr, "https-addr", c.HTTPSAddr, `address events are received on over HTTPS ("" disables; needs --tls-cert-file and --tls-key-file)`)
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", c.TLSCertFile, "PEM certificate (chain) served on --https-addr; re-read when it changes")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", c.TLSKeyFile, "PEM private key of --tls-cert-file; re-read when it changes")
	fs.StringVar(&c.OpsAddr, "ops-addr", c.OpsAddr, `address of /healthz, /readyz and /metrics ("" disables)`)
	fs.StringVar(&c.ControlPlane, "control-plane", c.ControlPlane, `gRPC address of the control plane ("" runs without one)`)
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", c.AuthTokenFile, "file holding the bearer token presented to the control plane")
	c.ControlPlaneTLS.AddFlags(fs)
	fs.Int64Var(&c.MaxEventBytes, "max-event-bytes", c.MaxEventBytes, "largest event accepted (413 above)")
	fs.Int64Var(&c.MaxBatchBytes, "max-batch-bytes", c.MaxBatchBytes, "largest batch request body accepted (413 above)")
	fs.IntVar(&c.MaxBatchEvents, "max-batch-events", c.MaxBatchEvents, "most events accepted in one batch request (413 above)")
	fs.DurationVar(&c.ProduceTimeout, "produce-timeout", c.ProduceTimeout, "how long a request waits for Kafka to store its events (503 after)")
	fs.IntVar(&c.MaxBufferedRecords, "max-buffered-records", c.MaxBufferedRecords, "records the producer buffers before requests get 503")
	fs.Int64Var(&c.MaxBufferedBytes, "max-buffered-bytes", c.MaxBufferedBytes, "bytes the producer buffers before requests get 503")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", c.MaxInFlight, "requests handled at once before new ones get 503")
	fs.DurationVar(&c.ProduceLinger, "produce-linger", c.ProduceLinger, "how long a partition waits for more records before sending a batch")
	fs.StringVar(&c.Compression, "produce-compression", c.Compression, "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.DurationVar(&c.KafkaCheckInterval, "kafka-check-interval", c.KafkaCheckInterval, "how often Kafka reachability is checked")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long in-flight requests may take to finish on shutdown")
	fs.StringVar(&c.ProcessID, "process-id", c.ProcessID, "identity of this process towards the control plane")
	fs.StringSliceVar(&c.OIDCIssuers, "oidc-issuer", c.OIDCIssuers, "OIDC issuer URL whose tokens senders may present (repeatable or comma-separated); keys through OIDC discovery unless --oidc-jwks-file")
	fs.StringVar(&c.OIDCJWKSFile, "oidc-jwks-file", c.OIDCJWKSFile, "JSON Web Key Set file with the issuers' public keys (no discovery: offline set-ups)")
	fs.StringVar(&c.OIDCCAFile, "oidc-ca-file", c.OIDCCAFile, "PEM CA certificates trusted (beside the system's) when fetching from an https OIDC issuer")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "how long a client may take to send a request's headers (the connection is closed after)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "how long a client may take to send a whole request (0: --read-header-timeout plus --max-batch-bytes at --min-body-rate)")
	fs.Int64Var(&c.MinBodyRate, "min-body-rate", c.MinBodyRate, "slowest upload accepted, bytes/s: a body must arrive within --read-header-timeout plus its Content-Length at this rate")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "how long a request may take from its headers to the end of the response (0: --read-timeout plus --produce-timeout plus 5s)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "how long a keep-alive connection may stay idle")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", c.MaxHeaderBytes, "largest request headers accepted (431 above)")
	fs.Float64Var(&c.RateLimitPerBroker, "rate-limit-per-broker", c.RateLimitPerBroker, "events per second each broker (channel, sink, source) accepts, 429 above (0: no limit)")
	fs.IntVar(&c.RateLimitBurst, "rate-limit-burst", c.RateLimitBurst, "events above --rate-limit-per-broker accepted at once, and the largest batch (0: the rate, rounded up)")
	fs.IntVar(&c.EventTypeMaxTracked, "eventtype-max-tracked", c.EventTypeMaxTracked, "EventType auto-registration: most (type, source, schema) triples remembered as reported; new ones beyond it are dropped (counted)")
	fs.IntVar(&c.EventTypeQueue, "eventtype-report-queue", c.EventTypeQueue, "EventType auto-registration: most new triples waiting to be reported to the control plane; new ones beyond it are dropped (counted) and reported when seen again")
	c.Kafka.AddFlags(fs)
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	errs := []error{
		flagcheck.OptionalHostPort("--http-addr", c.HTTPAddr),
		flagcheck.OptionalHostPort("--https-addr", c.HTTPSAddr),
		flagcheck.OptionalHostPort("--ops-addr", c.OpsAddr),
		flagcheck.OptionalHostPort("--control-plane", c.ControlPlane),
		c.ControlPlaneTLS.Validate(),
		flagcheck.Positive("--max-event-bytes", c.MaxEventBytes),
		flagcheck.Positive("--max-batch-events", c.MaxBatchEvents),
		flagcheck.AtLeast("--produce-timeout", c.ProduceTimeout, 100*time.Millisecond),
		flagcheck.Positive("--max-buffered-records", c.MaxBufferedRecords),
		flagcheck.Positive("--max-in-flight", c.MaxInFlight),
		flagcheck.AtLeast("--max-buffered-bytes", c.MaxBufferedBytes, 0),
		flagcheck.Between("--produce-linger", c.ProduceLinger, 0, time.Minute),
		flagcheck.Positive("--kafka-check-interval", c.KafkaCheckInterval),
		flagcheck.AtLeast("--drain-timeout", c.DrainTimeout, 0),
		flagcheck.Required("--process-id", c.ProcessID),
		flagcheck.Positive("--eventtype-max-tracked", c.EventTypeMaxTracked),
		flagcheck.Positive("--eventtype-report-queue", c.EventTypeQueue),
		c.Kafka.Validate(),
		flagcheck.Positive("--read-header-timeout", c.ReadHeaderTimeout),
		flagcheck.Positive("--min-body-rate", c.MinBodyRate),
		flagcheck.Positive("--idle-timeout", c.IdleTimeout),
		flagcheck.AtLeast("--max-header-bytes", c.MaxHeaderBytes, 4<<10),
		flagcheck.AtLeast("--rate-limit-per-broker", c.RateLimitPerBroker, 0),
		flagcheck.AtLeast("--rate-limit-burst", c.RateLimitBurst, 0),
	}
	errs = append(errs, c.validateTimeouts()...)
	if c.MaxBatchBytes < c.MaxEventBytes {
		errs = append(errs, flagcheck.Errorf("--max-batch-bytes", c.MaxBatchBytes, "be at least --max-event-bytes (%d)", c.MaxEventBytes))
	}
	if c.MaxBufferedBytes > 0 && c.MaxBufferedBytes < c.MaxEventBytes {
		errs = append(errs, flagcheck.Errorf("--max-buffered-bytes", c.MaxBufferedBytes, "be 0 (no limit) or hold one event of --max-event-bytes (%d)", c.MaxEventBytes))
	}
	for _, iss := range c.OIDCIssuers {
		if c.OIDCJWKSFile != "" {
			errs = append(errs, flagcheck.Required("--oidc-issuer", iss))
		} else {
			// Keys are fetched from the issuer: only over https.
			errs = append(errs, flagcheck.URL("--oidc-issuer", iss, "https"))
		}
	}
	if len(c.OIDCIssuers) == 0 && (c.OIDCJWKSFile != "" || c.OIDCCAFile != "") {
		errs = append(errs, flagcheck.Errorf("--oidc-issuer", "", "be set with --oidc-jwks-file or --oidc-ca-file (the issuers whose tokens are accepted)"))
	}
	errs = append(errs, c.validateTLS())
	if _, err := compressionCodec(c.Compression); err != nil {
		errs = append(errs, err)
	}
	return flagcheck.Join(errs...)
}

// validateTLS checks the HTTPS flags: a listener needs a certificate and a
// key, and a certificate needs a listener.
func (c *Config) validateTLS() error {
	var errs []error
	if c.HTTPAddr == "" && c.HTTPSAddr == "" {
		errs = append(errs, errors.New("--http-addr: must be set when --https-addr is not (events must be received somewhere)"))
	}
	if c.HTTPSAddr != "" {
		errs = append(errs, flagcheck.Required("--tls-cert-file", c.TLSCertFile), flagcheck.Required("--tls-key-file", c.TLSKeyFile))
	} else {
		if c.TLSCertFile != "" {
			errs = append(errs, flagcheck.Errorf("--tls-cert-file", c.TLSCertFile, "be used with --https-addr"))
		}
		if c.TLSKeyFile != "" {
			errs = append(errs, flagcheck.Errorf("--tls-key-file", c.TLSKeyFile, "be used with --https-addr"))
		}
	}
	return flagcheck.Join(errs...)
}
