package cli

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
)

// The kn-style `weft channel` and `weft subscription` groups.

func init() {
	extraCommands = append(extraCommands, newChannelCmd, newSubscriptionCmd)
}

// channelKinds are the prefixes of a channel reference (--channel) and the
// kind each names; a name without a prefix is a Channel.
var channelKinds = []struct{ prefix, apiVersion, kind string }{
	{"channel", apis.MessagingV1, apis.KindChannel},
	{"imc", apis.MessagingV1, apis.KindInMemoryChannel},
	{"kafka", apis.MessagingV1beta1, apis.KindKafkaChannel},
}

// channelTypes are what `channel create --type` accepts: kn's aliases and
// GROUP:VERSION:KIND.
const channelTypes = "imc, kafka, messaging.knative.dev:v1:InMemoryChannel or messaging.knative.dev:v1beta1:KafkaChannel"

// parseChannelType reads --type: the kind of the channel backing a Channel.
func parseChannelType(s string) (*apis.ChannelTemplateSpec, error) {
	for _, k := range channelKinds[1:] {
		group, version, _ := strings.Cut(k.apiVersion, "/")
		if s == k.prefix || s == group+":"+version+":"+k.kind {
			return &apis.ChannelTemplateSpec{APIVersion: k.apiVersion, Kind: k.kind}, nil
		}
	}
	return nil, flagcheck.Errorf("--type", s, "be %s", channelTypes)
}

// parseChannelRef reads --channel: NAME, channel:NAME, imc:NAME or
// kafka:NAME.
func parseChannelRef(s string) (apis.ChannelReference, error) {
	const want = "be NAME, channel:NAME, imc:NAME or kafka:NAME"
	prefix, name, ok := strings.Cut(s, ":")
	if !ok {
		prefix, name = "channel", s
	}
	for _, k := range channelKinds {
		if k.prefix == prefix {
			if name == "" {
				return apis.ChannelReference{}, flagcheck.Errorf("--channel", s, want)
			}
			return apis.ChannelReference{APIVersion: k.apiVersion, Kind: k.kind, Name: name}, nil
		}
	}
	return apis.ChannelReference{}, flagcheck.Errorf("--channel", s, want+" (unknown channel prefix %q)", prefix)
}

// formatChannelRef prints r as --channel reads it.
func formatChannelRef(r apis.ChannelReference) string {
	for _, k := range channelKinds {
		if k.apiVersion == r.APIVersion && k.kind == r.Kind {
			return k.prefix + ":" + r.Name
		}
	}
	return r.Kind + ":" + r.Name
}

// channelType is the kind of channel c is: its template's kind, else what
// its manifest said.
func channelType(c *apis.Channel) string {
	if t := c.Spec.ChannelTemplate; t != nil && t.Kind != "" {
		return t.Kind
	}
	return c.TypeMeta.Kind
}

type channelFlags struct {
	ns, typ, retention            string
	partitions, replicationFactor int
	dls, policy, delay, timeout   string
	retry                         int
}

