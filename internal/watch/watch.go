// Package watch owns `weft watch`: it tails a broker's Kafka topic live and
// prints every event, without joining a consumer group or committing offsets,
// so watching never disturbs the triggers' delivery.
package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/observability"
	"github.com/weft-dev/weft/pkg/wire"
)

// Config says which broker to tail and how to print it.
type Config struct {
	// Broker is the broker's name.
	Broker string
	// Namespace is the broker's namespace.
	Namespace string
	// Kafka says how to reach the cluster.
	Kafka kafka.Config
	// FromBeginning prints the events already in the topic first.
	FromBeginning bool
	// Output is "text" (like event_display) or "json" (one event per line).
	Output string
	// Logger receives warnings such as undecodable records (nil: none).
	Logger *slog.Logger
	// OnStart, when set, is called once consuming has started (not a flag).
	OnStart func()
}

// DefaultConfig tails broker "default" in namespace "default".
func DefaultConfig() Config {
	return Config{Broker: "default", Namespace: "default", Kafka: kafka.DefaultConfig(), Output: "text"}
}

// AddFlags registers the watch flags (and the Kafka flags) on fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Broker, "broker", c.Broker, "broker to watch")
	fs.StringVarP(&c.Namespace, "namespace", "n", c.Namespace, "namespace of the broker")
	fs.BoolVar(&c.FromBeginning, "from-beginning", c.FromBeginning, "print the events already stored first")
	fs.StringVarP(&c.Output, "output", "o", c.Output, "output format: text or json")
	c.Kafka.AddFlags(fs)
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	return flagcheck.Join(
		flagcheck.Required("--broker", c.Broker),
		flagcheck.Required("--namespace", c.Namespace),
		flagcheck.OneOf("--output", c.Output, "text", "json"),
		c.Kafka.Validate(),
	)
}

// Topic is the Kafka topic c tails.
func (c *Config) Topic() string { return wire.BrokerTopic(c.Namespace, c.Broker) }

// Run prints the broker's events to stdout until ctx ends.
func Run(ctx context.Context, cfg Config, stdout io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = observability.DiscardLogger()
	}
	admCl, err := cfg.Kafka.NewClient(nil)
	if err != nil {
		return err
	}
	offsets, err := startOffsets(ctx, kadm.NewClient(admCl), cfg.Topic(), cfg.FromBeginning)
	admCl.Close()
	if err != nil {
		return err
	}
	// A direct consumer from fixed offsets: no group, no commits, and
	// every event stored after OnStart is printed.
	cl, err := cfg.Kafka.NewClient(nil,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic(): offsets}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	if cfg.OnStart != nil {
		cfg.OnStart()
	}
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, kgo.ErrClientClosed) {
				return nil
			}
			logger.Warn("fetch", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
		}
		var werr error
		fetches.EachRecord(func(r *kgo.Record) {
			if werr != nil {
				return
			}
			werr = printRecord(stdout, cfg.Output, r, logger)
		})
		if werr != nil {
			return fmt.Errorf("write output: %w", werr)
		}
	}
}

func printRecord(w io.Writer, output string, r *kgo.Record, logger *slog.Logger) error {
	ev, err := cekafka.FromRecord(r)
	if err != nil {
		logger.Warn("undecodable record", "partition", r.Partition, "offset", r.Offset, "err", err)
		return nil
	}
	if output == "json" {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	_, err = io.WriteString(w, ev.String())
	return err
}

func startOffsets(ctx context.Context, adm *kadm.Client, topic string, fromBeginning bool) (map[int32]kgo.Offset, error) {
	list := adm.ListEndOffsets
	if fromBeginning {
		list = adm.ListStartOffsets
	}
	listed, err := list(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	if err := listed.Error(); err != nil {
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("broker topic %s: %w", topic, ErrTopicNotFound)
		}
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	ps, ok := listed[topic]
	if !ok || len(ps) == 0 {
		return nil, fmt.Errorf("broker topic %s: %w", topic, ErrTopicNotFound)
	}
	out := make(map[int32]kgo.Offset, len(ps))
	for p, o := range ps {
		out[p] = kgo.NewOffset().At(o.Offset)
	}
	return out, nil
}
