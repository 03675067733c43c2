package compile

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestCompileKafkaSource: a KafkaSource is one ingress entry without path
// or topic, with kafka_source naming its cluster, topics, fleet group and
// retry topic, and one egress committing spec.consumerGroup, with Knative's
// default delivery in the fields spec.delivery leaves unset. A source whose
// sink or dead-letter sink does not resolve is left out, with a reason.
func TestCompileKafkaSource(t *testing.T) {
	meta := func(name, uid string) apis.ObjectMeta {
		return apis.ObjectMeta{Name: name, Namespace: "ns", UID: uid, Generation: 3}
	}
	earliest, unordered := apis.KafkaOffsetEarliest, apis.KafkaUnordered
	brokerSink := apis.Destination{Ref: &apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "b", Namespace: "ns"}}
	minimal := &apis.KafkaSource{ObjectMeta: meta("minimal", "u1"), Spec: apis.KafkaSourceSpec{
		BootstrapServers: []string{"src:9092"}, Topics: []string{"orders"}, ConsumerGroup: "g1",
		InitialOffset: apis.KafkaOffsetLatest, Sink: apis.Destination{URI: "http://display.ns.svc/"},
	}}
	full := &apis.KafkaSource{ObjectMeta: meta("full", "u2"), Spec: apis.KafkaSourceSpec{
		BootstrapServers: []string{"a:9092", "b:9092"}, Topics: []string{"t1", "t2"}, ConsumerGroup: "billing",
		InitialOffset: earliest, Ordering: &unordered, Sink: brokerSink,
		Delivery:            &apis.DeliverySpec{Retry: ptr(int32(2)), DeadLetterSink: &apis.Destination{URI: "http://dls.ns.svc/"}},
		CloudEventOverrides: &apis.CloudEventOverrides{Extensions: map[string]string{"team": "billing"}},
	}}
	full.ObjectMeta.Labels = map[string]string{apis.LabelKafkaKeyType: "int"}
	noGroup := &apis.KafkaSource{ObjectMeta: meta("mirrored", "u3"), Spec: apis.KafkaSourceSpec{
		BootstrapServers: []string{"src:9092"}, Topics: []string{"orders"}, Sink: apis.Destination{URI: "http://display.ns.svc/"},
	}}
	badSink := &apis.KafkaSource{ObjectMeta: meta("bad-sink", "u4"), Spec: apis.KafkaSourceSpec{
		BootstrapServers: []string{"src:9092"}, Topics: []string{"orders"}, ConsumerGroup: "g4",
		Sink: apis.Destination{Ref: &apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "gone", Namespace: "ns"}},
	}}
	badDLS := &apis.KafkaSource{ObjectMeta: meta("bad-dls", "u5"), Spec: apis.KafkaSourceSpec{
		BootstrapServers: []string{"src:9092"}, Topics: []string{"orders"}, ConsumerGroup: "g5", Sink: apis.Destination{URI: "http://display.ns.svc/"},
		Delivery: &apis.DeliverySpec{DeadLetterSink: &apis.Destination{Ref: &apis.KReference{APIVersion: "v1", Kind: "Pod", Name: "p"}}},
	}}
	out := Compile(9, Resources{
		Brokers:      []*apis.Broker{{ObjectMeta: meta("b", "ub")}},
		KafkaSources: []*apis.KafkaSource{minimal, full, noGroup, badSink, badDLS},
	}, Options{IngressURL: "http://ingress:8080"})
	x := indexContract(t, out.Contract)

	defaults := &weftv1.Delivery{Retry: 10, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 300, TimeoutMs: 600000}
	for uid, want := range map[string]*weftv1.Ingress{
		"u1": {Uid: "u1", Kind: "KafkaSource", Namespace: "ns", Name: "minimal", Generation: 3,
			KafkaSource: &weftv1.KafkaSourceSpec{BootstrapServers: []string{"src:9092"}, Topics: []string{"orders"},
				FleetGroup: "weft.kafkasource.ns.minimal", RetryTopic: "weft.retry-kafkasource.ns.minimal"},
			Egresses: []*weftv1.Egress{{Uid: "u1", Kind: "KafkaSource", Namespace: "ns", Name: "minimal", ConsumerGroup: "g1",
				Destination: "http://display.ns.svc/", Delivery: defaults,
				Order: weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED, InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_LATEST, Generation: 3}}},
		"u2": {Uid: "u2", Kind: "KafkaSource", Namespace: "ns", Name: "full", Generation: 3,
			KafkaSource: &weftv1.KafkaSourceSpec{BootstrapServers: []string{"a:9092", "b:9092"}, Topics: []string{"t1", "t2"},
				FleetGroup: "weft.kafkasource.ns.full", RetryTopic: "weft.retry-kafkasource.ns.full",
				Extensions: map[string]string{"team": "billing"}, KeyType: "int"},
			Egresses: []*weftv1.Egress{{Uid: "u2", Kind: "KafkaSource", Namespace: "ns", Name: "full", ConsumerGroup: "billing",
				Destination: "http://ingress:8080/ns/b",
				Delivery: &weftv1.Delivery{Retry: 2, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 300, TimeoutMs: 600000,
					DeadLetterUrl: "http://dls.ns.svc/"},
				Order: weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED, InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST, Generation: 3}}},
	} {
		got := x.ingresses[uid]
		if !proto.Equal(got, want) {
			t.Errorf("entry %s =\n%v\nwant\n%v", uid, got, want)
		}
	}
	if eg := x.egresses["u3"]; eg == nil || eg.ConsumerGroup != "knative-kafka-source-u3" {
		t.Errorf("source stored without spec.consumerGroup: egress %v, want group knative-kafka-source-u3", eg)
	}
	if r := out.KafkaSources["ns/full"]; r.UID != "u2" || r.SubscriberURI != "http://ingress:8080/ns/b" || r.DeadLetterURI != "http://dls.ns.svc/" || r.Reason != "" {
		t.Errorf("resolution of ns/full: %+v", r)
	}
	for name, want := range map[string]struct{ uid, reason, msg string }{
		"ns/bad-sink": {"u4", ReasonSubscriberResolve, `sink: `},
		"ns/bad-dls":  {"u5", ReasonDeadLetterResolve, "delivery.deadLetterSink: "},
	} {
		r := out.KafkaSources[name]
		if r.Reason != want.reason || !strings.HasPrefix(r.Message, want.msg) {
			t.Errorf("%s: resolution %+v, want reason %s, message starting %q", name, r, want.reason, want.msg)
		}
		if x.ingresses[want.uid] != nil || x.egresses[want.uid] != nil {
			t.Errorf("%s does not resolve but is in the contract", name)
		}
	}
	if n := len(out.Contract.Ingresses); n < 3 || out.Contract.Ingresses[n-3].Name != "full" || out.Contract.Ingresses[n-1].Name != "mirrored" {
		t.Errorf("KafkaSources are not the last entries, sorted by name")
	}
}

func TestKafkaSourceDeliveryDoesNotChangeSpec(t *testing.T) {
	ds := &apis.DeliverySpec{Retry: ptr(int32(1))}
	d := kafkaSourceDelivery(ds)
	if ds.Timeout != nil || ds.BackoffDelay != nil || *d.Retry != 1 || *d.Timeout != "PT600S" || *d.BackoffDelay != "PT0.3S" {
		t.Errorf("spec %+v, compiled %+v", ds, d)
	}
}
