package dispatcher

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// pollerContract is the contract of one HTTPPollerSource polling endpoint
// every interval and delivering to url, as the control plane compiles it.
func pollerContract(topic, endpoint, url string, interval time.Duration) *weftv1.Contract {
	return &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{{
		Uid: "poll-uid", Kind: "HTTPPollerSource", Namespace: "ns", Name: "hp", Topic: topic,
		Poller: &weftv1.HTTPPoller{
			Endpoint: endpoint, Method: http.MethodPost, IntervalMs: interval.Milliseconds(),
			Headers: map[string]string{"Accept": "application/json", "X-Api-Key": "k1"},
			Type:    "com.example.alerts", Source: "gov.weather",
			BasicAuthUsername: "user", BasicAuthPassword: "s3cret",
			Extensions: map[string]string{"team": "ops"},
		},
		Egresses: []*weftv1.Egress{{
			Uid: "poll-uid", Kind: "HTTPPollerSource", Namespace: "ns", Name: "hp",
			ConsumerGroup: wire.SourceGroup("HTTPPollerSource", "ns", "hp"), Destination: url,
			Order:         weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED,
			InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST,
			Delivery:      &weftv1.Delivery{Retry: 5, BackoffDelayMs: 100},
		}},
	}}}
}

// endpoint is a polled HTTP server: it records each request and answers
// 200 with a JSON body numbering the request, or status while failing.
type endpoint struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	at       []time.Time  // when each request arrived
	failWith atomic.Int32 // a status to answer instead; 0: succeed
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.requests = append(e.requests, r.Clone(context.Background()))
		e.at = append(e.at, time.Now())
		n := len(e.requests)
		e.mu.Unlock()
		if s := e.failWith.Load(); s != 0 {
			http.Error(w, "down for maintenance", int(s))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `{"alert":%d}`, n)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.requests)
}

func (e *endpoint) first() *http.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests[0]
}

func (e *endpoint) arrivals() []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.at)
}

// polling says whether d runs the poller of topic.
func polling(d *running, topic string) bool {
	for _, r := range d.readerList() {
		if r.topic == topic {
			return r.polling()
		}
	}
	return false
}

// pollProblem is d's PollFailed problem message for uid ("" for none).
func pollProblem(d *running, uid string) string {
	for _, p := range d.EgressProblems() {
		if p.GetUid() == uid && p.GetReason() == ReasonPollFailed {
			return p.GetMessage()
		}
	}
	return ""
}

// TestHTTPPollerSourceDelivers: each poll's response becomes one event at
// the sink with the source's type and source, the endpoint's body and
// Content-Type, the poll time and the extensions; the requests carry the
// source's method, headers and basic authentication.
func TestHTTPPollerSourceDelivers(t *testing.T) {
	e := newEnv(t)
	topic := wire.SourceTopic("HTTPPollerSource", "ns", "hp")
	e.createTopic(topic, 1)
	e.createTopic(wire.RetryTopicOf(topic), 1)
	ep := newEndpoint(t)
	sink := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	d.apply(t, pollerContract(topic, ep.URL+"/alerts?area=KS", sink.URL, time.Second))

	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		n := len(sink.received())
		return n >= 2, fmt.Sprintf("%d events received", n)
	})
	req := ep.first()
	if u, p, ok := req.BasicAuth(); !ok || u != "user" || p != "s3cret" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	if req.Method != http.MethodPost || req.URL.String() != "/alerts?area=KS" || req.Header.Get("X-Api-Key") != "k1" || req.Header.Get("Accept") != "application/json" {
		t.Errorf("request %s %s, headers %v", req.Method, req.URL, req.Header)
	}
	evs := sink.received()
	for i, ev := range evs[:2] {
		if ev.Type() != "com.example.alerts" || ev.Source() != "gov.weather" || ev.DataContentType() != "application/json; charset=utf-8" ||
			string(ev.Data()) != fmt.Sprintf(`{"alert":%d}`, i+1) || ev.Extensions()["team"] != "ops" || ev.ID() == "" {
			t.Errorf("event %d = %s", i, ev)
		}
		if since := time.Since(ev.Time()); since < 0 || since > time.Minute {
			t.Errorf("event %d time %s is not the poll time", i, ev.Time())
		}
	}
	if gap := evs[1].Time().Sub(evs[0].Time()); gap < time.Second {
		t.Errorf("polls %s apart; want at least the interval", gap)
	}
	if evs[0].ID() == evs[1].ID() {
		t.Errorf("two polls with one id %s", evs[0].ID())
	}

	// A new endpoint in the next contract: the poller restarts on it, one
	// interval after the last poll.
	ep2 := newEndpoint(t)
	c := pollerContract(topic, ep2.URL, sink.URL, time.Second)
	c.Version = 2
	d.apply(t, c)
	testutil.Eventually(t, 30*time.Second, "the new endpoint polled", func() (bool, string) {
		return ep2.count() >= 1 && polling(d, topic), fmt.Sprintf("%d requests", ep2.count())
	})
	// The source removed: its poller stops.
	d.apply(t, &weftv1.Contract{Version: 3})
	testutil.Eventually(t, 30*time.Second, "the poller stopped", func() (bool, string) {
		return !polling(d, topic), ""
	})
}

