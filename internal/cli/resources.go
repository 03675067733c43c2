package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func newApplyCmd(g *globals) *cobra.Command {
	var files []string
	var dryRun bool
	c := &cobra.Command{
		Use:   "apply -f FILE|-",
		Short: "Create or update resources from YAML or JSON manifests (all or nothing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errors.New("-f: must be set: a file, or - for standard input (-f is required)")
			}
			var objs []apis.Object
			for _, f := range files {
				data, err := readInput(g.in, f)
				if err != nil {
					return err
				}
				os, err := apis.DecodeManifests(data)
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				objs = append(objs, os...)
			}
			if len(objs) == 0 {
				return fmt.Errorf("apply: no objects found in %s", strings.Join(files, ", "))
			}
			req := &weftv1.ApplyRequest{DryRun: dryRun}
			for _, o := range objs {
				po, err := toProto(o)
				if err != nil {
					return err
				}
				req.Objects = append(req.Objects, po)
			}
			return g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
				resp, err := cl.Apply(ctx, req)
				if err != nil {
					return err
				}
				suffix := ""
				if dryRun {
					suffix = " (dry run)"
				}
				for _, r := range resp.GetResults() {
					fmt.Fprintf(g.out, "%s/%s %s%s\n", qualifiedKind(r.GetObject().GetKind()), r.GetObject().GetName(), r.GetAction(), suffix)
				}
				return nil
			})
		},
	}
	c.Flags().StringArrayVarP(&files, "filename", "f", nil, "manifest file (YAML or JSON, multi-document), or - for standard input")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "validate on the server without storing anything")
	g.serverFlags(c.Flags())
	return c
}

func readInput(in io.Reader, f string) ([]byte, error) {
	if f == "-" {
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f, err)
	}
	return b, nil
}

func toProto(o apis.Object) (*weftv1.Object, error) {
	b, err := apis.Marshal(o)
	if err != nil {
		return nil, err
	}
	tm, m := o.GetTypeMeta(), o.GetObjectMeta()
	return &weftv1.Object{ApiVersion: tm.APIVersion, Kind: tm.Kind, Namespace: m.Namespace, Name: m.Name, Json: b}, nil
}

// qualifiedKind is kind as kubectl names it in output: lower case, with its
// API group (broker.eventing.knative.dev, kafkachannel.messaging.knative.dev).
func qualifiedKind(kind string) string {
	group, _, ok := strings.Cut(apis.DefaultAPIVersion(kind), "/")
	if !ok {
		group = "eventing.knative.dev"
	}
	return strings.ToLower(kind) + "." + group
}

type getOpts struct {
	ns, output, selector string
	all                  bool
}

