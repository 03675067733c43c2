package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// kindCmd builds the kn-style `weft broker|trigger` group with list,
// describe and delete; create is added by the caller.
func kindCmd(g *globals, kind string, create *cobra.Command) *cobra.Command {
	lower := strings.ToLower(kind)
	c := &cobra.Command{Use: lower, Short: "Manage " + lower + "s (kn-style shortcuts)"}
	list := newGetCmd(g)
	list.Use, list.Short, list.Args = "list", "List "+lower+"s", cobra.NoArgs
	inner := list.RunE
	list.RunE = func(cmd *cobra.Command, _ []string) error { return inner(cmd, []string{kind}) }
	del := newDeleteCmd(g)
	del.Use, del.Short, del.Args = "delete NAME...", "Delete "+lower+"s", cobra.MinimumNArgs(1)
	innerDel := del.RunE
	del.RunE = func(cmd *cobra.Command, args []string) error { return innerDel(cmd, append([]string{kind}, args...)) }
	desc := newDescribeCmd(g)
	desc.Use, desc.Short, desc.Args = "describe NAME", "Describe a "+lower, cobra.ExactArgs(1)
	innerDesc := desc.RunE
	desc.RunE = func(cmd *cobra.Command, args []string) error { return innerDesc(cmd, []string{kind, args[0]}) }
	g.serverFlags(create.Flags())
	c.AddCommand(create, list, del, desc)
	return c
}

// createOnly applies o unless it already exists.
func (g *globals) createOnly(ctx context.Context, o apis.Object) error {
	apis.SetDefaults(o)
	if err := apis.Validate(o); err != nil {
		return err
	}
	po, err := toProto(o)
	if err != nil {
		return err
	}
	return g.call(ctx, func(ctx context.Context, cl weftv1.ControlPlaneClient) error {
		_, err := cl.Get(ctx, &weftv1.GetRequest{Kind: po.Kind, Namespace: po.Namespace, Name: po.Name})
		if err == nil {
			return fmt.Errorf("%s %q already exists in namespace %q (use `weft apply` to change it)", strings.ToLower(po.Kind), po.Name, po.Namespace)
		}
		if status.Code(err) != codes.NotFound {
			return err
		}
		if _, err := cl.Apply(ctx, &weftv1.ApplyRequest{Objects: []*weftv1.Object{po}}); err != nil {
			return err
		}
		fmt.Fprintf(g.out, "%s %q created in namespace %q\n", po.Kind, po.Name, po.Namespace)
		return nil
	})
}

func newBrokerCmd(g *globals) *cobra.Command {
	var ns, dls, backoffPolicy, backoffDelay, timeout string
	var partitions, retry int
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a broker",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b := &apis.Broker{TypeMeta: apis.TypeMeta{APIVersion: apis.EventingV1, Kind: apis.KindBroker},
				ObjectMeta: apis.ObjectMeta{Name: args[0], Namespace: ns}}
			if partitions > 0 {
				b.ObjectMeta.Annotations = map[string]string{apis.AnnotationPartitions: strconv.Itoa(partitions)}
			}
			d, err := deliveryFlags(cmd, "dl-sink", dls, retry, backoffPolicy, backoffDelay, timeout)
			if err != nil {
				return err
			}
			b.Spec.Delivery = d
			return g.createOnly(cmd.Context(), b)
		},
	}
	namespaceFlag(create.Flags(), &ns)
	create.Flags().IntVar(&partitions, "partitions", 0, "partitions of the broker's topic (default: the control plane's --broker-partitions)")
	addDeliveryFlags(create, "dl-sink", &dls, &retry, &backoffPolicy, &backoffDelay, &timeout)
	return kindCmd(g, apis.KindBroker, create)
}

// addDeliveryFlags registers the delivery flags; dlsFlag names the
// dead-letter sink's flag (dl-sink, or kn subscription's sink-dead-letter).
func addDeliveryFlags(c *cobra.Command, dlsFlag string, dls *string, retry *int, policy, delay, timeout *string) {
	f := c.Flags()
	f.StringVar(dls, dlsFlag, "", "dead-letter sink: "+sinkSyntax)
	f.IntVar(retry, "retry", 0, "retries after the first attempt")
	f.StringVar(policy, "backoff-policy", "", "linear or exponential")
	f.StringVar(delay, "backoff-delay", "", "ISO-8601 base backoff delay (e.g. PT0.2S)")
	f.StringVar(timeout, "timeout", "", "ISO-8601 timeout of each delivery attempt (e.g. PT10S)")
}

// deliveryFlags builds a DeliverySpec from the flags that were set (nil: none).
func deliveryFlags(cmd *cobra.Command, dlsFlag, dls string, retry int, policy, delay, timeout string) (*apis.DeliverySpec, error) {
	f := cmd.Flags()
	if !f.Changed(dlsFlag) && !f.Changed("retry") && !f.Changed("backoff-policy") && !f.Changed("backoff-delay") && !f.Changed("timeout") {
		return nil, nil
	}
	d := &apis.DeliverySpec{}
	if dls != "" {
		dest, err := parseSink("--"+dlsFlag, dls)
		if err != nil {
			return nil, err
		}
		d.DeadLetterSink = dest
	}
	if f.Changed("retry") {
		r := int32(retry)
		d.Retry = &r
	}
	if policy != "" {
		p := apis.BackoffPolicyType(policy)
		d.BackoffPolicy = &p
	}
	if delay != "" {
		d.BackoffDelay = &delay
	}
	if timeout != "" {
		d.Timeout = &timeout
	}
	return d, nil
}

