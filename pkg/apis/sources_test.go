package apis

import (
	"strings"
	"testing"
)

// kafkaSink is a KafkaSink manifest named "s" in namespace "ns" with the
// given spec (flush-left YAML).
func kafkaSink(spec string) string {
	return kafkaSinkMeta("name: s\nnamespace: ns", spec)
}

func kafkaSinkMeta(meta, spec string) string {
	return "apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata:\n" + indent(meta, 2) + "spec:\n" + indent(spec, 2)
}

const okTopic = "topic: orders\n"

// TestDecodeManifestsKafkaSinkInvalid feeds invalid KafkaSinks through
// DecodeManifests and checks each error's path and message; a case with old
// checks ValidateUpdate(old, new).
func TestDecodeManifestsKafkaSinkInvalid(t *testing.T) {
	tests := []struct {
		name     string
		old      string
		manifest string
		path     string
		message  string
	}{
		{name: "no topic", manifest: kafkaSink("numPartitions: 3"), path: "spec.topic", message: "required: the Kafka topic"},
		{name: "topic with a slash", manifest: kafkaSink("topic: orders/v1"), path: "spec.topic", message: "must be a Kafka topic name"},
		{name: "topic with a space", manifest: kafkaSink("topic: \"my orders\""), path: "spec.topic", message: "letters, digits, '.', '_' and '-'"},
		{name: "topic dot", manifest: kafkaSink("topic: \".\""), path: "spec.topic", message: `must not be "." or ".."`},
		{name: "topic dot dot", manifest: kafkaSink("topic: \"..\""), path: "spec.topic", message: `must not be "." or ".."`},
		{name: "topic of 250 characters", manifest: kafkaSink("topic: " + strings.Repeat("a", 250)), path: "spec.topic", message: "no more than 249 characters (got 250)"},
		{name: "numPartitions 0", manifest: kafkaSink(okTopic + "numPartitions: 0"), path: "spec.numPartitions", message: "must be between 1 and 10000"},
		{name: "numPartitions above MaxPartitions", manifest: kafkaSink(okTopic + "numPartitions: 10001"), path: "spec.numPartitions", message: "must be between 1 and 10000"},
		{name: "replicationFactor 0", manifest: kafkaSink(okTopic + "replicationFactor: 0"), path: "spec.replicationFactor", message: "must be between 1 and 32767"},
		{name: "replicationFactor negative", manifest: kafkaSink(okTopic + "replicationFactor: -1"), path: "spec.replicationFactor", message: "must be between 1 and 32767"},
		{name: "bootstrap server without port", manifest: kafkaSink(okTopic + "bootstrapServers: [kafka-1:9092, kafka-2]"), path: "spec.bootstrapServers[1]", message: "must be host:port"},
		{name: "bootstrap server port 0", manifest: kafkaSink(okTopic + "bootstrapServers: [\"kafka:0\"]"), path: "spec.bootstrapServers[0]", message: "port between 1 and 65535"},
		{name: "bootstrap server port 70000", manifest: kafkaSink(okTopic + "bootstrapServers: [\"kafka:70000\"]"), path: "spec.bootstrapServers[0]", message: "port between 1 and 65535"},
		{name: "bootstrap server without host", manifest: kafkaSink(okTopic + "bootstrapServers: [\":9092\"]"), path: "spec.bootstrapServers[0]", message: "must be host:port"},
		{name: "contentMode json", manifest: kafkaSink(okTopic + "contentMode: json"), path: "spec.contentMode", message: "must be binary or structured"},
		{name: "auth secret name with capitals", manifest: kafkaSink(okTopic + "auth:\n  secret:\n    ref:\n      name: My_Secret"), path: "spec.auth.secret.ref.name", message: "DNS-1123 subdomain"},
		{name: "auth secret ref without name", manifest: kafkaSink(okTopic + "auth:\n  secret:\n    ref: {}"), path: "spec.auth.secret.ref.name", message: "required"},
		{name: "name not a DNS-1123 label", manifest: kafkaSinkMeta("name: my.sink\nnamespace: ns", okTopic), path: "metadata.name", message: "DNS-1123 label"},
		{name: "unknown field", manifest: kafkaSink(okTopic + "partitions: 3"), path: "spec.partitions", message: "unknown field"},

		{name: "update changes the topic", old: kafkaSink(okTopic), manifest: kafkaSink("topic: payments"), path: "spec.topic", message: `immutable: cannot change from "orders" to "payments"`},
		{name: "update adds bootstrap servers", old: kafkaSink(okTopic), manifest: kafkaSink(okTopic + "bootstrapServers: [\"other:9092\"]"), path: "spec.bootstrapServers", message: `immutable: cannot change from "" to "other:9092"`},
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

func TestDecodeManifestsKafkaSinkValid(t *testing.T) {
	objs, err := DecodeManifests([]byte(kafkaSinkMeta("name: s", "topic: "+strings.Repeat("a", 249)+"\nnumPartitions: 10000\nreplicationFactor: 32767\nbootstrapServers: [\"kafka-1:9092\", \"[::1]:9093\"]\nauth:\n  secret:\n    ref:\n      name: kafka.creds")))
	if err != nil {
		t.Fatal(err)
	}
	k := objs[0].(*KafkaSink)
	if k.ObjectMeta.Namespace != DefaultNamespace || k.Spec.ContentMode == nil || *k.Spec.ContentMode != ContentModeBinary {
		t.Errorf("defaults: namespace %q, contentMode %v; want default and binary", k.ObjectMeta.Namespace, k.Spec.ContentMode)
	}
	if err := ValidateUpdate(k, DeepCopy(k)); err != nil {
		t.Errorf("update without changes: %v", err)
	}
	n := DeepCopy(k).(*KafkaSink)
	*n.Spec.NumPartitions = 3
	if err := ValidateUpdate(k, n); err != nil {
		t.Errorf("numPartitions may change (the topic exists already): %v", err)
	}
}
