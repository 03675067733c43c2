package delivery

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConformanceJSONReplies answers a delivery with a reply in structured
// mode (or binary mode where noted) from a real subscriber and checks that
// the reply is taken by the same strict rules as at the ingress
// (docs/conformance.md): a valid one reaches the ReplyFunc with the
// attributes and data below, an invalid one fails the attempt with
// ErrMalformedReply naming the fault.
func TestConformanceJSONReplies(t *testing.T) {
	cases := []struct {
		id       string
		name     string
		header   map[string]string // default Content-Type structured
		body     string
		wantErr  string // fragment of the fault; "" when the reply is valid
		wantCT   string // the reply's datacontenttype
		wantData string
		wantSV   string // default 1.0
	}{
		{id: "CE-JSON-17", name: "reply: null attributes are absent",
			body: `{"specversion":"1.0","id":"r1","source":"/s","type":"t","subject":null,"datacontenttype":null}`},
		{id: "CE-JSON-18", name: "reply: data and data_base64 together",
			body: `{"specversion":"1.0","id":"r2","source":"/s","type":"t","data":1,"data_base64":"AA=="}`, wantErr: "data and data_base64 MUST NOT both be present"},
		{id: "CE-JSON-19", name: "reply: +json data is JSON, a string not parsed again",
			body:   `{"specversion":"1.0","id":"r3","source":"/s","type":"t","datacontenttype":"application/vnd.x+json","data":"{\"a\":1}"}`,
			wantCT: "application/vnd.x+json", wantData: `"{\"a\":1}"`},
		{id: "CE-JSON-20", name: "reply: absent datacontenttype with data is application/json",
			body: `{"specversion":"1.0","id":"r4","source":"/s","type":"t","data":[1,2]}`, wantCT: "application/json", wantData: `[1,2]`},
		{id: "CE-CORE-17", name: "reply: empty subject",
			body: `{"specversion":"1.0","id":"r5","source":"/s","type":"t","subject":""}`, wantErr: "subject: if present, MUST be a non-empty string"},
		{id: "CE-CORE-18", name: "reply: upper-case extension name",
			body: `{"specversion":"1.0","id":"r6","source":"/s","type":"t","Ext":"v"}`, wantErr: "Ext: attribute names MUST"},
		{id: "CE-CORE-19", name: "reply in binary mode: datacontenttype not a media type",
			header:  map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "r7", "Ce-Source": "/s", "Ce-Type": "t", "Content-Type": "xyz"},
			body:    "d",
			wantErr: `datacontenttype: "xyz" is not an RFC 2046 media type`},
		{id: "CE-TYPE-11", name: "reply: number with a fraction is not an Integer",
			body: `{"specversion":"1.0","id":"r8","source":"/s","type":"t","num":1.5}`, wantErr: "num: 1.5 is not an Integer"},
		{id: "CE-V03-9", name: "reply: 0.3 kept as 0.3",
			body:   `{"specversion":"0.3","id":"r9","source":"/s","type":"t","schemaurl":"https://x/s","datacontenttype":"text/plain","data":"hi"}`,
			wantSV: "0.3", wantCT: "text/plain", wantData: "hi"},
	}
	for _, tc := range cases {
		t.Run(tc.id+" "+tc.name, func(t *testing.T) {
			srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/cloudevents+json")
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Write([]byte(tc.body))
			})
			var r replies
			res, err := newTestSender(t).Send(t.Context(), testEvent(), srv.URL, Policy{Delay: time.Millisecond}, r.fn)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				if !errors.Is(res.Err, ErrMalformedReply) || !strings.Contains(res.Err.Error(), tc.wantErr) {
					t.Fatalf("Result.Err = %v, want ErrMalformedReply containing %q", res.Err, tc.wantErr)
				}
				if r.calls != 0 {
					t.Errorf("ReplyFunc called for an invalid reply")
				}
				return
			}
			got := r.got()
			if res.Outcome != OutcomeDelivered || len(got) != 1 {
				t.Fatalf("Send = %+v; %d replies", res, len(got))
			}
			e := got[0]
			sv := tc.wantSV
			if sv == "" {
				sv = "1.0"
			}
			if e.SpecVersion() != sv || e.DataContentType() != tc.wantCT || string(e.Data()) != tc.wantData || e.Subject() != "" {
				t.Errorf("reply specversion %q datacontenttype %q data %q subject %q, want %q %q %q \"\"",
					e.SpecVersion(), e.DataContentType(), e.Data(), e.Subject(), sv, tc.wantCT, tc.wantData)
			}
		})
	}
}
