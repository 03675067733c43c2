package delivery

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/pkg/wire"
)

func TestSendBinaryRequest(t *testing.T) {
	srv := newServer(t, nil)
	ev := testEvent()
	res, err := newTestSender(t).Send(t.Context(), ev, srv.URL+"/sub", Policy{}, nil)
	if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 1 || res.StatusCode != 200 || res.Err != nil {
		t.Fatalf("Send = %+v, %v; want delivered in 1 attempt", res, err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	h := reqs[0].header
	for k, want := range map[string]string{
		"Ce-Specversion":  "1.0",
		"Ce-Id":           "evt-1",
		"Ce-Source":       "/weft/test",
		"Ce-Type":         "dev.weft.test",
		"Ce-Subject":      "subj",
		"Ce-Time":         "2026-01-02T03:04:05Z",
		"Ce-Partitionkey": "k1",
		"Content-Type":    "application/json",
		"Prefer":          "reply",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if got := string(reqs[0].body); got != `{"hello":"world"}` {
		t.Errorf("body = %q", got)
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "ce-knativeerror") {
			t.Errorf("unexpected header %s on a first delivery", k)
		}
	}
}

func TestSendStatusCodes(t *testing.T) {
	const retries = 2
	tests := map[int]struct {
		attempts int
		outcome  Outcome
	}{
		200: {1, OutcomeDelivered}, 201: {1, OutcomeDelivered}, 202: {1, OutcomeDelivered}, 204: {1, OutcomeDelivered},
		// Retryable: no response, 404, 408, 409, 429, 5xx.
		404: {1 + retries, OutcomeDropped}, 408: {1 + retries, OutcomeDropped}, 409: {1 + retries, OutcomeDropped},
		429: {1 + retries, OutcomeDropped}, 500: {1 + retries, OutcomeDropped}, 502: {1 + retries, OutcomeDropped},
		503: {1 + retries, OutcomeDropped}, 504: {1 + retries, OutcomeDropped}, 507: {1 + retries, OutcomeDropped},
		// Not retried: every other 4xx, and 3xx.
		400: {1, OutcomeDropped}, 401: {1, OutcomeDropped}, 403: {1, OutcomeDropped}, 405: {1, OutcomeDropped},
		410: {1, OutcomeDropped}, 413: {1, OutcomeDropped}, 415: {1, OutcomeDropped}, 422: {1, OutcomeDropped},
		300: {1, OutcomeDropped}, 304: {1, OutcomeDropped},
	}
	s := newTestSender(t)
	for code, tt := range tests {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, status(code))
			res, err := s.Send(t.Context(), testEvent(), srv.URL, Policy{Retry: retries, Delay: time.Millisecond}, nil)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.Outcome != tt.outcome || res.Attempts != tt.attempts || res.StatusCode != code {
				t.Errorf("Send = %+v, want outcome %v after %d attempts", res, tt.outcome, tt.attempts)
			}
			if got := len(srv.requests()); got != tt.attempts {
				t.Errorf("server got %d requests, want %d", got, tt.attempts)
			}
			var se *StatusError
			if failed := tt.outcome != OutcomeDelivered; failed != errors.As(res.Err, &se) || (failed && se.Code != code) {
				t.Errorf("Result.Err = %v, want a StatusError %d only on failure", res.Err, code)
			}
		})
	}
}

