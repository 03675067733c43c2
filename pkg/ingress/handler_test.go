package ingress_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
)

// stored is what a test expects one Kafka record to hold.
type stored struct {
	attrs map[string]string // every attribute but knativearrivaltime; knativebrokerttl defaults to 255
	data  string
	key   string
}

// bin is the attributes of a minimal binary-mode event.
func bin(id string, extra ...string) map[string]string {
	h := map[string]string{"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Source": "/src", "Ce-Type": "t.v1"}
	for i := 0; i < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

// attrs is the stored attributes of a minimal event, plus extra.
func attrs(id string, extra ...string) map[string]string {
	m := map[string]string{"specversion": "1.0", "id": id, "source": "/src", "type": "t.v1"}
	for i := 0; i < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func structured(id string, extra string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/src","type":"t.v1"%s}`, id, extra)
}

const (
	maxEvent = 2048
	maxBatch = 8192
)

// TestHandler posts valid and invalid requests in every mode and checks the
// status, the body, and exactly which records reached Kafka.
func TestHandler(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	// Every produce request the server sees must ask for acks from all
	// in-sync replicas.
	var produces, notAll atomic.Int64
	srv.Cluster().ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		produces.Add(1)
		if req.(*kmsg.ProduceRequest).Acks != -1 {
			notAll.Add(1)
		}
		return nil, nil, false
	})
	_, adm := adminFor(t, kcfg)
	const topic = "weft.broker.default.main"
	createTopic(t, adm, topic, 1)

	cfg := testConfig(kcfg)
	cfg.MaxEventBytes = maxEvent
	cfg.MaxBatchBytes = maxBatch
	cfg.MaxBatchEvents = 5
	cfg.ProduceTimeout = 1500 * time.Millisecond
	_, hs := serveIngress(t, cfg, contractOf(1,
		brokerEntry("default", "main", topic),
		brokerEntry("default", "notopic", "weft.broker.default.notopic"),
	))
	reader := newTopicReader(t, kcfg, adm, topic)

	binData := []byte{0, 1, 2, 0xff, 0xfe, 0, 'x'}
	big := strings.Repeat("x", maxEvent+1)
	atLimit := strings.Repeat("y", maxEvent)

	type tcase struct {
		name       string
		method     string            // default POST
		path       string            // default /default/main
		header     map[string]string // request headers
		body       string
		chunked    bool // hide the length (Transfer-Encoding: chunked)
		wantCode   int
		wantBody   string            // substring of the response body
		wantHeader map[string]string // response headers
		want       []stored          // records that must reach Kafka, in order
	}
	cases := []tcase{
		// Binary mode.
		{name: "binary minimal, no data", header: bin("b1"), wantCode: 202, wantBody: "stored",
			want: []stored{{attrs: attrs("b1")}}},
		{name: "binary json data", header: bin("b2", "Content-Type", "application/json"), body: `{"a": [1, 2]}`,
			wantCode: 202, want: []stored{{attrs: attrs("b2", "datacontenttype", "application/json"), data: `{"a": [1, 2]}`}}},
		{name: "binary binary data", header: bin("b3", "Content-Type", "application/octet-stream"), body: string(binData),
			wantCode: 202, want: []stored{{attrs: attrs("b3", "datacontenttype", "application/octet-stream"), data: string(binData)}}},
		{name: "binary all optional attributes", header: bin("b4", "Ce-Subject", "orders/1", "Ce-Time", "2024-05-01T10:11:12.5+02:00",
			"Ce-Dataschema", "https://example.com/schema", "Content-Type", "text/plain"), body: "hello",
			wantCode: 202, want: []stored{{attrs: attrs("b4", "subject", "orders/1", "time", "2024-05-01T08:11:12.5Z",
				"dataschema", "https://example.com/schema", "datacontenttype", "text/plain"), data: "hello"}}},
		{name: "binary extensions and partition key", header: bin("b5", "Ce-Myext", "v1", "Ce-Partitionkey", "customer-9", "Ce-Count", "7"),
			wantCode: 202, want: []stored{{attrs: attrs("b5", "myext", "v1", "partitionkey", "customer-9", "count", "7"), key: "customer-9"}}},
		{name: "binary keeps a given ttl", header: bin("b6", "Ce-Knativebrokerttl", "3"),
			wantCode: 202, want: []stored{{attrs: attrs("b6", "knativebrokerttl", "3")}}},
		{name: "binary arrival time is the ingress's", header: bin("b7", "Ce-Knativearrivaltime", "1999-01-01T00:00:00Z"),
			wantCode: 202, want: []stored{{attrs: attrs("b7")}}},
		{name: "binary at the size limit", header: bin("b8", "Content-Type", "text/plain"), body: atLimit,
			wantCode: 202, want: []stored{{attrs: attrs("b8", "datacontenttype", "text/plain"), data: atLimit}}},
		{name: "binary chunked body", header: bin("b9", "Content-Type", "text/plain"), body: "chunks", chunked: true,
			wantCode: 202, want: []stored{{attrs: attrs("b9", "datacontenttype", "text/plain"), data: "chunks"}}},
		{name: "trailing slash", path: "/default/main/", header: bin("b10"), wantCode: 202, want: []stored{{attrs: attrs("b10")}}},
		{name: "binary missing id", header: bin("", "Ce-Id", ""), wantCode: 400, wantBody: "id: "},
		{name: "binary missing source", header: map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "x", "Ce-Type": "t"}, wantCode: 400, wantBody: "source: "},
		{name: "binary missing type", header: map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "x", "Ce-Source": "/s"}, wantCode: 400, wantBody: "type: "},
		{name: "binary specversion 0.3 is kept", header: bin("x", "Ce-Specversion", "0.3"), wantCode: 202,
			want: []stored{{attrs: attrs("x", "specversion", "0.3")}}},
		{name: "binary specversion 0.2", header: bin("x", "Ce-Specversion", "0.2"), wantCode: 400, wantBody: "specversion: must be 1.0 or 0.3"},
		{name: "binary specversion missing", header: map[string]string{"Ce-Id": "x", "Ce-Source": "/s", "Ce-Type": "t"}, wantCode: 400, wantBody: "missing Ce-Specversion"},
		{name: "binary bad time", header: bin("x", "Ce-Time", "yesterday"), wantCode: 400, wantBody: "time: "},
		{name: "binary bad extension name", header: bin("x", "Ce-My-Ext", "v"), wantCode: 400, wantBody: `extension "my-Ext"`},
		{name: "binary bad ttl", header: bin("x", "Ce-Knativebrokerttl", "many"), wantCode: 400, wantBody: "knativebrokerttl: must be an integer"},
		{name: "binary bad datacontenttype", header: bin("x", "Content-Type", "not a/media type;;"), body: "d", wantCode: 400, wantBody: "datacontenttype: "},
		{name: "binary over the limit", header: bin("x"), body: big, wantCode: 413, wantBody: "limit is 2048"},
		{name: "binary chunked over the limit", header: bin("x"), body: big, chunked: true, wantCode: 413, wantBody: "limit of 2048"},

		// Structured mode.
		{name: "structured json data", header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body: structured("s1", `,"datacontenttype":"application/json","data":{"k": "v"}`), wantCode: 202,
			want: []stored{{attrs: attrs("s1", "datacontenttype", "application/json"), data: `{"k": "v"}`}}},
		{name: "structured base64 data", header: map[string]string{"Content-Type": "application/cloudevents+json; charset=utf-8"},
			body:     structured("s2", `,"datacontenttype":"application/octet-stream","data_base64":"`+base64.StdEncoding.EncodeToString(binData)+`"`),
			wantCode: 202, want: []stored{{attrs: attrs("s2", "datacontenttype", "application/octet-stream"), data: string(binData)}}},
		{name: "structured extensions of each type", header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body: structured("s3", `,"exstr":"a","exint":42,"exbool":true,"partitionkey":"pk"`), wantCode: 202,
			want: []stored{{attrs: attrs("s3", "exstr", "a", "exint", "42", "exbool", "true", "partitionkey", "pk"), key: "pk"}}},
		{name: "structured bad json", header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body: `{"specversion":"1.0",`, wantCode: 400, wantBody: "malformed structured event"},
		{name: "structured missing id", header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body: `{"specversion":"1.0","source":"/s","type":"t"}`, wantCode: 400, wantBody: "id: "},
		{name: "structured missing source and type", header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body: `{"specversion":"1.0","id":"x"}`, wantCode: 400, wantBody: "source: REQUIRED; type: "},
		{name: "structured specversion 0.3", header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body: `{"specversion":"0.3","id":"x","source":"/src","type":"t.v1"}`, wantCode: 202,
			want: []stored{{attrs: attrs("x", "specversion", "0.3")}}},
		{name: "structured no specversion", header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body: `{"id":"x","source":"/s","type":"t"}`, wantCode: 400, wantBody: "specversion"},
		{name: "structured bad extension value", header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body: structured("x", `,"exobj":{"a":1}`), wantCode: 400, wantBody: "exobj: an attribute value MUST be"},
		{name: "structured over the limit", header: map[string]string{"Content-Type": "application/cloudevents+json"},
			body: structured("x", `,"data":"`+big+`"`), wantCode: 413},
		{name: "structured unsupported format", header: map[string]string{"Content-Type": "application/cloudevents+xml"},
			body: "<event/>", wantCode: 415, wantBody: "application/cloudevents+json"},

		// Batch mode.
		{name: "batch of three", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body:     "[" + structured("m1", "") + "," + structured("m2", `,"datacontenttype":"text/plain","data":"two"`) + "," + structured("m3", `,"partitionkey":"k3"`) + "]",
			wantCode: 202, wantBody: "3 events stored",
			want: []stored{{attrs: attrs("m1")}, {attrs: attrs("m2", "datacontenttype", "text/plain"), data: "two"}, {attrs: attrs("m3", "partitionkey", "k3"), key: "k3"}}},
		{name: "batch with one bad event stores nothing", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body:     "[" + structured("n1", "") + `,{"specversion":"1.0","id":"n2","source":"/s"},` + structured("n3", "") + "]",
			wantCode: 400, wantBody: `event 1 of the batch (id "n2")`},
		{name: "batch malformed", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body: "[" + structured("n1", ""), wantCode: 400, wantBody: "malformed batch"},
		{name: "batch not an array", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body: structured("n1", ""), wantCode: 400, wantBody: "malformed batch"},
		{name: "batch with an oversized event stores nothing", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body: "[" + structured("n1", "") + "," + structured("n2", `,"data":"`+big+`"`) + "]", wantCode: 413, wantBody: "event 1 of the batch"},
		{name: "batch over the batch limit", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body: "[" + strings.Repeat(structured("n", "")+",", maxBatch/40) + structured("n", "") + "]", wantCode: 413},
		{name: "batch with too many events stores nothing", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body: "[" + strings.Repeat(structured("n", "")+",", 5) + structured("n", "") + "]", wantCode: 413, wantBody: "more than 5 events"},
		{name: "batch with data after the array", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body: "[" + structured("n1", "") + "] []", wantCode: 400, wantBody: "data after the array"},
		{name: "empty batch", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			body: "[]", wantCode: 202, wantBody: "0 events stored"},
		{name: "batch unsupported format", header: map[string]string{"Content-Type": "application/cloudevents-batch+xml"},
			body: "<events/>", wantCode: 415},

		// Not CloudEvents, wrong routes and methods.
		{name: "plain json without ce headers", header: map[string]string{"Content-Type": "application/json"}, body: "{}",
			wantCode: 415, wantBody: "binary-mode"},
		{name: "no content type, no ce headers", body: "x", wantCode: 415},
		{name: "unknown broker", path: "/default/nope", header: bin("x"), wantCode: 404, wantBody: "no such broker at /default/nope"},
		{name: "unknown namespace", path: "/other/main", header: bin("x"), wantCode: 404},
		{name: "root path", path: "/", header: bin("x"), wantCode: 404},
		{name: "GET", method: http.MethodGet, wantCode: 405, wantHeader: map[string]string{"Allow": "POST"}},
		{name: "PUT", method: http.MethodPut, header: bin("x"), wantCode: 405, wantHeader: map[string]string{"Allow": "POST"}},
		{name: "DELETE", method: http.MethodDelete, wantCode: 405, wantHeader: map[string]string{"Allow": "POST"}},
		{name: "OPTIONS", method: http.MethodOptions, wantCode: 200, wantHeader: map[string]string{"Allow": "POST"}},
		{name: "OPTIONS webhook validation", method: http.MethodOptions, header: map[string]string{"WebHook-Request-Origin": "example.com"},
			wantCode: 200, wantHeader: map[string]string{"Allow": "POST", "WebHook-Allowed-Origin": "*"}},
		{name: "broker whose topic does not exist", path: "/default/notopic", header: bin("x"), wantCode: 503,
			wantHeader: map[string]string{"Retry-After": "1"}},

		// Trace context is carried into the record.
		{name: "traceparent", header: bin("tp1", "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
			wantCode: 202, want: []stored{{attrs: attrs("tp1")}}},
	}

	client := hs.Client()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			path := tc.path
			if path == "" {
				path = "/default/main"
			}
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // no length known: chunked
			}
			if tc.body == "" {
				body = nil
			}
			req, err := http.NewRequest(method, hs.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			before := time.Now().UTC()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			respBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Logf("%d %s", resp.StatusCode, bytes.TrimSpace(respBody))
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.wantCode, respBody)
			}
			if tc.method != http.MethodOptions && len(bytes.TrimSpace(respBody)) == 0 {
				t.Errorf("empty body: every answer says why")
			}
			if !strings.Contains(string(respBody), tc.wantBody) {
				t.Errorf("body %q does not contain %q", respBody, tc.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); tc.method != http.MethodOptions && !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			for k, v := range tc.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}

			recs := reader.next()
			if len(recs) != len(tc.want) {
				t.Fatalf("%d records reached Kafka (%v), want %d", len(recs), idsOf(t, recs), len(tc.want))
			}
			for i, w := range tc.want {
				r := recs[i]
				e, err := cekafka.FromRecord(r)
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				got := attrsOf(t, e)
				arrival, ok := got["knativearrivaltime"]
				if !ok {
					t.Errorf("record %d: no knativearrivaltime", i)
				} else if at, err := time.Parse(time.RFC3339Nano, arrival); err != nil || !strings.HasSuffix(arrival, "Z") ||
					at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
					t.Errorf("record %d: knativearrivaltime %q is not the arrival time in RFC 3339 UTC", i, arrival)
				}
				delete(got, "knativearrivaltime")
				want := maps.Clone(w.attrs)
				if _, ok := want["knativebrokerttl"]; !ok {
					want["knativebrokerttl"] = "255"
				}
				if !maps.Equal(got, want) {
					t.Errorf("record %d attributes:\n got %v\nwant %v", i, sorted(got), sorted(want))
				}
				if r.ProducerID < 0 {
					t.Errorf("record %d was not written by an idempotent producer", i)
				}
				if string(r.Value) != w.data {
					t.Errorf("record %d data %q, want %q", i, r.Value, w.data)
				}
				if string(r.Key) != w.key || (w.key == "" && r.Key != nil) {
					t.Errorf("record %d key %q, want %q", i, r.Key, w.key)
				}
				if tp := tc.header["traceparent"]; tp != "" {
					var got string
					for _, h := range r.Headers {
						if h.Key == "traceparent" {
							got = string(h.Value)
						}
					}
					// Same trace; the span id is the ingress's server span
					// (or the caller's, with no tracer configured).
					if !strings.HasPrefix(got, tp[:36]) {
						t.Errorf("record traceparent %q, want trace of %q", got, tp)
					}
				}
			}
		})
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	if produces.Load() == 0 || notAll.Load() != 0 {
		t.Errorf("%d of %d produce requests did not ask for acks=all", notAll.Load(), produces.Load())
	}
}

func sorted(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%q ", k, m[k])
	}
	return b.String()
}
