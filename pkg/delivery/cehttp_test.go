package delivery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// wireEvent has every attribute type and the characters §3.1.3.2 encodes.
func wireEvent(t testing.TB) *event.Event {
	ev := event.New()
	ev.SetID("id 1")
	ev.SetSource("/a b/ü?q=\"x\"#f g")
	ev.SetType("t.é")
	ev.SetSubject(`sp ace "q" 100% é 😀`)
	ev.SetTime(time.Date(2024, 2, 29, 12, 0, 0, 500_000_000, time.UTC))
	ev.SetDataSchema("https://example.com/s?v=1")
	for name, v := range map[string]any{
		"exstring": "Euro € 😀", "exbool": true, "exint": int32(-7), "exbinary": []byte{0, 0xff, 'a'},
		"exuri": *types.ParseURI("urn:a:b%20c"), "exuriref": *types.ParseURIRef("../r?x= 1"),
		"extime":    types.Timestamp{Time: time.Date(1985, 4, 12, 23, 20, 50, 520_000_000, time.UTC)},
		"exascii":   "!#$&'()*+,/:;<=>?@[\\]^_`{|}~",
		"excontrol": "tab\there\x7f",
	} {
		if err := ev.Context.SetExtension(name, v); err != nil {
			t.Fatal(err)
		}
	}
	ev.SetDataContentType("text/plain")
	ev.DataEncoded = []byte("data")
	return &ev
}

