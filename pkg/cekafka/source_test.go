package cekafka_test

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
)

var testSource = cekafka.KafkaSource{Namespace: "ns1", Name: "src"}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// plainRecord is a record of topic "orders", partition 3, offset 42, written
// at a fixed time in a non-UTC zone.
func plainRecord(key, value []byte, headers ...kgo.RecordHeader) *kgo.Record {
	return &kgo.Record{
		Topic: "orders", Partition: 3, Offset: 42, Key: key, Value: value, Headers: headers,
		Timestamp: time.Date(2026, 3, 4, 7, 8, 9, 123e6, time.FixedZone("X", 2*3600)),
	}
}

func TestKafkaSourceEventPlain(t *testing.T) {
	e, err := cekafka.FromSourceRecord(plainRecord(nil, []byte(`{"a":1}`)), testSource)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"specversion": {e.SpecVersion(), "1.0"},
		"type":        {e.Type(), "dev.knative.kafka.event"},
		"source":      {e.Source(), "/apis/v1/namespaces/ns1/kafkasources/src#orders"},
		"subject":     {e.Subject(), "partition:3#42"},
		"id":          {e.ID(), "partition:3/offset:42"},
		"time":        {e.Time().Format(time.RFC3339Nano), "2026-03-04T05:08:09.123Z"},
		"data":        {string(e.Data()), `{"a":1}`},
		"content":     {e.DataContentType(), ""},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if e.Time().Location() != time.UTC {
		t.Errorf("time zone %v, want UTC", e.Time().Location())
	}
	if len(e.Extensions()) != 0 {
		t.Errorf("extensions %v, want none (no key, no headers)", e.Extensions())
	}
}

func TestKafkaSourceEventHeaders(t *testing.T) {
	r := plainRecord(nil, []byte("hello"),
		kgo.RecordHeader{Key: "Content-Type", Value: []byte("text/plain")},
		kgo.RecordHeader{Key: "X-Trace_ID.v2", Value: []byte("abc")},
		kgo.RecordHeader{Key: "tenant", Value: []byte("t1")},
		kgo.RecordHeader{Key: "ce_type", Value: []byte("not.a.ce")}, // no ce_specversion: a plain header
		kgo.RecordHeader{Key: "Ünï-cödé", Value: []byte("u")},
		kgo.RecordHeader{Key: "---", Value: []byte("empty name")},
	)
	e, err := cekafka.FromSourceRecord(r, testSource)
	if err != nil {
		t.Fatal(err)
	}
	if e.DataContentType() != "text/plain" {
		t.Errorf("datacontenttype %q, want text/plain", e.DataContentType())
	}
	if e.Type() != cekafka.KafkaSourceEventType {
		t.Errorf("type %q", e.Type())
	}
	want := map[string]any{
		"kafkaheadercontenttype": "text/plain",
		"kafkaheaderxtraceidv2":  "abc",
		"kafkaheadertenant":      "t1",
		"kafkaheadercetype":      "not.a.ce",
		"kafkaheaderncd":         "u",
		"kafkaheader":            "empty name",
	}
	if got := e.Extensions(); !reflect.DeepEqual(got, want) {
		t.Errorf("extensions\n got %v\nwant %v", got, want)
	}
}

func TestHeaderExtension(t *testing.T) {
	for in, want := range map[string]string{
		"foo":          "kafkaheaderfoo",
		"Foo-Bar":      "kafkaheaderfoobar",
		"a.b_c d/e:1":  "kafkaheaderabcde1",
		"UPPER123":     "kafkaheaderupper123",
		"":             "kafkaheader",
		"日本":           "kafkaheader",
		"content-type": "kafkaheadercontenttype",
	} {
		if got := cekafka.HeaderExtension(in); got != want {
			t.Errorf("HeaderExtension(%q) = %q, want %q", in, got, want)
		}
		if !event.IsExtensionNameValid(cekafka.HeaderExtension(in)) {
			t.Errorf("HeaderExtension(%q) is not a valid extension name", in)
		}
	}
}

func TestKafkaSourceEventKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keyType string
		key     []byte
		want    any // nil: no key extensions
	}{
		{"null key", "", nil, nil},
		{"empty key", "", []byte{}, nil},
		{"string default", "", []byte("order-7"), "order-7"},
		{"string", cekafka.KeyTypeString, []byte("order-7"), "order-7"},
		{"int 4 bytes", cekafka.KeyTypeInt, be32(uint32(1234)), int32(1234)},
		{"int 4 bytes negative", cekafka.KeyTypeInt, be32(uint32(0xFFFFFFFE)), int32(-2)},
		{"int 8 bytes small", cekafka.KeyTypeInt, be64(77), int32(77)},
		{"int 8 bytes large", cekafka.KeyTypeInt, be64(1 << 40), "1099511627776"},
		{"int 8 bytes negative large", cekafka.KeyTypeInt, be64(uint64(math.MaxUint64 - (1 << 40) + 1)), "-1099511627776"},
		{"int odd length", cekafka.KeyTypeInt, []byte{1, 2, 3}, []byte{1, 2, 3}},
		{"float 4 bytes", cekafka.KeyTypeFloat, be32(math.Float32bits(1.5)), "1.5"},
		{"float 8 bytes", cekafka.KeyTypeFloat, be64(math.Float64bits(-0.1)), "-0.1"},
		{"float odd length", cekafka.KeyTypeFloat, []byte{9}, []byte{9}},
		{"byte-array", cekafka.KeyTypeByteArray, []byte{0, 0xff, 'a'}, []byte{0, 0xff, 'a'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSource
			s.KeyType = tc.keyType
			e, err := cekafka.FromSourceRecord(plainRecord(tc.key, []byte("v")), s)
			if err != nil {
				t.Fatal(err)
			}
			exts := e.Extensions()
			if tc.want == nil {
				if len(exts) != 0 {
					t.Fatalf("extensions %v, want none", exts)
				}
				return
			}
			for _, name := range []string{"key", "partitionkey"} {
				if got := exts[name]; !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s = %#v, want %#v", name, got, tc.want)
				}
			}
			if err := e.Validate(); err != nil {
				t.Errorf("event invalid: %v", err)
			}
		})
	}
}

func TestFromSourceRecordCloudEvents(t *testing.T) {
	orig := event.New()
	orig.SetID("e-1")
	orig.SetSource("/my/source")
	orig.SetType("my.type")
	orig.SetExtension("myext", "v")
	_ = orig.SetData("application/json", map[string]int{"n": 1})

	binary, err := cekafka.ToRecord("orders", &orig)
	if err != nil {
		t.Fatal(err)
	}
	structured := new(kgo.Record)
	if err := cekafka.WriteStructuredRecord(structured, "orders", &orig); err != nil {
		t.Fatal(err)
	}
	upper := &kgo.Record{Topic: "orders", Value: binary.Value}
	for _, h := range binary.Headers {
		if h.Key == "ce_specversion" {
			h.Key = "CE_SpecVersion"
		}
		upper.Headers = append(upper.Headers, h)
	}
	for name, r := range map[string]*kgo.Record{"binary": binary, "structured": structured, "binary upper-case header": upper} {
		t.Run(name, func(t *testing.T) {
			if !cekafka.IsCloudEvent(r) {
				t.Fatal("IsCloudEvent = false")
			}
			e, err := cekafka.FromSourceRecord(r, testSource)
			if err != nil {
				t.Fatal(err)
			}
			if e.ID() != "e-1" || e.Source() != "/my/source" || e.Type() != "my.type" || e.Extensions()["myext"] != "v" {
				t.Errorf("decoded %v, want the original event", e)
			}
			if string(e.Data()) != `{"n":1}` {
				t.Errorf("data %q", e.Data())
			}
		})
	}
}

func TestIsCloudEvent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []kgo.RecordHeader
		want    bool
	}{
		{"no headers", nil, false},
		{"specversion", []kgo.RecordHeader{{Key: "ce_specversion", Value: []byte("1.0")}}, true},
		{"structured json", []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/cloudevents+json; charset=utf-8")}}, true},
		{"structured upper case", []kgo.RecordHeader{{Key: "Content-Type", Value: []byte("Application/CloudEvents+JSON")}}, true},
		{"plain json", []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/json")}}, false},
		{"batch is not an event", []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/cloudevents-batch+json")}}, false},
		{"other ce header", []kgo.RecordHeader{{Key: "ce_id", Value: []byte("x")}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cekafka.IsCloudEvent(&kgo.Record{Headers: tc.headers}); got != tc.want {
				t.Errorf("IsCloudEvent = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFromSourceRecordInvalidCloudEvent: a record that claims to be a
// CloudEvent but does not decode becomes a KafkaSource event, as Knative's
// does, rather than being skipped.
func TestFromSourceRecordInvalidCloudEvent(t *testing.T) {
	r := plainRecord([]byte("k"), []byte("{not json"),
		kgo.RecordHeader{Key: "content-type", Value: []byte("application/cloudevents+json")})
	e, err := cekafka.FromSourceRecord(r, testSource)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type() != cekafka.KafkaSourceEventType || string(e.Data()) != "{not json" || e.DataContentType() != "application/cloudevents+json" {
		t.Errorf("got %v", e)
	}
	r = plainRecord(nil, []byte("x"), kgo.RecordHeader{Key: "ce_specversion", Value: []byte("1.0")}) // no id, source, type
	if e, err = cekafka.FromSourceRecord(r, testSource); err != nil || e.ID() != "partition:3/offset:42" || e.Extensions()["kafkaheadercespecversion"] != "1.0" {
		t.Errorf("got %v, %v", e, err)
	}
}
