package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// The `weft source` group: PingSources, HTTPPollerSources (poller.go) and
// the webhook sources (sources_webhooks.go).

func init() {
	extraCommands = append(extraCommands, newSourceCmd)
}

// sourceTypes are what `source create TYPE` accepts.
const sourceTypes = "ping, kafka, httppoller, webhook, gitlab or github"

// sourceKinds are the kinds `source list`, `source delete` and `source
// describe` look through.
var sourceKinds = []string{apis.KindPingSource, apis.KindKafkaSource, apis.KindHTTPPollerSource, apis.KindWebhookSource, apis.KindGitLabSource, apis.KindGitHubSource}

// typeFlags are the flags of `source create` that only some types take.
var typeFlags = map[string][]string{
	"ping":       {"schedule", "data", "data-base64", "timezone", "content-type"},
	"kafka":      {"bootstrap-servers", "topics", "consumer-group", "initial-offset", "ordering", "key-type"},
	"httppoller": {"endpoint", "interval", "method", "header", "skip-verify", "event-type", "event-source", "basic-auth-username", "basic-auth-password-secret"},
	"webhook":    {"event-type", "event-source", "basic-auth-username", "basic-auth-password", "basic-auth-password-secret", "cors-allow-origin"},
	"gitlab":     {"project-url", "event-types", "secret-token-secret", "access-token-secret"},
	"github":     {"owner-and-repository", "event-types", "secret-token-secret", "access-token-secret"},
}

// checkTypeFlags refuses a flag given that typ does not take, naming the
// types that do.
func checkTypeFlags(cmd *cobra.Command, typ string) error {
	takers := map[string][]string{}
	for _, t := range []string{"ping", "kafka", "httppoller", "webhook", "gitlab", "github"} {
		for _, f := range typeFlags[t] {
			takers[f] = append(takers[f], t)
		}
	}
	var errs []error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		ts, special := takers[f.Name]
		if special && !slices.Contains(ts, typ) {
			errs = append(errs, flagcheck.Errorf("--"+f.Name, f.Value.String(), "be given only for %s", strings.Join(ts, ", ")))
		}
	})
	return flagcheck.Join(errs...)
}

