package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/observability"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

const topic = "weft.broker.ns.default"

// TestFilter is the Knative walk-through: triggers on type=greeting and
// source=sendoff each get exactly the matching events; an undecodable record
// is skipped and committed.
func TestFilter(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	hello := newSubscriber(t, nil)
	goodbye := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))

	a := egress("hello", hello.URL, topic)
	a.Attributes = map[string]string{"type": "greeting"}
	b := egress("goodbye", goodbye.URL, topic)
	b.Filters = []*weftv1.Filter{{Dialect: &weftv1.Filter_Exact{Exact: &weftv1.Attributes{Attributes: map[string]string{"source": "sendoff"}}}}}
	d.apply(t, contractOf(1, topic, a, b))

	e.produce(topic,
		ev("say-hello", "type", "greeting", "source", "not-sendoff"),
		ev("say-goodbye", "type", "not-greeting", "source", "sendoff"),
		ev("say-hello-goodbye", "type", "greeting", "source", "sendoff"),
	)
	if err := e.cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte("not a cloudevent")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Every record finished (delivered, filtered or undecodable) once both
	// groups committed the end of the partition.
	e.waitCommitted(a.ConsumerGroup, topic, map[int32]int64{0: 4})
	e.waitCommitted(b.ConsumerGroup, topic, map[int32]int64{0: 4})

	if got, want := sorted(hello.ids()), []string{"say-hello", "say-hello-goodbye"}; !slices.Equal(got, want) {
		t.Errorf("type=greeting subscriber got %v, want %v", got, want)
	}
	if got, want := sorted(goodbye.ids()), []string{"say-goodbye", "say-hello-goodbye"}; !slices.Equal(got, want) {
		t.Errorf("source=sendoff subscriber got %v, want %v", got, want)
	}
	for _, c := range []struct {
		metric, trigger string
		want            float64
	}{
		{"weft_dispatcher_events_delivered_total", "hello", 2},
		{"weft_dispatcher_events_filtered_total", "hello", 1},
		{"weft_dispatcher_events_undecodable_total", "hello", 1},
		{"weft_dispatcher_events_delivered_total", "goodbye", 2},
		{"weft_dispatcher_events_filtered_total", "goodbye", 1},
	} {
		if got := d.metricValue(t, c.metric, `trigger="`+c.trigger+`"`); got != c.want {
			t.Errorf("%s{trigger=%q} = %v, want %v", c.metric, c.trigger, got, c.want)
		}
	}
	// The latency metric counts each delivery under its outcome.
	for _, trigger := range []string{"hello", "goodbye"} {
		if got := d.metricValue(t, "weft_dispatcher_delivery_duration_seconds_count", `trigger="`+trigger+`"`, `outcome="delivered"`); got != 2 {
			t.Errorf("weft_dispatcher_delivery_duration_seconds_count{trigger=%q,outcome=\"delivered\"} = %v, want 2", trigger, got)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestOrdered sends 1,000 events with one partition key to an ordered
// trigger: they arrive in order, one at a time.
func TestOrdered(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 3)
	var inFlight, maxInFlight atomic.Int32
	sub := newSubscriber(t, func(w http.ResponseWriter, _ *http.Request, _ *event.Event) bool {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		w.WriteHeader(http.StatusAccepted)
		return true
	})
	d := start(t, testConfig(e.kcfg))
	eg := egress("ordered", sub.URL, topic)
	eg.Order = weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED
	d.apply(t, contractOf(1, topic, eg))

	const n = 1000
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = ev(strconv.Itoa(i), "partitionkey", "one-key")
	}
	e.produce(topic, evs...)
	testutil.Eventually(t, 60*time.Second, "", func() (bool, string) { return len(sub.ids()) >= n, fmt.Sprintf("received %d of %d", len(sub.ids()), n) })
	ids := sub.ids()
	for i, id := range ids {
		if id != strconv.Itoa(i) {
			t.Fatalf("event %d is %q: out of order (around %v)", i, id, ids[max(i-3, 0):min(i+3, len(ids))])
		}
	}
	if m := maxInFlight.Load(); m != 1 {
		t.Errorf("ordered trigger had %d deliveries in flight at once, want 1", m)
	}
}

