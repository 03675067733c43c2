package cekafka_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
)

// typedEvent carries every attribute type and the characters the HTTP
// binding percent-encodes (space, '"', '%', non-ASCII).
func typedEvent(t testing.TB) *event.Event {
	t.Helper()
	e := event.New()
	e.SetID("typed-1")
	e.SetSource("/a b/ü")
	e.SetType("com.example.typed")
	e.SetSubject(`sp ace "q" 100% é 😀`)
	e.SetTime(mustTime(t, "2024-02-29T12:00:00.5+01:00"))
	e.SetDataSchema("https://example.com/s?v=1")
	for name, v := range map[string]any{
		"exstring":     `x "y" 50% ü`,
		"exbool":       true,
		"exint":        int32(-7),
		"exbinary":     []byte{0, 0xff, 'a'},
		"exuri":        types.URI{URL: url.URL{Scheme: "urn", Opaque: "a:b"}},
		"exuriref":     types.URIRef{URL: url.URL{Path: "../r", RawQuery: "x=1"}},
		"extime":       types.Timestamp{Time: mustTime(t, "1985-04-12T23:20:50.52Z")},
		"partitionkey": "pk é",
	} {
		if err := e.Context.SetExtension(name, v); err != nil {
			t.Fatal(err)
		}
	}
	e.SetDataContentType("text/plain; charset=utf-8")
	e.DataEncoded = []byte("data")
	return &e
}

