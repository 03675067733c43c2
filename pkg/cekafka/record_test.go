package cekafka_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
)

// testEvent is one named event of the round-trip corpus.
type testEvent struct {
	name string
	e    event.Event
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// corpus is a set of events covering every attribute, every extension type,
// each kind of data and the partition key.
func corpus(t testing.TB) []testEvent {
	t.Helper()
	newEvent := func(id string) event.Event {
		e := event.New()
		e.SetID(id)
		e.SetSource("https://example.com/sources/a")
		e.SetType("com.example.thing.happened")
		return e
	}
	set := func(e *event.Event, name string, v any) {
		if err := e.Context.SetExtension(name, v); err != nil {
			t.Fatalf("set extension %s: %v", name, err)
		}
	}
	data := func(e *event.Event, ct string, b []byte) {
		e.SetDataContentType(ct)
		e.DataEncoded = b
	}
	var out []testEvent
	add := func(name string, e event.Event) {
		if err := e.Validate(); err != nil {
			t.Fatalf("corpus event %s is invalid: %v", name, err)
		}
		out = append(out, testEvent{name, e})
	}

	add("minimal, no data", newEvent("1"))

	e := newEvent("2")
	e.SetSubject("orders/42")
	e.SetTime(mustTime(t, "2024-05-01T10:11:12.123456789Z"))
	e.SetDataSchema("https://example.com/schemas/order.json")
	data(&e, "application/json", []byte(`{"order":42,"items":["a","b"],"nested":{"x":1.5}}`))
	add("json data, all optional attributes", e)

	e = newEvent("3")
	bin := make([]byte, 1024)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	data(&e, "application/octet-stream", bin)
	add("binary data with zero bytes", e)

	e = newEvent("4")
	data(&e, "text/plain; charset=utf-8", []byte("héllo wörld ✓\n"))
	add("text data", e)

	e = newEvent("5")
	set(&e, "exstring", "some value, with = signs; and spaces")
	set(&e, "exint", int32(-42))
	set(&e, "exbool", true)
	set(&e, "exbinary", []byte{0, 1, 2, 250, 251, 252})
	set(&e, "exuri", types.URI{URL: url.URL{Scheme: "https", Host: "example.com", Path: "/a b"}})
	set(&e, "exuriref", types.URIRef{URL: url.URL{Path: "/relative/ref"}})
	set(&e, "extime", mustTime(t, "2023-01-02T03:04:05.5+02:00"))
	add("extensions of each type", e)

	e = newEvent("6")
	set(&e, "partitionkey", "customer-7")
	data(&e, "application/json", []byte(`"a json string"`))
	add("partition key", e)

	e = newEvent("7")
	e.SetSource("/relative/source?q=1#frag")
	e.SetTime(mustTime(t, "2024-12-31T23:59:59-08:00"))
	add("relative source, non-UTC time", e)

	e = newEvent("ünïcode-id-8")
	e.SetSubject("日本語")
	data(&e, "application/xml", []byte("<a>1</a>"))
	add("unicode", e)

	e = newEvent("9")
	for i := range 40 {
		set(&e, fmt.Sprintf("ext%02d", i), fmt.Sprintf("value-%d", i))
	}
	add("many extensions", e)

	e = newEvent("10")
	e.SetDataContentType("application/json")
	add("datacontenttype without data", e)

	e = newEvent("11")
	set(&e, "knativearrivaltime", "2024-05-01T10:11:12Z")
	set(&e, "knativebrokerttl", int32(255))
	set(&e, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	data(&e, "application/json", []byte(`[`+strings.Repeat(`{"k":"v"},`, 100)+`{}]`))
	add("knative extensions", e)

	e = newEvent("12")
	set(&e, "partitionkey", "")
	add("empty partition key", e)

	e = newEvent("14")
	e.SetSource("https://example.com/a%20b?q=%C3%A9#f")
	e.SetSubject("a b \"q\" 100% é 😀")
	e.SetDataSchema("https://example.com/schema?v=1")
	e.SetTime(mustTime(t, "2024-02-29T12:00:00.5Z"))
	set(&e, "exstring", "sp ace \"quote\" 100% ünï 😀")
	set(&e, "exbool", false)
	set(&e, "exint", int32(2147483647))
	set(&e, "exbinary", []byte("\x00\xff binary"))
	set(&e, "exuri", types.URI{URL: url.URL{Scheme: "urn", Opaque: "example:x"}})
	set(&e, "exuriref", types.URIRef{URL: url.URL{Path: "../rel", RawQuery: "a=b"}})
	set(&e, "extime", mustTime(t, "1985-04-12T23:20:50.52Z"))
	data(&e, "text/plain; charset=utf-8", []byte("every attribute type"))
	add("every attribute type, characters HTTP percent-encodes", e)

	e03 := event.New(event.CloudEventsVersionV03)
	e03.SetID("13")
	e03.SetSource("urn:example:source")
	e03.SetType("com.example.v03")
	e03.SetSubject("old")
	set(&e03, "exv03", "x")
	data(&e03, "text/plain", []byte("version 0.3"))
	add("specversion 0.3", e03)
	return out
}

// canonical is an event as the binding carries it: every attribute and
// extension in its canonical string form, and the data.
type canonical struct {
	Attrs map[string]string
	Data  []byte
}

func canon(t testing.TB, e *event.Event) canonical {
	t.Helper()
	c := canonical{Attrs: map[string]string{
		"specversion": e.SpecVersion(),
		"id":          e.ID(),
		"source":      e.Source(),
		"type":        e.Type(),
	}}
	opt := func(name, v string) {
		if v != "" {
			c.Attrs[name] = v
		}
	}
	opt("subject", e.Subject())
	opt("datacontenttype", e.DataContentType())
	opt("dataschema", e.DataSchema())
	if !e.Time().IsZero() {
		c.Attrs["time"] = types.FormatTime(e.Time())
	}
	for name, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			t.Fatalf("format extension %s: %v", name, err)
		}
		c.Attrs[name] = s
	}
	if len(e.Data()) > 0 {
		c.Data = e.Data()
	}
	return c
}

