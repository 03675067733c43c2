package ingress_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/observability"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// reporter records the observations reported; block, when set, holds every
// report until the test ends (a control plane that does not answer).
type reporter struct {
	mu      sync.Mutex
	seen    []string
	block   chan struct{}
	entered chan struct{} // with block: signalled when a report is held
}

func (r *reporter) ReportEventTypes(ctx context.Context, obs []*weftv1.ObservedEventType) (int, error) {
	if r.block != nil {
		select {
		case r.entered <- struct{}{}:
		default:
		}
		select {
		case <-r.block:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range obs {
		r.seen = append(r.seen, fmt.Sprintf("%s %s/%s %s %s %s %s", o.GetKind(), o.GetNamespace(), o.GetName(), o.GetIngressUid(), o.GetType(), o.GetSource(), o.GetSchema()))
	}
	return len(obs), nil
}

func (r *reporter) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// startReporting runs an ingress reporting to rep and serving the entries.
func startReporting(t *testing.T, mutate func(*ingress.Config), rep ingress.EventTypeReporter, entries ...*weftv1.Ingress) (string, *observability.Metrics) {
	t.Helper()
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	for _, e := range entries {
		createTopic(t, adm, e.GetTopic(), 1)
	}
	cfg := testConfig(kcfg)
	if mutate != nil {
		mutate(&cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m, err := observability.NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	in, err := ingress.New(cfg, ingress.WithLogger(testutil.Logger(t)), ingress.WithListener(ln), ingress.WithMetrics(m), ingress.WithEventTypeReporter(rep))
	if err != nil {
		t.Fatal(err)
	}
	ctx := run(t, in)
	if err := in.ApplyContract(ctx, contractOf(1, entries...)); err != nil {
		t.Fatal(err)
	}
	return "http://" + in.Addr().String(), m
}

// post sends a binary-mode event of type and source (and dataschema when
// set) to url and requires a 202.
func post(t *testing.T, url, typ, source, schema string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", fmt.Sprint(time.Now().UnixNano()))
	req.Header.Set("Ce-Type", typ)
	req.Header.Set("Ce-Source", source)
	if schema != "" {
		req.Header.Set("Ce-Dataschema", schema)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s: %d", url, resp.StatusCode)
	}
}

// TestEventTypeReports: the (type, source, dataschema) of events accepted
// on an entry with eventtype_auto_create are reported once each, whatever
// the number of events and however they come (binary, batch); entries
// without it report nothing.
func TestEventTypeReports(t *testing.T) {
	rep := &reporter{}
	auto := brokerEntry("event-example", "default", "weft.broker.event-example.default")
	auto.EventtypeAutoCreate = true
	ch := &weftv1.Ingress{Uid: "ch-uid", Kind: "Channel", Namespace: "event-example", Name: "ch", Path: "/channels/event-example/ch",
		Topic: "weft.channel.event-example.ch", EventtypeAutoCreate: true}
	quiet := brokerEntry("event-example", "quiet", "weft.broker.event-example.quiet")
	base, _ := startReporting(t, nil, rep, auto, ch, quiet)

	for range 5 {
		post(t, base+"/event-example/default", "greeting", "not-sendoff", "")
		post(t, base+"/event-example/default", "not-greeting", "sendoff", "")
		post(t, base+"/event-example/default", "greeting", "not-sendoff", "https://example.com/greeting.json")
		post(t, base+"/event-example/quiet", "greeting", "not-sendoff", "")
	}
	// A batch: two events, one type already reported.
	batch := `[{"specversion":"1.0","id":"b1","type":"greeting","source":"not-sendoff"},{"specversion":"1.0","id":"b2","type":"batched","source":"/b"}]`
	resp, err := http.Post(base+"/event-example/default", "application/cloudevents-batch+json", strings.NewReader(batch))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("batch: %v %v", resp, err)
	}
	resp.Body.Close()
	post(t, base+"/channels/event-example/ch", "on-channel", "/c", "")
	// Reports keep the order events were accepted in: once the last one
	// is reported, every earlier one is.
	post(t, base+"/event-example/default", "last", "/l", "")
	want := []string{
		"Broker event-example/default event-example-default greeting not-sendoff ",
		"Broker event-example/default event-example-default not-greeting sendoff ",
		"Broker event-example/default event-example-default greeting not-sendoff https://example.com/greeting.json",
		"Broker event-example/default event-example-default batched /b ",
		"Channel event-example/ch ch-uid on-channel /c ",
		"Broker event-example/default event-example-default last /l ",
	}
	testutil.Eventually(t, 10*time.Second, "every triple reported once", func() (bool, string) {
		got := rep.reported()
		return slices.Equal(got, want), strings.Join(got, "\n")
	})
}

// TestEventTypeReportsBounded: with the control plane not answering, the
// queue fills and new triples are dropped and counted, while requests are
// still answered at once; the tracked set stops at its bound.
func TestEventTypeReportsBounded(t *testing.T) {
	rep := &reporter{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	t.Cleanup(func() { close(rep.block) })
	auto := brokerEntry("ns", "b", "weft.broker.ns.b")
	auto.EventtypeAutoCreate = true
	base, m := startReporting(t, func(c *ingress.Config) { c.EventTypeQueue = 2; c.EventTypeMaxTracked = 4 }, rep, auto)
	post(t, base+"/ns/b", "t0", "/s", "")
	<-rep.entered
	for i := 1; i < 10; i++ {
		post(t, base+"/ns/b", fmt.Sprintf("t%d", i), "/s", "")
	}
	// One is being reported (blocked), two wait in the queue: the other
	// seven are dropped.
	testutil.Eventually(t, 10*time.Second, "seven drops counted", func() (bool, string) {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		for line := range strings.Lines(rec.Body.String()) {
			if strings.HasPrefix(line, "weft_ingress_eventtypes_dropped_total") {
				return strings.HasSuffix(strings.TrimSpace(line), " 7"), line
			}
		}
		return false, "no weft_ingress_eventtypes_dropped_total"
	})
}