// TestHTTPHeaderEncoding delivers wireEvent to a real server and checks the
// exact ce- header values on the wire (HTTP binding 1.0.2 §3.1.3.2).
func TestHTTPHeaderEncoding(t *testing.T) {
	sub := newServer(t, nil)
	s := newTestSender(t)
	res, err := s.Send(t.Context(), wireEvent(t), sub.URL, Policy{}, nil)
	if err != nil || res.Outcome != OutcomeDelivered {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	h := sub.requests()[0].header
	tests := []struct {
		id, header, want string
	}{
		{id: "CE-HTTP-1", header: "Ce-Subject", want: "sp%20ace%20%22q%22%20100%25%20%C3%A9%20%F0%9F%98%80"},
		{id: "CE-HTTP-2", header: "Ce-Exstring", want: "Euro%20%E2%82%AC%20%F0%9F%98%80"},
		{id: "CE-HTTP-3", header: "Ce-Exascii", want: "!#$&'()*+,/:;<=>?@[\\]^_`{|}~"},
		{id: "CE-HTTP-4", header: "Ce-Excontrol", want: "tab%09here%7F"},
		{id: "CE-HTTP-5", header: "Ce-Source", want: "/a%20b/%C3%BC?q=%22x%22#f%20g"},
		{id: "CE-HTTP-6", header: "Ce-Id", want: "id%201"},
		{id: "CE-HTTP-7", header: "Ce-Type", want: "t.%C3%A9"},
		{id: "CE-HTTP-8", header: "Ce-Time", want: "2024-02-29T12:00:00.5Z"},
		{id: "CE-HTTP-9", header: "Ce-Exbool", want: "true"},
		{id: "CE-HTTP-10", header: "Ce-Exint", want: "-7"},
		{id: "CE-HTTP-11", header: "Ce-Exbinary", want: "AP9h"},
		{id: "CE-HTTP-12", header: "Ce-Exuri", want: "urn:a:b%2520c"},
		{id: "CE-HTTP-13", header: "Ce-Exuriref", want: "../r?x=%201"},
		{id: "CE-HTTP-14", header: "Ce-Extime", want: "1985-04-12T23:20:50.52Z"},
		{id: "CE-HTTP-15", header: "Ce-Dataschema", want: "https://example.com/s?v=1"},
		{id: "CE-HTTP-16", header: "Content-Type", want: "text/plain"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			if got := h.Values(tc.header); len(got) != 1 || got[0] != tc.want {
				t.Errorf("%s: %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

// TestHTTPRepliesAndDeadLetters: binary-mode replies are percent-decoded;
// dead letters are percent-encoded like deliveries.
func TestHTTPRepliesAndDeadLetters(t *testing.T) {
	reply := func(subject string) func(int, http.ResponseWriter, *http.Request) {
		return func(_ int, w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			h["Ce-Specversion"] = []string{"1.0"}
			h["Ce-Id"] = []string{"r%201"}
			h["Ce-Source"] = []string{"/r%20s"}
			h["Ce-Type"] = []string{"reply"}
			h["Ce-Subject"] = []string{subject}
			w.WriteHeader(200)
		}
	}
	tests := []struct {
		id    string
		check func(t *testing.T)
	}{
		{id: "CE-HTTP-40", check: func(t *testing.T) {
			sub := newServer(t, reply("a%20b%20%C3%A9"))
			var r replies
			res, err := newTestSender(t).Send(t.Context(), testEvent(), sub.URL, Policy{}, r.fn)
			if err != nil || res.Outcome != OutcomeDelivered || len(r.got()) != 1 {
				t.Fatalf("Send = %+v, %v, %d replies", res, err, len(r.got()))
			}
			got := r.got()[0]
			if got.Subject() != "a b é" || got.ID() != "r 1" || got.Source() != "/r%20s" {
				t.Errorf("reply subject %q id %q source %q", got.Subject(), got.ID(), got.Source())
			}
		}},
		{id: "CE-HTTP-41", check: func(t *testing.T) {
			sub := newServer(t, reply("bad%zz"))
			_, _, err := readReplyOf(t, sub.URL)
			if !errors.Is(err, ErrMalformedReply) || !strings.Contains(err.Error(), "ce-subject") {
				t.Errorf("reply error = %v, want ErrMalformedReply naming ce-subject", err)
			}
		}},
		{id: "CE-HTTP-42", check: func(t *testing.T) {
			sub := newServer(t, status(500))
			dls := newServer(t, nil)
			res, _ := newTestSender(t).Send(t.Context(), wireEvent(t), sub.URL, Policy{DeadLetterURL: dls.URL}, nil)
			if res.Outcome != OutcomeDeadLettered || len(dls.requests()) != 1 {
				t.Fatalf("outcome %v, %d dead letters", res.Outcome, len(dls.requests()))
			}
			h := dls.requests()[0].header
			if got := h.Get("Ce-Subject"); got != "sp%20ace%20%22q%22%20100%25%20%C3%A9%20%F0%9F%98%80" {
				t.Errorf("dead letter Ce-Subject = %q", got)
			}
			if got := h.Get("Ce-Knativeerrordest"); got != sub.URL {
				t.Errorf("dead letter Ce-Knativeerrordest = %q", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.id, tc.check)
	}
}

func readReplyOf(t *testing.T, u string) (*event.Event, []byte, error) {
	resp, err := http.Post(u, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	return readReply(t.Context(), resp)
}

// pctDecoding percent-decodes ce- values (url.PathUnescape, an independent
// decoder) before the sdk-go receiver, which does not (cloudevents/sdk-go#1331).
func pctDecoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, vs := range r.Header {
			if strings.HasPrefix(k, "Ce-") {
				for i, v := range vs {
					d, err := url.PathUnescape(v)
					if err != nil {
						http.Error(w, err.Error(), 400)
						return
					}
					vs[i] = d
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestSDKReceiverInterop delivers to the sdk-go HTTP receiver and compares
// the event it gets with the one sent.
func TestSDKReceiverInterop(t *testing.T) {
	tests := []struct {
		id string
	}{
		{id: "CE-INTEROP-6"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			got := make(chan event.Event, 1)
			p, err := cloudevents.NewHTTP()
			if err != nil {
				t.Fatal(err)
			}
			h, err := cloudevents.NewHTTPReceiveHandler(t.Context(), p, func(_ context.Context, e event.Event) { got <- e })
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(pctDecoding(h))
			t.Cleanup(srv.Close)
			sent := wireEvent(t)
			sent.SetSource("https://example.com/a%20b?q=%C3%A9") // a valid URI-reference
			res, err := newTestSender(t).Send(t.Context(), sent, srv.URL, Policy{}, nil)
			if err != nil || res.Outcome != OutcomeDelivered {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			e := <-got
			want, have := attrs(t, sent), attrs(t, &e)
			for k, v := range want {
				if have[k] != v {
					t.Errorf("%s = %q, sent %q", k, have[k], v)
				}
			}
			if len(have) != len(want) || string(e.Data()) != "data" {
				t.Errorf("received %v / data %q, sent %v", have, e.Data(), want)
			}
		})
	}
}

func attrs(t *testing.T, e *event.Event) map[string]string {
	m := map[string]string{"id": e.ID(), "source": e.Source(), "type": e.Type(), "subject": e.Subject(),
		"datacontenttype": e.DataContentType(), "dataschema": e.DataSchema(), "time": types.FormatTime(e.Time())}
	for k, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			t.Fatal(err)
		}
		m[k] = s
	}
	return m
}
