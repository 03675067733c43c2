package ingress

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/kafka"
)

// Config is everything the ingress process is configured with. Every field
// has a flag (AddFlags) and, through cmdutil.ApplyEnv, a WEFT_* environment variable.
type Config struct {
	// HTTPAddr is where events are received.
	HTTPAddr string
	// OpsAddr serves /healthz, /readyz and /metrics ("" disables it).
	OpsAddr string
	// ControlPlane is the gRPC address of the control plane whose contract
	// stream the ingress follows ("" disables it: contracts then come only
	// from ApplyContract calls, as when a process embeds the ingress).
	ControlPlane string
	// AuthTokenFile holds the bearer token presented to the control plane.
	AuthTokenFile string
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
	// EventTypeMaxTracked bounds the (type, source, schema) triples the
	// ingress remembers having reported for EventType auto-registration;
	// EventTypeQueue bounds those waiting to be reported.
	EventTypeMaxTracked int
	EventTypeQueue      int
	// Kafka says how to reach the Kafka cluster.
	Kafka kafka.Config
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
		EventTypeMaxTracked: 10000,
		EventTypeQueue:      1000,
		Kafka:               kafka.DefaultConfig(),
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
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "address events are received on")
	fs.StringVar(&c.OpsAddr, "ops-addr", c.OpsAddr, `address of /healthz, /readyz and /metrics ("" disables)`)
	fs.StringVar(&c.ControlPlane, "control-plane", c.ControlPlane, `gRPC address of the control plane ("" runs without one)`)
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", c.AuthTokenFile, "file holding the bearer token presented to the control plane")
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
	fs.IntVar(&c.EventTypeMaxTracked, "eventtype-max-tracked", c.EventTypeMaxTracked, "EventType auto-registration: most (type, source, schema) triples remembered as reported; new ones beyond it are dropped (counted)")
	fs.IntVar(&c.EventTypeQueue, "eventtype-report-queue", c.EventTypeQueue, "EventType auto-registration: most new triples waiting to be reported to the control plane; new ones beyond it are dropped (counted) and reported when seen again")
	c.Kafka.AddFlags(fs)
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	errs := []error{
		flagcheck.HostPort("--http-addr", c.HTTPAddr),
		flagcheck.OptionalHostPort("--ops-addr", c.OpsAddr),
		flagcheck.OptionalHostPort("--control-plane", c.ControlPlane),
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
	}
	if c.MaxBatchBytes < c.MaxEventBytes {
		errs = append(errs, flagcheck.Errorf("--max-batch-bytes", c.MaxBatchBytes, "be at least --max-event-bytes (%d)", c.MaxEventBytes))
	}
	if c.MaxBufferedBytes > 0 && c.MaxBufferedBytes < c.MaxEventBytes {
		errs = append(errs, flagcheck.Errorf("--max-buffered-bytes", c.MaxBufferedBytes, "be 0 (no limit) or hold one event of --max-event-bytes (%d)", c.MaxEventBytes))
	}
	if _, err := compressionCodec(c.Compression); err != nil {
		errs = append(errs, err)
	}
	return flagcheck.Join(errs...)
}
