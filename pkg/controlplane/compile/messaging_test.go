package compile

import (
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// messagingFixture is a namespace with one of each addressable and the
// channels, subscriptions and flows the tests look at.
func messagingFixture() Resources {
	meta := func(name, uid string) apis.ObjectMeta {
		return apis.ObjectMeta{Name: name, Namespace: "ns", UID: uid, Generation: 1}
	}
	ref := func(apiVersion, kind, name string) *apis.Destination {
		return &apis.Destination{Ref: &apis.KReference{APIVersion: apiVersion, Kind: kind, Name: name, Namespace: "ns"}}
	}
	uri := func(u string) *apis.Destination { return &apis.Destination{URI: u} }
	chanRef := apis.ChannelReference{APIVersion: apis.MessagingV1, Kind: apis.KindInMemoryChannel, Name: "ch"}
	return Resources{
		Brokers: []*apis.Broker{{ObjectMeta: meta("b", "ub")}},
		Channels: []*apis.Channel{
			{TypeMeta: apis.TypeMeta{APIVersion: apis.MessagingV1, Kind: apis.KindInMemoryChannel}, ObjectMeta: meta("ch", "uch"),
				Spec: apis.ChannelSpec{Delivery: &apis.DeliverySpec{Retry: ptr(int32(4)), DeadLetterSink: uri("http://dead.example/")}}},
			{TypeMeta: apis.TypeMeta{APIVersion: apis.MessagingV1beta1, Kind: apis.KindKafkaChannel}, ObjectMeta: meta("kc", "ukc")},
			{TypeMeta: apis.TypeMeta{APIVersion: apis.MessagingV1, Kind: apis.KindChannel}, ObjectMeta: meta("tmpl", "utmpl"),
				Spec: apis.ChannelSpec{ChannelTemplate: &apis.ChannelTemplateSpec{APIVersion: apis.MessagingV1beta1, Kind: apis.KindKafkaChannel,
					Spec: &apis.ChannelTemplateParams{Delivery: &apis.DeliverySpec{Retry: ptr(int32(7))}}}}},
		},
		Subscriptions: []*apis.Subscription{
			{ObjectMeta: meta("to-svc", "us1"), Spec: apis.SubscriptionSpec{Channel: chanRef,
				Subscriber: ref("v1", "Service", "fn"), Reply: ref(apis.MessagingV1beta1, apis.KindKafkaChannel, "kc")}},
			{ObjectMeta: meta("reply-url", "us2"), Spec: apis.SubscriptionSpec{Channel: chanRef,
				Subscriber: uri("http://sub.example/"), Reply: uri("http://reply.example/"),
				Delivery: &apis.DeliverySpec{Retry: ptr(int32(1))}}},
			{ObjectMeta: apis.ObjectMeta{Name: "reply-only", Namespace: "ns", UID: "us3", Generation: 1,
				Annotations: map[string]string{apis.AnnotationDeliveryOrder: "ordered", apis.AnnotationInitialOffset: "earliest"}},
				Spec: apis.SubscriptionSpec{Channel: chanRef, Reply: ref(apis.EventingV1, apis.KindBroker, "b")}},
			{ObjectMeta: meta("reply-uri-on-ref", "us4"), Spec: apis.SubscriptionSpec{Channel: chanRef,
				Subscriber: uri("http://sub.example/"),
				Reply:      &apis.Destination{Ref: &apis.KReference{APIVersion: apis.FlowsV1, Kind: apis.KindSequence, Name: "seq", Namespace: "ns"}, URI: "/x"}}},
			{ObjectMeta: meta("on-template", "us5"), Spec: apis.SubscriptionSpec{Channel: apis.ChannelReference{APIVersion: apis.MessagingV1, Kind: apis.KindChannel, Name: "tmpl"},
				Subscriber: ref(apis.FlowsV1, apis.KindParallel, "par")}},
			{ObjectMeta: meta("no-channel", "us6"), Spec: apis.SubscriptionSpec{Channel: apis.ChannelReference{APIVersion: apis.MessagingV1, Kind: apis.KindChannel, Name: "gone"},
				Subscriber: uri("http://sub.example/")}},
			{ObjectMeta: meta("bad-reply", "us7"), Spec: apis.SubscriptionSpec{Channel: chanRef,
				Subscriber: uri("http://sub.example/"), Reply: ref(apis.MessagingV1, apis.KindChannel, "missing")}},
			{ObjectMeta: meta("bad-subscriber", "us8"), Spec: apis.SubscriptionSpec{Channel: chanRef,
				Subscriber: ref("apps/v1", "Deployment", "d")}},
		},
		Sequences: []*apis.Sequence{{ObjectMeta: meta("seq", "useq"), Spec: apis.SequenceSpec{
			Steps: []apis.SequenceStep{
				{Destination: *uri("http://step0.example/"), Delivery: &apis.DeliverySpec{Retry: ptr(int32(2))}},
				{Destination: *ref("v1", "Service", "step1")},
				{Destination: *uri("http://step2.example/")},
			},
			Reply: uri("http://seq-reply.example/"),
		}}},
		Parallels: []*apis.Parallel{{ObjectMeta: meta("par", "upar"), Spec: apis.ParallelSpec{
			Branches: []apis.ParallelBranch{
				{Filter: uri("http://filter.example/"), Subscriber: *uri("http://b0.example/"), Delivery: &apis.DeliverySpec{Retry: ptr(int32(3))}},
				{Subscriber: *uri("http://b1.example/"), Reply: ref(apis.MessagingV1, apis.KindInMemoryChannel, "ch")},
				{Filter: ref(apis.EventingV1, apis.KindBroker, "nope"), Subscriber: *uri("http://b2.example/")},
			},
			Reply: ref(apis.FlowsV1, apis.KindSequence, "seq"),
		}}},
	}
}

// contractIndex finds ingress and egress entries by uid.
type contractIndex struct {
	ingresses map[string]*weftv1.Ingress
	egresses  map[string]*weftv1.Egress
	// on maps an egress uid to the topic it consumes.
	on map[string]string
}

func indexContract(t *testing.T, c *weftv1.Contract) contractIndex {
	t.Helper()
	x := contractIndex{map[string]*weftv1.Ingress{}, map[string]*weftv1.Egress{}, map[string]string{}}
	for _, in := range c.Ingresses {
		if _, dup := x.ingresses[in.Uid]; dup {
			t.Fatalf("two ingress entries with uid %s", in.Uid)
		}
		x.ingresses[in.Uid] = in
		for _, eg := range in.Egresses {
			if _, dup := x.egresses[eg.Uid]; dup {
				t.Fatalf("two egresses with uid %s", eg.Uid)
			}
			x.egresses[eg.Uid] = eg
			x.on[eg.Uid] = in.Topic
		}
	}
	return x
}

func TestCompileChannelsAndSubscriptions(t *testing.T) {
	opts := Options{IngressURL: "http://in:8080", ServiceURLTemplate: "http://{name}.{namespace}"}
	c := Compile(7, messagingFixture(), opts)
	x := indexContract(t, c.Contract)

	for uid, want := range map[string][2]string{
		"uch":   {"/channels/ns/ch", "weft.channel.ns.ch"},
		"ukc":   {"/channels/ns/kc", "weft.channel.ns.kc"},
		"utmpl": {"/channels/ns/tmpl", "weft.channel.ns.tmpl"},
	} {
		in := x.ingresses[uid]
		if in == nil || in.Kind != apis.KindChannel || in.Path != want[0] || in.Topic != want[1] {
			t.Errorf("channel ingress %s: %v", uid, in)
		}
	}
	tests := map[string]struct {
		uid, dest, replyTopic, replyURL string
		retry                           int32
		dlq                             string
		order                           weftv1.DeliveryOrder
		offset                          weftv1.InitialOffset
	}{
		"reply into a KafkaChannel's topic": {"us1", "http://fn.ns", "weft.channel.ns.kc", "", 4, "http://dead.example/", weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED, weftv1.InitialOffset_INITIAL_OFFSET_LATEST},
		"reply to a URL, own delivery":      {"us2", "http://sub.example/", "", "http://reply.example/", 1, "", weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED, weftv1.InitialOffset_INITIAL_OFFSET_LATEST},
		"reply only, into a broker":         {"us3", "", "weft.broker.ns.b", "", 4, "http://dead.example/", weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED, weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST},
		"ref with uri replies by URL":       {"us4", "http://sub.example/", "", "http://in:8080/x", 4, "http://dead.example/", weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED, weftv1.InitialOffset_INITIAL_OFFSET_LATEST},
		"channel template's delivery":       {"us5", "http://in:8080/parallels/ns/par", "", "", 7, "", weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED, weftv1.InitialOffset_INITIAL_OFFSET_LATEST},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			eg := x.egresses[tc.uid]
			if eg == nil {
				t.Fatalf("no egress %s; resolution %+v", tc.uid, c.Subscriptions)
			}
			if eg.Kind != apis.KindSubscription || !strings.HasPrefix(eg.ConsumerGroup, "weft.subscription.ns.") || eg.Filters != nil || eg.Attributes != nil {
				t.Errorf("egress %v", eg)
			}
			if eg.Destination != tc.dest || eg.ReplyTopic != tc.replyTopic || eg.ReplyUrl != tc.replyURL {
				t.Errorf("destination %q reply_topic %q reply_url %q, want %q %q %q", eg.Destination, eg.ReplyTopic, eg.ReplyUrl, tc.dest, tc.replyTopic, tc.replyURL)
			}
			if eg.Delivery.Retry != tc.retry || eg.Delivery.DeadLetterUrl != tc.dlq || eg.Order != tc.order || eg.InitialOffset != tc.offset {
				t.Errorf("delivery %v order %v offset %v", eg.Delivery, eg.Order, eg.InitialOffset)
			}
		})
	}
	if on := x.on["us5"]; on != "weft.channel.ns.tmpl" {
		t.Errorf("us5 consumes %s", on)
	}
	if eg := x.egresses["us1"]; eg.ConsumerGroup != "weft.subscription.ns.to-svc" {
		t.Errorf("group %s", eg.ConsumerGroup)
	}
	if r := c.Subscriptions["ns/to-svc"]; r.ReplyURI != "http://in:8080/channels/ns/kc" || r.SubscriberURI != "http://fn.ns" || r.DeadLetterURI != "http://dead.example/" || r.Channel != "ch" || !r.ChannelExists {
		t.Errorf("to-svc resolution %+v", r)
	}
	if r := c.Channels["ns/ch"]; r.DeadLetterURI != "http://dead.example/" || r.Reason != "" {
		t.Errorf("channel resolution %+v", r)
	}
	for key, reason := range map[string]string{
		"ns/no-channel":     ReasonChannelNotFound,
		"ns/bad-reply":      ReasonReplyResolve,
		"ns/bad-subscriber": ReasonSubscriberResolve,
	} {
		r := c.Subscriptions[key]
		if r.Reason != reason || r.Message == "" {
			t.Errorf("%s: resolution %+v, want reason %s", key, r, reason)
		}
		if x.egresses[r.UID] != nil {
			t.Errorf("%s: an egress although it cannot run", key)
		}
	}
	if r := c.Subscriptions["ns/no-channel"]; r.ChannelExists {
		t.Errorf("no-channel: %+v", r)
	}
	if !strings.Contains(c.Subscriptions["ns/bad-reply"].Message, `Channel "missing" does not exist`) {
		t.Errorf("bad-reply message: %s", c.Subscriptions["ns/bad-reply"].Message)
	}
}

