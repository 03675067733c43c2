package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// sourceGroup is the consumer group (spec.consumerGroup) of the test
// KafkaSources, on the source's cluster.
const sourceGroup = "knative-kafka-source-test"

// sourceContract is the contract of KafkaSource ns/src reading topics on
// the cluster of src and delivering to url, as the control plane compiles
// it; edit changes the egress.
func sourceContract(version uint64, src *env, url string, topics []string, edit func(*weftv1.Egress)) *weftv1.Contract {
	eg := &weftv1.Egress{
		Uid: "src-uid", Kind: KindKafkaSource, Namespace: "ns", Name: "src",
		ConsumerGroup: sourceGroup, Destination: url,
		Order:         weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED,
		InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST,
		Delivery:      &weftv1.Delivery{Retry: 3, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 10, TimeoutMs: 5000},
	}
	if edit != nil {
		edit(eg)
	}
	return &weftv1.Contract{Version: version, Ingresses: []*weftv1.Ingress{{
		Uid: "src-uid", Kind: KindKafkaSource, Namespace: "ns", Name: "src",
		KafkaSource: &weftv1.KafkaSourceSpec{
			BootstrapServers: src.kcfg.BootstrapServers,
			Topics:           topics,
			FleetGroup:       wire.KafkaSourceFleetGroup("ns", "src"),
			RetryTopic:       wire.KafkaSourceRetryTopic("ns", "src"),
			Extensions:       map[string]string{"team": "data"},
		},
		Egresses: []*weftv1.Egress{eg},
	}}}
}

// twoClusters starts Weft's Kafka (with the source's retry topic) and the
// source's, with topic (partitions) on the source's.
func twoClusters(t *testing.T, topic string, partitions int32) (weft, src *env) {
	weft, src = newEnv(t), newEnv(t)
	weft.createTopic(wire.KafkaSourceRetryTopic("ns", "src"), partitions)
	src.createTopic(topic, partitions)
	return weft, src
}

// produceRaw produces records as any Kafka client would and returns them
// with their partitions and offsets.
func (e *env) produceRaw(recs ...*kgo.Record) []*kgo.Record {
	e.t.Helper()
	if err := e.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		e.t.Fatalf("produce: %v", err)
	}
	return recs
}

func plain(topic string, partition int32, key, value string, headers ...string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Partition: partition, Value: []byte(value)}
	if key != "" {
		r.Key = []byte(key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: headers[i], Value: []byte(headers[i+1])})
	}
	return r
}

// kafkaEventID is the id Knative gives the event of a plain record.
func kafkaEventID(r *kgo.Record) string {
	return fmt.Sprintf("partition:%d/offset:%d", r.Partition, r.Offset)
}