// TestUnorderedContiguousPrefix holds one slow event while the ones after it
// are delivered: the commit point stays before the slow event, so a restart
// redelivers it and skips nothing.
func TestUnorderedContiguousPrefix(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	sub, release := heldSubscriber(t, "2")
	cfg := testConfig(e.kcfg)
	cfg.DrainTimeout = 300 * time.Millisecond
	d := start(t, cfg)
	eg := egress("unordered", sub.URL, topic)
	eg.MaxInFlight = 8
	eg.Delivery.TimeoutMs = 60_000
	d.apply(t, contractOf(1, topic, eg))

	const n = 20
	var want []string
	for i := range n {
		e.produce(topic, ev(strconv.Itoa(i)))
		if i != 2 {
			want = append(want, strconv.Itoa(i))
		}
	}
	sub.waitIDs(t, want...)
	// The subscriber saw the others arrive; their deliveries finish (and
	// leave the in-flight count) a moment later.
	testutil.Eventually(t, 20*time.Second, "only the slow event in flight, lag from it to the end", func() (bool, string) {
		inFlight := d.metricValue(t, "weft_dispatcher_events_in_flight", `trigger="unordered"`)
		lag := d.metricValue(t, "weft_dispatcher_consumer_lag", `trigger="unordered"`, `partition="0"`)
		return inFlight == 1 && lag == n-2, fmt.Sprintf("in flight = %v (want 1, the slow event), consumer lag = %v (want %d)", inFlight, lag, n-2)
	})
	// Stop: the slow delivery is abandoned after the drain timeout and the
	// final commit stops right before it.
	d.stop(t)
	if got := e.committed(eg.ConsumerGroup, topic); got[0] != 2 {
		t.Fatalf("committed %v after stop, want partition 0 at 2 (the slow event)", got)
	}

	// A new instance in the same group redelivers from the slow event on.
	release()
	before := len(sub.ids())
	d2 := start(t, testConfig(e.kcfg))
	d2.apply(t, contractOf(1, topic, eg))
	e.waitCommitted(eg.ConsumerGroup, topic, map[int32]int64{0: n})
	redelivered := sub.ids()[before:]
	set, _ := uniqueIDs(redelivered)
	for i := 2; i < n; i++ {
		if !set[strconv.Itoa(i)] {
			t.Errorf("event %d was not redelivered after the restart (got %v)", i, redelivered)
		}
	}
	if set["0"] || set["1"] {
		t.Errorf("events before the commit point were redelivered: %v", redelivered)
	}
}

// TestReplyChain: trigger A's subscriber replies with a new type, trigger B
// on that type receives it; the reply's hop count is decremented, and a
// reply whose hop count runs out is dropped.
func TestReplyChain(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 2)
	replier := newSubscriber(t, func(w http.ResponseWriter, r *http.Request, in *event.Event) bool {
		out := event.New()
		out.SetID("reply-to-" + in.ID())
		out.SetSource("/replier")
		out.SetType("greeting.reply")
		_ = out.SetData("text/plain", in.Data())
		if err := cehttp.WriteResponseWriter(r.Context(), (*binding.EventMessage)(&out), http.StatusOK, w); err != nil {
			t.Errorf("write reply: %v", err)
		}
		return true
	})
	sink := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	a := egress("a", replier.URL, topic)
	a.Attributes = map[string]string{"type": "greeting"}
	b := egress("b", sink.URL, topic)
	b.Attributes = map[string]string{"type": "greeting.reply"}
	d.apply(t, contractOf(1, topic, a, b))

	e.produce(topic, ev("hello", "type", "greeting"), ev("last-hop", "type", "greeting", wire.ExtBrokerTTL, "1"))
	sink.waitIDs(t, "reply-to-hello")
	testutil.Eventually(t, 20*time.Second, "", func() (bool, string) {
		return d.metricValue(t, "weft_dispatcher_replies_dropped_total", `trigger="a"`) == 1, "the reply of the last hop was not dropped"
	})
	// Both of A's events finished, and the one reply was the only record
	// added to the topic.
	ends := e.endOffsets(topic)
	var total int64
	for _, o := range ends {
		total += o
	}
	if total != 3 {
		t.Errorf("topic holds %d records, want 3 (two events, one reply)", total)
	}
	e.waitCommitted(a.ConsumerGroup, topic, ends)
	e.waitCommitted(b.ConsumerGroup, topic, ends)
	if ids := sink.ids(); slices.Contains(ids, "reply-to-last-hop") {
		t.Errorf("a reply with no hops left was delivered: %v", ids)
	}
	got := sink.received()[0]
	if _, ok := got.Extensions()[wire.ExtBrokerTTL]; ok {
		t.Errorf("subscriber saw the internal %s extension", wire.ExtBrokerTTL)
	}
	// The stored reply carries the decremented hop count.
	if ttl := storedTTL(t, e, topic, "reply-to-hello"); ttl != "254" {
		t.Errorf("stored reply has %s=%q, want 254", wire.ExtBrokerTTL, ttl)
	}
}