func headersOf(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// TestKafkaBindingConformance checks the Kafka protocol binding (1.0.2)
// rules on the record Weft writes and reads.
func TestKafkaBindingConformance(t *testing.T) {
	tests := []struct {
		id    string
		check func(t *testing.T)
	}{
		{id: "CE-KAFKA-1", check: func(t *testing.T) {
			// §3.2.3: values are plain UTF-8; nothing percent-encoded.
			r, err := cekafka.ToRecord("t", typedEvent(t))
			if err != nil {
				t.Fatal(err)
			}
			h := headersOf(r)
			for k, want := range map[string]string{
				"ce_subject": `sp ace "q" 100% é 😀`, "ce_exstring": `x "y" 50% ü`, "ce_partitionkey": "pk é",
			} {
				if h[k] != want {
					t.Errorf("%s = %q, want %q", k, h[k], want)
				}
			}
		}},
		{id: "CE-KAFKA-2", check: func(t *testing.T) {
			// §3.2.1: datacontenttype is the content-type header; §3.2.2 data is the value.
			r, _ := cekafka.ToRecord("t", typedEvent(t))
			h := headersOf(r)
			if h["content-type"] != "text/plain; charset=utf-8" || string(r.Value) != "data" {
				t.Errorf("content-type %q, value %q", h["content-type"], r.Value)
			}
			if _, ok := h["ce_datacontenttype"]; ok {
				t.Error("ce_datacontenttype written besides content-type")
			}
		}},
		{id: "CE-KAFKA-3", check: func(t *testing.T) {
			// §3.1: key = partitionkey, which stays a header too.
			r, _ := cekafka.ToRecord("t", typedEvent(t))
			if string(r.Key) != "pk é" || headersOf(r)["ce_partitionkey"] != "pk é" {
				t.Errorf("key %q, ce_partitionkey %q", r.Key, headersOf(r)["ce_partitionkey"])
			}
		}},
		{id: "CE-KAFKA-4", check: func(t *testing.T) {
			// Types as canonical strings: Boolean, Integer, Binary (base64),
			// URI, URI-reference, Timestamp (RFC 3339, UTC).
			r, _ := cekafka.ToRecord("t", typedEvent(t))
			h := headersOf(r)
			for k, want := range map[string]string{
				"ce_exbool": "true", "ce_exint": "-7", "ce_exbinary": "AP9h", "ce_exuri": "urn:a:b",
				"ce_exuriref": "../r?x=1", "ce_extime": "1985-04-12T23:20:50.52Z",
				"ce_time": "2024-02-29T11:00:00.5Z", "ce_dataschema": "https://example.com/s?v=1",
			} {
				if h[k] != want {
					t.Errorf("%s = %q, want %q", k, h[k], want)
				}
			}
		}},
		{id: "CE-KAFKA-5", check: func(t *testing.T) {
			// source is written as the string it was given, not re-escaped by Go's URL type.
			r, _ := cekafka.ToRecord("t", typedEvent(t))
			if got := headersOf(r)["ce_source"]; got != "/a b/ü" {
				t.Errorf("ce_source = %q, want %q", got, "/a b/ü")
			}
		}},
		{id: "CE-KAFKA-6", check: func(t *testing.T) {
			// Reading decodes exactly what was written, and writing it again gives the same headers.
			r, _ := cekafka.ToRecord("t", typedEvent(t))
			e, err := cekafka.FromRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			if e.Subject() != `sp ace "q" 100% é 😀` || e.Extensions()["exbinary"] != "AP9h" {
				t.Errorf("read subject %q exbinary %v", e.Subject(), e.Extensions()["exbinary"])
			}
			r2, _ := cekafka.ToRecord("t", e)
			h1, h2 := headersOf(r), headersOf(r2)
			for k, v := range h1 {
				if h2[k] != v {
					t.Errorf("rewritten %s = %q, want %q", k, h2[k], v)
				}
			}
			if len(h1) != len(h2) || !bytes.Equal(r.Key, r2.Key) || !bytes.Equal(r.Value, r2.Value) {
				t.Errorf("rewritten record differs: %v / %v", h1, h2)
			}
		}},
		{id: "CE-KAFKA-7", check: func(t *testing.T) {
			// §3.2.3: header values MUST be UTF-8: a record with ce_subject = 0xff is refused.
			r := &kgo.Record{Headers: []kgo.RecordHeader{
				{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte("1")},
				{Key: "ce_source", Value: []byte("/s")}, {Key: "ce_type", Value: []byte("t")},
				{Key: "ce_subject", Value: []byte{0xff}},
			}}
			if _, err := cekafka.FromRecord(r); !errors.Is(err, cekafka.ErrInvalidAttribute) {
				t.Errorf("FromRecord = %v, want ErrInvalidAttribute", err)
			}
		}},
		{id: "CE-KAFKA-8", check: func(t *testing.T) {
			// §3.2.2: an event without data is a record without a value.
			e := typedEvent(t)
			e.DataEncoded = nil
			r, _ := cekafka.ToRecord("t", e)
			if r.Value != nil {
				t.Errorf("value = %q, want none", r.Value)
			}
		}},
		{id: "CE-INTEROP-4", check: func(t *testing.T) {
			// sdk-go's sarama binding reads Weft's record as the same event.
			want := typedEvent(t)
			r, _ := cekafka.ToRecord("t", want)
			cm := &sarama.ConsumerMessage{Key: r.Key, Value: r.Value, Topic: "t"}
			for _, h := range r.Headers {
				cm.Headers = append(cm.Headers, &sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
			}
			got, err := binding.ToEvent(context.Background(), kafka_sarama.NewMessageFromConsumerMessage(cm))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range saramaMetadata {
				_ = got.Context.SetExtension(name, nil)
			}
			if d := diffCanonical(canon(t, want), canon(t, got)); d != "" {
				t.Errorf("sarama reads a different event:\n%s", d)
			}
		}},
		{id: "CE-INTEROP-5", check: func(t *testing.T) {
			// Weft reads the record sdk-go's sarama binding writes as the same event.
			want := typedEvent(t)
			want.SetSource("/a%20b/%C3%BC") // sarama writes source through url.URL.String
			var pm sarama.ProducerMessage
			if err := kafka_sarama.WriteProducerMessage(context.Background(), binding.ToMessage(want), &pm); err != nil {
				t.Fatal(err)
			}
			rec := &kgo.Record{}
			rec.Key, _ = pm.Key.Encode()
			rec.Value, _ = pm.Value.Encode()
			for _, h := range pm.Headers {
				rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
			}
			got, err := cekafka.FromRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffCanonical(canon(t, want), canon(t, got)); d != "" {
				t.Errorf("Weft reads sarama's record differently:\n%s", d)
			}
			if string(rec.Key) != "pk é" {
				t.Errorf("sarama key %q", rec.Key)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.id, tc.check)
	}
}