// TestSendExponentialBackoffTiming: a subscriber failing the first 3
// attempts with 503 gets the event on the 4th, after waits of 2, 4 and 8
// times the 20 ms delay, each lengthened by at most JitterFraction (real
// jitter, real clock, measured at the subscriber).
func TestSendExponentialBackoffTiming(t *testing.T) {
	const delay = 20 * time.Millisecond
	srv := newServer(t, failFirst(3, http.StatusServiceUnavailable))
	s := newTestSender(t)
	s.jitter = rand.Float64 // the real random jitter
	res, err := s.Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 5, Backoff: BackoffExponential, Delay: delay}, nil)
	if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 4 || res.StatusCode != 200 {
		t.Fatalf("Send = %+v, %v; want delivered on attempt 4", res, err)
	}
	reqs := srv.requests()
	if len(reqs) != 4 {
		t.Fatalf("server got %d requests, want 4", len(reqs))
	}
	const slack = 60 * time.Millisecond // scheduling noise under -race on shared cores
	for i, g := range gaps([]time.Time{reqs[0].at, reqs[1].at, reqs[2].at, reqs[3].at}) {
		want := delay << (i + 1) // 40, 80, 160 ms
		hi := want + time.Duration(JitterFraction*float64(want)) + slack
		if g < want || g > hi {
			t.Errorf("wait before retry %d = %v, want in [%v, %v]", i+1, g, want, hi)
		}
	}
	if got := string(reqs[3].body); got != `{"hello":"world"}` || reqs[3].header.Get("Ce-Id") != "evt-1" {
		t.Errorf("4th request carries %q, id %q", got, reqs[3].header.Get("Ce-Id"))
	}
}

func TestSendDeadLetter(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 128) // 2 KiB
	sub := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(body)
	})
	dls := newServer(t, nil)
	ev := testEvent()
	before := ev.Clone()
	res, err := newTestSender(t).Send(t.Context(), ev, sub.URL+"/sub", Policy{Retry: 2, Delay: time.Millisecond, DeadLetterURL: dls.URL + "/dead"}, nil)
	if err != nil || res.Outcome != OutcomeDeadLettered || res.Attempts != 3 || res.StatusCode != 500 {
		t.Fatalf("Send = %+v, %v; want dead-lettered after 3 attempts", res, err)
	}
	if got := len(sub.requests()); got != 3 {
		t.Errorf("subscriber got %d requests, want 3", got)
	}
	reqs := dls.requests()
	if len(reqs) != 1 {
		t.Fatalf("dead-letter sink got %d requests, want 1", len(reqs))
	}
	h := reqs[0].header
	if got := h.Get("Ce-Knativeerrordest"); got != sub.URL+"/sub" {
		t.Errorf("knativeerrordest = %q, want %q", got, sub.URL+"/sub")
	}
	if got := h.Get("Ce-Knativeerrorcode"); got != "500" {
		t.Errorf("knativeerrorcode = %q, want 500", got)
	}
	data, err := base64.StdEncoding.DecodeString(h.Get("Ce-Knativeerrordata"))
	if err != nil {
		t.Fatalf("knativeerrordata is not base64: %v", err)
	}
	if !bytes.Equal(data, body[:ErrorDataMax]) {
		t.Errorf("knativeerrordata decodes to %d bytes %.20q..., want the first %d bytes of the body", len(data), data, ErrorDataMax)
	}
	// The original event, unchanged, in binary mode and without Prefer.
	for k, want := range map[string]string{"Ce-Id": "evt-1", "Ce-Type": "dev.weft.test", "Ce-Source": "/weft/test",
		"Ce-Partitionkey": "k1", "Content-Type": "application/json", "Prefer": ""} {
		if got := h.Get(k); got != want {
			t.Errorf("dead letter header %s = %q, want %q", k, got, want)
		}
	}
	if string(reqs[0].body) != `{"hello":"world"}` {
		t.Errorf("dead letter body = %q", reqs[0].body)
	}
	if _, ok := ev.Extensions()[wire.ExtErrorDest]; ok || ev.String() != before.String() {
		t.Errorf("Send modified the caller's event")
	}
}

func TestSendDeadLetterNoResponse(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connection refused from now on
	dls := newServer(t, nil)
	ev := testEvent()
	ev.SetExtension(wire.ExtErrorCode, "999") // stale, from an earlier dead-lettering
	res, err := newTestSender(t).Send(t.Context(), ev, deadURL, Policy{Retry: 1, DeadLetterURL: dls.URL}, nil)
	if err != nil || res.Outcome != OutcomeDeadLettered || res.Attempts != 2 || res.StatusCode != 0 || res.Err == nil {
		t.Fatalf("Send = %+v, %v; want dead-lettered after 2 attempts without response", res, err)
	}
	h := dls.requests()[0].header
	if _, ok := h["Ce-Knativeerrorcode"]; ok {
		t.Errorf("knativeerrorcode = %q, want absent (no response)", h.Get("Ce-Knativeerrorcode"))
	}
	data, _ := base64.StdEncoding.DecodeString(h.Get("Ce-Knativeerrordata"))
	if !strings.Contains(string(data), "refused") {
		t.Errorf("knativeerrordata = %q, want the connection error", data)
	}
}

