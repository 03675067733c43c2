package ingress_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/delivery"
)

// record is what one stored Kafka record must hold: these headers with
// these values (a value of "-" means the header must be absent) and exactly
// this value.
type record struct {
	headers map[string]string
	value   string
}

const (
	ctStructured = "application/cloudevents+json"
	ctBatch      = "application/cloudevents-batch+json"
)

// ev is a structured 1.0 event with id and the members extra (a JSON
// fragment starting with a comma).
func ev(id, extra string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"/src","type":"t.v1"` + extra + `}`
}

// TestConformanceJSON posts, through the real ingress into a real
// Kafka-protocol server, one request per rule of the CloudEvents 1.0.2 JSON
// event format, core attribute rules and types, and specversion 0.3
// (docs/conformance.md lists every id), and checks the answer and the
// bytes stored.
func TestConformanceJSON(t *testing.T) {
	hs, reader := startConformanceIngress(t, "conf")

	cases := []struct {
		id       string
		name     string
		header   map[string]string // request headers; default Content-Type structured
		body     string
		wantCode int
		wantBody string   // fragment of the answer
		want     []record // records stored, in order
	}{
		// JSON event format 1.0.2.
		{id: "CE-JSON-1", name: "null optional attributes are absent",
			body: ev("j1", `,"datacontenttype":null,"subject":null,"time":null,"dataschema":null,"myext":null`), wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "-", "ce_subject": "-", "ce_time": "-", "ce_dataschema": "-", "ce_myext": "-", "ce_id": "j1"}}}},
		{id: "CE-JSON-2", name: "null required attribute is missing",
			body: `{"specversion":"1.0","id":null,"source":"/src","type":"t.v1"}`, wantCode: 400, wantBody: "id: MUST be a non-empty string"},
		{id: "CE-JSON-3", name: "data and data_base64 together",
			body: ev("j3", `,"data":"x","data_base64":"eA=="`), wantCode: 400, wantBody: "data and data_base64 MUST NOT both be present"},
		{id: "CE-JSON-4", name: "+json media type with object data is JSON",
			body: ev("j4", `,"datacontenttype":"application/vnd.x+json","data":{"a":[1, 2]}`), wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "application/vnd.x+json"}, value: `{"a":[1, 2]}`}}},
		{id: "CE-JSON-5", name: "+json string data is not parsed again",
			body: ev("j5", `,"datacontenttype":"application/vnd.x+json","data":"{\"a\":1}"`), wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "application/vnd.x+json"}, value: `"{\"a\":1}"`}}},
		{id: "CE-JSON-6", name: "application/json string data is a JSON string",
			body: ev("j6", `,"datacontenttype":"application/json","data":"hello"`), wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "application/json"}, value: `"hello"`}}},
		{id: "CE-JSON-7", name: "absent datacontenttype with data is application/json",
			body: ev("j7", `,"data":{"k":1}`), wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "application/json"}, value: `{"k":1}`}}},
		{id: "CE-JSON-8", name: "non-JSON media type: data is the string's text",
			body: ev("j8", `,"datacontenttype":"text/plain","data":"h\u00e9llo\n\"q\""`), wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "text/plain"}, value: "héllo\n\"q\""}}},
		{id: "CE-JSON-9", name: "non-JSON media type with non-string data",
			body: ev("j9", `,"datacontenttype":"text/plain","data":{"a":1}`), wantCode: 400, wantBody: "data: MUST be a JSON string"},
		{id: "CE-JSON-10", name: "data_base64 is decoded",
			body: ev("j10", `,"datacontenttype":"application/octet-stream","data_base64":"AAH/"`), wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "application/octet-stream"}, value: "\x00\x01\xff"}}},
		{id: "CE-JSON-11", name: "data_base64 not base64",
			body: ev("j11", `,"data_base64":"not base64!"`), wantCode: 400, wantBody: "data_base64: is not valid base64"},
		{id: "CE-JSON-12", name: "batch: one event breaking a rule refuses the batch",
			header: map[string]string{"Content-Type": ctBatch},
			body:   "[" + ev("j12a", "") + "," + ev("j12b", `,"data":1,"data_base64":"AA=="`) + "]", wantCode: 400,
			wantBody: `event 1 of the batch (id "j12b"): data_base64: data and data_base64 MUST NOT both be present`},
		{id: "CE-JSON-13", name: "batch: the same rules store each event",
			header:   map[string]string{"Content-Type": ctBatch},
			body:     "[" + ev("j13a", `,"subject":null,"datacontenttype":"application/ld+json","data":{"@id":"x"}`) + "," + ev("j13b", `,"data":"s"`) + "]",
			wantCode: 202, wantBody: "2 events stored",
			want: []record{{headers: map[string]string{"content-type": "application/ld+json", "ce_subject": "-"}, value: `{"@id":"x"}`},
				{headers: map[string]string{"content-type": "application/json"}, value: `"s"`}}},
		{id: "CE-JSON-14", name: "a member given twice",
			body: ev("j14", `,"type":"t.v2"`), wantCode: 400, wantBody: "type: member given twice"},
		{id: "CE-JSON-15", name: "data null under a JSON type is an explicit null payload",
			body: ev("j15", `,"data":null`), wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "application/json"}, value: `null`}}},
		{id: "CE-JSON-16", name: "not a JSON object",
			body: `["specversion"]`, wantCode: 400, wantBody: "malformed structured event: want a JSON object"},

		// Core attributes: non-empty values, media type, names.
		{id: "CE-CORE-1", name: "empty id", body: ev("", ""), wantCode: 400, wantBody: "id: MUST be a non-empty string"},
		{id: "CE-CORE-2", name: "empty source", body: `{"specversion":"1.0","id":"c2","source":"","type":"t"}`, wantCode: 400, wantBody: "source: REQUIRED"},
		{id: "CE-CORE-3", name: "empty type", body: `{"specversion":"1.0","id":"c3","source":"/s","type":""}`, wantCode: 400, wantBody: "type: MUST be a non-empty string"},
		{id: "CE-CORE-4", name: "empty specversion", body: `{"specversion":"","id":"c4","source":"/s","type":"t"}`, wantCode: 400, wantBody: `specversion: must be 1.0 or 0.3, not ""`},
		{id: "CE-CORE-5", name: "empty subject", body: ev("c5", `,"subject":""`), wantCode: 400, wantBody: "subject: if present, MUST be a non-empty string"},
		{id: "CE-CORE-6", name: "empty dataschema", body: ev("c6", `,"dataschema":""`), wantCode: 400, wantBody: "dataschema: if present, MUST be a non-empty absolute URI"},
		{id: "CE-CORE-7", name: "relative dataschema", body: ev("c7", `,"dataschema":"/schemas/a"`), wantCode: 400, wantBody: "dataschema: if present, MUST be a non-empty absolute URI"},
		{id: "CE-CORE-8", name: "empty datacontenttype", body: ev("c8", `,"datacontenttype":""`), wantCode: 400, wantBody: "datacontenttype: if present, MUST be a non-empty RFC 2046 media type"},
		{id: "CE-CORE-9", name: "datacontenttype not a media type", body: ev("c9", `,"datacontenttype":"xyz","data":"d"`), wantCode: 400, wantBody: `datacontenttype: "xyz" is not an RFC 2046 media type`},
		{id: "CE-CORE-10", name: "media type with parameters kept as sent",
			body: ev("c10", `,"datacontenttype":"text/plain; charset=utf-8","data":"d"`), wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "text/plain; charset=utf-8"}, value: "d"}}},
		{id: "CE-CORE-11", name: "upper-case extension name", body: ev("c11", `,"myExt":"v"`), wantCode: 400, wantBody: "myExt: attribute names MUST consist of lower-case letters a-z and digits 0-9"},
		{id: "CE-CORE-12", name: "extension name with an underscore", body: ev("c12", `,"my_ext":"v"`), wantCode: 400, wantBody: "my_ext: attribute names MUST"},
		{id: "CE-CORE-13", name: "extension name with a hyphen", body: ev("c13", `,"my-ext":"v"`), wantCode: 400, wantBody: "my-ext: attribute names MUST"},
		{id: "CE-CORE-14", name: "extension name over 20 characters (a SHOULD) is accepted",
			body: ev("c14", `,"abcdefghijklmnopqrstuvwxyz0123":"v"`), wantCode: 202,
			want: []record{{headers: map[string]string{"ce_abcdefghijklmnopqrstuvwxyz0123": "v"}}}},
		{id: "CE-CORE-15", name: "binary mode: datacontenttype not a media type",
			header: map[string]string{"Content-Type": "xyz", "Ce-Specversion": "1.0", "Ce-Id": "c15", "Ce-Source": "/s", "Ce-Type": "t"},
			body:   "d", wantCode: 400, wantBody: `datacontenttype: "xyz" is not an RFC 2046 media type`},
		{id: "CE-CORE-16", name: "binary mode: a +json body is stored as sent",
			header: map[string]string{"Content-Type": "application/vnd.x+json", "Ce-Specversion": "1.0", "Ce-Id": "c16", "Ce-Source": "/s", "Ce-Type": "t"},
			body:   `{"a":1}`, wantCode: 202,
			want: []record{{headers: map[string]string{"content-type": "application/vnd.x+json"}, value: `{"a":1}`}}},

		// Types of extension values.
		{id: "CE-TYPE-1", name: "number with a fraction is not an Integer", body: ev("y1", `,"num":1.5`), wantCode: 400, wantBody: "num: 1.5 is not an Integer"},
		{id: "CE-TYPE-2", name: "number with an exponent is not an Integer", body: ev("y2", `,"num":1e3`), wantCode: 400, wantBody: "num: 1e3 is not an Integer"},
		{id: "CE-TYPE-3", name: "integral number written with a fraction", body: ev("y3", `,"num":1.0`), wantCode: 400, wantBody: "num: 1.0 is not an Integer"},
		{id: "CE-TYPE-4", name: "Integer above the 32-bit range", body: ev("y4", `,"num":2147483648`), wantCode: 400, wantBody: "num: 2147483648 is not an Integer: MUST be within the signed 32-bit range"},
		{id: "CE-TYPE-5", name: "Integer at the 32-bit bounds",
			body: ev("y5", `,"lo":-2147483648,"hi":2147483647`), wantCode: 202,
			want: []record{{headers: map[string]string{"ce_lo": "-2147483648", "ce_hi": "2147483647"}}}},
		{id: "CE-TYPE-6", name: "object or array extension value", body: ev("y6", `,"obj":[1]`), wantCode: 400, wantBody: "obj: an attribute value MUST be a string, a boolean or an integer"},
		{id: "CE-TYPE-7", name: "Boolean, String and Integer extensions",
			body: ev("y7", `,"b":true,"s":"t\u00fc","i":-7`), wantCode: 202,
			want: []record{{headers: map[string]string{"ce_b": "true", "ce_s": "tü", "ce_i": "-7"}}}},
		{id: "CE-TYPE-8", name: "time not an RFC 3339 Timestamp", body: ev("y8", `,"time":"2024-05-01 10:00"`), wantCode: 400, wantBody: "time: "},
		{id: "CE-TYPE-9", name: "String attribute given a number", body: `{"specversion":"1.0","id":9,"source":"/s","type":"t"}`, wantCode: 400, wantBody: "id: MUST be a JSON string"},
		{id: "CE-TYPE-10", name: "source not a URI-reference", body: `{"specversion":"1.0","id":"y10","source":"http://[::1","type":"t"}`, wantCode: 400, wantBody: "source: "},

		// Spec version 0.3, kept as 0.3.
		{id: "CE-V03-1", name: "structured 0.3 stored as 0.3 with its attribute names",
			body:     `{"specversion":"0.3","id":"v1","source":"/src","type":"t.v1","schemaurl":"https://x/s","subject":null,"datacontenttype":"application/json","data":{"a":1}}`,
			wantCode: 202,
			want:     []record{{headers: map[string]string{"ce_specversion": "0.3", "ce_schemaurl": "https://x/s", "ce_dataschema": "-", "content-type": "application/json"}, value: `{"a":1}`}}},
		{id: "CE-V03-2", name: "0.3 datacontentencoding base64: the data is decoded, the attribute dropped",
			body:     `{"specversion":"0.3","id":"v2","source":"/src","type":"t.v1","datacontenttype":"application/octet-stream","datacontentencoding":"base64","data":"AAH/"}`,
			wantCode: 202,
			want:     []record{{headers: map[string]string{"ce_specversion": "0.3", "ce_datacontentencoding": "-", "content-type": "application/octet-stream"}, value: "\x00\x01\xff"}}},
		{id: "CE-V03-3", name: "0.3 datacontentencoding other than base64",
			body: `{"specversion":"0.3","id":"v3","source":"/src","type":"t","datacontentencoding":"gzip","data":"x"}`, wantCode: 400, wantBody: `datacontentencoding: if present, MUST be "base64"`},
		{id: "CE-V03-4", name: "0.3 has no data_base64",
			body: `{"specversion":"0.3","id":"v4","source":"/src","type":"t","data_base64":"AA=="}`, wantCode: 400, wantBody: "data_base64: attribute names MUST"},
		{id: "CE-V03-5", name: "binary 0.3 stored as 0.3",
			header: map[string]string{"Ce-Specversion": "0.3", "Ce-Id": "v5", "Ce-Source": "/src", "Ce-Type": "t", "Ce-Schemaurl": "https://x/s", "Content-Type": "text/plain"},
			body:   "hi", wantCode: 202,
			want: []record{{headers: map[string]string{"ce_specversion": "0.3", "ce_schemaurl": "https://x/s", "content-type": "text/plain"}, value: "hi"}}},
		{id: "CE-V03-6", name: "other spec versions refused", body: `{"specversion":"0.2","id":"v6","source":"/s","type":"t"}`, wantCode: 400, wantBody: `specversion: must be 1.0 or 0.3, not "0.2"`},
	}
	for _, tc := range cases {
		t.Run(tc.id+" "+tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, hs.URL+"/default/conf", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ctStructured)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("answer %d %q, want %d containing %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
			recs := reader.next()
			if len(recs) != len(tc.want) {
				t.Fatalf("%d records stored, want %d", len(recs), len(tc.want))
			}
			for i, w := range tc.want {
				got := map[string]string{}
				for _, h := range recs[i].Headers {
					got[h.Key] = string(h.Value)
				}
				for k, v := range w.headers {
					g, ok := got[k]
					switch {
					case v == "-" && ok:
						t.Errorf("record %d: header %s = %q, want none", i, k, g)
					case v != "-" && g != v:
						t.Errorf("record %d: header %s = %q, want %q", i, k, g, v)
					}
				}
				if string(recs[i].Value) != w.value {
					t.Errorf("record %d: value %q, want %q", i, recs[i].Value, w.value)
				}
				if _, err := cekafka.FromRecord(recs[i]); err != nil {
					t.Errorf("record %d does not decode: %v", i, err)
				}
			}
		})
	}
}

// TestConformanceV03Path follows a 0.3 event the whole way: structured
// into the ingress, the Kafka record read back and decoded as the
// dispatcher does (cekafka.FromRecord), then delivered in binary mode to a
// subscriber, which must see 0.3 with its 0.3 attribute names.
func TestConformanceV03Path(t *testing.T) {
	for _, tc := range []struct {
		id, name, body string
		wantHeader     map[string]string
		wantBody       string
	}{
		{id: "CE-V03-7", name: "schemaurl and JSON data",
			body:       `{"specversion":"0.3","id":"p1","source":"/src","type":"t.v1","schemaurl":"https://x/s","subject":"sub","myext":5,"datacontenttype":"application/json","data":{"a":1}}`,
			wantHeader: map[string]string{"Ce-Specversion": "0.3", "Ce-Id": "p1", "Ce-Schemaurl": "https://x/s", "Ce-Subject": "sub", "Ce-Myext": "5", "Content-Type": "application/json", "Ce-Dataschema": ""},
			wantBody:   `{"a":1}`},
		{id: "CE-V03-8", name: "datacontentencoding base64",
			body:       `{"specversion":"0.3","id":"p2","source":"/src","type":"t.v1","datacontenttype":"application/octet-stream","datacontentencoding":"base64","data":"AAH/"}`,
			wantHeader: map[string]string{"Ce-Specversion": "0.3", "Ce-Datacontentencoding": "", "Content-Type": "application/octet-stream"},
			wantBody:   "\x00\x01\xff"},
	} {
		t.Run(tc.id+" "+tc.name, func(t *testing.T) {
			srv := testutil.StartKafka(t)
			kcfg := testutil.KafkaConfig(srv)
			_, adm := adminFor(t, kcfg)
			const topic = "weft.broker.default.v03"
			createTopic(t, adm, topic, 1)
			_, hs := serveIngress(t, testConfig(kcfg), contractOf(1, brokerEntry("default", "v03", topic)))
			resp, err := hs.Client().Post(hs.URL+"/default/v03", ctStructured, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("ingress answered %d", resp.StatusCode)
			}
			recs := newTopicReader(t, kcfg, adm, topic).next()
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			e, err := cekafka.FromRecord(recs[0])
			if err != nil {
				t.Fatal(err)
			}
			if e.SpecVersion() != "0.3" {
				t.Fatalf("decoded specversion %q", e.SpecVersion())
			}

			got := make(chan *http.Request, 1)
			gotBody := make(chan string, 1)
			sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- r
				gotBody <- string(b)
				w.WriteHeader(http.StatusAccepted)
			}))
			t.Cleanup(sub.Close)
			s := delivery.NewSender(delivery.WithMeterProvider(noop.NewMeterProvider()))
			t.Cleanup(s.CloseIdleConnections)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := s.Send(ctx, e, sub.URL, delivery.Policy{}, nil)
			if err != nil || res.Outcome != delivery.OutcomeDelivered {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			r := <-got
			for k, v := range tc.wantHeader {
				if g := r.Header.Get(k); g != v {
					t.Errorf("delivered %s = %q, want %q", k, g, v)
				}
			}
			if b := <-gotBody; b != tc.wantBody {
				t.Errorf("delivered body %q, want %q", b, tc.wantBody)
			}
		})
	}
}