// channel builds the Channel the flags describe. As `kn channel create`, it
// is a messaging.knative.dev/v1 Channel, with --type as its channelTemplate;
// the KafkaChannel flags size the template. Every bad flag is reported.
func (cf *channelFlags) channel(cmd *cobra.Command, name string) (*apis.Channel, error) {
	f := cmd.Flags()
	c := &apis.Channel{TypeMeta: apis.TypeMeta{APIVersion: apis.MessagingV1, Kind: apis.KindChannel},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: cf.ns}}
	var errs []error
	typeOK := true
	if f.Changed("type") {
		t, err := parseChannelType(cf.typ)
		if err != nil {
			errs = append(errs, err)
			typeOK = false
		}
		c.Spec.ChannelTemplate = t
	}
	params := &apis.ChannelTemplateParams{}
	for _, kf := range []struct {
		name  string
		check func() error
		set   func()
	}{
		{"partitions", func() error { return flagcheck.Positive("--partitions", cf.partitions) }, func() {
			n := int32(cf.partitions)
			params.NumPartitions = &n
		}},
		{"replication-factor", func() error {
			return flagcheck.Between("--replication-factor", cf.replicationFactor, 1, math.MaxInt16)
		}, func() {
			n := int16(cf.replicationFactor)
			params.ReplicationFactor = &n
		}},
		{"retention", func() error {
			if d, err := apis.ParseDuration(cf.retention); err != nil || d <= 0 {
				return flagcheck.Errorf("--retention", cf.retention, "be a positive ISO-8601 duration such as P7D or PT12H")
			}
			return nil
		}, func() { params.RetentionDuration = &cf.retention }},
	} {
		if !f.Changed(kf.name) {
			continue
		}
		if err := kf.check(); err != nil {
			errs = append(errs, err)
			continue
		}
		if typeOK && (c.Spec.ChannelTemplate == nil || c.Spec.ChannelTemplate.Kind != apis.KindKafkaChannel) {
			errs = append(errs, flagcheck.Errorf("--"+kf.name, f.Lookup(kf.name).Value.String(),
				"come with --type kafka (only a KafkaChannel sizes its topic)"))
			continue
		}
		kf.set()
	}
	if *params != (apis.ChannelTemplateParams{}) && c.Spec.ChannelTemplate != nil {
		c.Spec.ChannelTemplate.Spec = params
	}
	d, err := deliveryFlags(cmd, "dl-sink", cf.dls, cf.retry, cf.policy, cf.delay, cf.timeout)
	if err != nil {
		errs = append(errs, err)
	}
	c.Spec.Delivery = d
	if err := flagcheck.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func newChannelCmd(g *globals) *cobra.Command {
	cf := &channelFlags{}
	create := &cobra.Command{
		Use:   "create NAME [--type imc|kafka|GROUP:VERSION:KIND] [--partitions N --replication-factor N --retention DURATION]",
		Short: "Create a channel",
		Long: `Create a channel: a messaging.knative.dev/v1 Channel, as kn creates it, with
--type as its channelTemplate. Every Weft channel is a durable Kafka topic
whatever its type; a KafkaChannel template (--type kafka) sizes that topic
with --partitions, --replication-factor and --retention.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.channel(cmd, args[0])
			if err != nil {
				return err
			}
			return g.createOnly(cmd.Context(), c)
		},
	}
	fs := create.Flags()
	namespaceFlag(fs, &cf.ns)
	fs.StringVar(&cf.typ, "type", "", "kind of channel: "+channelTypes+" (default: none, the control plane's default)")
	fs.IntVar(&cf.partitions, "partitions", 0, "partitions of the channel's topic (--type kafka; default: the control plane's --broker-partitions)")
	fs.IntVar(&cf.replicationFactor, "replication-factor", 0, "replication factor of the channel's topic (--type kafka)")
	fs.StringVar(&cf.retention, "retention", "", "ISO-8601 retention of the channel's topic, e.g. P7D (--type kafka)")
	addDeliveryFlags(create, "dl-sink", &cf.dls, &cf.retry, &cf.policy, &cf.delay, &cf.timeout)
	return kindCmd(g, apis.KindChannel, create)
}

type subscriptionFlags struct {
	ns, channel, sink, reply    string
	dls, policy, delay, timeout string
	retry                       int
}

// subscription builds the Subscription the flags describe, reporting every
// bad flag.
func (sf *subscriptionFlags) subscription(cmd *cobra.Command, name string) (*apis.Subscription, error) {
	s := &apis.Subscription{TypeMeta: apis.TypeMeta{APIVersion: apis.MessagingV1, Kind: apis.KindSubscription},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: sf.ns}}
	var errs []error
	if sf.channel == "" {
		errs = append(errs, errors.New("--channel: must be set: NAME, channel:NAME, imc:NAME or kafka:NAME"))
	} else if ref, err := parseChannelRef(sf.channel); err != nil {
		errs = append(errs, err)
	} else {
		s.Spec.Channel = ref
	}
	if sf.sink == "" && sf.reply == "" {
		errs = append(errs, errors.New("--sink: must be set (or --sink-reply alone, to forward events unchanged): "+sinkSyntax))
	}
	for _, d := range []struct {
		flag, v string
		dst     **apis.Destination
	}{{"--sink", sf.sink, &s.Spec.Subscriber}, {"--sink-reply", sf.reply, &s.Spec.Reply}} {
		if d.v == "" {
			continue
		}
		dest, err := parseSink(d.flag, d.v)
		if err != nil {
			errs = append(errs, err)
		}
		*d.dst = dest
	}
	d, err := deliveryFlags(cmd, "sink-dead-letter", sf.dls, sf.retry, sf.policy, sf.delay, sf.timeout)
	if err != nil {
		errs = append(errs, err)
	}
	s.Spec.Delivery = d
	if err := flagcheck.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func newSubscriptionCmd(g *globals) *cobra.Command {
	sf := &subscriptionFlags{}
	create := &cobra.Command{
		Use:   "create NAME --channel [imc:|kafka:]C --sink S [--sink-reply R] [--sink-dead-letter D]",
		Short: "Create a subscription",
		Long: `Create a subscription: the events of --channel go to --sink, its replies to
--sink-reply, and what cannot be delivered to --sink-dead-letter. Sinks are
` + sinkSyntax + `.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := sf.subscription(cmd, args[0])
			if err != nil {
				return err
			}
			return g.createOnly(cmd.Context(), s)
		},
	}
	fs := create.Flags()
	namespaceFlag(fs, &sf.ns)
	fs.StringVar(&sf.channel, "channel", "", "channel to subscribe to: NAME (a Channel), channel:NAME, imc:NAME or kafka:NAME")
	fs.StringVar(&sf.sink, "sink", "", "subscriber: "+sinkSyntax)
	fs.StringVar(&sf.reply, "sink-reply", "", "where the subscriber's replies go: "+sinkSyntax)
	addDeliveryFlags(create, "sink-dead-letter", &sf.dls, &sf.retry, &sf.policy, &sf.delay, &sf.timeout)
	return kindCmd(g, apis.KindSubscription, create)
}

