package ingress_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
)

// startConformanceIngress is a real ingress on a real Kafka-protocol server
// serving the broker /default/{broker}, and a reader of the broker's topic.
func startConformanceIngress(t *testing.T, broker string) (*httptest.Server, *topicReader) {
	t.Helper()
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	topic := "weft.broker.default." + broker
	createTopic(t, adm, topic, 1)
	_, hs := serveIngress(t, testConfig(kcfg), contractOf(1, brokerEntry("default", broker, topic)))
	return hs, newTopicReader(t, kcfg, adm, topic)
}

// TestHTTPHeaderDecoding posts binary-mode events whose ce- values are
// percent-encoded (HTTP binding 1.0.2 §3.1.3.2) and checks the answer and
// the exact ce_ header bytes of the record stored.
func TestHTTPHeaderDecoding(t *testing.T) {
	hs, reader := startConformanceIngress(t, "main")
	tests := []struct {
		id       string
		header   map[string]string // besides Ce-Specversion 1.0, Ce-Type t
		wantCode int
		wantBody string            // substring of the answer
		want     map[string]string // record headers
	}{
		{id: "CE-HTTP-20", header: map[string]string{"Ce-Id": "h20", "Ce-Source": "/s", "Ce-Subject": "hello%20world"},
			wantCode: 202, want: map[string]string{"ce_subject": "hello world"}},
		{id: "CE-HTTP-21", header: map[string]string{"Ce-Id": "h21", "Ce-Source": "/a%20b/%C3%BC"},
			wantCode: 202, want: map[string]string{"ce_source": "/a b/ü"}},
		{id: "CE-HTTP-22", header: map[string]string{"Ce-Id": "h22", "Ce-Source": "/s", "Ce-Myext": "100%25%20%22q%22%20%F0%9F%98%80"},
			wantCode: 202, want: map[string]string{"ce_myext": `100% "q" 😀`}},
		{id: "CE-HTTP-23", header: map[string]string{"Ce-Id": "h23", "Ce-Source": "/s", "Ce-Subject": "caf%c3%a9"},
			wantCode: 202, want: map[string]string{"ce_subject": "café"}},
		{id: "CE-HTTP-24", header: map[string]string{"Ce-Id": "%68%32%34", "Ce-Source": "/s", "Ce-Time": "2018-04-05T03%3A56%3A24Z"},
			wantCode: 202, want: map[string]string{"ce_id": "h24", "ce_time": "2018-04-05T03:56:24Z"}},
		{id: "CE-HTTP-25", header: map[string]string{"Ce-Id": "h25", "Ce-Source": "/s", "Ce-Subject": "%2520"},
			wantCode: 202, want: map[string]string{"ce_subject": "%20"}},
		{id: "CE-HTTP-26", header: map[string]string{"Ce-Id": "h26", "Ce-Source": "/s", "Ce-Subject": `"a b \"q\" 5%25"`},
			wantCode: 202, want: map[string]string{"ce_subject": `a b "q" 5%`}},
		{id: "CE-HTTP-27", header: map[string]string{"Ce-Id": "h27", "Ce-Source": "/s", "Ce-Subject": "a%zzb"},
			wantCode: 400, wantBody: `ce-subject: malformed header value: bad percent-escape "%zz"`},
		{id: "CE-HTTP-28", header: map[string]string{"Ce-Id": "h28", "Ce-Source": "/s", "Ce-Myext": "%C0%A0"},
			wantCode: 400, wantBody: "ce-myext: malformed header value: percent-escapes do not decode to UTF-8"},
		{id: "CE-HTTP-29", header: map[string]string{"Ce-Id": "h29", "Ce-Source": "/s", "Ce-Subject": "x%4"},
			wantCode: 400, wantBody: `ce-subject: malformed header value: bad percent-escape "%4"`},
		{id: "CE-HTTP-30", header: map[string]string{"Ce-Id": "h30", "Ce-Source": "/s", "Ce-Subject": "raw \xc3\xa9 \"q\""},
			wantCode: 202, want: map[string]string{"ce_subject": `raw é "q"`}},
		{id: "CE-HTTP-31", header: map[string]string{"Ce-Id": "h31", "Ce-Source": "/s", "Ce-Subject": "\xff"},
			wantCode: 400, wantBody: "ce-subject: malformed header value: not UTF-8"},
		{id: "CE-HTTP-32", header: map[string]string{"Ce-Id": "h32", "Ce-Source": "/s", "Ce-Subject": ""},
			wantCode: 400, wantBody: "ce-subject: must not be empty"},
		{id: "CE-HTTP-33", header: map[string]string{"Ce-Id": "h33", "Ce-Source": "/s", "Ce-Dataschema": ""},
			wantCode: 400, wantBody: "ce-dataschema: must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, hs.URL+"/default/main", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header["Ce-Specversion"] = []string{"1.0"}
			req.Header["Ce-Type"] = []string{"t"}
			for k, v := range tc.header {
				req.Header[k] = []string{v}
			}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("answer %d %q, want %d containing %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
			if tc.wantCode != 202 {
				return
			}
			recs := reader.next()
			if len(recs) != 1 {
				t.Fatalf("%d records stored, want 1", len(recs))
			}
			got := map[string]string{}
			for _, h := range recs[0].Headers {
				got[h.Key] = string(h.Value)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("record header %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// pctEncoding is an independent §3.1.3.2 encoder for the tests: sdk-go
// v2.16 writes ce- values raw (cloudevents/sdk-go#1331), so the sdk-go
// client's requests go through it.
type pctEncoding struct{ next http.RoundTripper }

func (p pctEncoding) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range r.Header {
		if !strings.HasPrefix(k, "Ce-") {
			continue
		}
		for i, v := range vs {
			var b strings.Builder
			for _, c := range []byte(v) {
				if c > ' ' && c < 0x7f && c != '"' && c != '%' {
					b.WriteByte(c)
				} else {
					fmt.Fprintf(&b, "%%%02X", c)
				}
			}
			vs[i] = b.String()
		}
	}
	return p.next.RoundTrip(r)
}

// interopEvent has every attribute type and the characters §3.1.3.2 encodes.
func interopEvent(t testing.TB, id string) event.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("https://example.com/a%20b?q=1")
	e.SetType("com.example.interop")
	e.SetSubject(`sp ace "q" 100% é 😀`)
	e.SetTime(time.Date(2024, 2, 29, 12, 0, 0, 500_000_000, time.UTC))
	e.SetDataSchema("https://example.com/schema")
	for name, v := range map[string]any{
		"exstring": `x "y" 50% ü`, "exbool": true, "exint": int32(-7), "exbinary": []byte{0, 0xff, 'a'},
		"exuri":    *types.ParseURI("urn:a:b"),
		"exuriref": "../r?x=1",
		"extime":   types.Timestamp{Time: time.Date(1985, 4, 12, 23, 20, 50, 520_000_000, time.UTC)},
	} {
		if err := e.Context.SetExtension(name, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.SetData("text/plain", []byte("interop data")); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestSDKSenderInterop sends with the sdk-go HTTP client (binary mode) to
// the ingress and compares the stored event with the one sent.
func TestSDKSenderInterop(t *testing.T) {
	hs, reader := startConformanceIngress(t, "main")
	tests := []struct {
		id       string
		encode   bool // the client's ce- values percent-encoded
		subject  string
		wantCode int
	}{
		// Every attribute type through the sdk-go client plus §3.1.3.2.
		{id: "CE-INTEROP-1", encode: true, subject: `sp ace "q" 100% é 😀`, wantCode: 202},
		// The sdk-go client as it is (no percent-encoding): raw space, quote
		// and UTF-8 are read as is; a raw '%' not followed by two hex digits
		// is a malformed escape.
		{id: "CE-INTEROP-2", encode: false, subject: `sp ace "q" é 😀`, wantCode: 202},
		{id: "CE-INTEROP-3", encode: false, subject: "100% sure", wantCode: 400},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			rt := http.DefaultTransport
			if tc.encode {
				rt = pctEncoding{next: rt}
			}
			c, err := cloudevents.NewClientHTTP(cehttp.WithRoundTripper(rt))
			if err != nil {
				t.Fatal(err)
			}
			sent := interopEvent(t, tc.id)
			sent.SetSubject(tc.subject)
			if !tc.encode {
				_ = sent.Context.SetExtension("exstring", "plain")
			}
			ctx := cloudevents.ContextWithTarget(context.Background(), hs.URL+"/default/main")
			res := c.Send(ctx, sent)
			var hr *cehttp.Result
			if !cloudevents.ResultAs(res, &hr) || hr.StatusCode != tc.wantCode {
				t.Fatalf("send: %v, want status %d", res, tc.wantCode)
			}
			if tc.wantCode != 202 {
				return
			}
			recs := reader.next()
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			got, err := cekafka.FromRecord(recs[0])
			if err != nil {
				t.Fatal(err)
			}
			assertSameEvent(t, &sent, got, "knativearrivaltime", "knativebrokerttl")
		})
	}
}

// assertSameEvent compares two events attribute by attribute as canonical
// strings, and their data, ignoring the extensions named.
func assertSameEvent(t *testing.T, want, got *event.Event, ignore ...string) {
	t.Helper()
	w, g := attrsOf(t, want), attrsOf(t, got)
	for _, k := range ignore {
		delete(w, k)
		delete(g, k)
	}
	for k, v := range w {
		if g[k] != v {
			t.Errorf("%s = %q, sent %q", k, g[k], v)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("%s = %q, not sent", k, g[k])
		}
	}
	if string(want.Data()) != string(got.Data()) {
		t.Errorf("data = %q, sent %q", got.Data(), want.Data())
	}
}
