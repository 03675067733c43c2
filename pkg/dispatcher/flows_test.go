package dispatcher

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// The egresses of channels and flows: Subscriptions, Sequence steps and
// Parallel branches, on topics other than a broker's, some of them internal
// (an ingress entry with path "").

// entry is a contract ingress entry of kind on topic (path "" for a flow's
// internal topic).
func entry(kind, uid, name, path, topic string, egs ...*weftv1.Egress) *weftv1.Ingress {
	return &weftv1.Ingress{Uid: uid, Kind: kind, Namespace: "ns", Name: name, Path: path, Topic: topic, Egresses: egs}
}

// flowEgress is an egress of kind with uid, in consumer group group.
func flowEgress(kind, uid, name, group, url string) *weftv1.Egress {
	return &weftv1.Egress{
		Uid: uid, Kind: kind, Namespace: "ns", Name: name, ConsumerGroup: group,
		Destination:   url,
		Order:         weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED,
		InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST,
		Delivery:      &weftv1.Delivery{Retry: 2, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 10, TimeoutMs: 5000},
	}
}

// replier answers every event with a reply "reply-to-{id}" of type
// "{type}.reply", carrying the event's data.
func replier(t *testing.T) *subscriber {
	return newSubscriber(t, func(w http.ResponseWriter, r *http.Request, in *event.Event) bool {
		out := event.New()
		out.SetID("reply-to-" + in.ID())
		out.SetSource("/replier")
		out.SetType(in.Type() + ".reply")
		_ = out.SetData("text/plain", in.Data())
		if err := cehttp.WriteResponseWriter(r.Context(), (*binding.EventMessage)(&out), http.StatusOK, w); err != nil {
			t.Errorf("write reply: %v", err)
		}
		return true
	})
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func events(ids []string) []*event.Event {
	out := make([]*event.Event, len(ids))
	for i, id := range ids {
		out[i] = ev(id, "partitionkey", id)
	}
	return out
}

// TestReplyURL: a Subscription whose reply is a URL gets its subscriber's
// replies POSTed there, without the hop count, and commits past its
// events.
func TestReplyURL(t *testing.T) {
	e := newEnv(t)
	chTopic := wire.ChannelTopic("ns", "ch")
	e.createTopic(chTopic, 2)
	sub := replier(t)
	replies := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	eg := flowEgress("Subscription", "sub-uid", "s", wire.SubscriptionGroup("ns", "s"), sub.URL)
	eg.ReplyUrl = replies.URL
	d.apply(t, &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{
		entry("Channel", "ch-uid", "ch", wire.ChannelPath("ns", "ch"), chTopic, eg),
	}})
	e.produce(chTopic, events(ids("e", 6))...)
	replies.waitIDs(t, ids("reply-to-e", 6)...)
	for _, r := range replies.received() {
		if _, ok := r.Extensions()[wire.ExtBrokerTTL]; ok {
			t.Errorf("reply %s posted with %s", r.ID(), wire.ExtBrokerTTL)
		}
	}
	e.waitCommitted(eg.ConsumerGroup, chTopic, e.endOffsets(chTopic))
	testutil.Eventually(t, 10*time.Second, "", func() (bool, string) {
		n := d.metricValue(t, "weft_dispatcher_events_delivered_total", `kind="Subscription"`, `trigger="s"`)
		return n == 6, fmt.Sprintf("delivered{kind=Subscription,trigger=s} = %v, want 6", n)
	})
	if n := d.metricValue(t, "weft_dispatcher_replies_produced_total", `kind="Subscription"`); n != 6 {
		t.Errorf("replies_produced{kind=Subscription} = %v, want 6", n)
	}
}

// TestReplyURLFailing: a reply URL that keeps failing fails the delivery:
// the subscriber gets the event again on every retry, and after the last
// one the event goes to the dead-letter sink with knativeerrordest = the
// reply URL; the partition is committed past it.
func TestReplyURLFailing(t *testing.T) {
	e := newEnv(t)
	chTopic := wire.ChannelTopic("ns", "ch")
	e.createTopic(chTopic, 1)
	sub := replier(t)
	replies := newSubscriber(t, func(w http.ResponseWriter, _ *http.Request, _ *event.Event) bool {
		http.Error(w, "reply sink broken", http.StatusInternalServerError)
		return false
	})
	dls := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	eg := flowEgress("Subscription", "sub-uid", "s", wire.SubscriptionGroup("ns", "s"), sub.URL)
	eg.ReplyUrl = replies.URL + "/replies"
	eg.Delivery = &weftv1.Delivery{Retry: 1, BackoffDelayMs: 10, TimeoutMs: 5000, DeadLetterUrl: dls.URL}
	d.apply(t, &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{
		entry("Channel", "ch-uid", "ch", wire.ChannelPath("ns", "ch"), chTopic, eg),
	}})
	e.produce(chTopic, ev("doomed"))
	dls.waitIDs(t, "doomed")
	e.waitCommitted(eg.ConsumerGroup, chTopic, map[int32]int64{0: 1})
	got := dls.received()[0]
	if dest := got.Extensions()[wire.ExtErrorDest]; dest != eg.ReplyUrl {
		t.Errorf("knativeerrordest = %v, want the reply URL %s", dest, eg.ReplyUrl)
	}
	if code := got.Extensions()[wire.ExtErrorCode]; code != "500" {
		t.Errorf("knativeerrorcode = %v, want the reply URL's 500", code)
	}
	if n := sub.hitCount(); n != 2 {
		t.Errorf("subscriber got the event %d times, want 2 (the first attempt and its retry)", n)
	}
	if n := replies.hitCount(); n != 4 {
		t.Errorf("reply URL got %d requests, want 4 (2 per attempt)", n)
	}
	if n := d.metricValue(t, "weft_dispatcher_events_dead_lettered_total", `kind="Subscription"`); n != 1 {
		t.Errorf("dead_lettered{kind=Subscription} = %v, want 1", n)
	}
}

