package apis

import (
	"reflect"
	"strings"
	"testing"
)

// kafkaSource is a KafkaSource manifest named "k" in namespace "ns" with the
// given spec (flush-left YAML).
func kafkaSource(spec string) string {
	return kafkaSourceMeta("name: k\nnamespace: ns", spec)
}

func kafkaSourceMeta(meta, spec string) string {
	return "apiVersion: sources.knative.dev/v1beta1\nkind: KafkaSource\nmetadata:\n" + indent(meta, 2) + "spec:\n" + indent(spec, 2)
}

// okKafka is the smallest valid KafkaSource spec.
const okKafka = "bootstrapServers: [\"kafka:9092\"]\ntopics: [orders]\n" + okSink

// TestDecodeManifestsKafkaSourceInvalid feeds invalid KafkaSources through
// DecodeManifests and checks each error's path and message; a case with old
// checks ValidateUpdate(old, new).
func TestDecodeManifestsKafkaSourceInvalid(t *testing.T) {
	const servers, topics = "bootstrapServers: [\"kafka:9092\"]\n", "topics: [orders]\n"
	tests := []struct {
		name          string
		old           string
		manifest      string
		path, message string
	}{
		{name: "no bootstrapServers", manifest: kafkaSource(topics + okSink), path: "spec.bootstrapServers", message: "required: at least one host:port"},
		{name: "empty bootstrapServers", manifest: kafkaSource("bootstrapServers: []\n" + topics + okSink), path: "spec.bootstrapServers", message: "required"},
		{name: "bootstrap server without port", manifest: kafkaSource("bootstrapServers: [kafka-1:9092, kafka-2]\n" + topics + okSink), path: "spec.bootstrapServers[1]", message: "must be host:port"},
		{name: "bootstrap server port 0", manifest: kafkaSource("bootstrapServers: [\"kafka:0\"]\n" + topics + okSink), path: "spec.bootstrapServers[0]", message: "port between 1 and 65535"},
		{name: "bootstrap servers as one comma-separated string", manifest: kafkaSource("bootstrapServers: [\"a:9092,b:9092\"]\n" + topics + okSink), path: "spec.bootstrapServers[0]", message: "must be host:port"},
		{name: "duplicate bootstrap server", manifest: kafkaSource("bootstrapServers: [\"a:9092\", \"a:9092\"]\n" + topics + okSink), path: "spec.bootstrapServers[1]", message: "duplicate of spec.bootstrapServers[0]"},
		{name: "no topics", manifest: kafkaSource(servers + okSink), path: "spec.topics", message: "required: at least one Kafka topic"},
		{name: "topic with a slash", manifest: kafkaSource(servers + "topics: [orders, \"a/b\"]\n" + okSink), path: "spec.topics[1]", message: "must be a Kafka topic name"},
		{name: "topic empty", manifest: kafkaSource(servers + "topics: [\"\"]\n" + okSink), path: "spec.topics[0]", message: "required"},
		{name: "topic dot dot", manifest: kafkaSource(servers + "topics: [\"..\"]\n" + okSink), path: "spec.topics[0]", message: `must not be "." or ".."`},
		{name: "topic of 250 characters", manifest: kafkaSource(servers + "topics: [" + strings.Repeat("a", 250) + "]\n" + okSink), path: "spec.topics[0]", message: "no more than 249 characters"},
		{name: "duplicate topic", manifest: kafkaSource(servers + "topics: [a, b, a]\n" + okSink), path: "spec.topics[2]", message: "duplicate of spec.topics[0]"},
		{name: "topics a string", manifest: kafkaSource(servers + "topics: orders\n" + okSink), path: "spec.topics", message: "expected array, got string"},
		{name: "consumerGroup with a space", manifest: kafkaSource(okKafka + "consumerGroup: \"my group\""), path: "spec.consumerGroup", message: "printable ASCII without spaces"},
		{name: "consumerGroup Weft's own", manifest: kafkaSource(okKafka + "consumerGroup: weft.trigger.ns.t"), path: "spec.consumerGroup", message: `must not start with "weft."`},
		{name: "consumerGroup too long", manifest: kafkaSource(okKafka + "consumerGroup: " + strings.Repeat("g", 256)), path: "spec.consumerGroup", message: "no more than 255 characters"},
		{name: "initialOffset oldest", manifest: kafkaSource(okKafka + "initialOffset: oldest"), path: "spec.initialOffset", message: "must be earliest or latest"},
		{name: "ordering random", manifest: kafkaSource(okKafka + "ordering: random"), path: "spec.ordering", message: "must be ordered or unordered"},
		{name: "consumers 0", manifest: kafkaSource(okKafka + "consumers: 0"), path: "spec.consumers", message: "must be at least 1"},
		{name: "sink missing", manifest: kafkaSource(servers + topics), path: "spec.sink", message: "expected ref, uri, or both"},
		{name: "sink ref without apiVersion", manifest: kafkaSource(servers + topics + "sink:\n  ref:\n    kind: Service\n    name: display"), path: "spec.sink.ref.apiVersion", message: "required"},
		{name: "delivery retry negative", manifest: kafkaSource(okKafka + "delivery:\n  retry: -1"), path: "spec.delivery.retry", message: "must be >= 0"},
		{name: "delivery backoffDelay not ISO-8601", manifest: kafkaSource(okKafka + "delivery:\n  backoffDelay: 5s"), path: "spec.delivery.backoffDelay", message: "ISO-8601"},
		{name: "delivery dead-letter sink relative", manifest: kafkaSource(okKafka + "delivery:\n  deadLetterSink:\n    uri: /dls"), path: "spec.delivery.deadLetterSink.uri", message: "must be an absolute URL"},
		{name: "ceOverrides extension with a dash", manifest: kafkaSource(okKafka + "ceOverrides:\n  extensions:\n    my-ext: a"), path: "spec.ceOverrides.extensions[my-ext]", message: "only lowercase letters and digits"},
		{name: "ceOverrides sets source", manifest: kafkaSource(okKafka + "ceOverrides:\n  extensions:\n    source: a"), path: "spec.ceOverrides.extensions[source]", message: "overrides add extensions only"},
		{name: "key-type label unknown", manifest: kafkaSourceMeta("name: k\nnamespace: ns\nlabels:\n  kafkasources.sources.knative.dev/key-type: long", okKafka), path: "metadata.labels[kafkasources.sources.knative.dev/key-type]", message: "must be string, int, float, byte-array"},
		{name: "net secret ref without key", manifest: kafkaSource(okKafka + "net:\n  sasl:\n    password:\n      secretKeyRef: {name: creds}"), path: "spec.net.sasl.password.secretKeyRef.key", message: "required"},
		{name: "net secret ref bad name", manifest: kafkaSource(okKafka + "net:\n  tls:\n    caCert:\n      secretKeyRef: {name: My_CA, key: ca.crt}"), path: "spec.net.tls.caCert.secretKeyRef.name", message: "DNS-1123 subdomain"},
		{name: "unknown field topic", manifest: kafkaSource(okKafka + "topic: orders"), path: "spec.topic", message: "unknown field"},
		{name: "name not a DNS-1123 label", manifest: kafkaSourceMeta("name: My.Source\nnamespace: ns", okKafka), path: "metadata.name", message: "DNS-1123 label"},

		{name: "update changes the consumer group", old: kafkaSource(okKafka + "consumerGroup: g1"), manifest: kafkaSource(okKafka + "consumerGroup: g2"),
			path: "spec.consumerGroup", message: `immutable: cannot change from "g1" to "g2"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.old != "" {
				invalidUpdate(t, tc.old, tc.manifest, tc.path, tc.message)
				return
			}
			invalidManifest(t, tc.manifest, tc.path, tc.message)
		})
	}
}

func TestDecodeManifestsKafkaSourceDefaults(t *testing.T) {
	objs, err := DecodeManifests([]byte(kafkaSourceMeta("name: k", "bootstrapServers: [\"kafka:9092\"]\ntopics: [orders]\nsink:\n  ref:\n    apiVersion: eventing.knative.dev/v1\n    kind: Broker\n    name: default")))
	if err != nil {
		t.Fatal(err)
	}
	k := objs[0].(*KafkaSource)
	s := k.Spec
	if k.ObjectMeta.Namespace != DefaultNamespace || s.Consumers == nil || *s.Consumers != 1 || s.InitialOffset != KafkaOffsetLatest ||
		s.Ordering == nil || *s.Ordering != KafkaOrdered || s.Sink.Ref.Namespace != DefaultNamespace {
		t.Errorf("defaults: %+v", s)
	}
	if s.ConsumerGroup != "" || s.Delivery != nil {
		t.Errorf("consumerGroup %q and delivery %+v: want both left to the control plane", s.ConsumerGroup, s.Delivery)
	}
	if KindOf(k) != KindKafkaSource || k.APIVersion != SourcesV1beta1 {
		t.Errorf("KindOf %q, apiVersion %q", KindOf(k), k.APIVersion)
	}
	if got, want := KafkaSourceAttributes(k), []CloudEventAttributes{{Type: "dev.knative.kafka.event", Source: "/apis/v1/namespaces/default/kafkasources/k#orders"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ceAttributes %+v, want %+v", got, want)
	}
	c := DeepCopy(k).(*KafkaSource)
	*c.Spec.Consumers = 3
	if *k.Spec.Consumers != 1 {
		t.Error("DeepCopy shares spec.consumers")
	}
}

func TestDecodeManifestsKafkaSourceValid(t *testing.T) {
	for name, spec := range map[string]string{
		"every field": okKafka + "consumers: 3\nconsumerGroup: billing-orders:v1\ninitialOffset: earliest\nordering: unordered\n" +
			"delivery:\n  retry: 3\n  backoffPolicy: linear\n  backoffDelay: PT1S\n  deadLetterSink:\n    uri: http://dls.default.svc/\n" +
			"ceOverrides:\n  extensions:\n    team: billing\n",
		"several servers and topics": "bootstrapServers: [\"k1:9092\", \"[::1]:9093\"]\ntopics: [a, b.c, d_e-f]\n" + okSink,
		"net shape, disabled": okKafka + "net:\n  sasl:\n    enable: false\n    user:\n      secretKeyRef: {name: creds, key: user}\n    password:\n      secretKeyRef: {name: creds, key: password}\n    type:\n      secretKeyRef: {name: creds, key: mechanism}\n" +
			"  tls:\n    enable: false\n    caCert:\n      secretKeyRef: {name: ca, key: ca.crt}",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeManifests([]byte(kafkaSourceMeta("name: k\nlabels:\n  kafkasources.sources.knative.dev/key-type: byte-array", spec))); err != nil {
				t.Fatal(err)
			}
		})
	}
	objs, err := DecodeManifests([]byte(kafkaSource(okKafka + "consumerGroup: g")))
	if err != nil {
		t.Fatal(err)
	}
	k := objs[0].(*KafkaSource)
	n := DeepCopy(k).(*KafkaSource)
	n.Spec.Topics = []string{"payments"}
	n.Spec.BootstrapServers = []string{"other:9092"}
	if err := ValidateUpdate(k, n); err != nil {
		t.Errorf("topics and bootstrapServers may change (as in Knative): %v", err)
	}
}