// TestHTTPPollerSourceOnePollPerIntervalAcrossDispatchers runs one
// HTTPPollerSource in two dispatchers: exactly one polls; every poll is
// delivered once; no two polls are less than one interval apart, across
// the takeover when the polling dispatcher stops too; and the endpoint sees
// about one request per interval in total.
func TestHTTPPollerSourceOnePollPerIntervalAcrossDispatchers(t *testing.T) {
	e := newEnv(t)
	topic := wire.SourceTopic("HTTPPollerSource", "ns", "hp")
	e.createTopic(topic, 1)
	e.createTopic(wire.RetryTopicOf(topic), 1)
	ep := newEndpoint(t)
	sink := newSubscriber(t, nil)
	cfg := testConfig(e.kcfg)
	cfg.SessionTimeout = 6 * time.Second
	a, b := start(t, cfg), start(t, cfg)
	c := pollerContract(topic, ep.URL, sink.URL, time.Second)
	began := time.Now()
	a.apply(t, c)
	b.apply(t, c)

	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		n := len(sink.received())
		return n >= 4, fmt.Sprintf("%d events received", n)
	})
	owner, other := a, b
	if !polling(a, topic) {
		owner, other = b, a
	}
	if polling(owner, topic) == polling(other, topic) {
		t.Fatalf("want exactly one poller: a %v, b %v", polling(a, topic), polling(b, topic))
	}
	before := len(sink.received())
	owner.stop(t)
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		n := len(sink.received())
		return n >= before+4 && polling(other, topic), fmt.Sprintf("%d events received (%d before the takeover)", n, before)
	})
	other.stop(t)
	elapsed := time.Since(began)

	evs := sink.received()
	seen := map[string]bool{}
	for i, ev := range evs {
		if seen[ev.ID()] {
			t.Fatalf("event %s (poll at %s) delivered twice", ev.ID(), ev.Time())
		}
		seen[ev.ID()] = true
		if i > 0 {
			if gap := ev.Time().Sub(evs[i-1].Time()); gap < time.Second {
				t.Errorf("polls %d and %d are %s apart: less than one interval", i-1, i, gap)
			}
		}
	}
	// Every request made but at most one (abandoned by a stopping poller)
	// was delivered; and there is at most about one request per interval.
	if n := ep.count(); n > len(evs)+2 || n < len(evs) {
		t.Errorf("endpoint got %d requests for %d events delivered", n, len(evs))
	}
	if n, most := ep.count(), int(elapsed/time.Second)+2; n > most {
		t.Errorf("endpoint got %d requests in %s; want at most %d (one per interval)", n, elapsed.Round(time.Millisecond), most)
	}
}

// TestHTTPPollerSourceContinuesFromLastPoll: a poller gaining the
// partition reads the last poll's time from the topic and polls only one
// interval after it, however recent.
func TestHTTPPollerSourceContinuesFromLastPoll(t *testing.T) {
	e := newEnv(t)
	topic := wire.SourceTopic("HTTPPollerSource", "ns", "hp")
	e.createTopic(topic, 1)
	e.createTopic(wire.RetryTopicOf(topic), 1)
	last := time.Now()
	rec := &kgo.Record{Topic: topic, Value: []byte("{}"), Headers: []kgo.RecordHeader{
		{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte("earlier")},
		{Key: "ce_type", Value: []byte("t")}, {Key: "ce_source", Value: []byte("s")},
		{Key: wire.HeaderPollTime, Value: []byte(last.UTC().Format(time.RFC3339Nano))},
	}}
	if err := e.cl.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ep := newEndpoint(t)
	sink := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	const interval = 3 * time.Second
	d.apply(t, pollerContract(topic, ep.URL, sink.URL, interval))
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		n := len(sink.received())
		return n >= 2 && ep.count() >= 1, fmt.Sprintf("%d events received (the earlier one included)", n)
	})
	if first := ep.arrivals()[0]; first.Before(last.Add(interval)) {
		t.Errorf("first poll %s after the last one; want at least the interval %s", first.Sub(last), interval)
	}
}

