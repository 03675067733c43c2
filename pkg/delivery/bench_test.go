package delivery

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkNewMessage is the once-per-record encoding of an event into a
// binary-mode message plus one attempt's request for it.
func BenchmarkNewMessage(b *testing.B) {
	ev := testEvent()
	var urls urlCache
	b.ReportAllocs()
	for b.Loop() {
		m := NewMessage(ev)
		u, err := urls.parse("http://subscriber.default.svc.cluster.local/events")
		if err != nil || m.err != nil {
			b.Fatal(err, m.err)
		}
		_ = attemptRequest(b.Context(), m, u)
	}
}

// BenchmarkSend is a whole delivery (one attempt, 200 with no reply) to a
// local server over a reused keep-alive connection, the message encoded
// once as a dispatcher does for every trigger a record goes to.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	s := newTestSender(b)
	m := NewMessage(testEvent())
	var r replies
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.SendMessage(b.Context(), m, srv.URL, Policy{Retry: 3}, r.fn)
		if err != nil || res.Outcome != OutcomeDelivered {
			b.Fatalf("SendMessage = %+v, %v", res, err)
		}
	}
}

// BenchmarkRawPost is BenchmarkSend's baseline: the same request, prebuilt,
// POSTed with a plain client and no retry, reply, tracing or metrics logic.
func BenchmarkRawPost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	client := newHTTPClient()
	b.Cleanup(client.CloseIdleConnections)
	var urls urlCache
	u, err := urls.parse(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	m := NewMessage(testEvent())
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Do(attemptRequest(b.Context(), m, u))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("POST: %v", err)
		}
		drainClose(resp.Body)
	}
}