func TestSend400(t *testing.T) {
	t.Run("no dead-letter sink", func(t *testing.T) {
		sub := newServer(t, status(http.StatusBadRequest))
		res, err := newTestSender(t).Send(t.Context(), testEvent(), sub.URL, Policy{Retry: 5, Delay: time.Millisecond}, nil)
		if err != nil || res.Outcome != OutcomeDropped || res.Attempts != 1 || res.StatusCode != 400 {
			t.Fatalf("Send = %+v, %v; want dropped after exactly 1 attempt", res, err)
		}
		if got := len(sub.requests()); got != 1 {
			t.Errorf("subscriber got %d requests, want 1", got)
		}
	})
	t.Run("dead-letter sink", func(t *testing.T) {
		sub := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "bad field", http.StatusBadRequest)
		})
		dls := newServer(t, nil)
		res, err := newTestSender(t).Send(t.Context(), testEvent(), sub.URL, Policy{Retry: 5, Delay: time.Millisecond, DeadLetterURL: dls.URL}, nil)
		if err != nil || res.Outcome != OutcomeDeadLettered || res.Attempts != 1 {
			t.Fatalf("Send = %+v, %v; want dead-lettered after 1 attempt", res, err)
		}
		h := dls.requests()[0].header
		data, _ := base64.StdEncoding.DecodeString(h.Get("Ce-Knativeerrordata"))
		if h.Get("Ce-Knativeerrorcode") != "400" || string(data) != "bad field\n" {
			t.Errorf("dead letter code %q data %q", h.Get("Ce-Knativeerrorcode"), data)
		}
	})
}

func TestSendReply(t *testing.T) {
	tests := map[string]func(w http.ResponseWriter){
		"binary": func(w http.ResponseWriter) {
			w.Header().Set("Ce-Specversion", "1.0")
			w.Header().Set("Ce-Id", "reply-1")
			w.Header().Set("Ce-Source", "/subscriber")
			w.Header().Set("Ce-Type", "dev.weft.reply")
			w.Header().Set("Ce-Traceid", "abc")
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("pong"))
		},
		"structured": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/cloudevents+json; charset=utf-8")
			w.Write([]byte(`{"specversion":"1.0","id":"reply-1","source":"/subscriber","type":"dev.weft.reply",` +
				`"traceid":"abc","datacontenttype":"text/plain","data":"pong"}`))
		},
	}
	for name, respond := range tests {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { respond(w) })
			var r replies
			res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{}, r.fn)
			if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 1 {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			got := r.got()
			if len(got) != 1 {
				t.Fatalf("ReplyFunc got %d events, want 1", len(got))
			}
			ev := got[0]
			if ev.ID() != "reply-1" || ev.Source() != "/subscriber" || ev.Type() != "dev.weft.reply" ||
				string(ev.Data()) != "pong" || ev.DataContentType() != "text/plain" || ev.Extensions()["traceid"] != "abc" {
				t.Errorf("reply = %v", ev)
			}
		})
	}
}

func TestSendNoReply(t *testing.T) {
	tests := map[string]func(w http.ResponseWriter){
		"202 empty": func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) },
		"204":       func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
		"text ok":   func(w http.ResponseWriter) { w.Header().Set("Content-Type", "text/plain"); w.Write([]byte("ok")) },
		"plain JSON": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":"x"}`))
		},
		"structured content type, empty body": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/cloudevents+json")
			w.WriteHeader(http.StatusOK)
		},
		"large plain body": func(w http.ResponseWriter) { w.Write(bytes.Repeat([]byte("x"), 1<<20)) },
	}
	for name, respond := range tests {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { respond(w) })
			var r replies
			res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 3}, r.fn)
			if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 1 {
				t.Fatalf("Send = %+v, %v; want delivered in 1 attempt", res, err)
			}
			if r.calls != 0 {
				t.Errorf("ReplyFunc called %d times, want 0", r.calls)
			}
		})
	}
}

