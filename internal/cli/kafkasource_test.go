package cli

import (
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
)

// TestCLIKafkaSource: `source create kafka` stores a KafkaSource with the
// flags' fields and the control plane's defaults (consumer group
// knative-kafka-source-<uid>); `source list` shows it beside a PingSource
// with its kind, sink and readiness; `get kafkasources` and `describe`
// show its spec and status; bad flags and invalid values get the flag or
// the field path; `source delete` finds it by name.
func TestCLIKafkaSource(t *testing.T) {
	addr := startControlPlane(t)
	args := []string{"source", "create", "kafka", "orders", "--bootstrap-servers", "kafka-1:9092,kafka-2:9092", "--topics", "orders", "--topics", "payments",
		"--initial-offset", "earliest", "--ordering", "unordered", "--key-type", "int", "--sink", "http://display.default.svc/"}
	if out, errs, code := weft(t, addr, "", args...); code != 0 || !strings.Contains(out, `KafkaSource "orders" created in namespace "default"`) {
		t.Fatalf("code %d: %s%s", code, out, errs)
	}
	k := getJSON(t, addr, "kafkasource", "orders").(*apis.KafkaSource)
	s := k.Spec
	if k.APIVersion != apis.SourcesV1beta1 || strings.Join(s.BootstrapServers, ",") != "kafka-1:9092,kafka-2:9092" || strings.Join(s.Topics, ",") != "orders,payments" ||
		s.InitialOffset != "earliest" || s.Ordering == nil || *s.Ordering != "unordered" || s.Sink.URI != "http://display.default.svc/" ||
		k.ObjectMeta.Labels[apis.LabelKafkaKeyType] != "int" {
		t.Errorf("stored as %+v, labels %v", s, k.ObjectMeta.Labels)
	}
	if s.ConsumerGroup != "knative-kafka-source-"+k.ObjectMeta.UID || s.Consumers == nil || *s.Consumers != 1 {
		t.Errorf("defaults: consumerGroup %q (uid %s), consumers %v", s.ConsumerGroup, k.ObjectMeta.UID, s.Consumers)
	}
	if k.Status.SinkURI != "http://display.default.svc/" || len(k.Status.CloudEventAttributes) != 2 ||
		k.Status.CloudEventAttributes[1].Source != "/apis/v1/namespaces/default/kafkasources/orders#payments" {
		t.Errorf("status %+v", k.Status)
	}
	if _, errs, code := weft(t, addr, "", "source", "create", "kafka", "named", "--bootstrap-servers", "k:9092", "--topics", "t", "--consumer-group", "billing", "--sink", "broker:missing"); code != 0 {
		t.Fatalf("create named: %s", errs)
	}
	if _, errs, code := weft(t, addr, "", "source", "create", "ping", "tick", "--schedule", "@hourly", "--sink", "http://display.default.svc/"); code != 0 {
		t.Fatalf("create ping: %s", errs)
	}

	out, errs, code := weft(t, addr, "", "source", "list")
	if code != 0 {
		t.Fatalf("source list: %s", errs)
	}
	for name, want := range map[string][2]string{"orders": {"KafkaSource", "http://display.default.svc/"}, "named": {"KafkaSource", "broker:missing"}, "tick": {"PingSource", "http://display.default.svc/"}} {
		if got := cell(t, out, name, "KIND"); got != want[0] {
			t.Errorf("source list: %s KIND = %q, want %q:\n%s", name, got, want[0], out)
		}
		if got := cell(t, out, name, "SINK"); got != want[1] {
			t.Errorf("source list: %s SINK = %q, want %q:\n%s", name, got, want[1], out)
		}
	}
	if got := cell(t, out, "named", "READY"); got != apis.ConditionFalse {
		t.Errorf("source list: named READY = %q (its sink broker does not exist):\n%s", got, out)
	}
	for _, l := range strings.Split(out, "\n") { // REASON, the last column, is wider than its header: the row's last field
		if f := strings.Fields(l); len(f) > 0 && f[0] == "named" && f[len(f)-1] != "SubscriberResolveFailed" {
			t.Errorf("source list: named REASON = %q, want SubscriberResolveFailed:\n%s", f[len(f)-1], out)
		}
	}
	if got := cell(t, out, "orders", "READY"); got == "" {
		t.Errorf("source list: orders READY empty:\n%s", out)
	}
	out, errs, code = weft(t, addr, "", "get", "kafkasources")
	if code != 0 {
		t.Fatalf("get kafkasources: %s", errs)
	}
	if got := cell(t, out, "orders", "TOPICS"); got != "orders,payments" {
		t.Errorf("get kafkasources: TOPICS %q:\n%s", got, out)
	}
	if got := cell(t, out, "orders", "BOOTSTRAPSERVERS"); got != "kafka-1:9092,kafka-2:9092" {
		t.Errorf("get kafkasources: BOOTSTRAPSERVERS %q:\n%s", got, out)
	}
	if strings.Contains(out, "tick") {
		t.Errorf("get kafkasources lists the PingSource:\n%s", out)
	}
	if out, _, _ := weft(t, addr, "", "source", "list", "-o", "yaml"); !strings.Contains(out, "kind: KafkaSource") || !strings.Contains(out, "kind: PingSource") {
		t.Errorf("source list -o yaml:\n%s", out)
	}
	for _, desc := range [][]string{{"source", "describe", "orders"}, {"describe", "kafkasource", "orders"}} {
		out, errs, _ := weft(t, addr, "", desc...)
		for _, want := range []string{"Bootstrap servers:", "kafka-1:9092, kafka-2:9092", "Topics:", "orders, payments", "Consumer group:", "knative-kafka-source-",
			"Initial offset:", "earliest", "Ordering:", "unordered", "Key type:", "int", "Sink URI:", "CE attributes:", "dev.knative.kafka.event /apis/v1/namespaces/default/kafkasources/orders#orders",
			"SinkProvided", "Deployed"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v lacks %q:\n%s%s", desc, want, out, errs)
			}
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"source", "create", "cron", "x"}, `TYPE: must be one of ping, kafka, httppoller, webhook, gitlab or github`},
		{[]string{"source", "create", "kafka", "x", "--topics", "t", "--sink", "http://a.b/"}, "--bootstrap-servers: must be set"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092", "--sink", "http://a.b/"}, "--topics: must be set"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092", "--topics", "t"}, "--sink: must be set"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092", "--topics", "t", "--sink", "http://a.b/", "--schedule", "@hourly"}, "--schedule: must be given only for ping"},
		{[]string{"source", "create", "ping", "x", "--schedule", "@hourly", "--sink", "http://a.b/", "--topics", "t"}, "--topics: must be given only for kafka"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092,k2", "--topics", "t", "--sink", "http://a.b/"}, "spec.bootstrapServers[1]: must be host:port"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092", "--topics", "t,a/b", "--sink", "http://a.b/"}, "spec.topics[1]: must be a Kafka topic name"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092", "--topics", "t,t", "--sink", "http://a.b/"}, "spec.topics[1]: duplicate of spec.topics[0]"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092", "--topics", "t", "--sink", "http://a.b/", "--initial-offset", "oldest"}, "spec.initialOffset: must be earliest or latest"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092", "--topics", "t", "--sink", "http://a.b/", "--ordering", "fifo"}, "spec.ordering: must be ordered or unordered"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092", "--topics", "t", "--sink", "http://a.b/", "--consumer-group", "weft.mine"}, "spec.consumerGroup"},
		{[]string{"source", "create", "kafka", "x", "--bootstrap-servers", "k:9092", "--topics", "t", "--sink", "http://a.b/", "--key-type", "long"}, "metadata.labels[kafkasources.sources.knative.dev/key-type]"},
		{[]string{"source", "create", "kafka", "orders", "--bootstrap-servers", "k:9092", "--topics", "t", "--sink", "http://a.b/"}, `already exists`},
		{[]string{"source", "describe", "nope"}, `no source "nope" in namespace "default"`},
	} {
		if _, errs, code := weft(t, addr, "", tc.args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d, %q; want %q", tc.args, code, errs, tc.want)
		}
	}

	// A PingSource and a KafkaSource of one name: describe and delete ask
	// for the kind.
	if _, errs, code := weft(t, addr, "", "source", "create", "ping", "orders", "--schedule", "@hourly", "--sink", "http://a.b/"); code != 0 {
		t.Fatalf("create ping orders: %s", errs)
	}
	if _, errs, code := weft(t, addr, "", "source", "delete", "orders"); code == 0 || !strings.Contains(errs, `"orders" names a PingSource and a KafkaSource`) {
		t.Errorf("delete an ambiguous name: code %d, %s", code, errs)
	}
	if out, errs, code := weft(t, addr, "", "delete", "pingsource", "orders"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete pingsource orders: %s%s", out, errs)
	}
	if out, errs, code := weft(t, addr, "", "source", "delete", "orders", "named"); code != 0 || !strings.Contains(out, "kafkasource.sources.knative.dev/orders deleted") {
		t.Errorf("source delete: %s%s", out, errs)
	}
	if out, _, _ := weft(t, addr, "", "source", "list"); strings.Contains(out, "named") || !strings.Contains(out, "tick") {
		t.Errorf("after deleting: %s", out)
	}
}
