package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// The `weft source` group: PingSources and KafkaSources.

func init() {
	extraCommands = append(extraCommands, newSourceCmd)
}

// Source types `source create TYPE` accepts.
const (
	sourceTypePing  = "ping"
	sourceTypeKafka = "kafka"
)

// sourceKinds are the kinds `source list`, `describe` and `delete` look at.
var sourceKinds = []string{apis.KindPingSource, apis.KindKafkaSource}

type sourceFlags struct {
	ns, schedule, sink, data, dataBase64, timezone, contentType string
	// KafkaSource flags.
	bootstrapServers, topics                        []string
	consumerGroup, initialOffset, ordering, keyType string
}

// pingFlags and kafkaFlags are the flags only one source type takes.
var (
	pingFlags  = []string{"schedule", "data", "data-base64", "timezone", "content-type"}
	kafkaFlags = []string{"bootstrap-servers", "topics", "consumer-group", "initial-offset", "ordering", "key-type"}
)

// kafkaSource builds the KafkaSource the flags describe; the control
// plane's validation (run first by createOnly) checks the servers, topics,
// group and enums with field paths.
func (sf *sourceFlags) kafkaSource(name string) (*apis.KafkaSource, error) {
	k := &apis.KafkaSource{TypeMeta: apis.TypeMeta{APIVersion: apis.SourcesV1beta1, Kind: apis.KindKafkaSource},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: sf.ns}}
	var errs []error
	if len(sf.bootstrapServers) == 0 {
		errs = append(errs, fmt.Errorf("--bootstrap-servers: must be set: host:port of the Kafka cluster, comma-separated (e.g. kafka-1:9092,kafka-2:9092)"))
	}
	if len(sf.topics) == 0 {
		errs = append(errs, fmt.Errorf("--topics: must be set: the topics to read, comma-separated (e.g. orders,payments)"))
	}
	if sf.sink == "" {
		errs = append(errs, fmt.Errorf("--sink: must be set: %s", sinkSyntax))
	} else if d, err := parseSink("--sink", sf.sink); err != nil {
		errs = append(errs, err)
	} else {
		k.Spec.Sink = *d
	}
	if err := flagcheck.Join(errs...); err != nil {
		return nil, err
	}
	k.Spec.BootstrapServers, k.Spec.Topics = sf.bootstrapServers, sf.topics
	k.Spec.ConsumerGroup, k.Spec.InitialOffset = sf.consumerGroup, sf.initialOffset
	if sf.ordering != "" {
		o := sf.ordering
		k.Spec.Ordering = &o
	}
	if sf.keyType != "" {
		k.ObjectMeta.Labels = map[string]string{apis.LabelKafkaKeyType: sf.keyType}
	}
	return k, nil
}

// onlyFor refuses the flags of another source type than typ.
func onlyFor(cmd *cobra.Command, typ string, flags []string) error {
	var errs []error
	for _, f := range flags {
		if cmd.Flags().Changed(f) {
			errs = append(errs, fmt.Errorf("--%s: only for `source create %s`", f, typ))
		}
	}
	return flagcheck.Join(errs...)
}

// pingSource builds the PingSource the flags describe; the control plane's
// validation (run first by createOnly) checks the schedule and time zone.
func (sf *sourceFlags) pingSource(name string) (*apis.PingSource, error) {
	p := &apis.PingSource{TypeMeta: apis.TypeMeta{APIVersion: apis.SourcesV1, Kind: apis.KindPingSource},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: sf.ns}}
	var errs []error
	if sf.schedule == "" {
		errs = append(errs, fmt.Errorf("--schedule: must be set: a cron schedule such as \"*/2 * * * *\""))
	}
	if sf.sink == "" {
		errs = append(errs, fmt.Errorf("--sink: must be set: %s", sinkSyntax))
	} else if d, err := parseSink("--sink", sf.sink); err != nil {
		errs = append(errs, err)
	} else {
		p.Spec.Sink = *d
	}
	if err := flagcheck.Join(errs...); err != nil {
		return nil, err
	}
	p.Spec.Schedule, p.Spec.Timezone, p.Spec.Data, p.Spec.DataBase64, p.Spec.ContentType = sf.schedule, sf.timezone, sf.data, sf.dataBase64, sf.contentType
	return p, nil
}

