package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/observability"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// env is one test's Kafka with an admin and a producer.
type env struct {
	t    *testing.T
	kcfg kafka.Config
	cl   *kgo.Client
	adm  *kadm.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	k := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(k)
	cl, err := kcfg.NewClient(nil, kgo.DefaultProduceTopic("unused"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &env{t: t, kcfg: kcfg, cl: cl, adm: kadm.NewClient(cl)}
}

func (e *env) createTopic(topic string, partitions int32) {
	e.t.Helper()
	resp, err := e.adm.CreateTopic(context.Background(), partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		e.t.Fatalf("create topic %s: %v", topic, err)
	}
}

// ev builds an event; opts set extra attributes ("type", "source", "data",
// or any extension name).
func ev(id string, kv ...string) *event.Event {
	e := event.New()
	e.SetID(id)
	e.SetSource("/test")
	e.SetType("test.event")
	_ = e.SetData("text/plain", []byte(id))
	for i := 0; i+1 < len(kv); i += 2 {
		switch kv[i] {
		case "type":
			e.SetType(kv[i+1])
		case "source":
			e.SetSource(kv[i+1])
		case "data":
			_ = e.SetData("text/plain", []byte(kv[i+1]))
		default:
			e.SetExtension(kv[i], kv[i+1])
		}
	}
	return &e
}

func (e *env) produce(topic string, evs ...*event.Event) {
	e.t.Helper()
	rs := make([]*kgo.Record, len(evs))
	for i, x := range evs {
		r, err := cekafka.ToRecord(topic, x)
		if err != nil {
			e.t.Fatal(err)
		}
		rs[i] = r
	}
	if err := e.cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		e.t.Fatalf("produce: %v", err)
	}
}

// committed returns the group's committed offsets on topic (absent: none).
func (e *env) committed(group, topic string) map[int32]int64 {
	e.t.Helper()
	resp, err := e.adm.FetchOffsets(context.Background(), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[int32]int64{} // nothing committed yet
	}
	if err != nil {
		e.t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	out := map[int32]int64{}
	for p, o := range resp[topic] {
		if o.Err == nil && o.At >= 0 {
			out[p] = o.At
		}
	}
	return out
}

func (e *env) endOffsets(topic string) map[int32]int64 {
	e.t.Helper()
	resp, err := e.adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// waitCommitted waits until the group committed exactly want on topic.
func (e *env) waitCommitted(group, topic string, want map[int32]int64) {
	e.t.Helper()
	var got map[int32]int64
	testutil.Eventually(e.t, 20*time.Second, "", func() (bool, string) {
		got = e.committed(group, topic)
		for p, o := range want {
			if got[p] != o {
				return false, fmt.Sprintf("group %s committed %v, want %v", group, got, want)
			}
		}
		return true, ""
	})
}

// testConfig is a Config for tests: no control plane, no ops server, fast
// commits.
func testConfig(kcfg kafka.Config) Config {
	cfg := DefaultConfig()
	cfg.ControlPlane = ""
	cfg.OpsAddr = ""
	cfg.Kafka = kcfg
	cfg.CommitInterval = 50 * time.Millisecond
	cfg.DrainTimeout = 5 * time.Second
	cfg.DeadLetterRetryMaxBackoff = 200 * time.Millisecond
	cfg.SessionTimeout = 10 * time.Second
	return cfg
}

// running is a Dispatcher whose Run goroutine the test owns.
type running struct {
	*Dispatcher
	metrics *observability.Metrics
	cancel  context.CancelFunc
	done    chan error
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	m, err := observability.NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg, WithMetrics(m), WithLogger(testutil.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Dispatcher: d, metrics: m, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for its drain; idempotent.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func (r *running) apply(t *testing.T, c *weftv1.Contract) {
	t.Helper()
	if err := r.ApplyContract(context.Background(), c); err != nil {
		t.Fatalf("ApplyContract: %v", err)
	}
	// Before Run starts the contract is kept; wait until it runs.
	testutil.Eventually(t, 10*time.Second, "", func() (bool, string) {
		return r.Version() == c.GetVersion(), fmt.Sprintf("contract %d not applied (at %d)", c.GetVersion(), r.Version())
	})
}

// metricValue sums the samples of a Prometheus metric whose line contains
// every label filter (such as `trigger="a"`).
func (r *running) metricValue(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	r.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	var sum float64
	for _, v := range promSamples(rec.Body.String(), name, labels...) {
		sum += v
	}
	return sum
}

// promSamples returns the values of the samples of a metric, in Prometheus
// text format, whose line contains every label filter.
func promSamples(text, name string, labels ...string) []float64 {
	var out []float64
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		var v float64
		fields := strings.Fields(line)
		fmt.Sscan(fields[len(fields)-1], &v)
		out = append(out, v)
	}
	return out
}

// contractOf builds a one-broker contract.
func contractOf(version uint64, topic string, egs ...*weftv1.Egress) *weftv1.Contract {
	return &weftv1.Contract{Version: version, Ingresses: []*weftv1.Ingress{{
		Uid: "broker-uid", Kind: "Broker", Namespace: "ns", Name: "default",
		Path: "/ns/default", Topic: topic, Egresses: egs,
	}}}
}

// egress builds a trigger named name delivering to url, replying into topic.
func egress(name, url, topic string) *weftv1.Egress {
	return &weftv1.Egress{
		Uid: "uid-" + name, Namespace: "ns", Name: name,
		ConsumerGroup: "weft.trigger.ns." + name,
		Destination:   url,
		ReplyTopic:    topic,
		Order:         weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED,
		Delivery:      &weftv1.Delivery{Retry: 3, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 10, TimeoutMs: 5000},
	}
}

// subscriber is an httptest CloudEvents sink that records what it received.
type subscriber struct {
	*httptest.Server
	mu     sync.Mutex
	events []*event.Event
	hits   int
	// handle, when set, decides the answer (nil: 200 with no body).
	handle func(w http.ResponseWriter, r *http.Request, e *event.Event) bool
}

func newSubscriber(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, e *event.Event) bool) *subscriber {
	s := &subscriber{handle: handle}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *subscriber) serve(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		body, _ := io.ReadAll(r.Body)
		http.Error(w, fmt.Sprintf("not an event: %v (%q)", err, body), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.hits++
	s.mu.Unlock()
	if s.handle != nil && !s.handle(w, r, e) {
		return // the handler answered a failure; not received
	}
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	if s.handle == nil {
		w.WriteHeader(http.StatusOK)
	}
}

func (s *subscriber) received() []*event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

func (s *subscriber) ids() []string {
	var out []string
	for _, e := range s.received() {
		out = append(out, e.ID())
	}
	return out
}

func (s *subscriber) hitCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

// waitIDs waits until the subscriber received every id in want.
func (s *subscriber) waitIDs(t *testing.T, want ...string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		got := map[string]bool{}
		for _, id := range s.ids() {
			got[id] = true
		}
		for _, id := range want {
			if !got[id] {
				return false, fmt.Sprintf("subscriber received %v, want %v", s.ids(), want)
			}
		}
		return true, ""
	})
}

// uniqueIDs returns the set of ids received and how many were duplicates.
func uniqueIDs(ids []string) (map[string]bool, int) {
	set := map[string]bool{}
	dups := 0
	for _, id := range ids {
		if set[id] {
			dups++
		}
		set[id] = true
	}
	return set, dups
}

// newGate is a channel closed by release (which may be called more than
// once; the test's end calls it too).
func newGate(t *testing.T) (gate <-chan struct{}, release func()) {
	c := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(c) }) }
	t.Cleanup(release)
	return c, release
}

// heldSubscriber answers 200 to every event at once but the one with id
// held, which it holds until release is called (release may be called more
// than once; the test's end calls it too).
func heldSubscriber(t *testing.T, held string) (*subscriber, func()) {
	gate, release := newGate(t)
	sub := newSubscriber(t, func(w http.ResponseWriter, r *http.Request, ev *event.Event) bool {
		if ev.ID() == held {
			select {
			case <-gate:
			case <-r.Context().Done():
				return false
			}
		}
		w.WriteHeader(http.StatusOK)
		return true
	})
	return sub, release
}