func TestSendReplyFuncErrorRetried(t *testing.T) {
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Ce-Specversion", "1.0")
		w.Header().Set("Ce-Id", "reply-1")
		w.Header().Set("Ce-Source", "/subscriber")
		w.Header().Set("Ce-Type", "dev.weft.reply")
	})
	t.Run("succeeds on retry", func(t *testing.T) {
		r := replies{fail: 2}
		res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 3, Delay: time.Millisecond}, r.fn)
		if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 3 || res.Err != nil {
			t.Fatalf("Send = %+v, %v; want delivered on attempt 3", res, err)
		}
		if len(r.got()) != 1 || r.calls != 3 {
			t.Errorf("ReplyFunc called %d times, stored %d", r.calls, len(r.got()))
		}
	})
	t.Run("exhausted", func(t *testing.T) {
		r := replies{fail: 100}
		res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 1}, r.fn)
		if err != nil || res.Outcome != OutcomeDropped || res.Attempts != 2 || res.StatusCode != 200 {
			t.Fatalf("Send = %+v, %v; want dropped after 2 attempts", res, err)
		}
		if !errors.Is(res.Err, ErrReplyFailed) || !errors.Is(res.Err, errTestReply) {
			t.Errorf("Result.Err = %v, want ErrReplyFailed wrapping the ReplyFunc's error", res.Err)
		}
	})
}

func TestSendMalformedReplyRetried(t *testing.T) {
	tests := map[string]func(w http.ResponseWriter){
		"binary without id": func(w http.ResponseWriter) {
			w.Header().Set("Ce-Specversion", "1.0")
			w.Header().Set("Ce-Source", "/s")
			w.Header().Set("Ce-Type", "t")
		},
		"unknown specversion": func(w http.ResponseWriter) {
			w.Header().Set("Ce-Specversion", "9.9")
			w.Header().Set("Ce-Id", "1")
		},
		"structured bad json": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/cloudevents+json")
			w.Write([]byte(`{"specversion":"1.0","id":`))
		},
		"structured missing type": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/cloudevents+json")
			w.Write([]byte(`{"specversion":"1.0","id":"1","source":"/s"}`))
		},
		"batch": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/cloudevents-batch+json")
			w.Write([]byte(`[]`))
		},
		"unknown format": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/cloudevents+avro")
			w.Write([]byte(`xx`))
		},
	}
	for name, malformed := range tests {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 0 {
					malformed(w)
				}
			})
			var r replies
			res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 2}, r.fn)
			if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 2 {
				t.Fatalf("Send = %+v, %v; want delivered on attempt 2", res, err)
			}
			if r.calls != 0 {
				t.Errorf("ReplyFunc called %d times for a malformed reply", r.calls)
			}
		})
	}
	t.Run("exhausted", func(t *testing.T) {
		srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { tests["structured bad json"](w) })
		dls := newServer(t, nil)
		var r replies
		res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 1, DeadLetterURL: dls.URL}, r.fn)
		if err != nil || res.Outcome != OutcomeDeadLettered || !errors.Is(res.Err, ErrMalformedReply) {
			t.Fatalf("Send = %+v, %v; want dead-lettered with ErrMalformedReply", res, err)
		}
		h := dls.requests()[0].header
		data, _ := base64.StdEncoding.DecodeString(h.Get("Ce-Knativeerrordata"))
		if h.Get("Ce-Knativeerrorcode") != "200" || string(data) != `{"specversion":"1.0","id":` {
			t.Errorf("dead letter code %q data %q", h.Get("Ce-Knativeerrorcode"), data)
		}
	})
}