// storedTTL reads topic from the start and returns the hop count header of
// the record with id.
func storedTTL(t *testing.T, e *env, topic, id string) string {
	t.Helper()
	cl, err := e.kcfg.NewClient(nil, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		var ttl string
		found := false
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			var rid, rttl string
			for _, h := range r.Headers {
				switch h.Key {
				case "ce_id":
					rid = string(h.Value)
				case "ce_" + wire.ExtBrokerTTL:
					rttl = string(h.Value)
				}
			}
			if rid == id {
				ttl, found = rttl, true
			}
		})
		if found {
			return ttl
		}
	}
	t.Fatalf("record %s not found", id)
	return ""
}

// TestSubscriberDownThenBack: deliveries retry while the subscriber is
// unreachable and succeed once it is back.
func TestSubscriberDownThenBack(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	var down atomic.Bool
	down.Store(true)
	sub := newSubscriber(t, func(w http.ResponseWriter, _ *http.Request, _ *event.Event) bool {
		if down.Load() {
			// No response at all: the connection drops.
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("cannot hijack")
				return false
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Close()
			}
			return false
		}
		w.WriteHeader(http.StatusOK)
		return true
	})
	d := start(t, testConfig(e.kcfg))
	eg := egress("flaky", sub.URL, topic)
	eg.Delivery = &weftv1.Delivery{Retry: 100, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_LINEAR, BackoffDelayMs: 20, TimeoutMs: 2000}
	d.apply(t, contractOf(1, topic, eg))
	e.produce(topic, ev("while-down"))
	testutil.Eventually(t, 20*time.Second, "", func() (bool, string) { return sub.hitCount() >= 3, "the subscriber was not retried" })
	if got := e.committed(eg.ConsumerGroup, topic); got[0] != 0 {
		t.Fatalf("committed %v while the subscriber is down", got)
	}
	down.Store(false)
	sub.waitIDs(t, "while-down")
	e.waitCommitted(eg.ConsumerGroup, topic, map[int32]int64{0: 1})
	if got := d.metricValue(t, "weft_dispatcher_events_retried_total", `trigger="flaky"`); got < 2 {
		t.Errorf("retried = %v, want at least 2", got)
	}
}

// TestDeadLetterSinkFailing: when the dead-letter sink fails too, the record
// is not committed and is retried (and reported as stuck) until the sink
// recovers; then it lands there with the error extensions.
func TestDeadLetterSinkFailing(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	sub := newSubscriber(t, func(w http.ResponseWriter, _ *http.Request, _ *event.Event) bool {
		http.Error(w, "always broken", http.StatusInternalServerError)
		return false
	})
	var sinkUp atomic.Bool
	dls := newSubscriber(t, func(w http.ResponseWriter, _ *http.Request, _ *event.Event) bool {
		if !sinkUp.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return false
		}
		w.WriteHeader(http.StatusAccepted)
		return true
	})
	d := start(t, testConfig(e.kcfg))
	eg := egress("dlq", sub.URL, topic)
	eg.Delivery = &weftv1.Delivery{Retry: 1, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_LINEAR, BackoffDelayMs: 5, TimeoutMs: 2000, DeadLetterUrl: dls.URL}
	d.apply(t, contractOf(1, topic, eg))
	e.produce(topic, ev("doomed"))

	var stuck []StuckRecord
	testutil.Eventually(t, 20*time.Second, "", func() (bool, string) {
		stuck = d.Stuck()
		return len(stuck) == 1 && stuck[0].Retries >= 3, fmt.Sprintf("stuck = %+v, want the record retried 3 times", stuck)
	})
	if s := stuck[0]; s.Name != "dlq" || s.Group != eg.ConsumerGroup || s.Partition != 0 || s.Offset != 0 || s.Err == "" {
		t.Errorf("stuck = %+v", s)
	}
	if got := e.committed(eg.ConsumerGroup, topic); got[0] != 0 {
		t.Fatalf("committed %v while the dead-letter sink fails", got)
	}
	if ps := d.EgressProblems(); len(ps) != 1 || ps[0].Uid != eg.Uid || ps[0].Reason != ReasonDeadLetterSinkFailing || !strings.Contains(ps[0].Message, "1 event(s) held back") {
		t.Errorf("problems reported to the control plane = %v", ps)
	}
	if got := d.metricValue(t, "weft_dispatcher_dead_letter_failures_total", `trigger="dlq"`); got < 3 {
		t.Errorf("dead-letter failures = %v, want at least 3", got)
	}

	sinkUp.Store(true)
	dls.waitIDs(t, "doomed")
	e.waitCommitted(eg.ConsumerGroup, topic, map[int32]int64{0: 1})
	if s := d.Stuck(); len(s) != 0 {
		t.Errorf("still stuck after the sink recovered: %+v", s)
	}
	if ps := d.EgressProblems(); len(ps) != 0 {
		t.Errorf("problems after the sink recovered: %v", ps)
	}
	got := dls.received()[0]
	if code := fmt.Sprint(got.Extensions()["knativeerrorcode"]); code != "500" {
		t.Errorf("knativeerrorcode = %q, want 500", code)
	}
	if dest := fmt.Sprint(got.Extensions()["knativeerrordest"]); dest != sub.URL {
		t.Errorf("knativeerrordest = %q, want %q", dest, sub.URL)
	}
	if n := d.metricValue(t, "weft_dispatcher_events_dead_lettered_total", `trigger="dlq"`); n != 1 {
		t.Errorf("dead-lettered = %v, want 1", n)
	}
	// The counters the control plane gets: each stuck retry, and each
	// failed attempt of each of them (two per delivery: Retry 1).
	st := d.EgressStats()
	if len(st) != 1 || st[0].DeadLettered != 1 || st[0].DeadLetterFailures < 3 || st[0].Failed != 2*(st[0].DeadLetterFailures+1) || st[0].Delivered != 0 {
		t.Errorf("egress stats = %v", st)
	}
}