func TestCompileSequence(t *testing.T) {
	c := Compile(7, messagingFixture(), Options{IngressURL: "http://in:8080", ServiceURLTemplate: "http://{name}.{namespace}"})
	x := indexContract(t, c.Contract)
	in0 := x.ingresses["useq"]
	if in0 == nil || in0.Kind != apis.KindSequence || in0.Path != "/sequences/ns/seq" || in0.Topic != "weft.sequence.ns.seq.0" {
		t.Fatalf("sequence ingress %v", in0)
	}
	for i, topic := range []string{"", "weft.sequence.ns.seq.1", "weft.sequence.ns.seq.2"} {
		if i == 0 {
			continue
		}
		uid := "useq/step-" + string(rune('0'+i))
		in := x.ingresses[uid]
		if in == nil || in.Path != "" || in.Topic != topic || in.Kind != apis.KindSequence {
			t.Errorf("internal ingress %s: %v", uid, in)
		}
	}
	tests := []struct {
		uid, on, group, dest, replyTopic, replyURL string
		retry                                      int32
	}{
		{"useq/step-0", "weft.sequence.ns.seq.0", "weft.sequence.ns.seq.0", "http://step0.example/", "weft.sequence.ns.seq.1", "", 2},
		{"useq/step-1", "weft.sequence.ns.seq.1", "weft.sequence.ns.seq.1", "http://step1.ns", "weft.sequence.ns.seq.2", "", 0},
		{"useq/step-2", "weft.sequence.ns.seq.2", "weft.sequence.ns.seq.2", "http://step2.example/", "", "http://seq-reply.example/", 0},
	}
	for _, tc := range tests {
		eg := x.egresses[tc.uid]
		if eg == nil {
			t.Errorf("no egress %s", tc.uid)
			continue
		}
		if x.on[tc.uid] != tc.on || eg.ConsumerGroup != tc.group || eg.Destination != tc.dest || eg.ReplyTopic != tc.replyTopic || eg.ReplyUrl != tc.replyURL ||
			eg.Delivery.Retry != tc.retry || eg.Kind != apis.KindSequence || eg.Name != "seq" || eg.InitialOffset != weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST {
			t.Errorf("egress %s on %s: %v", tc.uid, x.on[tc.uid], eg)
		}
	}
	r := c.Sequences["ns/seq"]
	if len(r.Steps) != 3 || r.Steps[2].ReplyURI != "http://seq-reply.example/" || r.Steps[1].SubscriberURI != "http://step1.ns" || r.Steps[0].UID != "useq/step-0" {
		t.Errorf("resolution %+v", r)
	}
}