type sourceFlags struct {
	ns, schedule, sink, data, dataBase64, timezone, contentType string
	poller                                                      pollerFlags
	// KafkaSource flags.
	bootstrapServers, topics                        []string
	consumerGroup, initialOffset, ordering, keyType string
}

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
	var wf *webhookFlags
	create := &cobra.Command{
		Use: "create TYPE NAME --sink SINK ...",
		Example: `  weft source create ping NAME --schedule S --sink SINK [--data D | --data-base64 B] [--timezone TZ] [--content-type T]
  weft source create kafka NAME --bootstrap-servers H:P,... --topics T,... --sink SINK [--consumer-group G] [--initial-offset earliest|latest] [--ordering ordered|unordered]
  weft source create httppoller NAME --endpoint URL --interval 10s --event-type T --sink SINK [--event-source S] [--method GET] [--header K=V]...
  weft source create webhook NAME --event-type T [--event-source S] [--basic-auth-username U --basic-auth-password P] --sink SINK
  weft source create gitlab NAME --project-url URL --event-types push_events,merge_requests_events --secret-token-secret SECRET:KEY --sink SINK
  weft source create github NAME --owner-and-repository OWNER/REPO --event-types push,pull_request --secret-token-secret SECRET:KEY --sink SINK`,
		Short: "Create a source",
		Long: `Create a source:
  ping        a sources.knative.dev/v1 PingSource, which sends an event of type
              dev.knative.sources.ping to --sink on the cron --schedule (five
              fields or @hourly, @every 10m, ...; a time zone with --timezone
              or a CRON_TZ= prefix). Exactly one dispatcher produces each tick.
  kafka       a sources.knative.dev/v1beta1 KafkaSource, which sends the records
              of --topics on the cluster at --bootstrap-servers to --sink:
              records that are CloudEvents as they are, others as
              dev.knative.kafka.event events. Offsets are committed in
              --consumer-group (default knative-kafka-source-<uid>) on that
              cluster once delivered.
  httppoller  a sources.triggermesh.io/v1alpha1 HTTPPollerSource, which sends
              a request to --endpoint every --interval (a Go duration, at
              least 1s); each 2xx response's body becomes an event of type
              --event-type sent to --sink. Exactly one dispatcher polls.
  webhook     a sources.triggermesh.io/v1alpha1 WebhookSource: every POST to
              its URL (weft source describe) becomes an event of --event-type,
              behind HTTP basic authentication when a user is given.
  gitlab      a sources.knative.dev/v1alpha1 GitLabSource, and
  github      a sources.knative.dev/v1alpha1 GitHubSource: the provider's
              webhooks, checked against the secret token, become
              dev.knative.sources.gitlab.* / dev.knative.source.github.* events.
              Weft does not call GitLab or GitHub: add the source's URL as the
              webhook there, with the same secret token.
`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			typ, name := args[0], args[1]
			if _, ok := typeFlags[typ]; !ok {
				return flagcheck.Errorf("TYPE", typ, "be one of %s", sourceTypes)
			}
			if err := checkTypeFlags(cmd, typ); err != nil {
				return err
			}
			var o apis.Object
			var err error
			switch typ {
			case "ping":
				o, err = sf.pingSource(name)
			case "kafka":
				o, err = sf.kafkaSource(name)
			case "httppoller":
				// The flags httppoller shares with webhook.
				pf := &sf.poller
				pf.eventType, pf.eventSource, pf.username, pf.passwordSecret = wf.eventType, wf.eventSource, wf.user, wf.passwordSecret
				o, err = sf.httpPollerSource(name)
			default:
				o, _, err = wf.source(typ, name, sf.ns, sf.sink)
			}
			if err != nil {
				return err
			}
			return g.createOnly(cmd.Context(), o)
		},
	}
	fs := create.Flags()
	namespaceFlag(fs, &sf.ns)
	fs.StringVar(&sf.schedule, "schedule", "", "cron schedule (required), e.g. \"*/2 * * * *\" or \"@every 1m\"")
	fs.StringVar(&sf.sink, "sink", "", "where the events go (required): "+sinkSyntax)
	fs.StringVar(&sf.data, "data", "", "the events' data")
	fs.StringVar(&sf.dataBase64, "data-base64", "", "the events' data, base64-encoded (not with --data)")
	fs.StringVar(&sf.timezone, "timezone", "", "IANA time zone of the schedule (default UTC)")
	fs.StringVar(&sf.contentType, "content-type", "", "the events' datacontenttype")
	fs.StringSliceVar(&sf.bootstrapServers, "bootstrap-servers", nil, "kafka: host:port of the cluster holding the topics (required; comma-separated or repeated)")
	fs.StringSliceVar(&sf.topics, "topics", nil, "kafka: topics to read (required; comma-separated or repeated)")
	fs.StringVar(&sf.consumerGroup, "consumer-group", "", "kafka: consumer group committed on the cluster (default knative-kafka-source-<uid>; cannot change later)")
	fs.StringVar(&sf.initialOffset, "initial-offset", "", "kafka: where a group without committed offsets starts: earliest or latest (default latest)")
	fs.StringVar(&sf.ordering, "ordering", "", "kafka: ordered (default: one event in flight per partition) or unordered")
	fs.StringVar(&sf.keyType, "key-type", "", "kafka: how record keys are read: string (default), int, float or byte-array")
	sf.poller.add(fs)
	wf = addWebhookFlags(fs)
	c := kindCmd(g, apis.KindPingSource, create)
	c.Use, c.Short = "source", "Manage sources: PingSources, KafkaSources, HTTPPollerSources, WebhookSources, GitLabSources, GitHubSources (kn-style shortcuts)"
	anyKindSource(g, c)
	return c
}

// anyKindSource makes `source list`, `source delete NAME` and `source
// describe NAME` work across sourceKinds: list shows every kind in one
// table; delete and describe find the one kind with that name.
func anyKindSource(g *globals, c *cobra.Command) {
	for _, sub := range c.Commands() {
		var repl *cobra.Command
		switch sub.Name() {
		case "list":
			sub.RunE = func(cmd *cobra.Command, _ []string) error { return listSources(g, cmd) }
			continue
		case "delete":
			repl = newDeleteCmd(g)
			repl.Use, repl.Short, repl.Args = "delete NAME...", "Delete sources", cobra.MinimumNArgs(1)
		case "describe":
			repl = newDescribeCmd(g)
			repl.Use, repl.Short, repl.Args = "describe NAME", "Describe a source", cobra.ExactArgs(1)
		default:
			continue
		}
		// The generic command reads the flags it parsed itself.
		generic := repl.RunE
		repl.RunE = func(cmd *cobra.Command, args []string) error {
			ns, _ := cmd.Flags().GetString("namespace")
			for _, name := range args {
				kind, err := sourceKindOf(g, cmd, ns, name)
				if err != nil {
					return err
				}
				if err := generic(cmd, []string{kind, name}); err != nil {
					return err
				}
			}
			return nil
		}
		c.RemoveCommand(sub)
		c.AddCommand(repl)
	}
}

