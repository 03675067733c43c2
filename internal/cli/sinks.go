package cli

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
)

// The `weft sink` group: KafkaSinks.

func init() {
	extraCommands = append(extraCommands, newSinkCmd)
}

// sinkTypes are what `sink create TYPE` accepts.
const sinkTypes = "kafka"

type sinkFlags struct {
	ns, topic, contentMode        string
	bootstrapServers              []string
	partitions, replicationFactor int
}

// kafkaSink builds the KafkaSink the flags describe, reporting every bad
// flag.
func (sf *sinkFlags) kafkaSink(cmd *cobra.Command, name string) (*apis.KafkaSink, error) {
	f := cmd.Flags()
	k := &apis.KafkaSink{TypeMeta: apis.TypeMeta{APIVersion: apis.EventingV1alpha1, Kind: apis.KindKafkaSink},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: sf.ns}}
	var errs []error
	if sf.topic == "" {
		errs = append(errs, fmt.Errorf("--topic: must be set: the Kafka topic the sink writes to"))
	}
	k.Spec.Topic = sf.topic
	if f.Changed("bootstrap-servers") {
		errs = append(errs, flagcheck.HostPorts("--bootstrap-servers", sf.bootstrapServers))
		k.Spec.BootstrapServers = sf.bootstrapServers
	}
	if f.Changed("content-mode") {
		errs = append(errs, flagcheck.OneOf("--content-mode", sf.contentMode, apis.ContentModeBinary, apis.ContentModeStructured))
		k.Spec.ContentMode = &sf.contentMode
	}
	if f.Changed("partitions") {
		if err := flagcheck.Between("--partitions", sf.partitions, 1, apis.MaxPartitions); err != nil {
			errs = append(errs, err)
		} else {
			n := int32(sf.partitions)
			k.Spec.NumPartitions = &n
		}
	}
	if f.Changed("replication-factor") {
		if err := flagcheck.Between("--replication-factor", sf.replicationFactor, 1, math.MaxInt16); err != nil {
			errs = append(errs, err)
		} else {
			n := int16(sf.replicationFactor)
			k.Spec.ReplicationFactor = &n
		}
	}
	if err := flagcheck.Join(errs...); err != nil {
		return nil, err
	}
	return k, nil
}

func newSinkCmd(g *globals) *cobra.Command {
	sf := &sinkFlags{}
	create := &cobra.Command{
		Use:   "create kafka NAME --topic T [--bootstrap-servers H:P,...] [--content-mode binary|structured] [--partitions N --replication-factor N]",
		Short: "Create a sink",
		Long: `Create a sink: an eventing.knative.dev/v1alpha1 KafkaSink, an address whose
events are written to the Kafka topic --topic, on Weft's Kafka cluster or on
the one --bootstrap-servers names. The control plane creates the topic, sized
by --partitions and --replication-factor, when it does not exist; deleting
the sink keeps the topic.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != sinkTypes {
				return flagcheck.Errorf("TYPE", args[0], "be %s", sinkTypes)
			}
			k, err := sf.kafkaSink(cmd, args[1])
			if err != nil {
				return err
			}
			return g.createOnly(cmd.Context(), k)
		},
	}
	fs := create.Flags()
	namespaceFlag(fs, &sf.ns)
	fs.StringVar(&sf.topic, "topic", "", "Kafka topic the sink writes to (required)")
	fs.StringSliceVar(&sf.bootstrapServers, "bootstrap-servers", nil, "host:port of the Kafka cluster holding the topic, comma separated (default: Weft's cluster)")
	fs.StringVar(&sf.contentMode, "content-mode", apis.ContentModeBinary, "how records carry events: binary (ce_ headers) or structured (JSON event as value)")
	fs.IntVar(&sf.partitions, "partitions", 0, "partitions of the topic when it is created (default: the control plane's --broker-partitions)")
	fs.IntVar(&sf.replicationFactor, "replication-factor", 0, "replication factor of the topic when it is created")
	c := kindCmd(g, apis.KindKafkaSink, create)
	c.Use, c.Short = "sink", "Manage sinks: KafkaSinks (kn-style shortcuts)"
	return c
}

// describeSink prints the spec fields of a KafkaSink for `weft describe`.
func describeSink(w io.Writer, k *apis.KafkaSink) {
	line := fieldLine(w)
	line("Address", urlOf(k.Status.Address))
	line("Topic", k.Spec.Topic)
	line("Bootstrap servers", strings.Join(k.Spec.BootstrapServers, ","))
	if k.Spec.ContentMode != nil {
		line("Content mode", *k.Spec.ContentMode)
	}
	if k.Spec.NumPartitions != nil {
		line("Partitions", strconv.Itoa(int(*k.Spec.NumPartitions)))
	}
	if k.Spec.ReplicationFactor != nil {
		line("Replication factor", strconv.Itoa(int(*k.Spec.ReplicationFactor)))
	}
	printSpec(w, "Auth", k.Spec.Auth)
}
