package dispatcher

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// retryTopic is the retry topic of contractOf's broker.
var retryTopic = wire.RetryTopic("ns", "default")

// countingSubscriber answers every event 200 but the attempts of id that
// fail says fail to (1-based), which get 503; ok, when not nil, runs before
// an attempt of id is accepted (it may block).
func countingSubscriber(t *testing.T, id string, fail func(attempt int) bool, ok func()) (*subscriber, func() int) {
	var mu sync.Mutex
	n := 0
	sub := newSubscriber(t, func(w http.ResponseWriter, r *http.Request, e *event.Event) bool {
		if e.ID() != id {
			w.WriteHeader(http.StatusOK)
			return true
		}
		mu.Lock()
		n++
		attempt := n
		mu.Unlock()
		if fail(attempt) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return false
		}
		if ok != nil {
			ok()
		}
		w.WriteHeader(http.StatusOK)
		return true
	})
	return sub, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// retryRecords reads the records of the retry topic.
func (e *env) retryRecords(want int) []*kgo.Record {
	e.t.Helper()
	cl, err := e.kcfg.NewClient(nil, kgo.ConsumeTopics(retryTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(recs) < want && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	if len(recs) < want {
		e.t.Fatalf("retry topic holds %d records, want %d", len(recs), want)
	}
	return recs
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TestFarRetryWaitsInRetryTopic: an event whose next retry is far off
// moves to the retry topic, and the trigger commits its partition past it
// while it waits; it is delivered when due, with its remaining attempts,
// and the trigger commits its progress on the retry topic too.
func TestFarRetryWaitsInRetryTopic(t *testing.T) {
	e := newEnv(t)
	const topic = "weft.broker.ns.default"
	e.createTopic(topic, 1)
	gate, release := newGate(t)
	// Attempts 1 and 2 of "a" fail; the 3rd waits for the gate.
	sub, attempts := countingSubscriber(t, "a", func(n int) bool { return n <= 2 }, func() { <-gate })
	cfg := testConfig(e.kcfg)
	cfg.RetryTopicAfter = 150 * time.Millisecond
	r := start(t, cfg)
	// Exponential from 50ms: retry 1 waits 100ms (in place), retry 2 200ms
	// (in the retry topic).
	eg := egress("t", sub.URL, "")
	eg.Delivery = &weftv1.Delivery{Retry: 3, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 50, TimeoutMs: 5000}
	r.apply(t, contractOf(1, topic, eg))
	produced := time.Now()
	e.produce(topic, ev("a"), ev("b"), ev("c"))

	// The partition is committed past "a", which the subscriber has not
	// accepted (its 3rd attempt waits for the gate).
	e.waitCommitted(eg.ConsumerGroup, topic, map[int32]int64{0: 3})
	sub.waitIDs(t, "b", "c")
	if got := sub.ids(); len(got) != 2 {
		t.Fatalf("subscriber accepted %v before the gate opened, want b and c only", got)
	}
	recs := e.retryRecords(1)
	rec := recs[0]
	if header(rec, wire.HeaderRetryTrigger) != "uid-t" || header(rec, wire.HeaderRetryAttempts) != "2" || header(rec, "ce_id") != "a" {
		t.Errorf("retry record headers %v: want trigger uid-t, 2 attempts, event a", rec.Headers)
	}
	// Due 200ms after the 2nd attempt, itself at least 100ms after the
	// first.
	if due, err := time.Parse(time.RFC3339Nano, header(rec, wire.HeaderRetryAt)); err != nil || due.Before(produced.Add(300*time.Millisecond)) {
		t.Errorf("retry-at %q (%v): want at least 300ms after the events were produced (%s)", header(rec, wire.HeaderRetryAt), err, produced)
	}

	release()
	sub.waitIDs(t, "a", "b", "c")
	if n := attempts(); n != 3 {
		t.Errorf("%d attempts of a, want 3", n)
	}
	e.waitCommitted(eg.ConsumerGroup, retryTopic, e.endOffsets(retryTopic))
	if n := r.metricValue(t, "weft_dispatcher_events_parked_total", `trigger="t"`); n != 1 {
		t.Errorf("weft_dispatcher_events_parked_total = %v, want 1", n)
	}
}

// TestFarRetryDeadLetters: an event that waits in the retry topic and keeps
// failing ends in the dead-letter sink after its last retry, with the
// subscriber's last status.
func TestFarRetryDeadLetters(t *testing.T) {
	e := newEnv(t)
	const topic = "weft.broker.ns.default"
	e.createTopic(topic, 1)
	sub, attempts := countingSubscriber(t, "a", func(int) bool { return true }, nil)
	dls := newSubscriber(t, nil)
	cfg := testConfig(e.kcfg)
	cfg.RetryTopicAfter = 150 * time.Millisecond
	r := start(t, cfg)
	// Retry 1 waits 100ms in place, retries 2 and 3 (200ms, 400ms) in the
	// retry topic.
	eg := egress("t", sub.URL, "")
	eg.Delivery = &weftv1.Delivery{Retry: 3, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 50, TimeoutMs: 5000,
		DeadLetterUrl: dls.URL}
	r.apply(t, contractOf(1, topic, eg))
	e.produce(topic, ev("a"))

	dls.waitIDs(t, "a")
	if n := attempts(); n != 4 {
		t.Errorf("%d attempts of a, want 4", n)
	}
	dl := dls.received()[0]
	if code, _ := dl.Extensions()[wire.ExtErrorCode].(string); code != "503" {
		t.Errorf("knativeerrorcode = %v, want 503", dl.Extensions()[wire.ExtErrorCode])
	}
	recs := e.retryRecords(2)
	for i, want := range []string{"2", "3"} {
		if got := header(recs[i], wire.HeaderRetryAttempts); got != want {
			t.Errorf("retry record %d: %s attempts, want %s", i, got, want)
		}
	}
	e.waitCommitted(eg.ConsumerGroup, topic, map[int32]int64{0: 1})
	e.waitCommitted(eg.ConsumerGroup, retryTopic, e.endOffsets(retryTopic))
}

// TestRetryTopicSurvivesRestart: a dispatcher stopped while an event waits
// in the retry topic does not deliver it (the wait ends at once, nothing
// is committed); the next dispatcher delivers it when due, once, even
// configured to move no event to the retry topic itself.
func TestRetryTopicSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	const topic = "weft.broker.ns.default"
	e.createTopic(topic, 1)
	sub, attempts := countingSubscriber(t, "a", func(n int) bool { return n == 1 }, nil)
	cfg := testConfig(e.kcfg)
	cfg.RetryTopicAfter = 150 * time.Millisecond
	// Retry 1 waits 2s: in the retry topic at once.
	eg := egress("t", sub.URL, "")
	eg.Delivery = &weftv1.Delivery{Retry: 3, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 1000, TimeoutMs: 5000}
	c := contractOf(1, topic, eg)

	first := start(t, cfg)
	first.apply(t, c)
	e.produce(topic, ev("a"))
	e.waitCommitted(eg.ConsumerGroup, topic, map[int32]int64{0: 1})
	e.retryRecords(1)
	stopped := time.Now()
	first.stop(t)
	if d := time.Since(stopped); d > 1500*time.Millisecond {
		t.Errorf("stopping took %s: the wait for the retry held the drain", d)
	}
	if n := attempts(); n != 1 {
		t.Fatalf("%d attempts of a before the restart, want 1", n)
	}

	cfg.RetryTopicAfter = 0
	second := start(t, cfg)
	second.apply(t, c)
	sub.waitIDs(t, "a")
	e.waitCommitted(eg.ConsumerGroup, retryTopic, e.endOffsets(retryTopic))
	if n := attempts(); n != 2 {
		t.Errorf("%d attempts of a, want 2", n)
	}
	if ids := sub.ids(); len(ids) != 1 {
		t.Errorf("subscriber accepted %v, want a once", ids)
	}
}

// TestOrderedTriggerRetriesInPlace: an ordered trigger's far retries wait in
// its lane (moving the event aside would let later events overtake it).
func TestOrderedTriggerRetriesInPlace(t *testing.T) {
	e := newEnv(t)
	const topic = "weft.broker.ns.default"
	e.createTopic(topic, 1)
	sub, attempts := countingSubscriber(t, "a", func(n int) bool { return n <= 2 }, nil)
	cfg := testConfig(e.kcfg)
	cfg.RetryTopicAfter = 150 * time.Millisecond
	r := start(t, cfg)
	eg := egress("t", sub.URL, "")
	eg.Order = weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED
	eg.Delivery = &weftv1.Delivery{Retry: 3, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 50, TimeoutMs: 5000}
	r.apply(t, contractOf(1, topic, eg))
	e.produce(topic, ev("a"), ev("b"))
	sub.waitIDs(t, "a", "b")
	if got := sub.ids(); got[0] != "a" || got[1] != "b" || attempts() != 3 {
		t.Errorf("subscriber accepted %v after %d attempts of a, want a then b after 3", got, attempts())
	}
	if n := r.metricValue(t, "weft_dispatcher_events_parked_total"); n != 0 {
		t.Errorf("weft_dispatcher_events_parked_total = %v, want 0", n)
	}
}
