package delivery

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/metric/noop"
)

// testEvent is a binary-mode friendly event with data and an extension.
func testEvent() *event.Event {
	ev := event.New()
	ev.SetID("evt-1")
	ev.SetSource("/weft/test")
	ev.SetType("dev.weft.test")
	ev.SetSubject("subj")
	ev.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	ev.SetExtension("partitionkey", "k1")
	if err := ev.SetData("application/json", map[string]string{"hello": "world"}); err != nil {
		panic(err)
	}
	return &ev
}

// newTestSender is a Sender with no metrics, pinned jitter (0: waits are
// exactly the computed backoff) and its idle connections closed at the end.
func newTestSender(t testing.TB, opts ...Option) *Sender {
	t.Helper()
	s := NewSender(append([]Option{WithMeterProvider(noop.NewMeterProvider())}, opts...)...)
	s.jitter = func() float64 { return 0 }
	t.Cleanup(s.CloseIdleConnections)
	return s
}

// recorded is one request a test server received.
type recorded struct {
	at     time.Time
	path   string
	header http.Header
	body   []byte
}

// server is a real HTTP server recording what it receives; respond answers
// request n (0-based). A nil respond answers 200 with no body.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newServer(t testing.TB, respond func(n int, w http.ResponseWriter, r *http.Request), configure ...func(*http.Server)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, recorded{at: at, path: r.URL.Path, header: r.Header.Clone(), body: body})
		s.mu.Unlock()
		if respond != nil {
			respond(n, w, r)
		}
	}))
	for _, c := range configure {
		c(s.Config)
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// status answers every request with code.
func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// failFirst answers code to the first n requests, then 200.
func failFirst(n, code int) func(int, http.ResponseWriter, *http.Request) {
	return func(i int, w http.ResponseWriter, _ *http.Request) {
		if i < n {
			w.WriteHeader(code)
		}
	}
}

// replies collects the events handed to a ReplyFunc.
type replies struct {
	mu     sync.Mutex
	events []*event.Event
	fail   int // fail the first fail calls
	calls  int
}

func (r *replies) fn(_ context.Context, ev *event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls <= r.fail {
		return errTestReply
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *replies) got() []*event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*event.Event(nil), r.events...)
}

type testError string

func (e testError) Error() string { return string(e) }

const errTestReply = testError("kafka unavailable")