func TestSendRetryAfter(t *testing.T) {
	t.Run("honoured", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 0 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
			}
		})
		res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 1, Delay: time.Millisecond}, nil)
		if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 2 {
			t.Fatalf("Send = %+v, %v", res, err)
		}
		reqs := srv.requests()
		if g := reqs[1].at.Sub(reqs[0].at); g < time.Second || g > 1500*time.Millisecond {
			t.Errorf("wait = %v, want the Retry-After of 1s", g)
		}
	})
	t.Run("capped", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 0 {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL,
			Policy{Retry: 1, Delay: time.Millisecond, RetryAfterMax: 100 * time.Millisecond}, nil)
		if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 2 {
			t.Fatalf("Send = %+v, %v", res, err)
		}
		reqs := srv.requests()
		if g := reqs[1].at.Sub(reqs[0].at); g < 100*time.Millisecond || g > 600*time.Millisecond {
			t.Errorf("wait = %v, want the 100ms cap", g)
		}
	})
}

func TestSendAttemptTimeout(t *testing.T) {
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	start := time.Now()
	res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 1, Timeout: 50 * time.Millisecond}, nil)
	el := time.Since(start)
	if err != nil || res.Outcome != OutcomeDropped || res.Attempts != 2 || res.StatusCode != 0 {
		t.Fatalf("Send = %+v, %v; want dropped after 2 timed-out attempts", res, err)
	}
	if !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Errorf("Result.Err = %v, want a deadline exceeded", res.Err)
	}
	if el < 100*time.Millisecond || el > 2*time.Second {
		t.Errorf("Send took %v, want about 2×50ms", el)
	}
}

