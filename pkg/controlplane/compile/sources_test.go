package compile

import (
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestCompileKafkaSink: a KafkaSink is an ingress entry writing to its own
// topic (on its own cluster), with no egresses; every kind of reference to
// it resolves to its address, and a reply to it is POSTed (reply_url), never
// produced into its topic.
func TestCompileKafkaSink(t *testing.T) {
	structured := apis.ContentModeStructured
	sinkRef := func(name string) *apis.Destination {
		return &apis.Destination{Ref: &apis.KReference{APIVersion: apis.EventingV1alpha1, Kind: apis.KindKafkaSink, Name: name, Namespace: "ns"}}
	}
	meta := func(name, uid string) apis.ObjectMeta {
		return apis.ObjectMeta{Name: name, Namespace: "ns", UID: uid, Generation: 2}
	}
	chanRef := apis.ChannelReference{APIVersion: apis.MessagingV1, Kind: apis.KindChannel, Name: "ch"}
	res := Resources{
		KafkaSinks: []*apis.KafkaSink{
			{ObjectMeta: meta("remote", "uk2"), Spec: apis.KafkaSinkSpec{Topic: "audit", BootstrapServers: []string{"other-1:9092", "other-2:9092"}, ContentMode: &structured}},
			{ObjectMeta: meta("local", "uk1"), Spec: apis.KafkaSinkSpec{Topic: "orders"}},
		},
		Brokers:  []*apis.Broker{{ObjectMeta: meta("b", "ub")}},
		Channels: []*apis.Channel{{ObjectMeta: meta("ch", "uch")}},
		Triggers: []*apis.Trigger{
			{ObjectMeta: meta("to-sink", "ut1"), Spec: apis.TriggerSpec{Broker: "b", Subscriber: *sinkRef("local"),
				Delivery: &apis.DeliverySpec{DeadLetterSink: sinkRef("remote")}}},
			{ObjectMeta: meta("to-missing", "ut2"), Spec: apis.TriggerSpec{Broker: "b", Subscriber: *sinkRef("gone")}},
		},
		Subscriptions: []*apis.Subscription{
			{ObjectMeta: meta("reply-to-sink", "us1"), Spec: apis.SubscriptionSpec{Channel: chanRef,
				Subscriber: &apis.Destination{URI: "http://fn.example/"}, Reply: sinkRef("local")}},
			{ObjectMeta: meta("reply-only", "us2"), Spec: apis.SubscriptionSpec{Channel: chanRef, Reply: sinkRef("remote")}},
		},
		Sequences: []*apis.Sequence{{ObjectMeta: meta("seq", "useq"), Spec: apis.SequenceSpec{
			Steps: []apis.SequenceStep{{Destination: *sinkRef("local")}},
			Reply: sinkRef("remote"),
		}}},
	}
	opts := Options{IngressURL: "http://ingress.example:8080/"}
	out := Compile(7, res, opts)
	x := indexContract(t, out.Contract)

	local, remote := "http://ingress.example:8080/sinks/ns/local", "http://ingress.example:8080/sinks/ns/remote"
	for uid, want := range map[string]*weftv1.Ingress{
		"uk1": {Uid: "uk1", Kind: apis.KindKafkaSink, Namespace: "ns", Name: "local", Path: "/sinks/ns/local", Topic: "orders", Generation: 2},
		"uk2": {Uid: "uk2", Kind: apis.KindKafkaSink, Namespace: "ns", Name: "remote", Path: "/sinks/ns/remote", Topic: "audit",
			BootstrapServers: []string{"other-1:9092", "other-2:9092"}, ContentMode: "structured", Generation: 2},
	} {
		got := x.ingresses[uid]
		if got == nil {
			t.Fatalf("no ingress entry %s", uid)
		}
		if got.String() != want.String() {
			t.Errorf("ingress %s =\n%v\nwant\n%v", uid, got, want)
		}
	}
	// Sinks come last, sorted by name.
	n := len(out.Contract.Ingresses)
	if n < 2 || out.Contract.Ingresses[n-2].Uid != "uk1" || out.Contract.Ingresses[n-1].Uid != "uk2" {
		t.Errorf("KafkaSinks are not the last ingress entries, sorted by name")
	}
	if o := Options.KafkaSinkURL(opts, "ns", "local"); o != local {
		t.Errorf("KafkaSinkURL = %q, want %q", o, local)
	}

	if eg := x.egresses["ut1"]; eg == nil || eg.Destination != local || eg.Delivery.DeadLetterUrl != remote {
		t.Errorf("trigger to the sink: %v", eg)
	}
	if r := out.Triggers["ns/to-missing"]; r.Reason != ReasonSubscriberResolve || !strings.Contains(r.Message, `KafkaSink "gone" does not exist in namespace "ns"`) {
		t.Errorf("trigger to a missing sink: %+v", r)
	}
	for uid, want := range map[string]string{"us1": local, "us2": remote} {
		eg := x.egresses[uid]
		if eg == nil {
			t.Fatalf("no egress %s", uid)
		}
		if eg.ReplyTopic != "" || eg.ReplyUrl != want {
			t.Errorf("egress %s replies to topic %q, url %q; want url %q (a KafkaSink is replied to by URL)", uid, eg.ReplyTopic, eg.ReplyUrl, want)
		}
	}
	if eg := x.egresses["useq/step-0"]; eg == nil || eg.Destination != local || eg.ReplyUrl != remote || eg.ReplyTopic != "" {
		t.Errorf("sequence step to the sink, replying to the other: %v", eg)
	}
	if r := out.Subscriptions["ns/reply-only"]; r.ReplyURI != remote || r.Reason != "" {
		t.Errorf("subscription replying to a sink: %+v", r)
	}
}
