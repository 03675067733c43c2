package apis

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// channel is a channel manifest of the given kind (Channel, InMemoryChannel
// or KafkaChannel) named "c" in namespace "ns"; spec may be empty.
func channel(kind, spec string) string {
	s := "apiVersion: " + DefaultAPIVersion(kind) + "\nkind: " + kind + "\nmetadata:\n  name: c\n  namespace: ns\n"
	if spec != "" {
		s += "spec:\n" + indent(spec, 2)
	}
	return s
}

// subscription is a Subscription manifest named "s" in namespace "ns".
func subscription(spec string) string {
	return subscriptionMeta("name: s\nnamespace: ns", spec)
}

func subscriptionMeta(meta, spec string) string {
	return "apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata:\n" + indent(meta, 2) + "spec:\n" + indent(spec, 2)
}

// sequence and parallel are flows named "f" in namespace "ns".
func sequence(spec string) string {
	return "apiVersion: flows.knative.dev/v1\nkind: Sequence\nmetadata:\n  name: f\n  namespace: ns\nspec:\n" + indent(spec, 2)
}

func parallel(spec string) string {
	return "apiVersion: flows.knative.dev/v1\nkind: Parallel\nmetadata:\n  name: f\n  namespace: ns\nspec:\n" + indent(spec, 2)
}

// listItem turns a manifest into an item of a List's items.
func listItem(manifest string) string {
	return "- " + indent(manifest, 2)[2:]
}

// Valid pieces of specs.
const (
	okChannel = "channel:\n  apiVersion: messaging.knative.dev/v1\n  kind: Channel\n  name: c\n"
	okStep    = "- uri: http://step.example.com/\n"
	okBranch  = "- subscriber:\n    uri: http://branch.example.com/\n"
	svcRef    = "ref: {apiVersion: v1, kind: Service, name: svc}"
)