func diffCanonical(want, got canonical) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(want.Attrs)) {
		if g, ok := got.Attrs[k]; !ok {
			fmt.Fprintf(&b, "attribute %s missing (want %q)\n", k, want.Attrs[k])
		} else if g != want.Attrs[k] {
			fmt.Fprintf(&b, "attribute %s = %q, want %q\n", k, g, want.Attrs[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got.Attrs)) {
		if _, ok := want.Attrs[k]; !ok {
			fmt.Fprintf(&b, "unexpected attribute %s = %q\n", k, got.Attrs[k])
		}
	}
	if !bytes.Equal(want.Data, got.Data) {
		fmt.Fprintf(&b, "data = %q, want %q\n", got.Data, want.Data)
	}
	return b.String()
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range corpus(t) {
		t.Run(tc.name, func(t *testing.T) {
			want := canon(t, &tc.e)
			r, err := cekafka.ToRecord("topic-a", &tc.e)
			if err != nil {
				t.Fatalf("ToRecord: %v", err)
			}
			if r.Topic != "topic-a" {
				t.Errorf("topic = %q", r.Topic)
			}
			// The record itself: one ce_ header per attribute, content-type
			// for datacontenttype, the data as value, the partition key.
			seen := map[string]bool{}
			for _, h := range r.Headers {
				if seen[h.Key] {
					t.Errorf("duplicate header %s", h.Key)
				}
				seen[h.Key] = true
			}
			for name, v := range want.Attrs {
				key := "ce_" + name
				if name == "datacontenttype" {
					key = "content-type"
				}
				if got, ok := header(r, key); !ok || got != v {
					t.Errorf("header %s = %q (present %v), want %q", key, got, ok, v)
				}
			}
			if len(r.Headers) != len(want.Attrs) {
				t.Errorf("%d headers, want %d", len(r.Headers), len(want.Attrs))
			}
			if !bytes.Equal(r.Value, want.Data) {
				t.Errorf("value = %q, want %q", r.Value, want.Data)
			}
			if pk := want.Attrs["partitionkey"]; pk != "" {
				if string(r.Key) != pk {
					t.Errorf("key = %q, want %q", r.Key, pk)
				}
			} else if r.Key != nil {
				t.Errorf("key = %q, want nil", r.Key)
			}

			got, err := cekafka.FromRecord(r)
			if err != nil {
				t.Fatalf("FromRecord: %v", err)
			}
			if d := diffCanonical(want, canon(t, got)); d != "" {
				t.Errorf("round trip differs:\n%s", d)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("decoded event invalid: %v", err)
			}
			for name, v := range got.Extensions() {
				if _, ok := v.(string); !ok {
					t.Errorf("extension %s decoded as %T, want string", name, v)
				}
			}
		})
	}
}

func TestWriteRecordReuse(t *testing.T) {
	c := corpus(t)
	r := &kgo.Record{Partition: 3, Offset: 99, Key: []byte("stale")}
	for _, tc := range c {
		if err := cekafka.WriteRecord(r, "t", &tc.e); err != nil {
			t.Fatalf("%s: WriteRecord: %v", tc.name, err)
		}
		if r.Partition != 0 || r.Offset != 0 {
			t.Fatalf("%s: record fields not reset", tc.name)
		}
		got, err := cekafka.FromRecord(r)
		if err != nil {
			t.Fatalf("%s: FromRecord: %v", tc.name, err)
		}
		if d := diffCanonical(canon(t, &tc.e), canon(t, got)); d != "" {
			t.Errorf("%s: reused record differs:\n%s", tc.name, d)
		}
	}
}

func TestEncodingIsDeterministic(t *testing.T) {
	e := corpus(t)[8].e // many extensions
	a, _ := cekafka.ToRecord("t", &e)
	b, _ := cekafka.ToRecord("t", &e)
	if len(a.Headers) != len(b.Headers) {
		t.Fatal("header counts differ")
	}
	for i := range a.Headers {
		if a.Headers[i].Key != b.Headers[i].Key || !bytes.Equal(a.Headers[i].Value, b.Headers[i].Value) {
			t.Fatalf("header %d differs: %s vs %s", i, a.Headers[i].Key, b.Headers[i].Key)
		}
	}
}

func TestFromRecordStructured(t *testing.T) {
	for _, tc := range corpus(t) {
		t.Run(tc.name, func(t *testing.T) {
			if tc.e.SpecVersion() != event.CloudEventsVersionV1 {
				t.Skip("structured 0.3 covered by sdk-go")
			}
			js, err := json.Marshal(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			r := &kgo.Record{Value: js, Headers: []kgo.RecordHeader{
				{Key: "content-type", Value: []byte("application/cloudevents+json; charset=UTF-8")},
			}}
			got, err := cekafka.FromRecord(r)
			if err != nil {
				t.Fatalf("FromRecord: %v", err)
			}
			want := canon(t, &tc.e)
			gc := canon(t, got)
			// JSON data may be re-encoded by the JSON format: compare it as JSON.
			if tc.e.DataContentType() == "application/json" && len(want.Data) > 0 {
				var a, b any
				if json.Unmarshal(want.Data, &a) != nil || json.Unmarshal(gc.Data, &b) != nil {
					t.Fatalf("data not JSON: %q / %q", want.Data, gc.Data)
				}
				wa, _ := json.Marshal(a)
				ga, _ := json.Marshal(b)
				want.Data, gc.Data = wa, ga
			}
			// sdk-go's JSON format writes time extensions in their own zone.
			for _, c := range []canonical{want, gc} {
				for k, v := range c.Attrs {
					if tm, err := time.Parse(time.RFC3339Nano, v); err == nil {
						c.Attrs[k] = types.FormatTime(tm)
					}
				}
			}
			if d := diffCanonical(want, gc); d != "" {
				t.Errorf("structured decode differs:\n%s", d)
			}
		})
	}
}

func TestFromRecordErrors(t *testing.T) {
	hdrs := func(kv ...string) []kgo.RecordHeader {
		var out []kgo.RecordHeader
		for i := 0; i < len(kv); i += 2 {
			out = append(out, kgo.RecordHeader{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return out
	}
	base := []string{"ce_specversion", "1.0", "ce_id", "1", "ce_source", "/s", "ce_type", "t"}
	for _, tc := range []struct {
		name    string
		headers []kgo.RecordHeader
		value   string
		want    error
	}{
		{"no headers", nil, "x", cekafka.ErrNotCloudEvent},
		{"plain json", hdrs("content-type", "application/json"), "{}", cekafka.ErrNotCloudEvent},
		{"unknown specversion", hdrs("ce_specversion", "2.0", "ce_id", "1"), "", cekafka.ErrUnsupportedSpecVersion},
		{"bad time", hdrs(append(base, "ce_time", "yesterday")...), "", cekafka.ErrInvalidAttribute},
		{"bad source", hdrs("ce_specversion", "1.0", "ce_id", "1", "ce_source", "%zz", "ce_type", "t"), "", cekafka.ErrInvalidAttribute},
		{"bad dataschema", hdrs(append(base, "ce_dataschema", "%zz")...), "", cekafka.ErrInvalidAttribute},
		{"bad extension name", hdrs(append(base, "ce_my-ext", "v")...), "", cekafka.ErrInvalidAttribute},
		{"missing id", hdrs("ce_specversion", "1.0", "ce_source", "/s", "ce_type", "t"), "", cekafka.ErrInvalidAttribute},
		{"missing source", hdrs("ce_specversion", "1.0", "ce_id", "1", "ce_type", "t"), "", cekafka.ErrInvalidAttribute},
		{"missing type", hdrs("ce_specversion", "1.0", "ce_id", "1", "ce_source", "/s"), "", cekafka.ErrInvalidAttribute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cekafka.FromRecord(&kgo.Record{Headers: tc.headers, Value: []byte(tc.value)})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("bad structured json", func(t *testing.T) {
		_, err := cekafka.FromRecord(&kgo.Record{Headers: hdrs("content-type", "application/cloudevents+json"), Value: []byte("{")})
		if err == nil {
			t.Fatal("no error for malformed structured record")
		}
	})
	if _, err := cekafka.ToRecord("t", &event.Event{}); !errors.Is(err, cekafka.ErrNoContext) {
		t.Errorf("ToRecord of a zero event: %v, want ErrNoContext", err)
	}
}

func TestFromRecordHeaderCase(t *testing.T) {
	r := &kgo.Record{Value: []byte("hi"), Headers: []kgo.RecordHeader{
		{Key: "CE_SPECVERSION", Value: []byte("1.0")},
		{Key: "Ce_Id", Value: []byte("x")},
		{Key: "ce_SOURCE", Value: []byte("/s")},
		{Key: "ce_type", Value: []byte("t")},
		{Key: "Content-Type", Value: []byte("text/plain")},
		{Key: "ce_MyExt", Value: []byte("v")},
		{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
	}}
	e, err := cekafka.FromRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() != "x" || e.Source() != "/s" || e.DataContentType() != "text/plain" || e.Extensions()["myext"] != "v" {
		t.Fatalf("decoded %v", e)
	}
	if _, ok := e.Extensions()["traceparent"]; ok {
		t.Error("a non-ce_ header became an extension")
	}
}