// TestContractChanges: a changed subscriber applies to the next events
// without a restart; a removed trigger commits, leaves its group and stops.
func TestContractChanges(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 2)
	sub1, sub2, other := newSubscriber(t, nil), newSubscriber(t, nil), newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	a := egress("a", sub1.URL, topic)
	b := egress("b", other.URL, topic)
	d.apply(t, contractOf(1, topic, a, b))
	e.produce(topic, ev("e1"))
	sub1.waitIDs(t, "e1")
	other.waitIDs(t, "e1")

	// Change A's subscriber, remove B.
	a2 := egress("a", sub2.URL, topic)
	a2.Generation = 2
	d.apply(t, contractOf(2, topic, a2))
	if got := d.Egresses(); !slices.Equal(got, []string{a.ConsumerGroup}) {
		t.Fatalf("Egresses = %v, want only %s", got, a.ConsumerGroup)
	}
	// B left its group once it stopped, with its finished work committed.
	testutil.Eventually(t, 20*time.Second, "", func() (bool, string) {
		gs, err := e.adm.DescribeGroups(context.Background(), b.ConsumerGroup)
		if err != nil {
			return false, "removed trigger still has group members"
		}
		g := gs[b.ConsumerGroup]
		return g.Err == nil && len(g.Members) == 0, "removed trigger still has group members"
	})
	var want int64
	for _, o := range e.endOffsets(topic) {
		want += o
	}
	var got int64
	for _, o := range e.committed(b.ConsumerGroup, topic) {
		got += o
	}
	if got != want {
		t.Errorf("removed trigger committed %d records, want %d", got, want)
	}

	e.produce(topic, ev("e2"))
	sub2.waitIDs(t, "e2")
	if ids := sub1.ids(); !slices.Equal(ids, []string{"e1"}) {
		t.Errorf("old subscriber got %v after the change, want only e1", ids)
	}
	if ids := other.ids(); !slices.Equal(ids, []string{"e1"}) {
		t.Errorf("removed trigger got %v, want only e1", ids)
	}
	if v := d.Version(); v != 2 {
		t.Errorf("Version = %d, want 2", v)
	}
}

// TestRestartRedelivers stops a dispatcher with deliveries in flight: a new
// instance in the same groups delivers every event; none is skipped.
func TestRestartRedelivers(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 3)
	const n = 300
	var accepted atomic.Int32
	var phase2 atomic.Bool
	var mu sync.Mutex
	var all []string
	sub := newSubscriber(t, func(w http.ResponseWriter, r *http.Request, ev *event.Event) bool {
		// The first instance's subscriber hangs after 100 events.
		if accepted.Add(1) > 100 && !phase2.Load() {
			<-r.Context().Done()
			return false
		}
		mu.Lock()
		all = append(all, ev.ID())
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return true
	})
	cfg := testConfig(e.kcfg)
	cfg.DrainTimeout = 200 * time.Millisecond
	d := start(t, cfg)
	eg := egress("restart", sub.URL, topic)
	eg.MaxInFlight = 10
	eg.Delivery.TimeoutMs = 60_000
	d.apply(t, contractOf(1, topic, eg))
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = ev(strconv.Itoa(i), "partitionkey", strconv.Itoa(i%7))
	}
	e.produce(topic, evs...)
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) { return accepted.Load() > 110, "the first instance did not get going" })
	d.stop(t)

	phase2.Store(true)
	d2 := start(t, testConfig(e.kcfg))
	d2.apply(t, contractOf(1, topic, eg))
	e.waitCommitted(eg.ConsumerGroup, topic, e.endOffsets(topic))
	mu.Lock()
	set, dups := uniqueIDs(all)
	mu.Unlock()
	for i := range n {
		if !set[strconv.Itoa(i)] {
			t.Errorf("event %d was never delivered", i)
		}
	}
	t.Logf("%d events, %d duplicate deliveries after the restart", n, dups)
}

