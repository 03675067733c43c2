package ingress_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/ceformat"
	"github.com/weft-dev/weft/pkg/ceheader"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/wire"
)

// recordTap keeps a copy of every record the ingress's producer buffers
// (a franz-go hook on the real client: the records still go to Kafka).
type recordTap struct {
	mu   sync.Mutex
	recs []*kgo.Record
}

var _ kgo.HookProduceRecordBuffered = (*recordTap)(nil)

func (t *recordTap) OnProduceRecordBuffered(r *kgo.Record) {
	c := &kgo.Record{Topic: r.Topic, Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value)}
	for _, h := range r.Headers {
		c.Headers = append(c.Headers, kgo.RecordHeader{Key: h.Key, Value: bytes.Clone(h.Value)})
	}
	t.mu.Lock()
	t.recs = append(t.recs, c)
	t.mu.Unlock()
}

func (t *recordTap) take() []*kgo.Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.recs
	t.recs = nil
	return out
}

// fuzzHeaders parses "Name: value" lines into a request header as net/http
// would hand it to the handler (canonical names, repeated names kept).
func fuzzHeaders(s string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			continue
		}
		h.Add(k, strings.TrimLeft(v, " "))
	}
	return h
}

// FuzzIngressRequest posts fuzzed binary-mode, structured and batch requests
// (Content-Type, headers, body) to a real ingress storing into a real
// Kafka-protocol server, at a broker (binary records, stamped) or at a
// structured-mode KafkaSink. Properties: the handler never panics nor
// answers 5xx; an answer other than 202 stores nothing; a 202 stores one
// record per event, each decoding (cekafka.FromRecord) to a valid event
// equal to what the request carried, and re-encoding to an equal event.
func FuzzIngressRequest(f *testing.F) {
	for _, s := range ingressSeeds() {
		f.Add(s.ct, s.headers, []byte(s.body), s.sink)
	}

	srv := testutil.StartKafka(f)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(f, kcfg)
	createTopic(f, adm, "weft.broker.default.fuzz", 1)
	createTopic(f, adm, "fuzz-sink", 1)
	cfg := testConfig(kcfg)
	cfg.MaxEventBytes = maxEvent
	cfg.MaxBatchBytes = maxBatch
	cfg.MaxBatchEvents = 8
	cfg.ProduceLinger = 0
	cfg.Compression = "none"
	tap := &recordTap{}
	in, err := ingress.New(cfg, ingress.WithLogger(slog.New(slog.DiscardHandler)), ingress.WithKafkaOptions(kgo.WithHooks(tap)))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(in.Close)
	sinkPath := wire.KafkaSinkPath("default", "fuzz")
	if err := in.ApplyContract(context.Background(), contractOf(1,
		brokerEntry("default", "fuzz", "weft.broker.default.fuzz"),
		sinkEntry("default", "fuzz", "fuzz-sink", "structured"))); err != nil {
		f.Fatal(err)
	}
	h := in.Handler()

	f.Fuzz(func(t *testing.T, ct, headers string, body []byte, sink bool) {
		path := "/default/fuzz"
		if sink {
			path = sinkPath
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header = fuzzHeaders(headers)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		recs := tap.take()
		code := w.Code
		if code >= 500 {
			t.Fatalf("status %d: %s", code, w.Body.String())
		}
		if code != http.StatusAccepted {
			if len(recs) > 0 {
				t.Fatalf("status %d (%s) but %d records stored", code, strings.TrimSpace(w.Body.String()), len(recs))
			}
			return
		}
		want := sentEvents(t, req.Header, body)
		if len(recs) != len(want) {
			t.Fatalf("202 (%s) but %d records stored, want %d", strings.TrimSpace(w.Body.String()), len(recs), len(want))
		}
		for i, rec := range recs {
			got, err := cekafka.FromRecord(rec)
			if err != nil {
				t.Fatalf("record %d does not decode: %v", i, err)
			}
			if err := ceformat.Check(got); err != nil {
				t.Fatalf("record %d decodes to an invalid event: %v", i, err)
			}
			compareSent(t, want[i], got, sink)
			// The stored event survives another trip through the binding.
			again := roundTrip(t, got, sink)
			if d := diffAttrs(attrsOf(t, got), attrsOf(t, again)); d != "" || !bytes.Equal(got.Data(), again.Data()) {
				t.Fatalf("record %d: re-encoding changes the event: %s (data %q, then %q)", i, d, got.Data(), again.Data())
			}
		}
	})
}

// sentEvent is what a request that was accepted carried: a parsed event
// (structured, batch), or for binary mode the decoded id, source, type and
// the body.
type sentEvent struct {
	e                 *event.Event
	id, typ           string
	body              []byte
	hasBody, isBinary bool
}

// sentEvents decodes an accepted request independently of the handler.
func sentEvents(t *testing.T, h http.Header, body []byte) []sentEvent {
	t.Helper()
	mt := strings.ToLower(strings.TrimSpace(strings.Split(h.Get("Content-Type"), ";")[0]))
	switch mt {
	case "application/cloudevents+json":
		e, err := ceformat.Parse(body)
		if err != nil {
			t.Fatalf("accepted a structured event ceformat.Parse refuses: %v", err)
		}
		return []sentEvent{{e: e}}
	case "application/cloudevents-batch+json":
		es, _, err := ceformat.ParseBatch(body, ceformat.Limits{})
		if err != nil {
			t.Fatalf("accepted a batch ceformat.ParseBatch refuses: %v", err)
		}
		out := make([]sentEvent, len(es))
		for i, e := range es {
			out[i] = sentEvent{e: e}
		}
		return out
	}
	dec := func(name string) string {
		v := h.Values(name)
		if len(v) != 1 {
			t.Fatalf("accepted a binary-mode event with %d %s headers", len(v), name)
		}
		s, err := ceheader.Decode(v[0])
		if err != nil {
			t.Fatalf("accepted a binary-mode event whose %s does not decode: %v", name, err)
		}
		return s
	}
	return []sentEvent{{isBinary: true, id: dec("Ce-Id"), typ: dec("Ce-Type"), body: body}}
}

// compareSent checks a stored event against what was sent. A broker stamps
// knativearrivaltime (always) and knativebrokerttl (when absent); a sink
// stores the event as sent.
func compareSent(t *testing.T, want sentEvent, got *event.Event, sink bool) {
	t.Helper()
	if want.isBinary {
		if got.ID() != want.id || got.Type() != want.typ {
			t.Fatalf("stored id %q type %q, sent %q %q", got.ID(), got.Type(), want.id, want.typ)
		}
		if !bytes.Equal(got.Data(), want.body) && (len(got.Data()) > 0 || len(want.body) > 0) {
			t.Fatalf("stored data %q, sent %q", got.Data(), want.body)
		}
		return
	}
	w, g := attrsOf(t, want.e), attrsOf(t, got)
	if !sink {
		delete(w, wire.ExtArrivalTime)
		delete(g, wire.ExtArrivalTime)
		if _, ok := w[wire.ExtBrokerTTL]; !ok {
			if g[wire.ExtBrokerTTL] != strconv.Itoa(int(wire.DefaultTTL)) {
				t.Fatalf("stored %s %q, want the default %d", wire.ExtBrokerTTL, g[wire.ExtBrokerTTL], wire.DefaultTTL)
			}
			delete(g, wire.ExtBrokerTTL)
		}
	}
	if d := diffAttrs(w, g); d != "" {
		t.Fatalf("stored event differs from the one sent: %s", d)
	}
	if !bytes.Equal(want.e.Data(), got.Data()) {
		t.Fatalf("stored data %q, sent %q", got.Data(), want.e.Data())
	}
}

// roundTrip encodes e as the ingress would for the target and decodes it.
func roundTrip(t *testing.T, e *event.Event, structured bool) *event.Event {
	t.Helper()
	var rec kgo.Record
	write := cekafka.WriteRecord
	if structured {
		write = cekafka.WriteStructuredRecord
	}
	if err := write(&rec, "t", e); err != nil {
		t.Fatalf("re-encode a stored event: %v", err)
	}
	out, err := cekafka.FromRecord(&rec)
	if err != nil {
		t.Fatalf("decode a re-encoded event: %v", err)
	}
	return out
}

func diffAttrs(want, got map[string]string) string {
	var b strings.Builder
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			b.WriteString(k + " = " + strconv.Quote(g) + ", want " + strconv.Quote(v) + "; ")
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			b.WriteString(k + " = " + strconv.Quote(v) + ", not sent; ")
		}
	}
	return b.String()
}

