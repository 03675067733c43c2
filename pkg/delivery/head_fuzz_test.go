package delivery

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/pkg/observability"
)

// FuzzRenderedHead builds fuzzed events and destinations and compares the
// request head the fast path writes (a rendered head: the destination's
// request line and Host, trace context, Basic auth, the Message's fields)
// with fasthttp's own serialization of the same request (the Message's
// header copied field by field, as redirects still build it). Properties:
// the rendered head is well formed (CRLF lines, one blank line at the end,
// no bare CR or LF inside a line) and holds the same lines as fasthttp's;
// a Message whose header fasthttp would refuse fails with an error instead.
func FuzzRenderedHead(f *testing.F) {
	f.Add("evt-1", "/weft/test", "dev.weft.test", "k1", "application/json", []byte(`{"hello":"world"}`), "/a%2Fb/c?x=1&y=%20", "user:p%40ss", true)
	f.Add("id", "src", "t", "", "", []byte(nil), "", "", false)
	f.Add("ünï", "urn:x", "t\tx", "ä b%", "text/plain; charset=utf-8", []byte("x"), "/p;q?r#s", "u", true)
	f.Add("a\r\nb", "s", "t", "v\x00", "x/y", []byte("z"), "/%zz", ":", false)
	f.Fuzz(func(t *testing.T, id, source, typ, ext, ct string, data []byte, path, userinfo string, traced bool) {
		ev := event.New()
		ev.SetID(id)
		ev.SetSource(source)
		ev.SetType(typ)
		if ext != "" {
			ev.SetExtension("fuzzext", ext)
		}
		if len(data) > 0 || ct != "" {
			if err := ev.SetData(ct, data); err != nil {
				return
			}
		}
		if ev.Validate() != nil {
			return
		}
		m := NewMessage(&ev)
		if m.err != nil {
			return
		}
		raw := "http://" + userinfo + "@h.example:8080" + path
		if userinfo == "" {
			raw = "http://h.example:8080" + path
		}
		var urls urlCache
		u, err := urls.parse(raw)
		if err != nil {
			return // refused before any attempt (TestSendURLWithoutHost)
		}
		tail, err := m.headTail()
		if err != nil {
			return // refused before anything is written
		}

		ctx := context.Background()
		if traced {
			tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
			sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
			ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
		}
		// The rendered head, as post builds it.
		var fc fastClient
		c := &fastCall{}
		c.render(ctx, observability.Propagator(), fc.target(u), tail)
		rendered := string(c.head)
		if !strings.HasSuffix(rendered, "\r\n\r\n") || strings.Count(rendered, "\r\n\r\n") != 1 {
			t.Fatalf("rendered head does not end its lines with one blank line: %q", rendered)
		}
		got := strings.Split(strings.TrimSuffix(rendered, "\r\n\r\n"), "\r\n")
		for _, l := range got {
			if strings.ContainsAny(l, "\r\n") {
				t.Fatalf("line %q of the rendered head holds a CR or LF", l)
			}
		}

		// fasthttp's serialization of the same request.
		req := fasthttp.AcquireRequest()
		defer fasthttp.ReleaseRequest(req)
		setRequest(req, m, targetURI(u), u.Host)
		traceFields := http.Header{}
		observability.Propagator().Inject(ctx, propagation.HeaderCarrier(traceFields))
		for k := range traceFields {
			req.Header.Set(k, traceFields.Get(k))
		}
		setBasicAuth(req, u)
		req.Header.SetUserAgent(fastUserAgent)
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		if err := req.Write(w); err != nil {
			t.Fatalf("fasthttp cannot write the request the rendered head describes: %v", err)
		}
		w.Flush()
		head, _, ok := strings.Cut(buf.String(), "\r\n\r\n")
		if !ok {
			t.Fatalf("fasthttp's request has no blank line: %q", buf.String())
		}
		want := strings.Split(head, "\r\n")
		if got[0] != want[0] {
			t.Fatalf("request line %q, fasthttp writes %q", got[0], want[0])
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("rendered head lines\n%q\nfasthttp's\n%q", got, want)
		}
	})
}
