package cekafka_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/weft-dev/weft/pkg/cekafka"
)

// benchEvent is what the ingress writes for a typical request: 1 KiB of JSON
// data, a time, and the extensions the ingress adds.
func benchEvent(b *testing.B) *event.Event {
	e := event.New()
	e.SetID("7a3c5a3e-6d0b-4b8e-9d59-0d2e6f1b8c11")
	e.SetSource("https://example.com/orders")
	e.SetType("com.example.order.created")
	e.SetTime(time.Date(2024, 5, 1, 10, 11, 12, 0, time.UTC))
	e.SetDataContentType("application/json")
	e.DataEncoded = append([]byte(`{"pad":"`), append(bytes.Repeat([]byte("x"), 1010), `"}`...)...)
	for k, v := range map[string]any{
		"knativearrivaltime": "2024-05-01T10:11:12.123456Z",
		"knativebrokerttl":   int32(255),
		"partitionkey":       "customer-7",
	} {
		if err := e.Context.SetExtension(k, v); err != nil {
			b.Fatal(err)
		}
	}
	return &e
}

func BenchmarkToRecord(b *testing.B) {
	e := benchEvent(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(e.DataEncoded)))
	for b.Loop() {
		if _, err := cekafka.ToRecord("weft.broker.default.default", e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromRecord(b *testing.B) {
	r, err := cekafka.ToRecord("weft.broker.default.default", benchEvent(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(r.Value)))
	for b.Loop() {
		if _, err := cekafka.FromRecord(r); err != nil {
			b.Fatal(err)
		}
	}
}