func TestSendContextCancel(t *testing.T) {
	// arrived is closed by the first request that reaches a blocking server.
	type blocker struct {
		arrived chan struct{}
		once    sync.Once
	}
	blocking := func(b *blocker) func(int, http.ResponseWriter, *http.Request) {
		return func(_ int, _ http.ResponseWriter, r *http.Request) {
			b.once.Do(func() { close(b.arrived) })
			<-r.Context().Done()
		}
	}
	tests := map[string]struct {
		blockSubscriber bool // else the subscriber answers 500
		p               Policy
	}{
		"during a request":            {true, Policy{Retry: 3}},
		"during a backoff":            {false, Policy{Retry: 3, Delay: time.Hour}},
		"during the dead-letter send": {false, Policy{DeadLetterURL: "blocking"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			b := &blocker{arrived: make(chan struct{})}
			respond := status(500)
			if tt.blockSubscriber {
				respond = blocking(b)
			}
			srv := newServer(t, respond)
			if tt.p.DeadLetterURL != "" {
				tt.p.DeadLetterURL = newServer(t, blocking(b)).URL
			}
			ctx, cancel := context.WithCancel(t.Context())
			var cancelledAt atomic.Int64
			if tt.p.Delay > 0 {
				// In the hour-long backoff as soon as the first attempt is
				// answered; the timer only bounds the wait.
				time.AfterFunc(50*time.Millisecond, func() { cancelledAt.Store(time.Now().UnixNano()); cancel() })
			} else {
				go func() {
					select {
					case <-b.arrived:
						cancelledAt.Store(time.Now().UnixNano())
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			res, err := newTestSender(t).Send(ctx, testEvent(), srv.URL, tt.p, nil)
			returned := time.Now()
			if !errors.Is(err, context.Canceled) || errors.Is(err, ErrDeadLetterFailed) {
				t.Fatalf("Send = %+v, %v; want context.Canceled", res, err)
			}
			if el := returned.Sub(time.Unix(0, cancelledAt.Load())); el > time.Second {
				t.Errorf("Send returned %v after the cancel", el)
			}
			if res.Outcome != 0 {
				t.Errorf("Outcome = %v, want none", res.Outcome)
			}
		})
	}
	t.Run("already cancelled", func(t *testing.T) {
		srv := newServer(t, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := newTestSender(t).Send(ctx, testEvent(), srv.URL, Policy{}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := len(srv.requests()); n != 0 {
			t.Errorf("server got %d requests", n)
		}
	})
}

func TestSendLogs(t *testing.T) {
	var buf bytes.Buffer
	s := newTestSender(t, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	failing := newServer(t, status(500))
	dls := newServer(t, nil)
	s.Send(t.Context(), testEvent(), failing.URL, Policy{}, nil)
	s.Send(t.Context(), testEvent(), failing.URL, Policy{DeadLetterURL: dls.URL}, nil)
	s.Send(t.Context(), testEvent(), failing.URL, Policy{DeadLetterURL: failing.URL}, nil)
	out := buf.String()
	for _, want := range []string{
		"level=WARN msg=\"event dropped: delivery failed and there is no dead-letter sink\" id=evt-1",
		"level=WARN msg=\"event dead-lettered: delivery failed\" id=evt-1",
		"level=ERROR msg=\"event not dead-lettered: delivery and the dead-letter sink failed\" id=evt-1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestSendDeadLetterFails(t *testing.T) {
	tests := map[string]struct {
		code     int
		attempts int
	}{
		"retryable": {500, 3},
		"permanent": {400, 1},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sub := newServer(t, status(503))
			dls := newServer(t, status(tt.code))
			res, err := newTestSender(t).Send(t.Context(), testEvent(), sub.URL, Policy{Retry: 2, Delay: time.Millisecond, DeadLetterURL: dls.URL}, nil)
			if !errors.Is(err, ErrDeadLetterFailed) {
				t.Fatalf("Send = %+v, %v; want ErrDeadLetterFailed", res, err)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Errorf("err = %v, want the sink's status %d", err, tt.code)
			}
			if res.Outcome != 0 || res.Attempts != 3 || res.StatusCode != 503 {
				t.Errorf("Result = %+v", res)
			}
			if got := len(dls.requests()); got != tt.attempts {
				t.Errorf("dead-letter sink got %d requests, want %d", got, tt.attempts)
			}
		})
	}
	t.Run("invalid url", func(t *testing.T) {
		sub := newServer(t, status(500))
		_, err := newTestSender(t).Send(t.Context(), testEvent(), sub.URL, Policy{DeadLetterURL: "not a url"}, nil)
		if !errors.Is(err, ErrDeadLetterFailed) || !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("err = %v, want ErrDeadLetterFailed and ErrInvalidRequest", err)
		}
	})
}

func TestSendInvalidURL(t *testing.T) {
	for _, u := range []string{"", "not a url", "ftp://host/x", "http://[::1"} {
		res, err := newTestSender(t).Send(t.Context(), testEvent(), u, Policy{Retry: 3}, nil)
		if err != nil || res.Outcome != OutcomeDropped || res.Attempts != 1 || !errors.Is(res.Err, ErrInvalidRequest) {
			t.Errorf("Send(%q) = %+v, %v; want dropped with ErrInvalidRequest", u, res, err)
		}
	}
}

func TestSendRedirects(t *testing.T) {
	target := newServer(t, nil)
	tests := map[string]struct {
		code      int
		delivered bool
	}{
		"307 followed":     {http.StatusTemporaryRedirect, true},
		"308 followed":     {http.StatusPermanentRedirect, true},
		"302 not followed": {http.StatusFound, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL, tt.code)
			})
			before := len(target.requests())
			res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 2}, nil)
			if err != nil || (res.Outcome == OutcomeDelivered) != tt.delivered || res.Attempts != 1 {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			if tt.delivered {
				reqs := target.requests()
				if len(reqs) != before+1 || string(reqs[len(reqs)-1].body) != `{"hello":"world"}` {
					t.Errorf("redirect target did not get the event with its body")
				}
			}
		})
	}
}

func TestSendPropagatesTraceContext(t *testing.T) {
	srv := newServer(t, nil)
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
	if _, err := newTestSender(t).Send(ctx, testEvent(), srv.URL, Policy{}, nil); err != nil {
		t.Fatal(err)
	}
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if got := srv.requests()[0].header.Get("Traceparent"); got != want {
		t.Errorf("traceparent = %q, want %q", got, want)
	}
}