// TestDecodeManifestsMessagingInvalid feeds invalid Channels, Subscriptions,
// Sequences and Parallels through DecodeManifests, as users apply them, and
// checks the path and message of the error. A case with old decodes old
// first (it must be valid) and checks ValidateUpdate(old, new).
func TestDecodeManifestsMessagingInvalid(t *testing.T) {
	tests := []struct {
		name     string
		old      string // for updates: the manifest the new one replaces
		manifest string
		item     int    // List item, 0 if none
		path     string // exact FieldError path expected
		message  string // substring of that FieldError's message
		kindErr  bool   // also errors.Is ErrUnsupportedKind
	}{
		// Channel, InMemoryChannel, KafkaChannel
		{name: "channel name not a DNS-1123 label", manifest: strings.Replace(channel(KindChannel, ""), "name: c", "name: my.channel", 1), path: "metadata.name", message: "DNS-1123 label"},
		{name: "channelTemplate of kind Foo", manifest: channel(KindChannel, "channelTemplate:\n  apiVersion: example.com/v1\n  kind: Foo"), path: "spec.channelTemplate.kind", message: "unsupported channel kind; Weft channels are Kafka topics: a channelTemplate names InMemoryChannel (messaging.knative.dev/v1) or KafkaChannel (messaging.knative.dev/v1beta1)"},
		{name: "channelTemplate of kind Channel", manifest: channel(KindChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1\n  kind: Channel"), path: "spec.channelTemplate.kind", message: "names InMemoryChannel"},
		{name: "channelTemplate without kind", manifest: channel(KindChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1"), path: "spec.channelTemplate.kind", message: "required; Weft channels are Kafka topics"},
		{name: "channelTemplate without apiVersion", manifest: channel(KindChannel, "channelTemplate:\n  kind: InMemoryChannel"), path: "spec.channelTemplate.apiVersion", message: "required: messaging.knative.dev/v1 for an InMemoryChannel"},
		{name: "KafkaChannel template with apiVersion v1", manifest: channel(KindChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1\n  kind: KafkaChannel"), path: "spec.channelTemplate.apiVersion", message: "must be messaging.knative.dev/v1beta1 for a KafkaChannel template"},
		{name: "channelTemplate on an InMemoryChannel", manifest: channel(KindInMemoryChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1\n  kind: InMemoryChannel"), path: "spec.channelTemplate", message: "not allowed on an InMemoryChannel"},
		{name: "channelTemplate on a KafkaChannel", manifest: channel(KindKafkaChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1beta1\n  kind: KafkaChannel"), path: "spec.channelTemplate", message: "not allowed on a KafkaChannel"},
		{name: "numPartitions in an InMemoryChannel template", manifest: channel(KindChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1\n  kind: InMemoryChannel\n  spec:\n    numPartitions: 3"), path: "spec.channelTemplate.spec.numPartitions", message: "only in a KafkaChannel template"},
		{name: "numPartitions 0 in a KafkaChannel template", manifest: channel(KindChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1beta1\n  kind: KafkaChannel\n  spec:\n    numPartitions: 0"), path: "spec.channelTemplate.spec.numPartitions", message: "must be between 1 and 10000"},
		{name: "retentionDuration 1 day in a KafkaChannel template", manifest: channel(KindChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1beta1\n  kind: KafkaChannel\n  spec:\n    retentionDuration: 1 day"), path: "spec.channelTemplate.spec.retentionDuration", message: "not an ISO-8601 duration"},
		{name: "bad delivery in a channelTemplate", manifest: channel(KindChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1\n  kind: InMemoryChannel\n  spec:\n    delivery:\n      backoffPolicy: fast"), path: "spec.channelTemplate.spec.delivery.backoffPolicy", message: "linear or exponential"},
		{name: "unknown field in a channelTemplate spec", manifest: channel(KindChannel, "channelTemplate:\n  apiVersion: messaging.knative.dev/v1beta1\n  kind: KafkaChannel\n  spec:\n    numPartition: 3"), path: "spec.channelTemplate.spec.numPartition", message: `unknown field (did you mean "numPartitions"?)`},
		{name: "numPartitions 0", manifest: channel(KindKafkaChannel, "numPartitions: 0"), path: "spec.numPartitions", message: "must be between 1 and 10000"},
		{name: "numPartitions above MaxPartitions", manifest: channel(KindKafkaChannel, "numPartitions: 10001"), path: "spec.numPartitions", message: "must be between 1 and 10000"},
		{name: "numPartitions on an InMemoryChannel", manifest: channel(KindInMemoryChannel, "numPartitions: 3"), path: "spec.numPartitions", message: "only on a KafkaChannel (messaging.knative.dev/v1beta1), not on an InMemoryChannel"},
		{name: "replicationFactor on a Channel", manifest: channel(KindChannel, "replicationFactor: 3"), path: "spec.replicationFactor", message: "set it in spec.channelTemplate.spec with channelTemplate kind KafkaChannel"},
		{name: "retentionDuration on an InMemoryChannel", manifest: channel(KindInMemoryChannel, "retentionDuration: P1D"), path: "spec.retentionDuration", message: "only on a KafkaChannel"},
		{name: "replicationFactor 0", manifest: channel(KindKafkaChannel, "replicationFactor: 0"), path: "spec.replicationFactor", message: "must be between 1 and 32767"},
		{name: "replicationFactor beyond int16", manifest: channel(KindKafkaChannel, "replicationFactor: 40000"), path: "spec.replicationFactor", message: "expected integer between -32768 and 32767"},
		{name: "retentionDuration 1 day", manifest: channel(KindKafkaChannel, "retentionDuration: 1 day"), path: "spec.retentionDuration", message: "not an ISO-8601 duration"},
		{name: "retentionDuration zero", manifest: channel(KindKafkaChannel, "retentionDuration: PT0S"), path: "spec.retentionDuration", message: "must be greater than zero"},
		{name: "retentionDuration negative", manifest: channel(KindKafkaChannel, "retentionDuration: -P1D"), path: "spec.retentionDuration", message: "must not be negative"},
		{name: "channel delivery negative retry", manifest: channel(KindInMemoryChannel, "delivery:\n  retry: -1"), path: "spec.delivery.retry", message: "must be >= 0"},
		{name: "KafkaChannel in messaging v1", manifest: strings.Replace(channel(KindKafkaChannel, ""), MessagingV1beta1, MessagingV1, 1), path: "apiVersion", message: "unsupported apiVersion for KafkaChannel", kindErr: true},
		{name: "channel kind case", manifest: strings.Replace(channel(KindInMemoryChannel, ""), "kind: InMemoryChannel", "kind: InmemoryChannel", 1), path: "kind", message: `did you mean "InMemoryChannel"?`, kindErr: true},
		{name: "KafkaChannelList item with numPartitions 0", manifest: "apiVersion: messaging.knative.dev/v1beta1\nkind: KafkaChannelList\nitems:\n- metadata: {name: a}\n  spec: {numPartitions: 0}\n", item: 1, path: "spec.numPartitions", message: "between 1 and 10000"},

		// Subscription
		{name: "subscription without channel", manifest: subscription(okSubscriber), path: "spec.channel", message: "required: the channel whose events the Subscription receives"},
		{name: "subscription with neither subscriber nor reply", manifest: subscription(okChannel), path: "spec.subscriber", message: "expected at least one of spec.subscriber and spec.reply, got none"},
		{name: "subscription with empty subscriber and no reply", manifest: subscription(okChannel + "subscriber: {}\n"), path: "spec.subscriber", message: "got none"},
		{name: "subscription channel of kind Broker", manifest: subscription("channel:\n  apiVersion: eventing.knative.dev/v1\n  kind: Broker\n  name: default\n" + okSubscriber), path: "spec.channel.kind", message: "must be Channel, InMemoryChannel or KafkaChannel"},
		{name: "subscription KafkaChannel with apiVersion v1", manifest: subscription("channel:\n  apiVersion: messaging.knative.dev/v1\n  kind: KafkaChannel\n  name: c\n" + okSubscriber), path: "spec.channel.apiVersion", message: "must be messaging.knative.dev/v1beta1 for a KafkaChannel"},
		{name: "subscription InMemoryChannel with apiVersion v1beta1", manifest: subscription("channel:\n  apiVersion: messaging.knative.dev/v1beta1\n  kind: InMemoryChannel\n  name: c\n" + okSubscriber), path: "spec.channel.apiVersion", message: "must be messaging.knative.dev/v1 for an InMemoryChannel"},
		{name: "subscription channel without apiVersion", manifest: subscription("channel:\n  kind: Channel\n  name: c\n" + okSubscriber), path: "spec.channel.apiVersion", message: "required: messaging.knative.dev/v1 for a Channel"},
		{name: "subscription channel without kind", manifest: subscription("channel:\n  apiVersion: messaging.knative.dev/v1\n  name: c\n" + okSubscriber), path: "spec.channel.kind", message: "required: Channel, InMemoryChannel or KafkaChannel"},
		{name: "subscription channel without name", manifest: subscription("channel:\n  apiVersion: messaging.knative.dev/v1\n  kind: Channel\n" + okSubscriber), path: "spec.channel.name", message: "required"},
		{name: "subscription channel name not a label", manifest: subscription("channel:\n  apiVersion: messaging.knative.dev/v1\n  kind: Channel\n  name: My_Channel\n" + okSubscriber), path: "spec.channel.name", message: "DNS-1123 label"},
		{name: "subscription channel in another namespace", manifest: subscription(okChannel + "  namespace: other\n" + okSubscriber), path: "spec.channel.namespace", message: `must be empty or the Subscription's namespace "ns": channels in other namespaces are not supported`},
		{name: "subscription reply absolute uri with ref", manifest: subscription(okChannel + "reply:\n  " + svcRef + "\n  uri: http://elsewhere/"), path: "spec.reply.uri", message: "must be relative"},
		{name: "subscription subscriber ref without kind", manifest: subscription(okChannel + "subscriber:\n  ref: {apiVersion: v1, name: svc}"), path: "spec.subscriber.ref.kind", message: "required"},
		{name: "subscription empty dead-letter sink", manifest: subscription(okChannel + okSubscriber + "delivery:\n  deadLetterSink: {}"), path: "spec.delivery.deadLetterSink", message: "expected ref, uri, or both"},
		{name: "subscription bad delivery.order", manifest: subscriptionMeta("name: s\nnamespace: ns\nannotations:\n  kafka.eventing.knative.dev/delivery.order: fifo", okChannel+okSubscriber), path: "metadata.annotations[kafka.eventing.knative.dev/delivery.order]", message: `must be "ordered" or "unordered"`},
		{name: "subscription bad initial-offset", manifest: subscriptionMeta("name: s\nnamespace: ns\nannotations:\n  weft.dev/initial-offset: oldest", okChannel+okSubscriber), path: "metadata.annotations[weft.dev/initial-offset]", message: `must be "latest" or "earliest"`},
		{name: "subscription unknown field in subscriber", manifest: subscription(okChannel + "subscriber:\n  urii: http://s/"), path: "spec.subscriber.urii", message: `unknown field (did you mean "uri"?)`},
		{name: "SubscriptionList item without channel", manifest: "apiVersion: messaging.knative.dev/v1\nkind: SubscriptionList\nitems:\n- metadata: {name: a}\n  spec:\n" + indent(okChannel+okSubscriber, 4) + "- metadata: {name: b}\n  spec:\n" + indent(okSubscriber, 4), item: 2, path: "spec.channel", message: "required"},

		// Sequence
		{name: "sequence without steps", manifest: sequence("reply:\n  uri: http://r/"), path: "spec.steps", message: "required: at least one step"},
		{name: "sequence with an empty steps list", manifest: sequence("steps: []"), path: "spec.steps", message: "at least one step"},
		{name: "step with neither ref nor uri", manifest: sequence("steps:\n" + okStep + "- delivery: {retry: 1}\n"), path: "spec.steps[1]", message: "expected ref, uri, or both"},
		{name: "step with a relative uri alone", manifest: sequence("steps:\n- uri: /events\n"), path: "spec.steps[0].uri", message: "absolute URL"},
		{name: "step with a bad backoffDelay", manifest: sequence("steps:\n- uri: http://s/\n  delivery:\n    backoffDelay: 5s\n"), path: "spec.steps[0].delivery.backoffDelay", message: "not an ISO-8601 duration"},
		{name: "unknown field in a step", manifest: sequence("steps:\n- urii: http://s/\n"), path: "spec.steps[0].urii", message: `unknown field (did you mean "uri"?)`},
		{name: "sequence reply without a uri or ref", manifest: sequence("steps:\n" + okStep + "reply: {}"), path: "spec.reply", message: "expected ref, uri, or both"},
		{name: "sequence channelTemplate of kind Foo", manifest: sequence("channelTemplate: {apiVersion: example.com/v1, kind: Foo}\nsteps:\n" + okStep), path: "spec.channelTemplate.kind", message: "Weft channels are Kafka topics"},

		// Parallel
		{name: "parallel without branches", manifest: parallel("reply:\n  uri: http://r/"), path: "spec.branches", message: "required: at least one branch"},
		{name: "parallel branch without subscriber", manifest: parallel("branches:\n" + okBranch + "- filter:\n    uri: http://f/\n"), path: "spec.branches[1].subscriber", message: "required: the destination"},
		{name: "parallel branch with an empty filter", manifest: parallel("branches:\n- filter: {}\n  subscriber:\n    uri: http://s/\n"), path: "spec.branches[0].filter", message: "expected ref, uri, or both"},
		{name: "parallel branch reply ref without apiVersion", manifest: parallel("branches:\n" + okBranch + "  reply:\n    ref: {kind: Service, name: r}\n"), path: "spec.branches[0].reply.ref.apiVersion", message: "required"},
		{name: "parallel branch delivery zero timeout", manifest: parallel("branches:\n" + okBranch + "  delivery:\n    timeout: PT0S\n"), path: "spec.branches[0].delivery.timeout", message: "greater than zero"},
		{name: "parallel reply with a relative uri", manifest: parallel("branches:\n" + okBranch + "reply:\n  uri: /reply"), path: "spec.reply.uri", message: "absolute URL"},
		{name: "parallel channelTemplate retentionDuration 1 day", manifest: parallel("channelTemplate:\n  apiVersion: messaging.knative.dev/v1beta1\n  kind: KafkaChannel\n  spec: {retentionDuration: 1 day}\nbranches:\n" + okBranch), path: "spec.channelTemplate.spec.retentionDuration", message: "not an ISO-8601 duration"},
		{name: "unknown field in a branch", manifest: parallel("branches:\n- subscribers:\n    uri: http://s/\n"), path: "spec.branches[0].subscribers", message: `unknown field (did you mean "subscriber"?)`},

		// Updates
		{name: "update changes spec.channel", old: subscription(okChannel + okSubscriber), manifest: subscription(strings.Replace(okChannel, "name: c", "name: d", 1) + okSubscriber), path: "spec.channel", message: `cannot change from "Channel ns/c (messaging.knative.dev/v1)" to "Channel ns/d (messaging.knative.dev/v1)"`},
		{name: "update changes spec.channel kind", old: subscription(okChannel + okSubscriber), manifest: subscription(strings.Replace(okChannel, "kind: Channel", "kind: InMemoryChannel", 1) + okSubscriber), path: "spec.channel", message: `to "InMemoryChannel ns/c`},
		{name: "update turns an InMemoryChannel into a KafkaChannel", old: channel(KindInMemoryChannel, ""), manifest: channel(KindKafkaChannel, ""), path: "kind", message: `cannot change from "InMemoryChannel" to "KafkaChannel"; delete the InMemoryChannel`},
		{name: "update changes a channelTemplate", old: channel(KindChannel, "channelTemplate: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel}"), manifest: channel(KindChannel, "channelTemplate: {apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel}"), path: "spec.channelTemplate", message: `from "InMemoryChannel (messaging.knative.dev/v1)" to "KafkaChannel (messaging.knative.dev/v1beta1)"`},
		{name: "update changes numPartitions", old: channel(KindKafkaChannel, "numPartitions: 3"), manifest: channel(KindKafkaChannel, "numPartitions: 6"), path: "spec.numPartitions", message: `from "3" to "6"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.old != "" {
				invalidUpdate(t, tc.old, tc.manifest, tc.path, tc.message)
				return
			}
			objs, err := DecodeManifests([]byte(tc.manifest))
			if err == nil {
				t.Fatalf("no error; decoded %d objects", len(objs))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			if got := errors.Is(err, ErrUnsupportedKind); got != tc.kindErr {
				t.Errorf("errors.Is(err, ErrUnsupportedKind) = %v, want %v", got, tc.kindErr)
			}
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error %v is not a *ManifestError", err)
			}
			if me.Index != 1 || me.Item != tc.item {
				t.Errorf("document %d item %d, want document 1 item %d (%v)", me.Index, me.Item, tc.item, err)
			}
			fes := fieldErrorsOf(t, me)
			fe := findPath(fes, tc.path)
			if fe == nil {
				t.Fatalf("no error at path %q; paths %q; error: %v", tc.path, paths(fes), err)
			}
			if !strings.Contains(fe.Error(), tc.message) {
				t.Errorf("error at %s = %q, want it to contain %q", tc.path, fe.Error(), tc.message)
			}
		})
	}
}

func TestDecodeManifestsMessagingValid(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		check    func(t *testing.T, objs []Object)
	}{
		{
			name:     "KafkaChannel with every topic field at its limit",
			manifest: channel(KindKafkaChannel, "numPartitions: 10000\nreplicationFactor: 32767\nretentionDuration: P1Y\ndelivery:\n  retry: 2"),
			check: func(t *testing.T, objs []Object) {
				c := objs[0].(*Channel)
				if c.Kind != KindKafkaChannel || c.APIVersion != MessagingV1beta1 || *c.Spec.NumPartitions != 10000 || *c.Spec.ReplicationFactor != 32767 || *c.Spec.RetentionDuration != "P1Y" {
					t.Errorf("channel = %+v %+v", c.TypeMeta, c.Spec)
				}
			},
		},
		{
			name:     "Channel without channelTemplate; dead-letter sink in another namespace (as a Broker's)",
			manifest: channel(KindChannel, "delivery:\n  deadLetterSink:\n    ref: {apiVersion: v1, kind: Service, name: dls, namespace: other}"),
			check: func(t *testing.T, objs []Object) {
				c := objs[0].(*Channel)
				if c.Kind != KindChannel || c.Spec.ChannelTemplate != nil {
					t.Errorf("channel = %+v %+v", c.TypeMeta, c.Spec)
				}
			},
		},
		{
			name:     "Subscription with reply only, an empty subscriber dropped",
			manifest: subscription(okChannel + "subscriber: {}\nreply:\n  " + svcRef),
			check: func(t *testing.T, objs []Object) {
				s := objs[0].(*Subscription)
				if s.Spec.Subscriber != nil || s.Spec.Reply.Ref.Namespace != "ns" {
					t.Errorf("spec = %+v", s.Spec)
				}
			},
		},
		{
			name: "Subscription to a KafkaChannel in its own namespace; destinations in other namespaces (Knative allows)",
			manifest: subscriptionMeta("name: s\nnamespace: ns\nannotations:\n  kafka.eventing.knative.dev/delivery.order: ordered\n  weft.dev/initial-offset: earliest",
				"channel:\n  apiVersion: messaging.knative.dev/v1beta1\n  kind: KafkaChannel\n  name: c\n  namespace: ns\nsubscriber:\n  ref: {apiVersion: v1, kind: Service, name: svc, namespace: other}\n  uri: /events\ndelivery:\n  deadLetterSink:\n    ref: {apiVersion: v1, kind: Service, name: dls, namespace: other}"),
			check: func(t *testing.T, objs []Object) {
				s := objs[0].(*Subscription)
				if s.Spec.Channel.Kind != KindKafkaChannel || s.Spec.Subscriber.Ref.Namespace != "other" {
					t.Errorf("spec = %+v", s.Spec)
				}
			},
		},
		{
			name:     "Sequence and Parallel with uri destinations and a KafkaChannel template",
			manifest: sequence("channelTemplate:\n  apiVersion: messaging.knative.dev/v1beta1\n  kind: KafkaChannel\n  spec:\n    numPartitions: 2\n    delivery:\n      deadLetterSink:\n        "+svcRef+"\nsteps:\n"+okStep) + "---\n" + parallel("branches:\n"+okBranch+"  filter:\n    uri: http://filter.example.com/\n"),
			check: func(t *testing.T, objs []Object) {
				s := objs[0].(*Sequence)
				if got := s.Spec.ChannelTemplate.Spec.Delivery.DeadLetterSink.Ref.Namespace; got != "ns" {
					t.Errorf("template dead-letter sink namespace = %q, want ns (defaulted)", got)
				}
				if p := objs[1].(*Parallel); p.Spec.Branches[0].Filter.URI != "http://filter.example.com/" {
					t.Errorf("parallel = %+v", p.Spec)
				}
			},
		},
		{
			name: "typed Lists of every new kind",
			manifest: "apiVersion: messaging.knative.dev/v1\nkind: ChannelList\nitems:\n- metadata: {name: a, namespace: ns}\n" +
				"---\napiVersion: messaging.knative.dev/v1\nkind: InMemoryChannelList\nitems:\n- metadata: {name: b, namespace: ns}\n" +
				"---\napiVersion: messaging.knative.dev/v1beta1\nkind: KafkaChannelList\nitems:\n- metadata: {name: c, namespace: ns}\n  spec: {numPartitions: 4}\n" +
				"---\napiVersion: messaging.knative.dev/v1\nkind: SubscriptionList\nitems:\n- metadata: {name: d, namespace: ns}\n  spec:\n" + indent(okChannel+okSubscriber, 4) +
				"---\napiVersion: flows.knative.dev/v1\nkind: SequenceList\nitems:\n- metadata: {name: e, namespace: ns}\n  spec:\n    steps:\n" + indent(okStep, 4) +
				"---\napiVersion: flows.knative.dev/v1\nkind: ParallelList\nitems:\n- metadata: {name: f, namespace: ns}\n  spec:\n    branches:\n" + indent(okBranch, 4),
			check: func(t *testing.T, objs []Object) {
				var got []string
				for _, o := range objs {
					got = append(got, o.GetTypeMeta().APIVersion+" "+o.GetTypeMeta().Kind+" "+KindOf(o)+" "+o.GetObjectMeta().Name)
				}
				want := []string{
					"messaging.knative.dev/v1 Channel Channel a",
					"messaging.knative.dev/v1 InMemoryChannel Channel b",
					"messaging.knative.dev/v1beta1 KafkaChannel Channel c",
					"messaging.knative.dev/v1 Subscription Subscription d",
					"flows.knative.dev/v1 Sequence Sequence e",
					"flows.knative.dev/v1 Parallel Parallel f",
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("objects:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			},
		},
		{
			name:     "v1 List mixing channels and a Subscription",
			manifest: "apiVersion: v1\nkind: List\nitems:\n" + listItem(channel(KindKafkaChannel, "")) + listItem(subscription(okChannel+okSubscriber)),
			check: func(t *testing.T, objs []Object) {
				if len(objs) != 2 || objs[0].GetTypeMeta().Kind != KindKafkaChannel || KindOf(objs[1]) != KindSubscription {
					t.Errorf("objects = %+v", objs)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := DecodeManifests([]byte(tc.manifest))
			if err != nil {
				t.Fatalf("DecodeManifests: %v", err)
			}
			tc.check(t, objs)
		})
	}
}

// TestChannelKeepsItsKind: an InMemoryChannel or a KafkaChannel is stored as
// KindChannel but stays what the user wrote through defaults, deep copy and
// a Marshal/DecodeObject round trip.
func TestChannelKeepsItsKind(t *testing.T) {
	for _, kind := range []string{KindChannel, KindInMemoryChannel, KindKafkaChannel} {
		t.Run(kind, func(t *testing.T) {
			objs, err := DecodeManifests([]byte(channel(kind, "")))
			if err != nil {
				t.Fatal(err)
			}
			o := objs[0]
			SetDefaults(o)
			for _, step := range []struct {
				what string
				get  func() (Object, error)
			}{
				{"DeepCopy", func() (Object, error) { return DeepCopy(o), nil }},
				{"Marshal and DecodeObject", func() (Object, error) {
					b, err := Marshal(o)
					if err != nil {
						return nil, err
					}
					return DecodeObject(b)
				}},
			} {
				got, err := step.get()
				if err != nil {
					t.Fatalf("%s: %v", step.what, err)
				}
				if got.GetTypeMeta().Kind != kind || got.GetTypeMeta().APIVersion != DefaultAPIVersion(kind) || KindOf(got) != KindChannel {
					t.Errorf("%s: type %+v, stored as %s; want %s (%s) stored as Channel", step.what, *got.GetTypeMeta(), KindOf(got), kind, DefaultAPIVersion(kind))
				}
				if !reflect.DeepEqual(got, o) {
					t.Errorf("%s: got %+v, want %+v", step.what, got, o)
				}
			}
		})
	}
}

func TestValidateUpdateMessagingAllowed(t *testing.T) {
	decode := func(manifest string) Object {
		t.Helper()
		objs, err := DecodeManifests([]byte(manifest))
		if err != nil {
			t.Fatal(err)
		}
		return objs[0]
	}
	tests := []struct{ name, old, new string }{
		{"subscription channel namespace written out", subscription(okChannel + okSubscriber), subscription(okChannel + "  namespace: ns\n" + okSubscriber)},
		{"subscription subscriber, reply and delivery changed", subscription(okChannel + okSubscriber), subscription(okChannel + "reply:\n  " + svcRef + "\ndelivery: {retry: 4}")},
		{"channel delivery changed", channel(KindKafkaChannel, "numPartitions: 3"), channel(KindKafkaChannel, "numPartitions: 3\ndelivery: {retry: 4}")},
		{"sequence steps changed", sequence("steps:\n" + okStep), sequence("steps:\n" + okStep + okStep)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateUpdate(decode(tc.old), decode(tc.new)); err != nil {
				t.Errorf("ValidateUpdate: %v", err)
			}
		})
	}
}

// decodeExample decodes a testdata manifest and checks that it is valid,
// defaulted (SetDefaults changes nothing more) and survives a round trip.
func decodeExample(t *testing.T, file string) []Object {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeManifests(data)
	if err != nil {
		t.Fatalf("DecodeManifests(%s): %v", file, err)
	}
	for _, o := range objs {
		c := DeepCopy(o)
		SetDefaults(c)
		if !reflect.DeepEqual(c, o) {
			t.Errorf("%s %s: SetDefaults changed a decoded object:\n got %+v\nwant %+v", KindOf(o), o.GetObjectMeta().Name, c, o)
		}
		if err := Validate(o); err != nil {
			t.Errorf("%s %s: Validate: %v", KindOf(o), o.GetObjectMeta().Name, err)
		}
		b, err := Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeObject(b)
		if err != nil || !reflect.DeepEqual(back, o) {
			t.Errorf("%s %s: round trip = %+v, %v", KindOf(o), o.GetObjectMeta().Name, back, err)
		}
	}
	return objs
}

func TestDecodeManifestsChannelsExample(t *testing.T) {
	const ns = "channel-example"
	objs := decodeExample(t, "testdata/channels.yaml")
	if len(objs) != 5 {
		t.Fatalf("got %d objects, want 5", len(objs))
	}
	ch, ok1 := objs[0].(*Channel)
	reply, ok2 := objs[1].(*Channel)
	if !ok1 || !ok2 {
		t.Fatalf("objects 1 and 2 are %T and %T, want *Channel", objs[0], objs[1])
	}
	if ch.ObjectMeta.Name != "channel" || ch.ObjectMeta.Namespace != ns || ch.Kind != KindChannel || ch.APIVersion != MessagingV1 {
		t.Errorf("channel = %+v %+v", ch.TypeMeta, ch.ObjectMeta)
	}
	if tpl := ch.Spec.ChannelTemplate; tpl == nil || tpl.Kind != KindKafkaChannel || *tpl.Spec.NumPartitions != 3 || *tpl.Spec.RetentionDuration != "P7D" {
		t.Errorf("channel template = %+v", tpl)
	}
	if reply.ObjectMeta.Name != "reply-channel" || reply.Spec.ChannelTemplate.Kind != KindInMemoryChannel {
		t.Errorf("reply channel = %+v %+v", reply.ObjectMeta, reply.Spec)
	}
	want := []struct {
		name, channel, subscriber string
		reply                     *KReference
	}{
		{"transform", "channel", "transformer", &KReference{APIVersion: MessagingV1, Kind: KindChannel, Name: "reply-channel", Namespace: ns}},
		{"log", "channel", "logger", nil},
		{"display", "reply-channel", "display", nil},
	}
	for i, w := range want {
		s, ok := objs[i+2].(*Subscription)
		if !ok {
			t.Fatalf("object %d is %T, want *Subscription", i+3, objs[i+2])
		}
		if s.ObjectMeta.Name != w.name || s.ObjectMeta.Namespace != ns {
			t.Errorf("subscription %d = %+v", i+3, s.ObjectMeta)
		}
		if c := s.Spec.Channel; c != (ChannelReference{APIVersion: MessagingV1, Kind: KindChannel, Name: w.channel}) {
			t.Errorf("subscription %s channel = %+v", w.name, c)
		}
		if r := s.Spec.Subscriber.Ref; r.Name != w.subscriber || r.Namespace != ns {
			t.Errorf("subscription %s subscriber = %+v, want %s in %s", w.name, r, w.subscriber, ns)
		}
		var gotReply *KReference
		if s.Spec.Reply != nil {
			gotReply = s.Spec.Reply.Ref
		}
		if !reflect.DeepEqual(gotReply, w.reply) {
			t.Errorf("subscription %s reply = %+v, want %+v", w.name, gotReply, w.reply)
		}
	}
	if d := objs[2].(*Subscription).Spec.Delivery; d == nil || d.DeadLetterSink.Ref.Namespace != ns || *d.Retry != 5 {
		t.Errorf("transform delivery = %+v", d)
	}
}

func TestDecodeManifestsFlowsExample(t *testing.T) {
	const ns = "flows-example"
	objs := decodeExample(t, "testdata/flows.yaml")
	if len(objs) != 4 {
		t.Fatalf("got %d objects, want 4", len(objs))
	}
	if b, ok := objs[2].(*Broker); !ok || b.ObjectMeta.Name != "default" || b.ObjectMeta.Namespace != ns {
		t.Errorf("object 3 = %#v, want the Broker default", objs[2])
	}
	if tr, ok := objs[3].(*Trigger); !ok || tr.Spec.Broker != "default" || tr.Spec.Subscriber.Ref.Name != "display" {
		t.Errorf("object 4 = %#v, want the Trigger display on the Broker default", objs[3])
	}
	seq, ok := objs[0].(*Sequence)
	if !ok {
		t.Fatalf("object 1 is %T, want *Sequence", objs[0])
	}
	if seq.ObjectMeta.Name != "sequence" || seq.ObjectMeta.Namespace != ns || seq.APIVersion != FlowsV1 || seq.Kind != KindSequence {
		t.Errorf("sequence = %+v %+v", seq.TypeMeta, seq.ObjectMeta)
	}
	var steps []string
	for _, st := range seq.Spec.Steps {
		steps = append(steps, st.Ref.Namespace+"/"+st.Ref.Name)
	}
	if want := []string{ns + "/step-1", ns + "/step-2", ns + "/step-3"}; !reflect.DeepEqual(steps, want) {
		t.Errorf("steps = %v, want %v", steps, want)
	}
	if d := seq.Spec.Steps[1].Delivery; d == nil || *d.Retry != 3 {
		t.Errorf("step 2 delivery = %+v", d)
	}
	if r := seq.Spec.Reply.Ref; *r != (KReference{APIVersion: EventingV1, Kind: KindBroker, Name: "default", Namespace: ns}) {
		t.Errorf("sequence reply = %+v", r)
	}

	par, ok := objs[1].(*Parallel)
	if !ok {
		t.Fatalf("object 2 is %T, want *Parallel", objs[1])
	}
	if par.ObjectMeta.Name != "parallel" || par.ObjectMeta.Namespace != ns || len(par.Spec.Branches) != 2 {
		t.Fatalf("parallel = %+v %+v", par.ObjectMeta, par.Spec)
	}
	b0, b1 := par.Spec.Branches[0], par.Spec.Branches[1]
	if b0.Filter == nil || b0.Filter.Ref.Name != "filter-a" || b0.Subscriber.Ref.Name != "branch-a" || b0.Subscriber.Ref.Namespace != ns {
		t.Errorf("branch 0 = %+v", b0)
	}
	if b1.Filter != nil || b1.Subscriber.Ref.Name != "branch-b" || b1.Reply != nil {
		t.Errorf("branch 1 = %+v", b1)
	}
	if r := par.Spec.Reply.Ref; r.Name != "display" || r.Namespace != ns {
		t.Errorf("parallel reply = %+v", r)
	}
}
