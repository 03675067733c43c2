package observability_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"go.opentelemetry.io/otel/trace/noop"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/dispatcher"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/observability"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// topic is the Kafka topic of the broker ns/default.
const topic = "weft.broker.ns.default"

// TestTracePath follows one event through a real ingress, Kafka, a real
// dispatcher, a subscriber that replies, and the reply's own delivery, with
// the telemetry set up from the environment as the binaries do, and checks
// what an OTLP collector on loopback received: one trace, and each span the
// child of the one before.
//
//	client ─► POST /ns/default (server, ingress)
//	          └► send <topic> (producer, ingress; its context is in the record)
//	             └► weft.dispatch (consumer, trigger ns/requests)
//	                └► weft.delivery.attempt (client; the subscriber's traceparent)
//	                   └► send <topic> (producer, the reply)
//	                      └► weft.dispatch (consumer, trigger ns/replies)
//	                         └► weft.delivery.attempt (client)
func TestTracePath(t *testing.T) {
	clearOTelEnv(t)
	col := testutil.StartOTLPCollector(t, "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.Endpoint)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50") // ms: spans reach the collector while the test waits
	t.Setenv("OTEL_SERVICE_NAME", "weft-trace-test")
	logger := testutil.Logger(t)
	tel, err := observability.SetupTelemetry(context.Background(), "unused", logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})

	sub := &tracingSubscriber{traceparents: map[string]string{}}
	addr := startMesh(t, tel, sub)
	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	postTraced(t, addr, "00-"+traceID+"-"+clientSpan+"-01")

	// Every span of the path reached the collector: 1 server, 2 producer
	// (the event, the reply), 2 dispatch (the trigger that takes each
	// record: a trigger whose filter turns a record away makes no span),
	// 2 attempts.
	var spans []testutil.OTLPSpan
	testutil.Eventually(t, 30*time.Second, "the spans of the event and its reply", func() (bool, string) {
		spans = col.Spans()
		var names []string
		for _, s := range spans {
			names = append(names, s.Name)
		}
		return len(spans) >= 7 && len(sub.got()) == 2, fmt.Sprintf("%d spans %v; subscriber got %v", len(spans), names, sub.got())
	})
	for _, s := range spans {
		if s.TraceID != traceID || s.Service != "weft-trace-test" {
			t.Errorf("span %v: want trace %s from service weft-trace-test", s, traceID)
		}
	}
	find := func(what string, match func(testutil.OTLPSpan) bool) testutil.OTLPSpan {
		t.Helper()
		var found []testutil.OTLPSpan
		for _, s := range spans {
			if match(s) {
				found = append(found, s)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d spans are %s, want 1; spans:\n%v", len(found), what, spansList(spans))
		}
		return found[0]
	}
	childOf := func(parent testutil.OTLPSpan, name string, kind tracepb.Span_SpanKind, attrs ...string) func(testutil.OTLPSpan) bool {
		return func(s testutil.OTLPSpan) bool {
			if s.ParentID != parent.SpanID || s.Name != name || s.Kind != kind {
				return false
			}
			for i := 0; i+1 < len(attrs); i += 2 {
				if s.Attrs[attrs[i]] != attrs[i+1] {
					return false
				}
			}
			return true
		}
	}
	server := find("the ingress server span under the client's", func(s testutil.OTLPSpan) bool {
		return s.ParentID == clientSpan && s.Name == "POST /ns/default" && s.Kind == tracepb.Span_SPAN_KIND_SERVER
	})
	send := find("the producer span under the server span", childOf(server, "send "+topic, tracepb.Span_SPAN_KIND_PRODUCER))
	dispatch := find("ns/requests' weft.dispatch under the producer span",
		childOf(send, "weft.dispatch", tracepb.Span_SPAN_KIND_CONSUMER, "weft.trigger", "ns/requests"))
	attempt := find("the delivery attempt under weft.dispatch", childOf(dispatch, "weft.delivery.attempt", tracepb.Span_SPAN_KIND_CLIENT))
	if got, want := sub.traceparent("request-1"), "00-"+traceID+"-"+attempt.SpanID+"-01"; got != want {
		t.Errorf("the subscriber got traceparent %q, want %q (the delivery attempt)", got, want)
	}
	replySend := find("the reply's producer span under the attempt", childOf(attempt, "send "+topic, tracepb.Span_SPAN_KIND_PRODUCER))
	replyDispatch := find("ns/replies' weft.dispatch under the reply's producer span",
		childOf(replySend, "weft.dispatch", tracepb.Span_SPAN_KIND_CONSUMER, "weft.trigger", "ns/replies"))
	replyAttempt := find("the reply's delivery attempt", childOf(replyDispatch, "weft.delivery.attempt", tracepb.Span_SPAN_KIND_CLIENT))
	if got, want := sub.traceparent("reply-to-request-1"), "00-"+traceID+"-"+replyAttempt.SpanID+"-01"; got != want {
		t.Errorf("the subscriber got the reply with traceparent %q, want %q", got, want)
	}
	// The other trigger turned each record away without a span of its own.
	if len(spans) != 7 {
		t.Errorf("%d spans, want 7 (no span for a trigger that filters a record out):\n%v", len(spans), spansList(spans))
	}
}