// sinkKinds are the prefixes of kn's sink syntax (PREFIX:NAME) and the
// reference each names, in the order help and errors list them. The first
// entry for an apiVersion and kind is how formatDest prints it.
var sinkKinds = []struct{ prefix, apiVersion, kind string }{
	{"ksvc", "serving.knative.dev/v1", "Service"},
	{"svc", "v1", "Service"},
	{"service", "v1", "Service"},
	{"broker", apis.EventingV1, apis.KindBroker},
	{"channel", apis.MessagingV1, apis.KindChannel},
	{"sequence", apis.FlowsV1, apis.KindSequence},
	{"parallel", apis.FlowsV1, apis.KindParallel},
	{"kafkasink", apis.EventingV1alpha1, apis.KindKafkaSink},
}

// sinkSyntax is how help and errors describe a sink.
const sinkSyntax = "an http(s) URL, ksvc:NAME, svc:NAME, broker:NAME, channel:NAME, sequence:NAME, parallel:NAME or kafkasink:NAME"

// parseSink turns kn's sink syntax into a Destination: an http(s) URL, or
// PREFIX:NAME[:NAMESPACE] with a prefix of sinkKinds or channelKinds (imc:,
// kafka:).
func parseSink(flag, s string) (*apis.Destination, error) {
	prefix, name, ok := strings.Cut(s, ":")
	if ok && !strings.HasPrefix(name, "//") {
		for _, k := range append(sinkKinds[:len(sinkKinds):len(sinkKinds)], channelKinds...) {
			if k.prefix != prefix {
				continue
			}
			name, ns, _ := strings.Cut(name, ":")
			if name == "" {
				return nil, flagcheck.Errorf(flag, s, "be %s:NAME with a name", prefix)
			}
			return &apis.Destination{Ref: &apis.KReference{APIVersion: k.apiVersion, Kind: k.kind, Name: name, Namespace: ns}}, nil
		}
		return nil, flagcheck.Errorf(flag, s, "be %s (unknown sink prefix %q)", sinkSyntax, prefix)
	}
	if !ok {
		return nil, flagcheck.Errorf(flag, s, "be %s (for a Knative service, write ksvc:%s)", sinkSyntax, s)
	}
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, flagcheck.Errorf(flag, s, "be %s (a URL needs the http or https scheme and a host)", sinkSyntax)
	}
	return &apis.Destination{URI: s}, nil
}

// formatDest prints d in the sink syntax parseSink reads (a reference to a
// kind it has no prefix for prints as Kind:NAME); ns is the namespace of the
// object holding d, left out of references to that namespace.
func formatDest(d *apis.Destination, ns string) string {
	if d == nil {
		return ""
	}
	if d.Ref == nil {
		return d.URI
	}
	r := d.Ref
	prefix := r.Kind
	for _, k := range append(sinkKinds[:len(sinkKinds):len(sinkKinds)], channelKinds...) {
		if k.apiVersion == r.APIVersion && k.kind == r.Kind {
			prefix = k.prefix
			break
		}
	}
	s := prefix + ":" + r.Name
	if r.Namespace != "" && r.Namespace != ns {
		s += ":" + r.Namespace
	}
	return s + d.URI
}

func newTriggerCmd(g *globals) *cobra.Command {
	var ns, broker, sink, dls, backoffPolicy, backoffDelay, timeout string
	var filters []string
	var retry int
	create := &cobra.Command{
		Use:   "create NAME --broker B --sink URL|ksvc:NAME|svc:NAME|... [--filter k=v ...]",
		Short: "Create a trigger",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sink == "" {
				return errors.New("--sink: must be set: " + sinkSyntax)
			}
			dest, err := parseSink("--sink", sink)
			if err != nil {
				return err
			}
			t := &apis.Trigger{TypeMeta: apis.TypeMeta{APIVersion: apis.EventingV1, Kind: apis.KindTrigger},
				ObjectMeta: apis.ObjectMeta{Name: args[0], Namespace: ns},
				Spec:       apis.TriggerSpec{Broker: broker, Subscriber: *dest}}
			if len(filters) > 0 {
				t.Spec.Filter = &apis.TriggerFilter{Attributes: map[string]string{}}
				for _, f := range filters {
					k, v, ok := strings.Cut(f, "=")
					if !ok {
						return flagcheck.Errorf("--filter", f, "be attribute=value")
					}
					t.Spec.Filter.Attributes[k] = v
				}
			}
			d, err := deliveryFlags(cmd, "dl-sink", dls, retry, backoffPolicy, backoffDelay, timeout)
			if err != nil {
				return err
			}
			t.Spec.Delivery = d
			return g.createOnly(cmd.Context(), t)
		},
	}
	namespaceFlag(create.Flags(), &ns)
	create.Flags().StringVar(&broker, "broker", "default", "broker the trigger subscribes to")
	create.Flags().StringVar(&sink, "sink", "", "subscriber: "+sinkSyntax)
	create.Flags().StringArrayVar(&filters, "filter", nil, "attribute=value the event must have (repeatable; empty value: attribute present)")
	addDeliveryFlags(create, "dl-sink", &dls, &retry, &backoffPolicy, &backoffDelay, &timeout)
	return kindCmd(g, apis.KindTrigger, create)
}