func TestApplyContractInvalid(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	sub := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	good := egress("good", sub.URL, topic)
	d.apply(t, contractOf(1, topic, good))

	bad := egress("bad", sub.URL, topic)
	bad.Filters = []*weftv1.Filter{{Dialect: &weftv1.Filter_Cesql{Cesql: "type = = 'x'"}}}
	noDest := egress("nodest", "", "") // nothing to deliver to, nothing to forward to
	twoReplies := egress("tworeplies", sub.URL, topic)
	twoReplies.ReplyUrl = sub.URL
	for name, c := range map[string]*weftv1.Contract{
		"bad cesql":           contractOf(2, topic, good, bad),
		"no destination":      contractOf(2, topic, good, noDest),
		"reply topic and url": contractOf(2, topic, good, twoReplies),
		"duplicate":           contractOf(2, topic, good, good),
	} {
		t.Run(name, func(t *testing.T) {
			err := d.ApplyContract(context.Background(), c)
			if !errors.Is(err, ErrInvalidContract) {
				t.Fatalf("ApplyContract = %v, want ErrInvalidContract", err)
			}
			if got := d.Egresses(); !slices.Equal(got, []string{good.ConsumerGroup}) || d.Version() != 1 {
				t.Errorf("an invalid contract changed what runs: %v, version %d", got, d.Version())
			}
		})
	}
	e.produce(topic, ev("still-running"))
	sub.waitIDs(t, "still-running")
}

func TestApplyBeforeRunAndAfterStop(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	sub := newSubscriber(t, nil)
	_, before := ourGoroutines(nil)
	d, err := New(testConfig(e.kcfg), WithLogger(testutil.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	// Kept, then applied when Run starts.
	if err := d.ApplyContract(context.Background(), contractOf(1, topic, egress("early", sub.URL, topic))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	e.produce(topic, ev("e1"))
	sub.waitIDs(t, "e1")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// No goroutine of the Dispatcher, its Kafka clients or its HTTP
	// sender outlives Run.
	var leaked string
	testutil.Eventually(t, 10*time.Second, "", func() (bool, string) {
		leaked, _ = ourGoroutines(before)
		return leaked == "", "goroutines left after Run returned:\n" + leaked
	})
	if err := d.ApplyContract(context.Background(), contractOf(2, topic)); !errors.Is(err, ErrStopped) {
		t.Errorf("ApplyContract after Run = %v, want ErrStopped", err)
	}
	if err := d.Run(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run = %v, want ErrAlreadyRunning", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := map[string]func(*Config){
		"control plane":  func(c *Config) { c.ControlPlane = "nope" },
		"ops addr":       func(c *Config) { c.OpsAddr = "nope" },
		"process id":     func(c *Config) { c.ProcessID = "" },
		"max in flight":  func(c *Config) { c.MaxInFlight = 0 },
		"drain timeout":  func(c *Config) { c.DrainTimeout = 0 },
		"dlq backoff":    func(c *Config) { c.DeadLetterRetryMaxBackoff = 0 },
		"commit":         func(c *Config) { c.CommitInterval = 0 },
		"kafka":          func(c *Config) { c.Kafka.BootstrapServers = nil },
		"session timout": func(c *Config) { c.SessionTimeout = -1 },
		"stats interval": func(c *Config) { c.StatsInterval = 0 },
		"http client":    func(c *Config) { c.HTTPClient = "curl" },
	}
	def := DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("DefaultConfig invalid: %v", err)
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			c := DefaultConfig()
			mutate(&c)
			if err := c.Validate(); err == nil {
				t.Error("Validate accepted it")
			}
		})
	}
}