// describeMessaging prints the spec and status fields of a channel,
// subscription, sequence or parallel for `weft describe`; w is the
// describe's tabwriter ("Label:\tvalue" lines).
func describeMessaging(w io.Writer, o apis.Object) {
	ns := o.GetObjectMeta().Namespace
	line := fieldLine(w)
	switch t := o.(type) {
	case *apis.Channel:
		line("Type", channelType(t))
		line("Address", urlOf(t.Status.Address))
		line("Topic", t.Status.Topic)
		printSpec(w, "Channel template", t.Spec.ChannelTemplate)
		if t.Spec.NumPartitions != nil {
			line("Partitions", strconv.Itoa(int(*t.Spec.NumPartitions)))
		}
		if t.Spec.ReplicationFactor != nil {
			line("Replication factor", strconv.Itoa(int(*t.Spec.ReplicationFactor)))
		}
		if t.Spec.RetentionDuration != nil {
			line("Retention", *t.Spec.RetentionDuration)
		}
		printSpec(w, "Delivery", t.Spec.Delivery)
		line("Dead letter sink URI", t.Status.DeadLetterSinkURI)
		for i, s := range t.Status.Subscribers {
			label := ""
			if i == 0 {
				label = "Subscribers:"
			}
			fmt.Fprintf(w, "%s\t%s ready=%s %s\n", label, s.UID, s.Ready, s.Message)
		}
	case *apis.Subscription:
		line("Channel", formatChannelRef(t.Spec.Channel))
		line("Subscriber", formatDest(t.Spec.Subscriber, ns))
		line("Reply", formatDest(t.Spec.Reply, ns))
		if t.Spec.Delivery != nil {
			line("Dead letter sink", formatDest(t.Spec.Delivery.DeadLetterSink, ns))
		}
		printSpec(w, "Delivery", t.Spec.Delivery)
		p := t.Status.PhysicalSubscription
		line("Subscriber URI", p.SubscriberURI)
		line("Reply URI", p.ReplyURI)
		line("Dead letter sink URI", p.DeadLetterSinkURI)
	case *apis.Sequence:
		line("Address", urlOf(t.Status.Address))
		for i, st := range t.Spec.Steps {
			line(fmt.Sprintf("Step %d", i), formatDest(&st.Destination, ns))
			printSpec(w, fmt.Sprintf("Step %d delivery", i), st.Delivery)
		}
		line("Reply", formatDest(t.Spec.Reply, ns))
		printSpec(w, "Channel template", t.Spec.ChannelTemplate)
		for i, cs := range t.Status.ChannelStatuses {
			line(fmt.Sprintf("Step %d channel", i), flowChannel(cs))
		}
		for i, ss := range t.Status.SubscriptionStatuses {
			line(fmt.Sprintf("Step %d subscription", i), flowSubscription(ss))
		}
	case *apis.Parallel:
		line("Address", urlOf(t.Status.Address))
		for i, b := range t.Spec.Branches {
			line(fmt.Sprintf("Branch %d filter", i), formatDest(b.Filter, ns))
			line(fmt.Sprintf("Branch %d subscriber", i), formatDest(&b.Subscriber, ns))
			line(fmt.Sprintf("Branch %d reply", i), formatDest(b.Reply, ns))
			printSpec(w, fmt.Sprintf("Branch %d delivery", i), b.Delivery)
		}
		line("Reply", formatDest(t.Spec.Reply, ns))
		printSpec(w, "Channel template", t.Spec.ChannelTemplate)
		line("Ingress channel", flowChannel(t.Status.IngressChannelStatus))
		for i, bs := range t.Status.BranchStatuses {
			line(fmt.Sprintf("Branch %d filter channel", i), flowChannel(bs.FilterChannelStatus))
			line(fmt.Sprintf("Branch %d filter subscription", i), flowSubscription(bs.FilterSubscriptionStatus))
			line(fmt.Sprintf("Branch %d subscription", i), flowSubscription(bs.SubscriberSubscriptionStatus))
		}
	}
}

// flowChannel prints an internal channel of a flow: kind, name, topic and
// readiness ("" when the status names none).
func flowChannel(cs apis.FlowChannelStatus) string {
	if cs.Channel.Name == "" {
		return ""
	}
	s := cs.Channel.Kind + " " + cs.Channel.Name
	if cs.Topic != "" {
		s += " (topic " + cs.Topic + ")"
	}
	return s + readiness(cs.Ready)
}

// flowSubscription prints an internal subscription of a flow.
func flowSubscription(ss apis.FlowSubscriptionStatus) string {
	if ss.Subscription.Name == "" {
		return ""
	}
	return ss.Subscription.Kind + " " + ss.Subscription.Name + readiness(ss.Ready)
}

func readiness(c apis.Condition) string {
	if c.Status == "" {
		return ""
	}
	s := " ready=" + c.Status
	if c.Reason != "" {
		s += " " + c.Reason
	}
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}