func newSourceCmd(g *globals) *cobra.Command {
	sf := &sourceFlags{}
	create := &cobra.Command{
		Use: "create ping|kafka NAME --sink SINK ...",
		Example: `  weft source create ping tick --schedule "*/2 * * * *" --sink ksvc:display --data '{"hello":"world"}'
  weft source create kafka orders --bootstrap-servers kafka:9092 --topics orders,payments --sink broker:default`,
		Short: "Create a source",
		Long: `Create a source:

  ping   a sources.knative.dev/v1 PingSource, which sends an event of type
         dev.knative.sources.ping to --sink on the cron --schedule (five
         fields or @hourly, @every 10m, ...; a time zone with --timezone or
         a CRON_TZ= prefix). Exactly one dispatcher produces each tick.
  kafka  a sources.knative.dev/v1beta1 KafkaSource, which sends the records
         of --topics on the cluster at --bootstrap-servers to --sink: records
         that are CloudEvents as they are, others as dev.knative.kafka.event
         events. Offsets are committed in --consumer-group (default
         knative-kafka-source-<uid>) on that cluster once delivered.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var o apis.Object
			var err error
			switch args[0] {
			case sourceTypePing:
				if err := onlyFor(cmd, sourceTypeKafka, kafkaFlags); err != nil {
					return err
				}
				o, err = sf.pingSource(args[1])
			case sourceTypeKafka:
				if err := onlyFor(cmd, sourceTypePing, pingFlags); err != nil {
					return err
				}
				o, err = sf.kafkaSource(args[1])
			default:
				return flagcheck.Errorf("TYPE", args[0], "be %s or %s", sourceTypePing, sourceTypeKafka)
			}
			if err != nil {
				return err
			}
			return g.createOnly(cmd.Context(), o)
		},
	}
	fs := create.Flags()
	namespaceFlag(fs, &sf.ns)
	fs.StringVar(&sf.sink, "sink", "", "where the events go (required): "+sinkSyntax)
	fs.StringVar(&sf.schedule, "schedule", "", "ping: cron schedule (required), e.g. \"*/2 * * * *\" or \"@every 1m\"")
	fs.StringVar(&sf.data, "data", "", "ping: the events' data")
	fs.StringVar(&sf.dataBase64, "data-base64", "", "ping: the events' data, base64-encoded (not with --data)")
	fs.StringVar(&sf.timezone, "timezone", "", "ping: IANA time zone of the schedule (default UTC)")
	fs.StringVar(&sf.contentType, "content-type", "", "ping: the events' datacontenttype")
	fs.StringSliceVar(&sf.bootstrapServers, "bootstrap-servers", nil, "kafka: host:port of the cluster holding the topics (required; comma-separated or repeated)")
	fs.StringSliceVar(&sf.topics, "topics", nil, "kafka: topics to read (required; comma-separated or repeated)")
	fs.StringVar(&sf.consumerGroup, "consumer-group", "", "kafka: consumer group committed on the cluster (default knative-kafka-source-<uid>; cannot change later)")
	fs.StringVar(&sf.initialOffset, "initial-offset", "", "kafka: where a group without committed offsets starts: earliest or latest (default latest)")
	fs.StringVar(&sf.ordering, "ordering", "", "kafka: ordered (default: one event in flight per partition) or unordered")
	fs.StringVar(&sf.keyType, "key-type", "", "kafka: how record keys are read: string (default), int, float or byte-array")
	c := kindCmd(g, apis.KindPingSource, create)
	c.Use, c.Short = "source", "Manage sources: PingSources and KafkaSources (kn-style shortcuts)"
	for _, sub := range c.Commands() {
		if sub != create {
			c.RemoveCommand(sub)
		}
	}
	c.AddCommand(newSourceListCmd(g), newSourceDescribeCmd(g), newSourceDeleteCmd(g))
	return c
}

// newSourceListCmd is `source list`: every source kind in one table
// (NAME, KIND, SINK, AGE, READY, REASON), or their manifests.
func newSourceListCmd(g *globals) *cobra.Command {
	o := &getOpts{}
	c := &cobra.Command{
		Use:   "list",
		Short: "List sources of every kind (" + strings.Join(sourceKinds, ", ") + ")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(o.output); err != nil {
				return err
			}
			ns := o.ns
			if o.all {
				ns = ""
			}
			return g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
				var objs []*weftv1.Object
				for _, kind := range sourceKinds {
					resp, err := cl.List(ctx, &weftv1.ListRequest{Kind: kind, Namespace: ns, LabelSelector: o.selector})
					if err != nil {
						return err
					}
					objs = append(objs, resp.GetObjects()...)
				}
				if o.output != "table" {
					return printObjects(g.out, "", objs, o.output, o.all)
				}
				if len(objs) == 0 {
					where := fmt.Sprintf("in namespace %q", ns)
					if ns == "" {
						where = "in any namespace"
					}
					fmt.Fprintf(g.errw, "No sources found %s.\n", where)
					return nil
				}
				return printSources(g.out, objs, o.all)
			})
		},
	}
	namespaceFlag(c.Flags(), &o.ns)
	c.Flags().BoolVarP(&o.all, "all-namespaces", "A", false, "list across all namespaces")
	c.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table, yaml or json")
	c.Flags().StringVarP(&o.selector, "selector", "l", "", "label selector (a=b,c!=d,e,!f)")
	g.serverFlags(c.Flags())
	return c
}

// printSources prints sources of any kind as one table.
func printSources(w io.Writer, objs []*weftv1.Object, withNS bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	defer tw.Flush()
	cols := []string{"NAME", "KIND", "SINK", "AGE", "READY", "REASON"}
	if withNS {
		cols = append([]string{"NAMESPACE"}, cols...)
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, po := range objs {
		o, err := apis.DecodeObject(po.GetJson())
		if err != nil {
			return fmt.Errorf("decode %s %s: %w", po.GetKind(), po.GetName(), err)
		}
		m := o.GetObjectMeta()
		row := []string{m.Name, o.GetTypeMeta().Kind, formatDest(sourceSink(o), m.Namespace)}
		if withNS {
			row = append([]string{m.Namespace}, row...)
		}
		ready, reason := readyOf(o.GetConditions())
		row = append(row, age(m.CreationTimestamp), ready, reason)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return nil
}

// sourceSink is a source's spec.sink (nil for other kinds).
func sourceSink(o apis.Object) *apis.Destination {
	switch t := o.(type) {
	case *apis.PingSource:
		return &t.Spec.Sink
	case *apis.KafkaSource:
		return &t.Spec.Sink
	}
	return nil
}

// findSource returns the one source named name in ns, whatever its kind;
// none or several (a PingSource and a KafkaSource may share a name) is an
// error saying what to do.
func findSource(ctx context.Context, cl weftv1.ControlPlaneClient, ns, name string) (*weftv1.Object, error) {
	var found []*weftv1.Object
	for _, kind := range sourceKinds {
		po, err := cl.Get(ctx, &weftv1.GetRequest{Kind: kind, Namespace: ns, Name: name})
		if status.Code(err) == codes.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = append(found, po)
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no source %q in namespace %q (looked for %s)", name, ns, strings.Join(sourceKinds, ", "))
	case 1:
		return found[0], nil
	}
	var kinds []string
	for _, po := range found {
		kinds = append(kinds, strings.ToLower(po.GetKind()))
	}
	return nil, fmt.Errorf("several sources are named %q in namespace %q (%s): name the kind, e.g. `weft describe %s %s`", name, ns, strings.Join(kinds, ", "), kinds[0], name)
}

func newSourceDescribeCmd(g *globals) *cobra.Command {
	var ns string
	c := &cobra.Command{
		Use:   "describe NAME",
		Short: "Describe a source of any kind",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
				po, err := findSource(ctx, cl, ns, args[0])
				if err != nil {
					return err
				}
				return describe(g.out, po)
			})
		},
	}
	namespaceFlag(c.Flags(), &ns)
	g.serverFlags(c.Flags())
	return c
}

func newSourceDeleteCmd(g *globals) *cobra.Command {
	var ns string
	c := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete sources of any kind",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
				for _, name := range args {
					po, err := findSource(ctx, cl, ns, name)
					if err != nil {
						return err
					}
					if _, err := cl.Delete(ctx, &weftv1.DeleteRequest{Kind: po.GetKind(), Namespace: ns, Name: name}); err != nil {
						return err
					}
					fmt.Fprintf(g.out, "%s/%s deleted\n", qualifiedKind(po.GetKind()), name)
				}
				return nil
			})
		},
	}
	namespaceFlag(c.Flags(), &ns)
	g.serverFlags(c.Flags())
	return c
}

// describeSource prints the spec fields of a PingSource for `weft describe`.
func describeSource(w io.Writer, p *apis.PingSource) {
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s:\t%s\n", label, v)
		}
	}
	line("Schedule", p.Spec.Schedule)
	line("Timezone", p.Spec.Timezone)
	line("Sink", formatDest(&p.Spec.Sink, p.ObjectMeta.Namespace))
	line("Sink URI", p.Status.SinkURI)
	line("Content type", p.Spec.ContentType)
	line("Data", p.Spec.Data)
	line("Data (base64)", p.Spec.DataBase64)
	printSpec(w, "CE overrides", p.Spec.CloudEventOverrides)
}

// describeKafkaSource prints the spec fields of a KafkaSource for `weft
// describe`.
func describeKafkaSource(w io.Writer, k *apis.KafkaSource) {
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s:\t%s\n", label, v)
		}
	}
	s := &k.Spec
	line("Bootstrap servers", strings.Join(s.BootstrapServers, ", "))
	line("Topics", strings.Join(s.Topics, ", "))
	line("Consumer group", s.ConsumerGroup)
	line("Initial offset", s.InitialOffset)
	if s.Ordering != nil {
		line("Ordering", *s.Ordering)
	}
	if s.Consumers != nil {
		line("Consumers", fmt.Sprint(*s.Consumers))
	}
	line("Key type", k.ObjectMeta.Labels[apis.LabelKafkaKeyType])
	line("Sink", formatDest(&s.Sink, k.ObjectMeta.Namespace))
	line("Sink URI", k.Status.SinkURI)
	printSpec(w, "Delivery", s.Delivery)
	printSpec(w, "CE overrides", s.CloudEventOverrides)
	for i, a := range k.Status.CloudEventAttributes {
		label := ""
		if i == 0 {
			label = "CE attributes:"
		}
		fmt.Fprintf(w, "%s\t%s %s\n", label, a.Type, a.Source)
	}
}
