package delivery

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestSendDropRejected: with DropRejected, a non-retryable 4xx ends the
// event as rejected, at once and without the dead-letter sink; retryable
// failures are retried and dead-lettered as without it.
func TestSendDropRejected(t *testing.T) {
	tests := map[string]struct {
		code         int
		dropRejected bool
		attempts     int
		outcome      Outcome
	}{
		"400 rejected":          {400, true, 1, OutcomeRejected},
		"403 rejected":          {403, true, 1, OutcomeRejected},
		"422 rejected":          {422, true, 1, OutcomeRejected},
		"404 retried":           {404, true, 3, OutcomeDeadLettered},
		"429 retried":           {429, true, 3, OutcomeDeadLettered},
		"503 retried":           {503, true, 3, OutcomeDeadLettered},
		"3xx is no answer":      {304, true, 1, OutcomeDeadLettered},
		"400 without the field": {400, false, 1, OutcomeDeadLettered},
		"200 delivered":         {200, true, 1, OutcomeDelivered},
	}
	s := newTestSender(t)
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sub := newServer(t, status(tt.code))
			dls := newServer(t, nil)
			p := Policy{Retry: 2, Delay: time.Millisecond, DeadLetterURL: dls.URL, DropRejected: tt.dropRejected}
			res, err := s.Send(t.Context(), testEvent(), sub.URL, p, nil)
			if err != nil || res.Outcome != tt.outcome || res.Attempts != tt.attempts || res.StatusCode != tt.code {
				t.Fatalf("Send = %+v, %v; want %v after %d attempts", res, err, tt.outcome, tt.attempts)
			}
			wantDL := 0
			if tt.outcome == OutcomeDeadLettered {
				wantDL = 1
			}
			if got := len(dls.requests()); got != wantDL {
				t.Errorf("dead-letter sink got %d requests, want %d", got, wantDL)
			}
		})
	}
}

// replyingServer answers every request 200 with a binary-mode reply event.
func replyingServer(t *testing.T) *server {
	return newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Ce-Specversion", "1.0")
		w.Header().Set("Ce-Id", "reply-"+strconv.Itoa(n))
		w.Header().Set("Ce-Source", "/subscriber")
		w.Header().Set("Ce-Type", "dev.weft.reply")
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("pong"))
	})
}

// TestReplyTo: a reply goes to the reply URL in binary mode, without
// "Prefer: reply", and the delivery counts as delivered.
func TestReplyTo(t *testing.T) {
	sub := replyingServer(t)
	replyTo := newServer(t, nil)
	s := newTestSender(t)
	p := Policy{Retry: 2, Delay: time.Millisecond}
	res, err := s.Send(t.Context(), testEvent(), sub.URL, p, s.ReplyTo(replyTo.URL+"/replies", p))
	if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 1 {
		t.Fatalf("Send = %+v, %v; want delivered in 1 attempt", res, err)
	}
	reqs := replyTo.requests()
	if len(reqs) != 1 {
		t.Fatalf("reply URL got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.path != "/replies" || r.header.Get("Ce-Id") != "reply-0" || r.header.Get("Ce-Type") != "dev.weft.reply" ||
		string(r.body) != "pong" || r.header.Get("Prefer") != "" {
		t.Errorf("reply request %s %v %q, want reply-0 in binary mode without Prefer", r.path, r.header, r.body)
	}
}

// TestReplyToFailing: a reply URL that keeps failing fails each attempt:
// the subscriber gets the event again, each reply gets the policy's
// retries, and the event ends in the dead-letter sink described by the
// reply's failure (knativeerrordest = the reply URL). One that recovers
// lets a later attempt succeed.
func TestReplyToFailing(t *testing.T) {
	t.Run("dead-lettered", func(t *testing.T) {
		sub := replyingServer(t)
		replyTo := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("reply sink down"))
		})
		dls := newServer(t, nil)
		s := newTestSender(t)
		p := Policy{Retry: 1, Delay: time.Millisecond, DeadLetterURL: dls.URL}
		res, err := s.Send(t.Context(), testEvent(), sub.URL, p, s.ReplyTo(replyTo.URL, p))
		if err != nil || res.Outcome != OutcomeDeadLettered || res.Attempts != 2 {
			t.Fatalf("Send = %+v, %v; want dead-lettered after 2 attempts", res, err)
		}
		var re *ReplyError
		if !errors.Is(res.Err, ErrReplyFailed) || !errors.As(res.Err, &re) || re.URL != replyTo.URL || re.StatusCode != 502 || re.Attempts != 2 {
			t.Errorf("Result.Err = %v, want a ReplyError for %s with status 502 after 2 attempts", res.Err, replyTo.URL)
		}
		if n := len(sub.requests()); n != 2 {
			t.Errorf("subscriber got %d requests, want 2", n)
		}
		if n := len(replyTo.requests()); n != 4 {
			t.Errorf("reply URL got %d requests, want 4 (2 per attempt)", n)
		}
		reqs := dls.requests()
		if len(reqs) != 1 {
			t.Fatalf("dead-letter sink got %d requests, want 1", len(reqs))
		}
		h := reqs[0].header
		if h.Get("Ce-Id") != "evt-1" || h.Get("Ce-Knativeerrordest") != replyTo.URL || h.Get("Ce-Knativeerrorcode") != "502" {
			t.Errorf("dead letter %v: want evt-1 with knativeerrordest %s and code 502", h, replyTo.URL)
		}
		if data, _ := base64.StdEncoding.DecodeString(h.Get("Ce-Knativeerrordata")); string(data) != "reply sink down" {
			t.Errorf("knativeerrordata = %q, want the reply URL's body", data)
		}
	})
	t.Run("recovers", func(t *testing.T) {
		sub := replyingServer(t)
		replyTo := newServer(t, failFirst(2, http.StatusServiceUnavailable))
		dls := newServer(t, nil)
		s := newTestSender(t)
		p := Policy{Retry: 1, Delay: time.Millisecond, DeadLetterURL: dls.URL}
		res, err := s.Send(t.Context(), testEvent(), sub.URL, p, s.ReplyTo(replyTo.URL, p))
		if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 2 {
			t.Fatalf("Send = %+v, %v; want delivered on the 2nd attempt", res, err)
		}
		if reqs := replyTo.requests(); len(reqs) != 3 || reqs[2].header.Get("Ce-Id") != "reply-1" {
			t.Errorf("reply URL got %d requests, want 3 ending with the 2nd attempt's reply", len(reqs))
		}
		if n := len(dls.requests()); n != 0 {
			t.Errorf("dead-letter sink got %d requests", n)
		}
	})
}
