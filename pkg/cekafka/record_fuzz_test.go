package cekafka_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/ceformat"
	"github.com/weft-dev/weft/pkg/cekafka"
)

// encodeHeaders and decodeHeaders turn record headers into one fuzzable
// byte string: "key:value" lines (the first ':' splits; a value may hold
// anything but a newline).
func encodeHeaders(hs []kgo.RecordHeader) []byte {
	var b []byte
	for _, h := range hs {
		b = append(append(append(append(b, h.Key...), ':'), h.Value...), '\n')
	}
	return b
}

func decodeHeaders(b []byte) []kgo.RecordHeader {
	var hs []kgo.RecordHeader
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		hs = append(hs, kgo.RecordHeader{Key: string(k), Value: v})
	}
	return hs
}

var keyTypes = []string{"", cekafka.KeyTypeString, cekafka.KeyTypeInt, cekafka.KeyTypeFloat, cekafka.KeyTypeByteArray, "bogus"}

// addRecordSeeds seeds f with the records of the round-trip corpus in both
// content modes, and with plain (non-CloudEvent) records of the KafkaSource
// tests.
func addRecordSeeds(f *testing.F) {
	for i, tc := range corpus(f) {
		for _, write := range []func(*kgo.Record, string, *event.Event) error{cekafka.WriteRecord, cekafka.WriteStructuredRecord} {
			var r kgo.Record
			if err := write(&r, "topic-a", &tc.e); err != nil {
				f.Fatalf("seed %s: %v", tc.name, err)
			}
			f.Add(r.Key, r.Value, encodeHeaders(r.Headers), uint8(i), int64(1_700_000_000_000))
		}
	}
	plain := []struct {
		key, value, headers string
		keyType             uint8
	}{
		{"", `{"a":1}`, "", 0},
		{"order-1", "hello", "Content-Type:text/plain\nX-Trace-Id:abc\nx-trace-id:def\n", 1},
		{"\x00\x00\x00\x2a", "", "", 2},
		{"\x00\x00\x00\x00\x00\x00\x00\x2a", "v", "", 2},
		{"\x40\x49\x0f\xdb", "v", "", 3},
		{"\x7f\xf8\x00\x00\x00\x00\x00\x01", "v", "", 3},
		{"\x01\x02\x03", "v", "", 4},
		{"k", `{"specversion":"1.0","id":"1","source":"/s","type":"t"}`, "content-type:application/cloudevents+json\n", 0},
		{"k", `{"specversion":"1.0","id":"1"}`, "content-type:application/cloudevents+json\n", 0},
		{"k", "[]", "content-type:application/cloudevents-batch+json\n", 0},
		{"", "", "ce_specversion:1.0\nce_id:1\nce_source:/s\nce_type:t\nce_ext:%zz\n", 0},
		{"", "", "ce_specversion:0.3\nce_id:1\nce_source:/s\nce_type:t\nce_datacontentencoding:base64\n", 0},
		{"", "", "ce_specversion:2.0\nce_id:1\n", 0},
		{"", "x", "Ce_SpecVersion:1.0\nCE_ID:1\nce_source::\nce_type:t\ncontent-type:;;\n", 0},
	}
	for _, p := range plain {
		f.Add([]byte(p.key), []byte(p.value), []byte(p.headers), p.keyType, int64(-1))
	}
}

// FuzzFromRecord decodes fuzzed records (key, value, headers) as the
// dispatcher does. Properties: never panics; a nil error means a valid event
// (sdk-go's Validate and ceformat.Check) that ToRecord encodes and FromRecord
// decodes back to an equal event.
func FuzzFromRecord(f *testing.F) {
	addRecordSeeds(f)
	f.Fuzz(func(t *testing.T, key, value, headers []byte, _ uint8, ts int64) {
		r := &kgo.Record{Topic: "t", Partition: 1, Offset: 7, Key: key, Value: value, Headers: decodeHeaders(headers), Timestamp: time.UnixMilli(ts)}
		e, err := cekafka.FromRecord(r)
		if err != nil {
			return
		}
		checkDecoded(t, e)
	})
}

// FuzzFromSourceRecord decodes fuzzed records as a KafkaSource reads them
// (FromSourceRecord, and KafkaSourceEvent for every record), with each key
// type. Properties: never panics; a nil error means a valid event that
// round-trips through the Kafka binding.
func FuzzFromSourceRecord(f *testing.F) {
	addRecordSeeds(f)
	f.Fuzz(func(t *testing.T, key, value, headers []byte, keyType uint8, ts int64) {
		src := cekafka.KafkaSource{Namespace: "ns1", Name: "src", KeyType: keyTypes[int(keyType)%len(keyTypes)]}
		r := &kgo.Record{Topic: "orders", Partition: 3, Offset: 42, Key: key, Value: value, Headers: decodeHeaders(headers), Timestamp: time.UnixMilli(ts)}
		if e, err := cekafka.FromSourceRecord(r, src); err == nil {
			checkDecoded(t, e)
		}
		if e, err := cekafka.KafkaSourceEvent(r, src); err == nil {
			checkDecoded(t, e)
		}
	})
}

// checkDecoded: e is valid and survives the binary-mode binding unchanged.
func checkDecoded(t *testing.T, e *event.Event) {
	t.Helper()
	if err := e.Validate(); err != nil {
		t.Fatalf("decoded event fails Validate: %v", err)
	}
	if err := ceformat.Check(e); err != nil {
		t.Fatalf("decoded event fails ceformat.Check: %v", err)
	}
	r, err := cekafka.ToRecord("t", e)
	if err != nil {
		t.Fatalf("decoded event does not encode: %v", err)
	}
	back, err := cekafka.FromRecord(r)
	if err != nil {
		t.Fatalf("re-encoded event does not decode: %v", err)
	}
	if d := diffCanonical(canon(t, e), canon(t, back)); d != "" {
		t.Fatalf("round trip changed the event:\n%s", d)
	}
}
