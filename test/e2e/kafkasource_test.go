package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
)

// startSourceKafka starts a second Kafka-protocol server, the "other
// system's" cluster a KafkaSource reads and a KafkaSink writes, and creates
// topics on it.
func startSourceKafka(t *testing.T, partitions int32, topics ...string) (string, *kgo.Client) {
	t.Helper()
	p := start(t, "source-kafka", "weft", "kafka", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "source-kafka"))
	addr := p.waitLine(t, `^kafka-protocol server listening on (\S+)`, 30*time.Second)[1]
	p.waitLine(t, `^ready`, 30*time.Second)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 1, nil, topics...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("create topics %v: %v", topics, err)
	}
	return addr, cl
}

// produceRecords produces n plain records (not CloudEvents) keyed "k{i}"
// with a header, acks=all, and returns the ids the KafkaSource gives their
// events ("partition:{p}/offset:{o}") with each one's value.
func produceRecords(t *testing.T, cl *kgo.Client, topic, prefix string, n int) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(i%97)), Value: fmt.Appendf(nil, `{"%s":%d}`, prefix, i),
			Headers: []kgo.RecordHeader{{Key: "Origin-System", Value: []byte("e2e")}}}
	}
	res := cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	ids := map[string]string{}
	for _, r := range res {
		ids[fmt.Sprintf("partition:%d/offset:%d", r.Record.Partition, r.Record.Offset)] = string(r.Record.Value)
	}
	return ids
}

// A KafkaSource reading a topic of another cluster, run by one dispatcher
// process that is SIGKILLed mid-stream while a second takes over: every
// record produced, before and after the kill, reaches the sink as Knative's
// event (type, source, subject, id, extensions).
func TestKafkaSourceDispatcherKilled(t *testing.T) {
	const perBatch = 3000
	srcAddr, src := startSourceKafka(t, 3, "orders")
	sub := newSubscriber(t)
	c := startCluster(t)
	d1 := c.startDispatcher(t, "dispatcher-1")
	const ns = "ksrc"
	want := produceRecords(t, src, "orders", "before", perBatch)
	weftCLI(t, c.grpc, fmt.Sprintf(`apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata: {name: orders, namespace: %s}
spec:
  bootstrapServers: [%q]
  topics: [orders]
  consumerGroup: orders-to-http
  initialOffset: earliest
  sink: {uri: "%s/orders"}
`, ns, srcAddr, sub.srv.URL), "apply", "-f", "-")
	waitKindReady(t, c.grpc, "kafkasources", ns, 1)
	testutil.Eventually(t, 120*time.Second, "a third of the first batch delivered", func() (bool, string) {
		_, distinct, _ := sub.count("/orders")
		return distinct >= perBatch/3, fmt.Sprint(distinct)
	})
	d1.stop(syscall.SIGKILL)
	_, atKill, _ := sub.count("/orders")
	c.startDispatcher(t, "dispatcher-2")
	for id, v := range produceRecords(t, src, "orders", "after", perBatch) {
		want[id] = v
	}
	testutil.Eventually(t, 180*time.Second, "every record delivered", func() (bool, string) {
		got := map[string]bool{}
		for _, r := range sub.list("/orders") {
			got[r.ID] = true
		}
		missing := 0
		for id := range want {
			if !got[id] {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d records not delivered yet", missing, len(want))
	})
	for _, r := range sub.list("/orders") {
		v, ok := want[r.ID]
		switch {
		case !ok:
			t.Errorf("unexpected event id %q", r.ID)
		case r.Type != "dev.knative.kafka.event" || r.Source != "/apis/v1/namespaces/ksrc/kafkasources/orders#orders":
			t.Errorf("event %s: type %q source %q", r.ID, r.Type, r.Source)
		case string(r.Data) != v:
			t.Errorf("event %s: data %q, want %q", r.ID, r.Data, v)
		case r.Ext["kafkaheaderoriginsystem"] != "e2e" || r.Ext["key"] == nil:
			t.Errorf("event %s: extensions %v", r.ID, r.Ext)
		}
	}
	total, distinct, _ := sub.count("/orders")
	t.Logf("%d records produced (half after the kill), %d delivered before the kill, %d distinct delivered (%d in all, %d duplicates), lost 0",
		len(want), atKill, distinct, total, total-distinct)
}

// The round trip: a KafkaSource reads topic A of another cluster into a
// Broker, a Trigger sends every event to a KafkaSink writing topic B of
// that cluster: every record of A is in B, as a CloudEvent record.
func TestKafkaSourceBrokerKafkaSinkRoundTrip(t *testing.T) {
	const n = 2000
	srcAddr, src := startSourceKafka(t, 2, "topic-a")
	// weft dev: the addresses in statuses are its ingress's real one, which
	// the KafkaSource posts to (the Broker) and the Trigger (the KafkaSink).
	d := startDev(t, "http://{name}.{namespace}.invalid")
	const ns = "trip"
	want := produceRecords(t, src, "topic-a", "trip", n)
	weftCLI(t, d.grpc, fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: %[1]s}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: {name: topic-b, namespace: %[1]s}
spec:
  topic: topic-b
  numPartitions: 2
  bootstrapServers: [%[2]q]
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-b, namespace: %[1]s}
spec:
  broker: default
  filter: {attributes: {type: dev.knative.kafka.event}}
  subscriber:
    ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: topic-b}
---
apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata: {name: from-a, namespace: %[1]s}
spec:
  bootstrapServers: [%[2]q]
  topics: [topic-a]
  initialOffset: earliest
  ordering: unordered
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
`, ns, srcAddr), "apply", "-f", "-")

	got := map[string]bool{}
	cl, err := kgo.NewClient(kgo.SeedBrokers(srcAddr), kgo.ConsumeTopics("topic-b"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(180 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			var id, typ string
			for _, h := range r.Headers {
				switch h.Key {
				case "ce_id":
					id = string(h.Value)
				case "ce_type":
					typ = string(h.Value)
				}
			}
			if v, ok := want[id]; !ok || typ != "dev.knative.kafka.event" || string(r.Value) != v {
				t.Errorf("topic-b record id %q type %q value %q: not one of topic-a's", id, typ, r.Value)
				return
			}
			got[id] = true
		})
	}
	if len(got) != n {
		t.Fatalf("%d of %d records of topic-a in topic-b", len(got), n)
	}
	t.Logf("%d records of topic-a all in topic-b (KafkaSource -> Broker -> Trigger -> KafkaSink)", n)
}