func newGetCmd(g *globals) *cobra.Command {
	o := &getOpts{}
	c := &cobra.Command{
		Use:   "get KIND [NAME]",
		Short: "List resources or show one (kinds: brokers, triggers, channels, subscriptions, sequences, parallels)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := apis.ResolveKind(args[0])
			if err != nil {
				return err
			}
			if err := checkOutput(o.output); err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
				var objs []*weftv1.Object
				if len(args) == 2 {
					po, err := cl.Get(ctx, &weftv1.GetRequest{Kind: kind, Namespace: o.ns, Name: args[1]})
					if err != nil {
						return err
					}
					objs = []*weftv1.Object{po}
				} else {
					ns := o.ns
					if o.all {
						ns = ""
					}
					resp, err := cl.List(ctx, &weftv1.ListRequest{Kind: kind, Namespace: ns, LabelSelector: o.selector})
					if err != nil {
						return err
					}
					objs = resp.GetObjects()
					if len(objs) == 0 && o.output == "table" {
						where := fmt.Sprintf("in namespace %q", ns)
						if ns == "" {
							where = "in any namespace"
						}
						fmt.Fprintf(g.errw, "No %ss found %s.\n", strings.ToLower(kind), where)
						return nil
					}
				}
				return printObjects(g.out, kind, objs, o.output, o.all)
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

func checkOutput(o string) error { return flagcheck.OneOf("--output", o, "table", "yaml", "json") }

// printObjects prints objs of kind in format.
func printObjects(w io.Writer, kind string, objs []*weftv1.Object, format string, withNS bool) error {
	switch format {
	case "json", "yaml":
		var docs []json.RawMessage
		for _, o := range objs {
			docs = append(docs, o.GetJson())
		}
		var v any = docs
		if len(docs) == 1 {
			v = docs[0]
		} else {
			v = map[string]any{"apiVersion": "v1", "kind": "List", "items": docs}
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if format == "yaml" {
			if b, err = yaml.JSONToYAML(b); err != nil {
				return err
			}
			_, err = w.Write(b)
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	defer tw.Flush()
	cols := []string{"NAME"}
	if withNS {
		cols = append([]string{"NAMESPACE"}, cols...)
	}
	switch kind {
	case apis.KindBroker:
		cols = append(cols, "URL", "AGE", "READY", "REASON")
	case apis.KindTrigger:
		cols = append(cols, "BROKER", "SUBSCRIBER_URI", "AGE", "READY", "REASON")
	case apis.KindChannel:
		cols = append(cols, "TYPE", "URL", "AGE", "READY", "REASON")
	case apis.KindSubscription:
		cols = append(cols, "CHANNEL", "SUBSCRIBER", "REPLY", "DEAD LETTER SINK", "AGE", "READY", "REASON")
	case apis.KindSequence:
		cols = append(cols, "URL", "STEPS", "AGE", "READY", "REASON")
	case apis.KindParallel:
		cols = append(cols, "URL", "BRANCHES", "AGE", "READY", "REASON")
	case apis.KindKafkaSink:
		cols = append(cols, "TOPIC", "URL", "AGE", "READY", "REASON")
	case apis.KindPingSource:
		cols = append(cols, "KIND", "SCHEDULE", "SINK", "AGE", "READY", "REASON")
	case apis.KindSecret:
		// Values are never printed in a table (as kubectl).
		cols = append(cols, "TYPE", "DATA", "AGE")
	case apis.KindHTTPPollerSource:
		cols = append(cols, "KIND", "ENDPOINT", "INTERVAL", "SINK", "AGE", "READY", "REASON")
	case apis.KindWebhookSource, apis.KindGitLabSource, apis.KindGitHubSource:
		cols = append(cols, "KIND", "URL", "SINK", "AGE", "READY", "REASON")
	case apis.KindKafkaSource:
		cols = append(cols, "KIND", "TOPICS", "BOOTSTRAPSERVERS", "SINK", "AGE", "READY", "REASON")
	case apis.KindEventPolicy:
		cols = append(cols, "TO", "FROM", "AGE", "READY", "REASON")
	case apis.KindEventType:
		// kubectl's columns for Knative's EventTypes (no AGE).
		cols = append(cols, "TYPE", "SOURCE", "SCHEMA", "REFERENCE NAME", "REFERENCE KIND", "DESCRIPTION", "READY", "REASON")
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, po := range objs {
		o, err := apis.DecodeObject(po.GetJson())
		if err != nil {
			return fmt.Errorf("decode %s %s: %w", po.GetKind(), po.GetName(), err)
		}
		m := o.GetObjectMeta()
		row := []string{m.Name}
		if withNS {
			row = append([]string{m.Namespace}, row...)
		}
		switch t := o.(type) {
		case *apis.Broker:
			row = append(row, urlOf(t.Status.Address))
		case *apis.Trigger:
			row = append(row, t.Spec.Broker, t.Status.SubscriberURI)
		case *apis.Channel:
			row = append(row, channelType(t), urlOf(t.Status.Address))
		case *apis.Subscription:
			var dls *apis.Destination
			if t.Spec.Delivery != nil {
				dls = t.Spec.Delivery.DeadLetterSink
			}
			row = append(row, formatChannelRef(t.Spec.Channel), formatDest(t.Spec.Subscriber, m.Namespace),
				formatDest(t.Spec.Reply, m.Namespace), formatDest(dls, m.Namespace))
		case *apis.Sequence:
			row = append(row, urlOf(t.Status.Address), strconv.Itoa(len(t.Spec.Steps)))
		case *apis.Parallel:
			row = append(row, urlOf(t.Status.Address), strconv.Itoa(len(t.Spec.Branches)))
		case *apis.KafkaSink:
			row = append(row, t.Spec.Topic, urlOf(t.Status.Address))
		case *apis.PingSource:
			row = append(row, apis.KindPingSource, t.Spec.Schedule, formatDest(&t.Spec.Sink, m.Namespace))
		case *apis.Secret:
			row = append(row, t.Type, strconv.Itoa(len(t.Data)), age(m.CreationTimestamp))
			fmt.Fprintln(tw, strings.Join(row, "\t"))
			continue
		case *apis.HTTPPollerSource:
			row = append(row, apis.KindHTTPPollerSource, t.Spec.Method+" "+t.Spec.Endpoint, t.Spec.Interval, formatDest(&t.Spec.Sink, m.Namespace))
		case *apis.WebhookSource:
			row = append(row, apis.KindWebhookSource, urlOf(t.Status.Address), formatDest(&t.Spec.Sink, m.Namespace))
		case *apis.GitLabSource:
			row = append(row, apis.KindGitLabSource, urlOf(t.Status.Address), formatDest(&t.Spec.Sink, m.Namespace))
		case *apis.GitHubSource:
			row = append(row, apis.KindGitHubSource, urlOf(t.Status.Address), formatDest(&t.Spec.Sink, m.Namespace))
		case *apis.KafkaSource:
			row = append(row, apis.KindKafkaSource, strings.Join(t.Spec.Topics, ","), strings.Join(t.Spec.BootstrapServers, ","), formatDest(&t.Spec.Sink, m.Namespace))
		case *apis.EventPolicy:
			row = append(row, policyTargets(t), policySenders(t))
		case *apis.EventType:
			ready, reason := readyOf(o.GetConditions())
			fmt.Fprintln(tw, strings.Join(append(append(row, eventTypeRow(t)...), ready, reason), "\t"))
			continue
		}
		ready, reason := readyOf(o.GetConditions())
		row = append(row, age(m.CreationTimestamp), ready, reason)
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return nil
}

// policyTargets lists what an EventPolicy's spec.to names: "broker/default",
// "inmemorychannel(team=orders)", or "*" (every addressable of its namespace).
func policyTargets(p *apis.EventPolicy) string {
	if len(p.Spec.To) == 0 {
		return "*"
	}
	var out []string
	for _, t := range p.Spec.To {
		switch {
		case t.Ref != nil:
			out = append(out, strings.ToLower(t.Ref.Kind)+"/"+t.Ref.Name)
		case t.Selector != nil:
			var sel []string
			for _, k := range slices.Sorted(maps.Keys(t.Selector.MatchLabels)) {
				sel = append(sel, k+"="+t.Selector.MatchLabels[k])
			}
			for _, r := range t.Selector.MatchExpressions {
				sel = append(sel, r.Key+" "+r.Operator+" ("+strings.Join(r.Values, ",")+")")
			}
			kind := strings.ToLower(t.Selector.Kind)
			if kind == "" {
				kind = "*"
			}
			out = append(out, kind+"("+strings.Join(sel, ",")+")")
		}
	}
	return strings.Join(out, ",")
}

// policySenders lists the subjects an EventPolicy admits ("*": every
// authenticated sender): its status.from, else its spec.from.
func policySenders(p *apis.EventPolicy) string {
	subs := p.Status.From
	if len(subs) == 0 {
		subs = p.Subjects()
	}
	if len(subs) == 0 {
		return "*"
	}
	return strings.Join(subs, ",")
}

// urlOf is the URL of an address ("" when there is none yet).
func urlOf(a *apis.Addressable) string {
	if a == nil {
		return ""
	}
	return a.URL
}

func readyOf(conds []apis.Condition) (string, string) {
	for _, c := range conds {
		if c.Type == "Ready" {
			return c.Status, c.Reason
		}
	}
	return apis.ConditionUnknown, ""
}

func age(t *time.Time) string {
	if t == nil {
		return "<unknown>"
	}
	d := time.Since(*t).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func newDescribeCmd(g *globals) *cobra.Command {
	var ns string
	c := &cobra.Command{
		Use:   "describe KIND NAME",
		Short: "Show one resource in detail, with its conditions",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := apis.ResolveKind(args[0])
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
				po, err := cl.Get(ctx, &weftv1.GetRequest{Kind: kind, Namespace: ns, Name: args[1]})
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

func describe(w io.Writer, po *weftv1.Object) error {
	o, err := apis.DecodeObject(po.GetJson())
	if err != nil {
		return err
	}
	m := o.GetObjectMeta()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\nNamespace:\t%s\nKind:\t%s (%s)\nUID:\t%s\nGeneration:\t%d\nResource version:\t%s\nAge:\t%s\n",
		m.Name, m.Namespace, o.GetTypeMeta().Kind, o.GetTypeMeta().APIVersion, m.UID, m.Generation, m.ResourceVersion, age(m.CreationTimestamp))
	for _, kv := range []struct {
		name string
		m    map[string]string
	}{{"Labels", m.Labels}, {"Annotations", m.Annotations}} {
		keys := make([]string, 0, len(kv.m))
		for k := range kv.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			label := ""
			if i == 0 {
				label = kv.name + ":"
			}
			fmt.Fprintf(tw, "%s\t%s=%s\n", label, k, kv.m[k])
		}
	}
	switch t := o.(type) {
	case *apis.Broker:
		if t.Status.Address != nil {
			fmt.Fprintf(tw, "Address:\t%s\n", t.Status.Address.URL)
		}
		fmt.Fprintf(tw, "Topic:\t%s\n", t.Status.Topic)
		printSpec(tw, "Delivery", t.Spec.Delivery)
	case *apis.Trigger:
		fmt.Fprintf(tw, "Broker:\t%s\n", t.Spec.Broker)
		printSpec(tw, "Filter", t.Spec.Filter)
		printSpec(tw, "Filters", t.Spec.Filters)
		printSpec(tw, "Subscriber", t.Spec.Subscriber)
		fmt.Fprintf(tw, "Subscriber URI:\t%s\n", t.Status.SubscriberURI)
		printSpec(tw, "Delivery", t.Spec.Delivery)
	case *apis.KafkaSink:
		describeSink(tw, t)
	case *apis.PingSource:
		describeSource(tw, t)
	case *apis.Secret:
		// Key names and sizes, never values (as kubectl describe).
		fmt.Fprintf(tw, "Type:\t%s\n", t.Type)
		fmt.Fprintln(tw, "Data:")
		keys := make([]string, 0, len(t.Data))
		for k := range t.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s:\t%d bytes\n", k, len(t.Data[k]))
		}
	case *apis.HTTPPollerSource:
		describePoller(tw, t)
	case *apis.WebhookSource, *apis.GitLabSource, *apis.GitHubSource:
		describeWebhookSource(tw, o)
	case *apis.KafkaSource:
		describeKafkaSource(tw, t)
	case *apis.EventPolicy:
		fmt.Fprintf(tw, "To:\t%s\n", policyTargets(t))
		fmt.Fprintf(tw, "From:\t%s\n", policySenders(t))
		printSpec(tw, "Filters", t.Spec.Filters)
	case *apis.EventType:
		describeEventType(tw, t)
	default:
		describeMessaging(tw, o)
	}
	tw.Flush()
	fmt.Fprintln(w, "Conditions:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tMESSAGE")
	for _, c := range o.GetConditions() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	return tw.Flush()
}

// fieldLine returns a printer of "label:\tvalue" lines on w for `weft
// describe`, which prints nothing for an empty value.
func fieldLine(w io.Writer) func(label, v string) {
	return func(label, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s:\t%s\n", label, v)
		}
	}
}

func printSpec(w io.Writer, name string, v any) {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" || string(b) == "{}" || string(b) == "[]" {
		return
	}
	fmt.Fprintf(w, "%s:\t%s\n", name, b)
}

func newDeleteCmd(g *globals) *cobra.Command {
	var ns string
	c := &cobra.Command{
		Use:   "delete KIND NAME...",
		Short: "Delete resources",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := apis.ResolveKind(args[0])
			if err != nil {
				return err
			}
			return g.call(cmd.Context(), func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
				for _, name := range args[1:] {
					if _, err := cl.Delete(ctx, &weftv1.DeleteRequest{Kind: kind, Namespace: ns, Name: name}); err != nil {
						return err
					}
					fmt.Fprintf(g.out, "%s/%s deleted\n", qualifiedKind(kind), name)
				}
				return nil
			})
		},
	}
	namespaceFlag(c.Flags(), &ns)
	g.serverFlags(c.Flags())
	return c
}