func TestCompileParallel(t *testing.T) {
	c := Compile(7, messagingFixture(), Options{IngressURL: "http://in:8080"})
	x := indexContract(t, c.Contract)
	if in := x.ingresses["upar"]; in == nil || in.Path != "/parallels/ns/par" || in.Topic != "weft.parallel.ns.par.in" || in.Kind != apis.KindParallel {
		t.Fatalf("parallel ingress %v", in)
	}
	if in := x.ingresses["upar/branch-0"]; in == nil || in.Path != "" || in.Topic != "weft.parallel.ns.par.0" {
		t.Errorf("branch 0 topic %v", in)
	}
	if in := x.ingresses["upar/branch-1"]; in != nil {
		t.Errorf("a branch without a filter has no topic: %v", in)
	}
	f := x.egresses["upar/branch-0/filter"]
	if f == nil || x.on[f.Uid] != "weft.parallel.ns.par.in" || f.ConsumerGroup != "weft.parallel.ns.par.0.filter" || f.Destination != "http://filter.example/" ||
		f.ReplyTopic != "weft.parallel.ns.par.0" || !f.DropRejected || f.Delivery.Retry != 3 || f.Kind != apis.KindParallel || f.InitialOffset != weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST {
		t.Errorf("filter egress %v", f)
	}
	s0 := x.egresses["upar/branch-0"]
	if s0 == nil || x.on[s0.Uid] != "weft.parallel.ns.par.0" || s0.ConsumerGroup != "weft.parallel.ns.par.0" || s0.Destination != "http://b0.example/" ||
		s0.ReplyTopic != "weft.sequence.ns.seq.0" || s0.DropRejected || s0.Delivery.Retry != 3 {
		t.Errorf("branch 0 subscriber: %v", s0)
	}
	s1 := x.egresses["upar/branch-1"]
	if s1 == nil || x.on[s1.Uid] != "weft.parallel.ns.par.in" || s1.ConsumerGroup != "weft.parallel.ns.par.1" || s1.ReplyTopic != "weft.channel.ns.ch" || s1.ReplyUrl != "" {
		t.Errorf("branch 1 subscriber (no filter, own reply): %v", s1)
	}
	// Branch 2's filter names a missing broker: the filter cannot run, its
	// subscriber still reads the (empty) branch topic.
	if x.egresses["upar/branch-2/filter"] != nil {
		t.Errorf("unresolvable filter compiled")
	}
	r := c.Parallels["ns/par"]
	if len(r.Branches) != 3 || r.Branches[1].Filter != nil || r.Branches[2].Filter == nil || r.Branches[2].Filter.Reason != ReasonFilterResolve {
		t.Fatalf("resolution %+v", r)
	}
	if r.Branches[0].Subscriber.ReplyURI != "http://in:8080/sequences/ns/seq" || r.Branches[1].Subscriber.ReplyURI != "http://in:8080/channels/ns/ch" {
		t.Errorf("reply URIs %+v", r.Branches)
	}
}

func TestCompileMessagingDeterministic(t *testing.T) {
	a := messagingFixture()
	b := messagingFixture()
	for i, j := 0, len(b.Subscriptions)-1; i < j; i, j = i+1, j-1 {
		b.Subscriptions[i], b.Subscriptions[j] = b.Subscriptions[j], b.Subscriptions[i]
	}
	b.Channels[0], b.Channels[2] = b.Channels[2], b.Channels[0]
	opts := Options{IngressURL: "http://in:8080"}
	if Compile(1, a, opts).Contract.String() != Compile(1, b, opts).Contract.String() {
		t.Errorf("compile depends on input order")
	}
}