func TestEventTTL(t *testing.T) {
	for name, tc := range map[string]struct {
		v    any
		want int
	}{
		"absent": {nil, int(wire.DefaultTTL)},
		"string": {"7", 7},
		"int":    {int32(9), 9},
		"junk":   {"x", int(wire.DefaultTTL)},
	} {
		t.Run(name, func(t *testing.T) {
			e := ev("x")
			if tc.v != nil {
				e.SetExtension(wire.ExtBrokerTTL, tc.v)
			}
			if got := eventTTL(e); got != tc.want {
				t.Errorf("eventTTL = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRebalance: a second dispatcher joins the group mid-stream and the
// first one leaves; partitions move through revocation and every event is
// delivered.
func TestRebalance(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 4)
	// The first dispatcher's subscriber is slow, so work is left when the
	// second one joins.
	sub1 := newSubscriber(t, func(w http.ResponseWriter, _ *http.Request, _ *event.Event) bool {
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
		return true
	})
	sub2 := newSubscriber(t, nil)
	eg1 := egress("shared", sub1.URL, topic)
	eg1.MaxInFlight = 1
	eg2 := egress("shared", sub2.URL, topic)
	eg2.MaxInFlight = 1

	d1 := start(t, testConfig(e.kcfg))
	d1.apply(t, contractOf(1, topic, eg1))
	const n = 400
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = ev(strconv.Itoa(i), "partitionkey", strconv.Itoa(i))
	}
	e.produce(topic, evs...)
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) { return len(sub1.ids()) > 20, "the first dispatcher did not start delivering" })

	d2 := start(t, testConfig(e.kcfg))
	d2.apply(t, contractOf(1, topic, eg2))
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) { return len(sub2.ids()) > 0, "the second dispatcher got no partitions" })
	d1.stop(t)

	e.waitCommitted(eg1.ConsumerGroup, topic, e.endOffsets(topic))
	set, dups := uniqueIDs(append(sub1.ids(), sub2.ids()...))
	for i := range n {
		if !set[strconv.Itoa(i)] {
			t.Errorf("event %d was never delivered", i)
		}
	}
	t.Logf("%d events: %d by the first dispatcher, %d by the second, %d duplicates",
		n, len(sub1.ids()), len(sub2.ids()), dups)
}

// TestTracing: the dispatch span continues the trace carried in the record,
// the delivery attempt is its child, and a reply is produced under a
// producer span that the reply's own dispatch continues.
func TestTracing(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	sub := newSubscriber(t, func(w http.ResponseWriter, r *http.Request, in *event.Event) bool {
		if in.Type() != "test.event" {
			w.WriteHeader(http.StatusOK)
			return true
		}
		out := event.New()
		out.SetID("reply-to-" + in.ID())
		out.SetSource("/replier")
		out.SetType("test.reply")
		if err := cehttp.WriteResponseWriter(r.Context(), (*binding.EventMessage)(&out), http.StatusOK, w); err != nil {
			t.Errorf("write reply: %v", err)
		}
		return true
	})
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	m, err := observability.NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(testConfig(e.kcfg), WithTracerProvider(tp), WithMetrics(m), WithLogger(testutil.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	if err := d.ApplyContract(context.Background(), contractOf(1, topic, egress("traced", sub.URL, topic))); err != nil {
		t.Fatal(err)
	}
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	r, err := cekafka.ToRecord(topic, ev("traced"))
	if err != nil {
		t.Fatal(err)
	}
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: "traceparent", Value: []byte("00-" + traceID + "-" + parentID + "-01")})
	if err := e.cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	sub.waitIDs(t, "traced", "reply-to-traced")

	// The spans, by event id (dispatch) or by parent (the others).
	dispatch := map[string]sdktrace.ReadOnlySpan{}
	byParent := map[string][]sdktrace.ReadOnlySpan{}
	testutil.Eventually(t, 10*time.Second, "", func() (bool, string) {
		clear(dispatch)
		clear(byParent)
		for _, s := range rec.Ended() {
			byParent[s.Parent().SpanID().String()] = append(byParent[s.Parent().SpanID().String()], s)
			if s.Name() != "weft.dispatch" {
				continue
			}
			for _, kv := range s.Attributes() {
				if kv.Key == "cloudevents.event_id" {
					dispatch[kv.Value.AsString()] = s
				}
			}
		}
		return dispatch["traced"] != nil && dispatch["reply-to-traced"] != nil,
			fmt.Sprintf("dispatch spans ended for %v, want traced and reply-to-traced", slices.Collect(maps.Keys(dispatch)))
	})
	child := func(parent sdktrace.ReadOnlySpan, name string, kind trace.SpanKind) sdktrace.ReadOnlySpan {
		t.Helper()
		for _, s := range byParent[parent.SpanContext().SpanID().String()] {
			if s.Name() == name && s.SpanKind() == kind {
				return s
			}
		}
		t.Fatalf("no %v span %q under %q", kind, name, parent.Name())
		return nil
	}
	first := dispatch["traced"]
	if got := first.SpanContext().TraceID().String(); got != traceID {
		t.Errorf("span trace id = %s, want %s", got, traceID)
	}
	if got := first.Parent().SpanID().String(); got != parentID {
		t.Errorf("span parent = %s, want %s", got, parentID)
	}
	if first.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("weft.dispatch kind %v, want consumer", first.SpanKind())
	}
	attempt := child(first, "weft.delivery.attempt", trace.SpanKindClient)
	send := child(attempt, "send "+topic, trace.SpanKindProducer)
	if second := dispatch["reply-to-traced"]; second.Parent().SpanID() != send.SpanContext().SpanID() ||
		second.SpanContext().TraceID().String() != traceID {
		t.Errorf("the reply's dispatch has parent %s in trace %s, want the reply's producer span %s in trace %s",
			second.Parent().SpanID(), second.SpanContext().TraceID(), send.SpanContext().SpanID(), traceID)
	}
}