type ingressSeed struct {
	ct, headers, body string
	sink              bool
}

// ingressSeeds are the requests of the handler and conformance tests:
// valid and invalid events in each mode.
func ingressSeeds() []ingressSeed {
	binH := func(extra ...string) string {
		lines := []string{"Ce-Specversion: 1.0", "Ce-Id: 1", "Ce-Source: /src", "Ce-Type: t.v1"}
		return strings.Join(append(lines, extra...), "\n")
	}
	one := structured("1", "")
	return []ingressSeed{
		{"application/json", binH(), `{"n":1}`, false},
		{"text/plain", binH("Ce-Subject: s%20p", "Ce-Time: 2024-01-02T03:04:05.123Z", "Ce-Dataschema: https://example.com/s"), "hello", true},
		{"", binH("Ce-Myext: %C3%BC", "Ce-Knativebrokerttl: 5"), "", false},
		{"", binH("Ce-Knativebrokerttl: x"), "", false},
		{"application/json", "Ce-Specversion: 0.3\nCe-Id: 3\nCe-Source: /src\nCe-Type: t\nCe-Schemaurl: /s", `{}`, false},
		{"application/json", "Ce-Specversion: 1.0\nCe-Specversion: 1.0\nCe-Id: 1\nCe-Source: /src\nCe-Type: t", "", false},
		{"", binH("Ce-Id: \"quoted\"", "Ce-Bad: %zz"), "", false},
		{"", "Ce-Id: no-specversion", "", false},
		{"application/xml", "", "<a/>", false},
		{"application/cloudevents+json", "", one, false},
		{"application/cloudevents+json; charset=utf-8", "", structured("2", `,"data":{"a":[1,2]},"subject":"s","ext":1`), true},
		{"application/cloudevents+json", "", structured("3", `,"datacontenttype":"text/plain","data":"hi"`), false},
		{"application/cloudevents+json", "", structured("4", `,"data_base64":"AAEC"`), true},
		{"application/cloudevents+json", "", `{"specversion":"0.3","id":"5","source":"/s","type":"t","datacontentencoding":"base64","data":"AAEC"}`, false},
		{"application/cloudevents+json", "", structured("6", `,"knativebrokerttl":"x"`), false},
		{"application/cloudevents+json", "", `{"specversion":"1.0","id":"7","id":"8","source":"/s","type":"t"}`, false},
		{"application/cloudevents+json", "", `{"specversion":"1.0","id":"\ud800","source":"/s","type":"t"}`, false},
		{"application/cloudevents+protobuf", "", one, false},
		{"application/cloudevents-batch+json", "", "[" + one + "," + structured("2", `,"data":"x"`) + "]", false},
		{"application/cloudevents-batch+json", "", "[" + one + "," + structured("2", "") + "]", true},
		{"application/cloudevents-batch+json", "", "[]", false},
		{"application/cloudevents-batch+json", "", "[" + one + ",{}]", false},
		{"application/cloudevents-batch+json", "", `{"not":"an array"}`, false},
		{"application/cloudevents-batch+xml", "", "[]", false},
	}
}