// TestTracePathOff: with no endpoint the telemetry is off, and the caller's
// trace context still reaches the subscriber, through the reply too.
func TestTracePathOff(t *testing.T) {
	clearOTelEnv(t)
	tel, err := observability.SetupTelemetry(context.Background(), "unused", testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tel.TracerProvider.(noop.TracerProvider); !ok {
		t.Fatalf("TracerProvider is %T, want the no-op one", tel.TracerProvider)
	}
	sub := &tracingSubscriber{traceparents: map[string]string{}}
	addr := startMesh(t, tel, sub)
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	postTraced(t, addr, traceparent)
	testutil.Eventually(t, 30*time.Second, "the event and its reply at the subscriber", func() (bool, string) {
		return len(sub.got()) == 2, fmt.Sprint(sub.got())
	})
	for _, id := range []string{"request-1", "reply-to-request-1"} {
		if got := sub.traceparent(id); got != traceparent {
			t.Errorf("%s reached the subscriber with traceparent %q, want the caller's %q", id, got, traceparent)
		}
	}
}

// startMesh runs a real ingress and dispatcher with tel's providers, as the
// binaries give them, on the Kafka-protocol server, for a broker ns/default
// with two triggers to sub: ns/requests (type test.request) and ns/replies
// (type test.reply). It returns the ingress's address.
func startMesh(t *testing.T, tel *observability.Telemetry, sub *tracingSubscriber) string {
	t.Helper()
	logger := testutil.Logger(t)
	// Kafka and the broker's topic.
	k := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(k)
	adminCl, err := kcfg.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(adminCl.Close)
	if resp, err := kadm.NewClient(adminCl).CreateTopic(context.Background(), 1, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}

	subSrv := httptest.NewServer(sub)
	t.Cleanup(subSrv.Close)

	egress := func(name, typ string) *weftv1.Egress {
		return &weftv1.Egress{
			Uid: "uid-" + name, Namespace: "ns", Name: name, ConsumerGroup: "weft.trigger.ns." + name,
			Destination: subSrv.URL + "/" + name, ReplyTopic: topic,
			Attributes: map[string]string{"type": typ},
			Delivery:   &weftv1.Delivery{TimeoutMs: 10_000},
		}
	}
	contract := &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{{
		Uid: "uid-broker", Kind: "Broker", Namespace: "ns", Name: "default", Path: "/ns/default", Topic: topic,
		Egresses: []*weftv1.Egress{egress("requests", "test.request"), egress("replies", "test.reply")},
	}}}

	// A real ingress and a real dispatcher, given the providers as the
	// binaries give them.
	icfg := ingress.DefaultConfig()
	icfg.Kafka, icfg.ControlPlane, icfg.OpsAddr = kcfg, "", ""
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in, err := ingress.New(icfg, ingress.WithLogger(logger), ingress.WithListener(ln),
		ingress.WithMetrics(tel.Metrics), ingress.WithTracerProvider(tel.TracerProvider))
	if err != nil {
		t.Fatal(err)
	}
	if err := in.ApplyContract(context.Background(), contract); err != nil {
		t.Fatal(err)
	}
	dcfg := dispatcher.DefaultConfig()
	dcfg.Kafka, dcfg.ControlPlane, dcfg.OpsAddr = kcfg, "", ""
	dcfg.DrainTimeout = 5 * time.Second
	d, err := dispatcher.New(dcfg, dispatcher.WithLogger(logger),
		dispatcher.WithMetrics(tel.Metrics), dispatcher.WithTracerProvider(tel.TracerProvider))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ApplyContract(context.Background(), contract); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() }) // before Shutdown: every span ended
	wg.Go(func() {
		if err := in.Run(ctx); err != nil {
			t.Errorf("ingress: %v", err)
		}
	})
	wg.Go(func() {
		if err := d.Run(ctx); err != nil {
			t.Errorf("dispatcher: %v", err)
		}
	})
	<-in.Started()

	return in.Addr().String()
}

// postTraced posts a test.request to the ingress at addr with traceparent.
func postTraced(t *testing.T, addr, traceparent string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/ns/default", strings.NewReader(`{"n":1}`))
	for k, v := range map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": "request-1", "Ce-Source": "/client", "Ce-Type": "test.request",
		"Content-Type": "application/json", "Traceparent": traceparent,
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("post: %d", resp.StatusCode)
	}
}

func spansList(spans []testutil.OTLPSpan) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintln(&b, s)
	}
	return b.String()
}

// tracingSubscriber answers a test.request with a test.reply and records
// the traceparent header of every event it receives.
type tracingSubscriber struct {
	mu           sync.Mutex
	traceparents map[string]string // by event id
}

func (s *tracingSubscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("Ce-Id")
	s.mu.Lock()
	s.traceparents[id] = r.Header.Get("Traceparent")
	s.mu.Unlock()
	if r.Header.Get("Ce-Type") == "test.request" {
		h := w.Header()
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Id", "reply-to-"+id)
		h.Set("Ce-Source", "/subscriber")
		h.Set("Ce-Type", "test.reply")
	}
	w.WriteHeader(http.StatusOK)
}

func (s *tracingSubscriber) traceparent(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.traceparents[id]
}

func (s *tracingSubscriber) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.traceparents))
	for id := range s.traceparents {
		ids = append(ids, id)
	}
	return ids
}