// laneOf waits for the lane of egress eg on partition p and returns it.
func (r *running) laneOf(t *testing.T, eg *weftv1.Egress, p int32) *lane {
	t.Helper()
	var l *lane
	testutil.Eventually(t, 20*time.Second, "the lane of "+eg.GetName(), func() (bool, string) {
		r.mu.Lock()
		rd := r.readers[topic]
		r.mu.Unlock()
		if rd == nil {
			return false, "no reader"
		}
		rd.partsMu.Lock()
		pt := rd.parts[p]
		rd.partsMu.Unlock()
		if pt == nil {
			return false, "partition not assigned"
		}
		l = pt.lanesByKey()[eg.GetUid()]
		return l != nil, "no lane"
	})
	return l
}

// TestBackpressure: a subscriber that does not answer fills its lane's
// bounded queue; the lane then detaches from the shared read (which goes on
// for the others) and catches up on its own once the subscriber answers:
// everything is delivered and the lane attaches again.
func TestBackpressure(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	gate := make(chan struct{})
	sub := newSubscriber(t, func(w http.ResponseWriter, r *http.Request, _ *event.Event) bool {
		select {
		case <-gate:
		case <-r.Context().Done():
			return false
		}
		w.WriteHeader(http.StatusOK)
		return true
	})
	fast := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	eg := egress("slow", sub.URL, topic)
	eg.MaxInFlight = 20
	eg.Delivery.TimeoutMs = 60_000
	other := egress("fast", fast.URL, topic)
	d.apply(t, contractOf(1, topic, eg, other))

	const n = minQueue + 3*maxPollRecords + 100
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = ev(strconv.Itoa(i))
	}
	e.produce(topic, evs...)

	l := d.laneOf(t, eg, 0)
	testutil.Eventually(t, 20*time.Second, "the slow lane detached", func() (bool, string) {
		return !l.isAttached(), "still attached"
	})
	// The other trigger is not held back.
	e.waitCommitted(other.ConsumerGroup, topic, map[int32]int64{0: n})
	l.mu.Lock()
	queued := l.queue.len()
	l.mu.Unlock()
	if queued > l.high {
		t.Errorf("the slow lane queues %d records, more than its bound %d", queued, l.high)
	}
	testutil.Eventually(t, 20*time.Second, "", func() (bool, string) {
		return d.metricValue(t, "weft_dispatcher_events_in_flight", `trigger="slow"`) == 20, fmt.Sprintf("in flight = %v, want 20", d.metricValue(t, "weft_dispatcher_events_in_flight", `trigger="slow"`))
	})

	close(gate)
	e.waitCommitted(eg.ConsumerGroup, topic, map[int32]int64{0: n})
	if set, _ := uniqueIDs(sub.ids()); len(set) != n {
		t.Errorf("delivered %d distinct events, want %d", len(set), n)
	}
	testutil.Eventually(t, 20*time.Second, "the slow lane attached again", func() (bool, string) {
		return l.isAttached(), "still catching up"
	})
	e.produce(topic, ev("after"))
	testutil.Eventually(t, 20*time.Second, "the event after the catch-up at both", func() (bool, string) {
		return slices.Contains(sub.ids(), "after") && slices.Contains(fast.ids(), "after"), ""
	})
}

// TestSessionEndRevoke: franz-go calls OnPartitionsRevoked with nothing
// revoked at the end of every group session; the lanes, their queues and
// their commit points must survive it.
func TestSessionEndRevoke(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	sub, release := heldSubscriber(t, "0")
	d := start(t, testConfig(e.kcfg))
	eg := egress("session", sub.URL, topic)
	eg.Order = weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED
	d.apply(t, contractOf(1, topic, eg))
	const n = 50
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = ev(strconv.Itoa(i))
	}
	e.produce(topic, evs...)

	l := d.laneOf(t, eg, 0)
	testutil.Eventually(t, 20*time.Second, "", func() (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		// One in flight, the rest queued.
		return l.queue.len() == n-1, "the lane did not queue the events"
	})
	d.mu.Lock()
	rd := d.readers[topic]
	d.mu.Unlock()
	rd.onRevoked(context.Background(), rd.cl, map[string][]int32{})
	rd.onLost(context.Background(), rd.cl, map[string][]int32{"other-topic": {0}})
	release()
	e.waitCommitted(eg.ConsumerGroup, topic, map[int32]int64{0: n})
	if set, _ := uniqueIDs(sub.ids()); len(set) != n {
		t.Errorf("delivered %d distinct events, want %d", len(set), n)
	}
}