// TestSendReusesConnections: bodies are drained and closed, so retries and
// later sends reuse one keep-alive connection.
func TestSendReusesConnections(t *testing.T) {
	var conns atomic.Int32
	srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n % 3 {
		case 0:
			w.WriteHeader(http.StatusInternalServerError)
			w.Write(bytes.Repeat([]byte("e"), 16<<10)) // longer than what is kept
		case 1:
			w.Write(bytes.Repeat([]byte("k"), 16<<10))
		case 2:
			w.Header().Set("Ce-Specversion", "1.0")
			w.Header().Set("Ce-Id", "r")
			w.Header().Set("Ce-Source", "/s")
			w.Header().Set("Ce-Type", "t")
			w.Write([]byte("reply"))
		}
	}, func(hs *http.Server) {
		hs.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
	})
	s := newTestSender(t)
	var r replies
	for range 5 {
		if _, err := s.Send(t.Context(), testEvent(), srv.URL, Policy{Retry: 1}, r.fn); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(srv.requests()); got < 8 {
		t.Fatalf("server got %d requests", got)
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("opened %d connections, want 1", got)
	}
}

func TestSendMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	s := newTestSender(t, WithMeterProvider(mp))
	ok := newServer(t, nil)
	failing := newServer(t, status(500))
	dls := newServer(t, nil)
	p := Policy{Retry: 2, Delay: time.Millisecond}
	s.Send(t.Context(), testEvent(), ok.URL, p, nil)
	s.Send(t.Context(), testEvent(), failing.URL, p, nil)
	p.DeadLetterURL = dls.URL
	s.Send(t.Context(), testEvent(), failing.URL, p, nil)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	var histCount uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					key := m.Name
					if v, ok := dp.Attributes.Value(attribute.Key("weft.delivery.target")); ok {
						key += "/" + v.AsString()
					}
					sums[key] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					histCount += dp.Count
				}
			}
		}
	}
	want := map[string]int64{
		"weft.delivery.attempts/subscriber":       7, // 1 + 3 + 3
		"weft.delivery.attempts/dead_letter":      1,
		"weft.delivery.retries/subscriber":        4,
		"weft.delivery.delivered/subscriber":      1,
		"weft.delivery.dropped/subscriber":        1,
		"weft.delivery.dead_lettered/dead_letter": 1,
	}
	for k, v := range want {
		if sums[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, sums[k], v, sums)
		}
	}
	if histCount != 8 {
		t.Errorf("attempt.duration count = %d, want 8", histCount)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{0: "none", OutcomeDelivered: "delivered", OutcomeDeadLettered: "dead_lettered", OutcomeDropped: "dropped", OutcomeParked: "parked", OutcomeRejected: "rejected"} {
		if o.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(o), o.String(), want)
		}
	}
}

// TestMessageSharedAcrossSends: one Message sent at once to many
// destinations, each with its own trace context, reaches every one with the
// same body and ce- headers and its own traceparent, and the Message's
// shared header is left as it was (no attempt's trace context in it).
func TestMessageSharedAcrossSends(t *testing.T) {
	const n = 16
	srv := newServer(t, nil)
	s := newTestSender(t)
	m := NewMessage(testEvent())
	before := m.header.Clone()
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			spanID := trace.SpanID{0, 0, 0, 0, 0, 0, 0, byte(i + 1)}
			ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
			}))
			if res, err := s.SendMessage(ctx, m, fmt.Sprintf("%s/dest-%d", srv.URL, i), Policy{}, nil); err != nil || res.Outcome != OutcomeDelivered {
				t.Errorf("SendMessage to dest-%d = %+v, %v", i, res, err)
			}
		})
	}
	wg.Wait()
	reqs := srv.requests()
	if len(reqs) != n {
		t.Fatalf("subscriber got %d requests, want %d", len(reqs), n)
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		if string(r.body) != `{"hello":"world"}` || r.header.Get("Ce-Id") != "evt-1" || r.header.Get("Ce-Partitionkey") != "k1" ||
			r.header.Get("Content-Type") != "application/json" || r.header.Get("Prefer") != "reply" {
			t.Errorf("request %s: header %v body %q: not the event", r.path, r.header, r.body)
		}
		tp := r.header.Get("Traceparent")
		if seen[tp] {
			t.Errorf("traceparent %q reached two destinations", tp)
		}
		seen[tp] = true
	}
	if !reflect.DeepEqual(m.header, before) {
		t.Errorf("message header changed by sending:\nbefore %v\nafter  %v", before, m.header)
	}
}

