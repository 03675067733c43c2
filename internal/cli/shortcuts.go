package cli

import (
	"context"
	"errors"
	"fmt"
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
		fmt.Fprintf(g.out, "%s %q created in namespace %q\n", strings.Title(strings.ToLower(po.Kind)), po.Name, po.Namespace) //nolint:staticcheck // ASCII kind names
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
			d, err := deliveryFlags(cmd, dls, retry, backoffPolicy, backoffDelay, timeout)
			if err != nil {
				return err
			}
			b.Spec.Delivery = d
			return g.createOnly(cmd.Context(), b)
		},
	}
	namespaceFlag(create.Flags(), &ns)
	create.Flags().IntVar(&partitions, "partitions", 0, "partitions of the broker's topic (default: the control plane's --broker-partitions)")
	addDeliveryFlags(create, &dls, &retry, &backoffPolicy, &backoffDelay, &timeout)
	return kindCmd(g, apis.KindBroker, create)
}

func addDeliveryFlags(c *cobra.Command, dls *string, retry *int, policy, delay, timeout *string) {
	f := c.Flags()
	f.StringVar(dls, "dl-sink", "", "dead-letter sink: a URL, ksvc:NAME, svc:NAME or broker:NAME")
	f.IntVar(retry, "retry", 0, "retries after the first attempt")
	f.StringVar(policy, "backoff-policy", "", "linear or exponential")
	f.StringVar(delay, "backoff-delay", "", "ISO-8601 base backoff delay (e.g. PT0.2S)")
	f.StringVar(timeout, "timeout", "", "ISO-8601 timeout of each delivery attempt (e.g. PT10S)")
}

// deliveryFlags builds a DeliverySpec from the flags that were set (nil: none).
func deliveryFlags(cmd *cobra.Command, dls string, retry int, policy, delay, timeout string) (*apis.DeliverySpec, error) {
	f := cmd.Flags()
	if !f.Changed("dl-sink") && !f.Changed("retry") && !f.Changed("backoff-policy") && !f.Changed("backoff-delay") && !f.Changed("timeout") {
		return nil, nil
	}
	d := &apis.DeliverySpec{}
	if dls != "" {
		dest, err := parseSink("--dl-sink", dls)
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

// parseSink turns kn's sink syntax into a Destination.
func parseSink(flag, s string) (*apis.Destination, error) {
	prefix, name, ok := strings.Cut(s, ":")
	if ok && !strings.HasPrefix(name, "//") {
		switch prefix {
		case "ksvc":
			return &apis.Destination{Ref: &apis.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: name}}, nil
		case "svc", "service":
			return &apis.Destination{Ref: &apis.KReference{APIVersion: "v1", Kind: "Service", Name: name}}, nil
		case "broker":
			return &apis.Destination{Ref: &apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: name}}, nil
		}
		return nil, flagcheck.Errorf(flag, s, "be a URL, ksvc:NAME, svc:NAME or broker:NAME (unknown sink prefix %q)", prefix)
	}
	return &apis.Destination{URI: s}, nil
}

func newTriggerCmd(g *globals) *cobra.Command {
	var ns, broker, sink, dls, backoffPolicy, backoffDelay, timeout string
	var filters []string
	var retry int
	create := &cobra.Command{
		Use:   "create NAME --broker B --sink URL|ksvc:NAME|svc:NAME [--filter k=v ...]",
		Short: "Create a trigger",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sink == "" {
				return errors.New("--sink: must be set: a URL, ksvc:NAME, svc:NAME or broker:NAME")
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
			d, err := deliveryFlags(cmd, dls, retry, backoffPolicy, backoffDelay, timeout)
			if err != nil {
				return err
			}
			t.Spec.Delivery = d
			return g.createOnly(cmd.Context(), t)
		},
	}
	namespaceFlag(create.Flags(), &ns)
	create.Flags().StringVar(&broker, "broker", "default", "broker the trigger subscribes to")
	create.Flags().StringVar(&sink, "sink", "", "subscriber: a URL, ksvc:NAME, svc:NAME or broker:NAME")
	create.Flags().StringArrayVar(&filters, "filter", nil, "attribute=value the event must have (repeatable; empty value: attribute present)")
	addDeliveryFlags(create, &dls, &retry, &backoffPolicy, &backoffDelay, &timeout)
	return kindCmd(g, apis.KindTrigger, create)
}