// sourceKindOf is the kind of the source called name in ns: the one of
// sourceKinds that has it.
func sourceKindOf(g *globals, cmd *cobra.Command, ns, name string) (string, error) {
	var found []string
	err := g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
		for _, kind := range sourceKinds {
			_, err := cl.Get(ctx, &weftv1.GetRequest{Kind: kind, Namespace: ns, Name: name})
			switch status.Code(err) {
			case codes.OK:
				found = append(found, kind)
			case codes.NotFound:
			default:
				return err
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return "", err
	case len(found) == 0:
		return "", fmt.Errorf("no source %q in namespace %q (kinds looked through: %s)", name, ns, strings.Join(sourceKinds, ", "))
	case len(found) > 1:
		return "", fmt.Errorf("%q names a %s in namespace %q; say which: weft %s KIND %s", name, strings.Join(found, " and a "), ns, cmd.Name(), name)
	}
	return found[0], nil
}

// listSources lists every source kind in one table (NAME, KIND, SINK, AGE,
// READY, REASON), or as one List in yaml or json.
func listSources(g *globals, cmd *cobra.Command) error {
	fs := cmd.Flags()
	ns, _ := fs.GetString("namespace")
	all, _ := fs.GetBool("all-namespaces")
	output, _ := fs.GetString("output")
	selector, _ := fs.GetString("selector")
	if err := checkOutput(output); err != nil {
		return err
	}
	if all {
		ns = ""
	}
	return g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
		var objs []*weftv1.Object
		for _, kind := range sourceKinds {
			resp, err := cl.List(ctx, &weftv1.ListRequest{Kind: kind, Namespace: ns, LabelSelector: selector})
			if err != nil {
				return err
			}
			objs = append(objs, resp.GetObjects()...)
		}
		if output != "table" {
			return printObjects(g.out, "", objs, output, all)
		}
		if len(objs) == 0 {
			where := fmt.Sprintf("in namespace %q", ns)
			if ns == "" {
				where = "in any namespace"
			}
			fmt.Fprintf(g.errw, "No sources found %s.\n", where)
			return nil
		}
		tw := tabwriter.NewWriter(g.out, 0, 4, 3, ' ', 0)
		defer tw.Flush()
		cols := []string{"NAME", "KIND", "SINK", "AGE", "READY", "REASON"}
		if all {
			cols = append([]string{"NAMESPACE"}, cols...)
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		for _, po := range objs {
			o, err := apis.DecodeObject(po.GetJson())
			if err != nil {
				return fmt.Errorf("decode %s %s: %w", po.GetKind(), po.GetName(), err)
			}
			m := o.GetObjectMeta()
			row := []string{m.Name, apis.KindOf(o), formatDest(sourceSink(o), m.Namespace)}
			if all {
				row = append([]string{m.Namespace}, row...)
			}
			ready, reason := readyOf(o.GetConditions())
			row = append(row, age(m.CreationTimestamp), ready, reason)
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		return nil
	})
}

// sourceSink is a source's spec.sink (nil for another kind).
func sourceSink(o apis.Object) *apis.Destination {
	switch t := o.(type) {
	case *apis.PingSource:
		return &t.Spec.Sink
	case *apis.KafkaSource:
		return &t.Spec.Sink
	case *apis.HTTPPollerSource:
		return &t.Spec.Sink
	case *apis.WebhookSource:
		return &t.Spec.Sink
	case *apis.GitLabSource:
		return &t.Spec.Sink
	case *apis.GitHubSource:
		return &t.Spec.Sink
	}
	return nil
}

// describeSource prints the spec fields of a PingSource for `weft describe`.
func describeSource(w io.Writer, p *apis.PingSource) {
	line := fieldLine(w)
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
	line := fieldLine(w)
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
