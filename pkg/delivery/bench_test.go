package delivery

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkBuildRequest is the once-per-destination encoding of an event
// into a binary-mode request plus one attempt's copy of it.
func BenchmarkBuildRequest(b *testing.B) {
	ev := testEvent()
	b.ReportAllocs()
	for b.Loop() {
		base, err := buildRequest(ev, "http://subscriber.default.svc.cluster.local/events", true)
		if err != nil {
			b.Fatal(err)
		}
		req, err := attemptRequest(b.Context(), base)
		if err != nil {
			b.Fatal(err)
		}
		_ = req
	}
}

// BenchmarkSend is a whole delivery (one attempt, 200 with no reply) to a
// local server over a reused keep-alive connection.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	s := newTestSender(b)
	ev := testEvent()
	var r replies
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Send(b.Context(), ev, srv.URL, Policy{Retry: 3}, r.fn)
		if err != nil || res.Outcome != OutcomeDelivered {
			b.Fatalf("Send = %+v, %v", res, err)
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
	base, err := buildRequest(testEvent(), srv.URL, true)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := base.WithContext(b.Context())
		req.Body, _ = base.GetBody()
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("POST: %v", err)
		}
		drainClose(resp.Body)
	}
}