// TestHTTPPollerSourceFailingEndpoint: while the endpoint answers 503 no
// event is produced and the dispatcher reports PollFailed with the status;
// once it recovers, events flow and the problem is cleared.
func TestHTTPPollerSourceFailingEndpoint(t *testing.T) {
	e := newEnv(t)
	topic := wire.SourceTopic("HTTPPollerSource", "ns", "hp")
	e.createTopic(topic, 1)
	e.createTopic(wire.RetryTopicOf(topic), 1)
	ep := newEndpoint(t)
	ep.failWith.Store(http.StatusServiceUnavailable)
	sink := newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	d.apply(t, pollerContract(topic, ep.URL, sink.URL, time.Second))

	testutil.Eventually(t, 30*time.Second, "the failure reported after a few attempts", func() (bool, string) {
		msg := pollProblem(d, "poll-uid")
		return ep.count() >= 3 && strings.Contains(msg, "503 Service Unavailable"), fmt.Sprintf("%d requests; problem %q", ep.count(), msg)
	})
	if msg := pollProblem(d, "poll-uid"); !strings.HasPrefix(msg, "POST "+ep.URL+": 503 Service Unavailable (") {
		t.Errorf("problem message %q", msg)
	}
	if n := e.endOffsets(topic)[0]; n != 0 || len(sink.received()) != 0 {
		t.Errorf("failed polls produced %d records, delivered %d events", n, len(sink.received()))
	}

	ep.failWith.Store(0)
	testutil.Eventually(t, 30*time.Second, "events once the endpoint recovers, the problem cleared", func() (bool, string) {
		msg := pollProblem(d, "poll-uid")
		return len(sink.received()) >= 1 && msg == "", fmt.Sprintf("%d events; problem %q", len(sink.received()), msg)
	})
}

// TestPollPlan checks one poll against real servers: TLS trust (the
// source's CA, skipVerify, neither), statuses, headers and body bounds.
func TestPollPlan(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "secure")
	}))
	t.Cleanup(tlsSrv.Close)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}))
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write(make([]byte, maxPollBody+1))
		case "/missing":
			http.NotFound(w, r)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(plain.Close)

	tests := []struct {
		name        string
		poller      *weftv1.HTTPPoller
		body, ctype string
		err         string
	}{
		{name: "TLS with the source's CA", poller: &weftv1.HTTPPoller{Endpoint: tlsSrv.URL, CaCertificate: ca}, body: "secure", ctype: "text/plain"},
		{name: "TLS with skipVerify", poller: &weftv1.HTTPPoller{Endpoint: tlsSrv.URL, SkipVerify: true}, body: "secure", ctype: "text/plain"},
		{name: "TLS unverified", poller: &weftv1.HTTPPoller{Endpoint: tlsSrv.URL}, err: "certificate"},
		{name: "404", poller: &weftv1.HTTPPoller{Endpoint: plain.URL + "/missing"}, err: "GET " + plain.URL + "/missing: 404 Not Found"},
		{name: "204 without a body", poller: &weftv1.HTTPPoller{Endpoint: plain.URL + "/empty"}},
		{name: "body too large", poller: &weftv1.HTTPPoller{Endpoint: plain.URL + "/big"}, err: "response body larger than"},
		{name: "connection refused", poller: &weftv1.HTTPPoller{Endpoint: "http://127.0.0.1:1/"}, err: "GET http://127.0.0.1:1/: dial tcp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.poller.Method, tc.poller.IntervalMs = http.MethodGet, 2000
			plan, err := compilePoller(&weftv1.Ingress{Uid: "u", Namespace: "ns", Name: "hp", Poller: tc.poller})
			if err != nil {
				t.Fatal(err)
			}
			cl := plan.httpClient()
			defer cl.CloseIdleConnections()
			res, err := plan.poll(context.Background(), cl)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("poll: %v, want an error containing %q", err, tc.err)
				}
				if tc.name == "body too large" && !errors.Is(err, errBodyTooLarge) {
					t.Errorf("errors.Is(err, errBodyTooLarge) = false: %v", err)
				}
				return
			}
			if err != nil || string(res.body) != tc.body || res.contentType != tc.ctype {
				t.Errorf("poll = %q %q, %v; want %q %q", res.body, res.contentType, err, tc.body, tc.ctype)
			}
		})
	}
	if _, err := compilePoller(&weftv1.Ingress{Poller: &weftv1.HTTPPoller{Endpoint: "ftp://x/", Method: "GET", IntervalMs: 1000}}); !errors.Is(err, ErrInvalidContract) {
		t.Errorf("ftp endpoint: %v, want ErrInvalidContract", err)
	}
	if got := pollTimeout(time.Second); got != 800*time.Millisecond {
		t.Errorf("pollTimeout(1s) = %s", got)
	}
	if got := pollTimeout(time.Hour); got != maxPollTimeout {
		t.Errorf("pollTimeout(1h) = %s", got)
	}
}
