package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
)

func TestCLIKafkaSink(t *testing.T) {
	addr := startControlPlane(t)
	for _, args := range [][]string{
		{"sink", "create", "kafka", "orders", "--topic", "orders.v1", "--partitions", "2", "--replication-factor", "1"},
		{"sink", "create", "kafka", "audit", "--topic", "audit", "--content-mode", "structured"},
	} {
		out, errs, code := weft(t, addr, "", args...)
		if code != 0 || !strings.Contains(out, `KafkaSink "`+args[3]+`" created in namespace "default"`) {
			t.Fatalf("%v: code %d: %s%s", args, code, out, errs)
		}
	}
	if _, errs, code := weft(t, addr, "", "sink", "create", "kafka", "orders", "--topic", "x"); code == 0 || !strings.Contains(errs, "already exists") {
		t.Errorf("second sink create: code %d, %s", code, errs)
	}
	k := getJSON(t, addr, "kafkasink", "orders").(*apis.KafkaSink)
	if k.APIVersion != apis.EventingV1alpha1 || k.Spec.Topic != "orders.v1" || k.Spec.NumPartitions == nil || *k.Spec.NumPartitions != 2 ||
		k.Spec.ReplicationFactor == nil || *k.Spec.ReplicationFactor != 1 || k.Spec.ContentMode == nil || *k.Spec.ContentMode != apis.ContentModeBinary {
		b, _ := json.Marshal(k)
		t.Errorf("sink orders stored as %s", b)
	}
	if k := getJSON(t, addr, "kafkasinks", "audit").(*apis.KafkaSink); k.Spec.ContentMode == nil || *k.Spec.ContentMode != apis.ContentModeStructured {
		t.Errorf("sink audit content mode %v", k.Spec.ContentMode)
	}

	for _, list := range [][]string{{"sink", "list"}, {"get", "kafkasinks"}} {
		out, errs, code := weft(t, addr, "", list...)
		if code != 0 {
			t.Fatalf("%v: %s", list, errs)
		}
		for name, topic := range map[string]string{"orders": "orders.v1", "audit": "audit"} {
			if got := cell(t, out, name, "TOPIC"); got != topic {
				t.Errorf("%v: TOPIC of %s = %q, want %q:\n%s", list, name, got, topic, out)
			}
			if u := cell(t, out, name, "URL"); !strings.HasSuffix(u, "/sinks/default/"+name) {
				t.Errorf("%v: URL of %s = %q:\n%s", list, name, u, out)
			}
			checkReady(t, out, name)
		}
	}
	out, _, code := weft(t, addr, "", "sink", "describe", "audit")
	for _, want := range []string{"KafkaSink (eventing.knative.dev/v1alpha1)", "Address:", "/sinks/default/audit", "Topic:", "Content mode:", "structured", "Conditions:", "TopicReady"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("sink describe lacks %q (code %d):\n%s", want, code, out)
		}
	}

	// --sink kafkasink:NAME names the sink.
	if _, errs, code := weft(t, addr, "", "trigger", "create", "to-sink", "--sink", "kafkasink:orders"); code != 0 {
		t.Fatalf("trigger create --sink kafkasink:orders: %s", errs)
	}
	tr := getJSON(t, addr, "trigger", "to-sink").(*apis.Trigger)
	if r := tr.Spec.Subscriber.Ref; r == nil || *r != (apis.KReference{APIVersion: apis.EventingV1alpha1, Kind: apis.KindKafkaSink, Name: "orders", Namespace: "default"}) {
		t.Errorf("trigger subscriber %+v", tr.Spec.Subscriber)
	}
	out, _, _ = weft(t, addr, "", "trigger", "describe", "to-sink")
	if !strings.Contains(out, "/sinks/default/orders") {
		t.Errorf("trigger describe: the subscriber URI is not the sink's address:\n%s", out)
	}

	out, errs, code := weft(t, addr, "", "sink", "delete", "orders", "audit")
	if code != 0 || strings.Count(out, "deleted") != 2 || !strings.Contains(out, "kafkasink.eventing.knative.dev/orders deleted") {
		t.Errorf("sink delete: code %d: %s%s", code, out, errs)
	}
	if out, errs, code := weft(t, addr, "", "sink", "list"); code != 0 || out != "" || !strings.Contains(errs, "No kafkasinks found") {
		t.Errorf("sink list after delete: code %d, %q %q", code, out, errs)
	}
}

// Every bad flag is a one-line error naming the flag, and nothing is created.
func TestCLIKafkaSinkFlagErrors(t *testing.T) {
	addr := startControlPlane(t)
	cases := []refusedCommand{
		{"no name", []string{"sink", "create", "kafka"}, []string{"accepts 2 arg"}},
		{"unknown type", []string{"sink", "create", "s3", "s", "--topic", "t"}, []string{`TYPE: must be kafka, got "s3"`}},
		{"no topic", []string{"sink", "create", "kafka", "s"}, []string{"--topic: must be set"}},
		{"bad topic", []string{"sink", "create", "kafka", "s", "--topic", "a/b"}, []string{"spec.topic: must be a Kafka topic name"}},
		{"bad bootstrap server", []string{"sink", "create", "kafka", "s", "--topic", "t", "--bootstrap-servers", "kafka"}, []string{`--bootstrap-servers: must be host:port, got "kafka"`}},
		{"bad content mode", []string{"sink", "create", "kafka", "s", "--topic", "t", "--content-mode", "json"}, []string{`--content-mode: must be one of`, `got "json"`}},
		{"zero partitions", []string{"sink", "create", "kafka", "s", "--topic", "t", "--partitions", "0"}, []string{"--partitions: must be between 1 and 10000, got 0"}},
		{"huge replication factor", []string{"sink", "create", "kafka", "s", "--topic", "t", "--replication-factor", "40000"}, []string{"--replication-factor: must be between 1 and 32767, got 40000"}},
		{"every bad flag at once", []string{"sink", "create", "kafka", "s", "--content-mode", "json", "--partitions", "0"}, []string{"--topic: must", "--content-mode: must", "--partitions: must"}},
		{"bad sink prefix", []string{"trigger", "create", "t", "--sink", "kafka-sink:orders"}, []string{"kafkasink:NAME", `unknown sink prefix "kafka-sink"`}},
	}
	checkRefused(t, addr, cases)
	if out, errs, code := weft(t, addr, "", "sink", "list"); code != 0 || out != "" || !strings.Contains(errs, "No kafkasinks found") {
		t.Errorf("sinks created by bad commands: %q %q", out, errs)
	}
}