// ourGoroutines returns the stacks of goroutines running dispatcher,
// franz-go client or HTTP client code, except those whose ids are in before.
func ourGoroutines(before map[string]bool) (string, map[string]bool) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	ids := map[string]bool{}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		id, _, _ := strings.Cut(g, " [")
		ids[id] = true
		if before[id] {
			continue
		}
		if strings.Contains(g, "weft/pkg/dispatcher.") || strings.Contains(g, "franz-go/pkg/kgo.") ||
			strings.Contains(g, "net/http.(*persistConn)") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n"), ids
}

// TestSlowSubscriberIsolation: a trigger whose subscriber answers in 200 ms
// (one delivery at a time) beside one with a fast subscriber, on the same
// broker: the fast one delivers and commits every event while the slow one
// has delivered only a few, so the shared read never waited for the slow one.
func TestSlowSubscriberIsolation(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 2)
	slowGate := make(chan struct{})
	defer close(slowGate)
	slow := newSubscriber(t, func(w http.ResponseWriter, r *http.Request, _ *event.Event) bool {
		select {
		case <-time.After(200 * time.Millisecond): // the slow subscriber's service time, not a wait in the test
		case <-slowGate:
		case <-r.Context().Done():
			return false
		}
		w.WriteHeader(http.StatusOK)
		return true
	})
	fast := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	s := egress("slow", slow.URL, topic)
	s.Order = weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED
	s.Delivery.TimeoutMs = 60_000
	f := egress("fast", fast.URL, topic)
	d.apply(t, contractOf(1, topic, s, f))
	const n = 3 * minQueue
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = ev(strconv.Itoa(i), "partitionkey", strconv.Itoa(i))
	}
	e.produce(topic, evs...)
	e.waitCommitted(f.ConsumerGroup, topic, e.endOffsets(topic))
	if got := len(fast.ids()); got < n {
		t.Errorf("the fast trigger delivered %d of %d events", got, n)
	}
	// At 200 ms per event and one in flight per partition, the slow
	// trigger is far behind: everything the fast one got, it got without
	// waiting for the slow one.
	if got := len(slow.ids()); got > n/10 {
		t.Errorf("the slow trigger delivered %d events by the time the fast one had all %d: the fast one waited for it", got, n)
	}
}

// TestKafkaSinkNotRead: a KafkaSink's ingress entry (no egresses, or even
// one by mistake) starts no reader and no egress; the broker beside it is
// read as usual.
func TestKafkaSinkNotRead(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	const sinkTopic = "orders.out"
	e.createTopic(sinkTopic, 1)
	sub := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	a := egress("a", sub.URL, topic)
	c := contractOf(1, topic, a)
	stray := egress("stray", sub.URL, sinkTopic)
	c.Ingresses = append(c.Ingresses,
		&weftv1.Ingress{Uid: "sink-1", Kind: KindKafkaSink, Namespace: "default", Name: "out",
			Path: "/sinks/default/out", Topic: sinkTopic, BootstrapServers: []string{"127.0.0.1:1"}},
		&weftv1.Ingress{Uid: "sink-2", Kind: KindKafkaSink, Namespace: "default", Name: "odd",
			Path: "/sinks/default/odd", Topic: sinkTopic, Egresses: []*weftv1.Egress{stray}})
	d.apply(t, c)
	if got := d.Egresses(); !slices.Equal(got, []string{a.ConsumerGroup}) {
		t.Fatalf("Egresses = %v, want only %s", got, a.ConsumerGroup)
	}
	var topics []string
	for _, r := range d.readerList() {
		topics = append(topics, r.topic)
	}
	slices.Sort(topics)
	if want := []string{topic, wire.RetryTopicOf(topic)}; !slices.Equal(topics, want) {
		t.Fatalf("readers of %v, want %v", topics, want)
	}
	e.produce(topic, ev("e1"))
	e.produce(sinkTopic, ev("s1"))
	sub.waitIDs(t, "e1")
	if ids := sub.ids(); slices.Contains(ids, "s1") {
		t.Fatalf("the sink's record was delivered: %v", ids)
	}
}