// TestForwardWithoutDestination: a Subscription with only a reply forwards
// each event itself, to a reply topic (with the hop count decremented) or to
// a reply URL, and counts it delivered.
func TestForwardWithoutDestination(t *testing.T) {
	e := newEnv(t)
	chTopic, outTopic := wire.ChannelTopic("ns", "ch"), wire.ChannelTopic("ns", "out")
	e.createTopic(chTopic, 1)
	e.createTopic(outTopic, 1)
	display, urlSink := newSubscriber(t, nil), newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	toTopic := flowEgress("Subscription", "to-topic-uid", "to-topic", wire.SubscriptionGroup("ns", "to-topic"), "")
	toTopic.ReplyTopic = outTopic
	toURL := flowEgress("Subscription", "to-url-uid", "to-url", wire.SubscriptionGroup("ns", "to-url"), "")
	toURL.ReplyUrl = urlSink.URL
	onOut := flowEgress("Subscription", "display-uid", "display", wire.SubscriptionGroup("ns", "display"), display.URL)
	d.apply(t, &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{
		entry("Channel", "ch-uid", "ch", wire.ChannelPath("ns", "ch"), chTopic, toTopic, toURL),
		entry("Channel", "out-uid", "out", wire.ChannelPath("ns", "out"), outTopic, onOut),
	}})
	e.produce(chTopic, ev("fwd-1"), ev("fwd-2"), ev("last-hop", wire.ExtBrokerTTL, "1"))
	display.waitIDs(t, "fwd-1", "fwd-2")
	urlSink.waitIDs(t, "fwd-1", "fwd-2", "last-hop")
	e.waitCommitted(toTopic.ConsumerGroup, chTopic, map[int32]int64{0: 3})
	e.waitCommitted(toURL.ConsumerGroup, chTopic, map[int32]int64{0: 3})
	if ttl := storedTTL(t, e, outTopic, "fwd-1"); ttl != "254" {
		t.Errorf("forwarded record has %s=%q, want 254", wire.ExtBrokerTTL, ttl)
	}
	if got := display.ids(); slices.Contains(got, "last-hop") {
		t.Errorf("an event with no hops left was forwarded: %v", got)
	}
	if n := d.metricValue(t, "weft_dispatcher_events_delivered_total", `trigger="to-topic"`); n != 3 {
		t.Errorf("delivered{trigger=to-topic} = %v, want 3", n)
	}
	for _, r := range urlSink.received() {
		if _, ok := r.Extensions()[wire.ExtBrokerTTL]; ok {
			t.Errorf("event %s posted with %s", r.ID(), wire.ExtBrokerTTL)
		}
	}
}

// TestSequenceTwoSteps: a two-step Sequence — step 0 on the Sequence's
// topic replies into step 1's internal topic, step 1 delivers to a display
// — delivers every event, and both steps commit all they read.
func TestSequenceTwoSteps(t *testing.T) {
	e := newEnv(t)
	t0, t1 := wire.SequenceTopic("ns", "seq", 0), wire.SequenceTopic("ns", "seq", 1)
	e.createTopic(t0, 2)
	e.createTopic(t1, 2)
	step0, display := replier(t), newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	a := flowEgress("Sequence", "seq-uid/step-0", "seq", wire.SequenceGroup("ns", "seq", 0), step0.URL)
	a.ReplyTopic = t1
	b := flowEgress("Sequence", "seq-uid/step-1", "seq", wire.SequenceGroup("ns", "seq", 1), display.URL)
	d.apply(t, &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{
		entry("Sequence", "seq-uid", "seq", wire.SequencePath("ns", "seq"), t0, a),
		entry("Sequence", "seq-uid/step-1", "seq", "", t1, b),
	}})
	in := ids("s", 20)
	e.produce(t0, events(in)...)
	display.waitIDs(t, ids("reply-to-s", 20)...)
	if got, dups := uniqueIDs(display.ids()); len(got) != 20 || dups != 0 {
		t.Errorf("display received %d distinct events (%d duplicates), want 20", len(got), dups)
	}
	e.waitCommitted(a.ConsumerGroup, t0, e.endOffsets(t0))
	e.waitCommitted(b.ConsumerGroup, t1, e.endOffsets(t1))
	if got := d.Egresses(); !slices.Equal(got, []string{a.ConsumerGroup, b.ConsumerGroup}) {
		t.Errorf("egresses %v", got)
	}
	if n := d.metricValue(t, "weft_dispatcher_events_delivered_total", `kind="Sequence"`, `trigger="seq"`); n != 40 {
		t.Errorf("delivered{kind=Sequence,trigger=seq} = %v, want 40 (20 per step)", n)
	}
}