// TestSendParksFarRetries: with ParkAfter, a delivery whose next retry is
// that far away returns OutcomeParked after the attempts made so far, with
// the time the next is due; resumed with Attempted, it continues the same
// retry budget and backoff, and ends like any delivery (here: dead-lettered
// after the last retry, the sink getting its own full set of attempts).
func TestSendParksFarRetries(t *testing.T) {
	sub := newServer(t, status(http.StatusServiceUnavailable))
	dls := newServer(t, failFirst(1, http.StatusInternalServerError))
	s := newTestSender(t)
	// Exponential from 10ms: retry 1 waits 20ms (in place), retry 2 waits
	// 40ms >= ParkAfter (parked), retry 3 waits 80ms.
	p := Policy{Retry: 3, Delay: 10 * time.Millisecond, ParkAfter: 30 * time.Millisecond, DeadLetterURL: dls.URL}
	m := NewMessage(testEvent())
	before := time.Now()
	res, err := s.SendMessage(t.Context(), m, sub.URL, p, nil)
	if err != nil || res.Outcome != OutcomeParked || res.Attempts != 2 || res.StatusCode != 503 || res.Err == nil {
		t.Fatalf("SendMessage = %+v, %v; want parked after 2 attempts", res, err)
	}
	if wait := res.RetryAt.Sub(before); wait < 40*time.Millisecond || wait > 48*time.Millisecond+time.Second {
		t.Errorf("RetryAt is %s after the start, want 40ms after the second attempt", wait)
	}
	if got := len(sub.requests()); got != 2 || len(dls.requests()) != 0 {
		t.Fatalf("subscriber got %d requests (want 2), dead-letter sink %d (want 0)", got, len(dls.requests()))
	}

	// Resumed: attempt 3 fails, retry 3 (80ms) is parked again.
	p.Attempted = res.Attempts
	res, err = s.SendMessage(t.Context(), m, sub.URL, p, nil)
	if err != nil || res.Outcome != OutcomeParked || res.Attempts != 3 {
		t.Fatalf("resumed SendMessage = %+v, %v; want parked after attempt 3", res, err)
	}
	// Resumed again: attempt 4, the last retry, fails: dead-lettered; the
	// sink's first answer (500) is retried although Attempted is 3.
	p.Attempted = res.Attempts
	res, err = s.SendMessage(t.Context(), m, sub.URL, p, nil)
	if err != nil || res.Outcome != OutcomeDeadLettered || res.Attempts != 4 {
		t.Fatalf("last SendMessage = %+v, %v; want dead-lettered after attempt 4", res, err)
	}
	if got := len(sub.requests()); got != 4 {
		t.Errorf("subscriber got %d requests in all, want 4", got)
	}
	if got := len(dls.requests()); got != 2 {
		t.Errorf("dead-letter sink got %d requests, want 2 (a 500, then the event)", got)
	}
	if got := dls.requests()[1].header.Get("Ce-Knativeerrorcode"); got != "503" {
		t.Errorf("knativeerrorcode = %q, want 503", got)
	}
}

// TestSendParkAfterShortWaits: retries due sooner than ParkAfter wait in
// place, and a delivery that succeeds is delivered, not parked.
func TestSendParkAfterShortWaits(t *testing.T) {
	sub := newServer(t, failFirst(2, http.StatusServiceUnavailable))
	res, err := newTestSender(t).SendMessage(t.Context(), NewMessage(testEvent()), sub.URL,
		Policy{Retry: 3, Delay: time.Millisecond, ParkAfter: time.Hour}, nil)
	if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 3 || !res.RetryAt.IsZero() {
		t.Fatalf("SendMessage = %+v, %v; want delivered on attempt 3", res, err)
	}
}