// manualPartitions makes the env's producer honour each record's Partition.
func manualPartitions(t *testing.T, e *env) {
	cl, err := e.kcfg.NewClient(nil, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	e.cl = cl
}

// TestKafkaSourceEvents: records produced by a plain Kafka client to the
// source's cluster reach the sink as Knative's KafkaSource makes them —
// plain records as dev.knative.kafka.event with their key, headers and
// timestamp, CloudEvents (binary and structured) as they are — each with
// the source's extensions, from every topic; the source's consumer group is
// committed on the source's cluster, never on Weft's.
func TestKafkaSourceEvents(t *testing.T) {
	weft, src := twoClusters(t, "orders", 2)
	src.createTopic("payments", 1)
	manualPartitions(t, src)
	sink := newSubscriber(t, nil)
	d := start(t, testConfig(weft.kcfg))
	d.apply(t, sourceContract(1, src, sink.URL, []string{"orders", "payments"}, nil))

	stamp := time.UnixMilli(1_767_000_000_123)
	withHeaders := plain("orders", 1, "order-7", `{"n":7}`, "Content-Type", "application/json", "X-Request_ID", "r-1")
	withHeaders.Timestamp = stamp
	bare := plain("orders", 0, "", "bare")
	ce := event.New()
	ce.SetID("ce-binary")
	ce.SetSource("/producer")
	ce.SetType("com.example.order")
	ce.SetExtension("myext", "mine")
	_ = ce.SetData("text/plain", []byte("binary data"))
	binRec, err := cekafka.ToRecord("orders", &ce)
	if err != nil {
		t.Fatal(err)
	}
	binRec.Partition = 0
	ce2 := ce.Clone()
	ce2.SetID("ce-structured")
	structRec := &kgo.Record{Partition: 1}
	if err := cekafka.WriteStructuredRecord(structRec, "orders", &ce2); err != nil {
		t.Fatal(err)
	}
	pay := plain("payments", 0, "p-1", "paid")
	src.produceRaw(withHeaders, bare, binRec, structRec, pay)

	sink.waitIDs(t, kafkaEventID(withHeaders), kafkaEventID(bare), "ce-binary", "ce-structured", kafkaEventID(pay))
	testutil.Eventually(t, 10*time.Second, "", func() (bool, string) {
		return len(sink.received()) == 5, fmt.Sprintf("%d events received, want 5", len(sink.received()))
	})
	// Ids are per topic (Knative's are too): the events are told apart by
	// source and id.
	byID := map[string]*event.Event{}
	for _, e := range sink.received() {
		byID[e.Source()+" "+e.ID()] = e
	}
	orders := "/apis/v1/namespaces/ns/kafkasources/src#orders "
	check := func(e *event.Event, want map[string]string) {
		t.Helper()
		got := map[string]string{
			"specversion": e.SpecVersion(), "type": e.Type(), "source": e.Source(), "subject": e.Subject(),
			"datacontenttype": e.DataContentType(), "data": string(e.Data()),
		}
		if !e.Time().IsZero() {
			got["time"] = e.Time().UTC().Format(time.RFC3339Nano)
		}
		for k, v := range e.Extensions() {
			got[k] = fmt.Sprint(v)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("event %s: %s = %q, want %q", e.ID(), k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok && got[k] != "" {
				t.Errorf("event %s: unexpected %s = %q", e.ID(), k, got[k])
			}
		}
	}
	check(byID[orders+kafkaEventID(withHeaders)], map[string]string{
		"specversion": "1.0", "type": "dev.knative.kafka.event",
		"source":  "/apis/v1/namespaces/ns/kafkasources/src#orders",
		"subject": fmt.Sprintf("partition:1#%d", withHeaders.Offset),
		"time":    stamp.UTC().Format(time.RFC3339Nano), "datacontenttype": "application/json", "data": `{"n":7}`,
		"key": "order-7", "partitionkey": "order-7",
		"kafkaheadercontenttype": "application/json", "kafkaheaderxrequestid": "r-1", "team": "data",
	})
	check(byID[orders+kafkaEventID(bare)], map[string]string{
		"specversion": "1.0", "type": "dev.knative.kafka.event",
		"source":  "/apis/v1/namespaces/ns/kafkasources/src#orders",
		"subject": fmt.Sprintf("partition:0#%d", bare.Offset),
		"time":    bare.Timestamp.UTC().Format(time.RFC3339Nano), "data": "bare", "team": "data",
	})
	for _, id := range []string{"ce-binary", "ce-structured"} {
		check(byID["/producer "+id], map[string]string{
			"specversion": "1.0", "type": "com.example.order", "source": "/producer",
			"datacontenttype": "text/plain", "data": "binary data", "myext": "mine", "team": "data",
		})
	}
	check(byID["/apis/v1/namespaces/ns/kafkasources/src#payments "+kafkaEventID(pay)], map[string]string{
		"specversion": "1.0", "type": "dev.knative.kafka.event",
		"source":  "/apis/v1/namespaces/ns/kafkasources/src#payments",
		"subject": "partition:0#0", "time": pay.Timestamp.UTC().Format(time.RFC3339Nano), "data": "paid",
		"key": "p-1", "partitionkey": "p-1", "team": "data",
	})

	src.waitCommitted(sourceGroup, "orders", src.endOffsets("orders"))
	src.waitCommitted(sourceGroup, "payments", map[int32]int64{0: 1})
	if got := weft.committed(sourceGroup, "orders"); len(got) != 0 {
		t.Errorf("the source's group has offsets on Weft's cluster: %v", got)
	}
	if got := d.Egresses(); !slices.Equal(got, []string{sourceGroup}) {
		t.Errorf("Egresses = %v, want [%s]", got, sourceGroup)
	}
	// The topic's reader reads the source's cluster: a topic of the same
	// name on Weft's cluster is not it.
	readers := 0
	for _, r := range d.readerList() {
		if r.topic == "orders" || r.topic == "payments" {
			readers++
			if r.kcfg.BootstrapServers[0] != src.kcfg.BootstrapServers[0] || r.key == r.topic {
				t.Errorf("reader of %s: cluster %v, key %q", r.topic, r.kcfg.BootstrapServers, r.key)
			}
		}
	}
	if readers != 2 {
		t.Errorf("%d readers of the source's topics, want 2", readers)
	}
}

// TestKafkaSourceRetriesAndDeadLetter: a failing sink gets the event again
// until it accepts it; a sink that always fails sends the event to the
// dead-letter sink with the knativeerror* extensions; an unordered
// source's far retry waits in its retry topic on Weft's cluster, as a
// CloudEvent, while the source's group commits past it.
func TestKafkaSourceRetriesAndDeadLetter(t *testing.T) {
	t.Run("retried until accepted", func(t *testing.T) {
		weft, src := twoClusters(t, "t", 1)
		sub, attempts := countingSubscriber(t, "partition:0/offset:0", func(n int) bool { return n <= 2 }, nil)
		d := start(t, testConfig(weft.kcfg))
		d.apply(t, sourceContract(1, src, sub.URL, []string{"t"}, nil))
		src.produceRaw(plain("t", 0, "k", "v"))
		sub.waitIDs(t, "partition:0/offset:0")
		if n := attempts(); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
		src.waitCommitted(sourceGroup, "t", map[int32]int64{0: 1})
	})
	t.Run("dead-lettered", func(t *testing.T) {
		weft, src := twoClusters(t, "t", 1)
		sub := newSubscriber(t, func(w http.ResponseWriter, _ *http.Request, _ *event.Event) bool {
			http.Error(w, "always down", http.StatusInternalServerError)
			return false
		})
		dls := newSubscriber(t, nil)
		d := start(t, testConfig(weft.kcfg))
		d.apply(t, sourceContract(1, src, sub.URL, []string{"t"}, func(eg *weftv1.Egress) {
			eg.Delivery = &weftv1.Delivery{Retry: 2, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_LINEAR, BackoffDelayMs: 5, TimeoutMs: 2000, DeadLetterUrl: dls.URL}
		}))
		src.produceRaw(plain("t", 0, "k", "doomed"))
		dls.waitIDs(t, "partition:0/offset:0")
		got := dls.received()[0]
		if n := sub.hitCount(); n != 3 {
			t.Errorf("sink got %d attempts, want 3", n)
		}
		exts := got.Extensions()
		if fmt.Sprint(exts[wire.ExtErrorCode]) != "500" || fmt.Sprint(exts[wire.ExtErrorDest]) != sub.URL || exts[wire.ExtErrorData] == nil {
			t.Errorf("dead-lettered extensions %v: want code 500, dest %s, data", exts, sub.URL)
		}
		if got.Type() != cekafka.KafkaSourceEventType || string(got.Data()) != "doomed" || exts["team"] != "data" || exts["key"] != "k" {
			t.Errorf("dead-lettered event %s", got)
		}
		src.waitCommitted(sourceGroup, "t", map[int32]int64{0: 1})
	})
	t.Run("far retry in the retry topic", func(t *testing.T) {
		weft, src := twoClusters(t, "t", 1)
		gate, release := newGate(t)
		const id = "partition:0/offset:0"
		sub, attempts := countingSubscriber(t, id, func(n int) bool { return n <= 2 }, func() { <-gate })
		cfg := testConfig(weft.kcfg)
		cfg.RetryTopicAfter = 150 * time.Millisecond
		d := start(t, cfg)
		d.apply(t, sourceContract(1, src, sub.URL, []string{"t"}, func(eg *weftv1.Egress) {
			eg.Order = weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED
			eg.Delivery = &weftv1.Delivery{Retry: 3, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 50, TimeoutMs: 5000}
		}))
		src.produceRaw(plain("t", 0, "k", "later"), plain("t", 0, "", "now"))
		// Committed past the waiting event on the source's cluster.
		src.waitCommitted(sourceGroup, "t", map[int32]int64{0: 2})
		sub.waitIDs(t, "partition:0/offset:1")
		retryTopic := wire.KafkaSourceRetryTopic("ns", "src")
		cl, err := weft.kcfg.NewClient(nil, kgo.ConsumeTopics(retryTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var rec *kgo.Record
		for rec == nil && ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { rec = r })
		}
		if rec == nil {
			t.Fatal("nothing in the retry topic on Weft's cluster")
		}
		if header(rec, "ce_id") != id || header(rec, "ce_type") != cekafka.KafkaSourceEventType || header(rec, "ce_team") != "data" ||
			header(rec, wire.HeaderRetryTrigger) != "src-uid#t" || header(rec, wire.HeaderRetryAttempts) != "2" || string(rec.Value) != "later" {
			t.Errorf("retry record %v %q", rec.Headers, rec.Value)
		}
		release()
		sub.waitIDs(t, id)
		if n := attempts(); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
		got := sub.received()
		if e := got[len(got)-1]; e.ID() != id || e.Subject() != "partition:0#0" || e.Extensions()["key"] != "k" || e.Extensions()["team"] != "data" {
			t.Errorf("event delivered from the retry topic: %s", e)
		}
		weft.waitCommitted(sourceGroup, retryTopic, map[int32]int64{0: 1})
	})
}

// TestKafkaSourceCommitsAfterDelivery: the source's group on the source's
// cluster moves past a record only once it is delivered.
func TestKafkaSourceCommitsAfterDelivery(t *testing.T) {
	weft, src := twoClusters(t, "t", 2)
	manualPartitions(t, src)
	sub, release := heldSubscriber(t, "partition:0/offset:1")
	d := start(t, testConfig(weft.kcfg))
	d.apply(t, sourceContract(1, src, sub.URL, []string{"t"}, nil))
	src.produceRaw(plain("t", 0, "", "a"), plain("t", 0, "", "b"), plain("t", 0, "", "c"))
	sub.waitIDs(t, "partition:0/offset:0")
	testutil.Eventually(t, 10*time.Second, "", func() (bool, string) {
		return sub.hitCount() >= 2, "b not in flight yet"
	})
	// b is held (ordered: c waits behind it); a record of the other
	// partition is delivered and committed meanwhile, so commit rounds ran.
	src.produceRaw(plain("t", 1, "", "x"))
	src.waitCommitted(sourceGroup, "t", map[int32]int64{0: 1, 1: 1})
	if got := src.committed(sourceGroup, "t"); got[0] != 1 {
		t.Fatalf("committed %v while offset 1 is in flight", got)
	}
	release()
	sub.waitIDs(t, "partition:0/offset:2")
	src.waitCommitted(sourceGroup, "t", map[int32]int64{0: 3, 1: 1})
	if got := weft.committed(sourceGroup, "t"); len(got) != 0 {
		t.Errorf("the source's group has offsets on Weft's cluster: %v", got)
	}
}

// TestKafkaSourceInitialOffset: earliest reads what the topic holds;
// latest starts at the end, commits that start at once, so records
// produced while no dispatcher runs are delivered after a restart.
func TestKafkaSourceInitialOffset(t *testing.T) {
	t.Run("earliest", func(t *testing.T) {
		weft, src := twoClusters(t, "t", 2)
		manualPartitions(t, src)
		src.produceRaw(plain("t", 0, "", "old0"), plain("t", 1, "", "old1"))
		sink := newSubscriber(t, nil)
		d := start(t, testConfig(weft.kcfg))
		d.apply(t, sourceContract(1, src, sink.URL, []string{"t"}, nil))
		sink.waitIDs(t, "partition:0/offset:0", "partition:1/offset:0")
		src.waitCommitted(sourceGroup, "t", map[int32]int64{0: 1, 1: 1})
	})
	t.Run("latest", func(t *testing.T) {
		weft, src := twoClusters(t, "t", 2)
		manualPartitions(t, src)
		src.produceRaw(plain("t", 0, "", "old0"), plain("t", 0, "", "old0b"), plain("t", 1, "", "old1"))
		sink := newSubscriber(t, nil)
		latest := func(eg *weftv1.Egress) { eg.InitialOffset = weftv1.InitialOffset_INITIAL_OFFSET_LATEST }
		cfg := testConfig(weft.kcfg)
		d := start(t, cfg)
		d.apply(t, sourceContract(1, src, sink.URL, []string{"t"}, latest))
		// The start is committed before anything new arrives.
		src.waitCommitted(sourceGroup, "t", map[int32]int64{0: 2, 1: 1})
		src.produceRaw(plain("t", 0, "", "new0"), plain("t", 1, "", "new1"))
		sink.waitIDs(t, "partition:0/offset:2", "partition:1/offset:1")
		src.waitCommitted(sourceGroup, "t", map[int32]int64{0: 3, 1: 2})
		d.stop(t)
		src.produceRaw(plain("t", 0, "", "while-down0"), plain("t", 1, "", "while-down1"))
		d2 := start(t, cfg)
		d2.apply(t, sourceContract(1, src, sink.URL, []string{"t"}, latest))
		sink.waitIDs(t, "partition:0/offset:3", "partition:1/offset:2")
		for _, id := range sink.ids() {
			if id == "partition:0/offset:0" || id == "partition:0/offset:1" || id == "partition:1/offset:0" {
				t.Errorf("record %s, older than the source, was delivered", id)
			}
		}
	})
}

// TestKafkaSourceTwoDispatchers: two dispatchers share a source's
// partitions; every record is delivered although one of them stops
// mid-way, and a record the sink refuses stays uncommitted (and is
// delivered by the other dispatcher once the sink is back).
func TestKafkaSourceTwoDispatchers(t *testing.T) {
	weft, src := twoClusters(t, "t", 4)
	var down atomic.Bool
	sink := newSubscriber(t, func(w http.ResponseWriter, _ *http.Request, _ *event.Event) bool {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return false
		}
		w.WriteHeader(http.StatusOK)
		return true
	})
	cfg := testConfig(weft.kcfg)
	cfg.SessionTimeout = 6 * time.Second
	a, b := start(t, cfg), start(t, cfg)
	c := sourceContract(1, src, sink.URL, []string{"t"}, func(eg *weftv1.Egress) {
		eg.Delivery = &weftv1.Delivery{Retry: 1000, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_LINEAR, BackoffDelayMs: 20, TimeoutMs: 2000}
	})
	a.apply(t, c)
	b.apply(t, c)
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		na, nb := ownedParts(a), ownedParts(b)
		return na+nb == 4 && na > 0 && nb > 0, fmt.Sprintf("partitions owned: a %d, b %d", na, nb)
	})

	produce := func(from, n int) []string {
		var recs []*kgo.Record
		for i := from; i < from+n; i++ {
			recs = append(recs, plain("t", 0, "key-"+strconv.Itoa(i), "v"+strconv.Itoa(i)))
		}
		src.produceRaw(recs...)
		var ids []string
		for _, r := range recs {
			ids = append(ids, kafkaEventID(r))
		}
		return ids
	}
	first := produce(0, 40)
	sink.waitIDs(t, first...)
	byData := func() map[string]bool {
		out := map[string]bool{}
		for _, e := range sink.received() {
			out[string(e.Data())] = true
		}
		return out
	}
	if got := len(byData()); got != 40 {
		t.Fatalf("%d distinct records delivered, want 40", got)
	}

	// The sink goes down: a record is retried, never committed.
	down.Store(true)
	hits := sink.hitCount()
	held := produce(40, 1)[0]
	testutil.Eventually(t, 20*time.Second, "", func() (bool, string) {
		return sink.hitCount() >= hits+3, fmt.Sprintf("%d attempts", sink.hitCount()-hits)
	})
	var heldRec kgo.Record
	if _, err := fmt.Sscanf(held, "partition:%d/offset:%d", &heldRec.Partition, &heldRec.Offset); err != nil {
		t.Fatal(err)
	}
	if got := src.committed(sourceGroup, "t"); got[heldRec.Partition] > heldRec.Offset {
		t.Fatalf("committed %v past the undelivered record %s", got, held)
	}

	// The dispatcher that holds it stops abruptly; more records arrive;
	// the sink comes back: every record is delivered by the survivor.
	holder, survivor := a, b
	if !owns(a, heldRec.Partition) {
		holder, survivor = b, a
	}
	holder.cancel()
	second := produce(41, 20)
	down.Store(false)
	sink.waitIDs(t, append([]string{held}, second...)...)
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		return ownedParts(survivor) == 4, fmt.Sprintf("survivor owns %d partitions", ownedParts(survivor))
	})
	if got := len(byData()); got != 61 {
		t.Errorf("%d distinct records delivered, want 61", got)
	}
	src.waitCommitted(sourceGroup, "t", src.endOffsets("t"))
}