// TestParallelFilterDropsRejected: a Parallel branch's filter (drop_rejected)
// that answers 400 drops the event for the branch: nothing reaches the
// dead-letter sink, the filter's group commits past it, and the events the
// filter passes (replied back) reach the branch's subscriber through the
// branch topic.
func TestParallelFilterDropsRejected(t *testing.T) {
	e := newEnv(t)
	in, branch := wire.ParallelTopic("ns", "par"), wire.ParallelBranchTopic("ns", "par", 0)
	e.createTopic(in, 1)
	e.createTopic(branch, 1)
	filterSrv := newSubscriber(t, func(w http.ResponseWriter, r *http.Request, ev *event.Event) bool {
		if strings.HasPrefix(ev.ID(), "no-") {
			http.Error(w, "not for this branch", http.StatusBadRequest)
			return false
		}
		if err := cehttp.WriteResponseWriter(r.Context(), (*binding.EventMessage)(ev), http.StatusOK, w); err != nil {
			t.Errorf("write reply: %v", err)
		}
		return true
	})
	display, dls := newSubscriber(t, nil), newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	f := flowEgress("Parallel", "par-uid/branch-0/filter", "par", wire.ParallelFilterGroup("ns", "par", 0), filterSrv.URL)
	f.ReplyTopic, f.DropRejected = branch, true
	f.Delivery.DeadLetterUrl = dls.URL
	s := flowEgress("Parallel", "par-uid/branch-0", "par", wire.ParallelSubscriberGroup("ns", "par", 0), display.URL)
	d.apply(t, &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{
		entry("Parallel", "par-uid", "par", wire.ParallelPath("ns", "par"), in, f),
		entry("Parallel", "par-uid/branch-0", "par", "", branch, s),
	}})
	e.produce(in, ev("no-1"), ev("yes-1"), ev("no-2"), ev("yes-2"), ev("no-3"))
	display.waitIDs(t, "yes-1", "yes-2")
	e.waitCommitted(f.ConsumerGroup, in, map[int32]int64{0: 5})
	e.waitCommitted(s.ConsumerGroup, branch, map[int32]int64{0: 2})
	if got := display.ids(); len(got) != 2 {
		t.Errorf("branch subscriber received %v, want yes-1 and yes-2", got)
	}
	if n := dls.hitCount(); n != 0 {
		t.Errorf("dead-letter sink got %d events, want none", n)
	}
	if n := filterSrv.hitCount(); n != 5 {
		t.Errorf("filter got %d requests, want 5 (a rejection is not retried)", n)
	}
	if n := d.metricValue(t, "weft_dispatcher_events_rejected_total", `kind="Parallel"`); n != 3 {
		t.Errorf("rejected{kind=Parallel} = %v, want 3", n)
	}
	if n := d.metricValue(t, "weft_dispatcher_events_dead_lettered_total"); n != 0 {
		t.Errorf("dead_lettered = %v, want 0", n)
	}
}

// TestChannelRetryTopic: a channel's event whose retry is far off waits in
// the channel's retry topic (wire.RetryTopicOf), created when first needed,
// and is delivered from there.
func TestChannelRetryTopic(t *testing.T) {
	e := newEnv(t)
	chTopic := wire.ChannelTopic("ns", "ch")
	e.createTopic(chTopic, 1)
	sub, attempts := countingSubscriber(t, "a", func(n int) bool { return n <= 2 }, nil)
	cfg := testConfig(e.kcfg)
	cfg.RetryTopicAfter = 150 * time.Millisecond
	d := start(t, cfg)
	eg := flowEgress("Subscription", "sub-uid", "s", wire.SubscriptionGroup("ns", "s"), sub.URL)
	eg.Delivery = &weftv1.Delivery{Retry: 3, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 50, TimeoutMs: 5000}
	d.apply(t, &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{
		entry("Channel", "ch-uid", "ch", wire.ChannelPath("ns", "ch"), chTopic, eg),
	}})
	e.produce(chTopic, ev("a"), ev("b"))
	sub.waitIDs(t, "a", "b")
	if n := attempts(); n != 3 {
		t.Errorf("%d attempts of a, want 3", n)
	}
	retry := wire.RetryTopicOf(chTopic)
	e.waitCommitted(eg.ConsumerGroup, chTopic, map[int32]int64{0: 2})
	e.waitCommitted(eg.ConsumerGroup, retry, e.endOffsets(retry))
	if n := d.metricValue(t, "weft_dispatcher_events_parked_total", `kind="Subscription"`); n != 1 {
		t.Errorf("parked{kind=Subscription} = %v, want 1", n)
	}
}