// ownedParts counts the partitions of the source's topic d reads.
func ownedParts(d *running) int {
	n := 0
	for _, r := range d.readerList() {
		if r.source.Load() != nil {
			r.partsMu.Lock()
			n += len(r.parts)
			r.partsMu.Unlock()
		}
	}
	return n
}

func owns(d *running, p int32) bool {
	for _, r := range d.readerList() {
		if r.source.Load() != nil {
			r.partsMu.Lock()
			_, ok := r.parts[p]
			r.partsMu.Unlock()
			if ok {
				return true
			}
		}
	}
	return false
}

// TestCompileKafkaSource: a KafkaSource's egress becomes one spec per topic
// (duplicates once), each read on the source's cluster through its fleet
// group, with a reader of its own even when a Weft topic, or another
// source, has the same name; an entry missing a part is refused.
func TestCompileKafkaSource(t *testing.T) {
	src := &env{kcfg: kafkaConfigOf("b2:9092", "b1:9092", "b1:9092")}
	c := sourceContract(1, src, "http://sink", []string{"orders", "pay", "orders"}, nil)
	other := sourceContract(1, src, "http://sink", []string{"orders"}, nil).Ingresses[0]
	other.Uid, other.Name, other.Egresses[0].Uid, other.Egresses[0].ConsumerGroup = "other-uid", "other", "other-uid", "g2"
	other.KafkaSource.FleetGroup = wire.KafkaSourceFleetGroup("ns", "other")
	c.Ingresses = append(c.Ingresses, other, contractOf(1, "orders", egress("t", "http://sub", "")).Ingresses[0])
	specs, err := compile(c)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range specs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"other-uid#orders", "src-uid#orders", "src-uid#pay", "uid-t"}; !slices.Equal(keys, want) {
		t.Fatalf("spec keys %v, want %v", keys, want)
	}
	s := specs["src-uid#pay"]
	if s.topic != "pay" || s.group != sourceGroup || s.fleetGroup != wire.KafkaSourceFleetGroup("ns", "src") ||
		s.retryTopic != wire.KafkaSourceRetryTopic("ns", "src") || s.retryGroup != wire.KafkaSourceRetryGroup("ns", "src") ||
		s.startLatest || !s.ordered || s.source == nil || !slices.Equal(s.source.cluster, []string{"b1:9092", "b2:9092"}) {
		t.Errorf("spec %+v", s)
	}
	plans := map[string]bool{}
	for _, s := range specs {
		plans[planOf(s, false).key] = true
	}
	if len(plans) != 4 {
		t.Errorf("%d readers for 4 topics of 3 owners: %v", len(plans), plans)
	}
	if p := planOf(s, true); p.topic != s.retryTopic || p.group != s.retryGroup || p.source != nil {
		t.Errorf("retry reader %+v: want the retry topic on Weft's cluster", p)
	}

	latest := sourceContract(1, src, "u", []string{"t"}, func(eg *weftv1.Egress) { eg.InitialOffset = weftv1.InitialOffset_INITIAL_OFFSET_UNSPECIFIED })
	if specs, err := compile(latest); err != nil || !specs["src-uid#t"].startLatest {
		t.Errorf("initial offset unset: want latest (%v)", err)
	}

	for name, edit := range map[string]func(*weftv1.Ingress){
		"no kafka_source":   func(in *weftv1.Ingress) { in.KafkaSource = nil },
		"no servers":        func(in *weftv1.Ingress) { in.KafkaSource.BootstrapServers = nil },
		"no topics":         func(in *weftv1.Ingress) { in.KafkaSource.Topics = nil },
		"empty topic":       func(in *weftv1.Ingress) { in.KafkaSource.Topics = []string{"a", ""} },
		"no fleet group":    func(in *weftv1.Ingress) { in.KafkaSource.FleetGroup = "" },
		"no retry topic":    func(in *weftv1.Ingress) { in.KafkaSource.RetryTopic = "" },
		"no consumer group": func(in *weftv1.Ingress) { in.Egresses[0].ConsumerGroup = "" },
	} {
		t.Run(name, func(t *testing.T) {
			c := sourceContract(1, src, "http://sink", []string{"t"}, nil)
			edit(c.Ingresses[0])
			if _, err := compile(c); !errors.Is(err, ErrInvalidContract) {
				t.Errorf("compile = %v, want ErrInvalidContract", err)
			}
		})
	}
}

func kafkaConfigOf(seeds ...string) kafka.Config { return kafka.Config{BootstrapServers: seeds} }
