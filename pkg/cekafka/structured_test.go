package cekafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
)

// TestStructuredCrossBindingSarama writes the corpus with
// WriteStructuredRecord and reads it back with a real sarama consumer and
// the sdk-go kafka_sarama binding: the binding must see structured mode,
// and every event must come back identical (attributes, extensions, data
// byte for byte), the key being the partition key. Weft's own FromRecord
// reads the same records identically.
func TestStructuredCrossBindingSarama(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := testutil.StartKafka(t)
	const topic = "sink.structured.cross"
	const partitions = 3
	kcfg := testutil.KafkaConfig(srv)
	cl, err := kcfg.NewClient(nil, kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	byID := map[string]canonical{}
	var recs []*kgo.Record
	for _, tc := range corpus(t) {
		r := new(kgo.Record)
		if err := cekafka.WriteStructuredRecord(r, topic, &tc.e); err != nil {
			t.Fatalf("%s: WriteStructuredRecord: %v", tc.name, err)
		}
		if !json.Valid(r.Value) {
			t.Fatalf("%s: value is not JSON: %s", tc.name, r.Value)
		}
		recs = append(recs, r)
		byID[tc.e.ID()] = canon(t, &tc.e)

		// Weft's own reader.
		got, err := cekafka.FromRecord(r)
		if err != nil {
			t.Fatalf("%s: FromRecord: %v", tc.name, err)
		}
		if d := diffCanonical(canon(t, &tc.e), canon(t, got)); d != "" {
			t.Errorf("%s: FromRecord of the structured record differs:\n%s", tc.name, d)
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}

	for _, cm := range testutil.SaramaRead(ctx, t, srv.Addr(), topic, partitions, len(recs)) {
		checkSaramaMessage(ctx, t, cm, binding.EncodingStructured, byID, nil)
	}
	if len(byID) != 0 {
		t.Errorf("%d events never read by sarama", len(byID))
	}
}

// TestStructuredRecordShape: the value is the JSON event format, data as
// JSON only under a JSON media type and when it is JSON, data_base64
// otherwise; the content-type header names the format; the key is the
// partition key.
func TestStructuredRecordShape(t *testing.T) {
	mk := func(ct string, data string, exts ...string) *event.Event {
		e := event.New()
		e.SetID("id")
		e.SetSource("/s")
		e.SetType("t")
		if ct != "" {
			e.SetDataContentType(ct)
		}
		if data != "" {
			e.DataEncoded = []byte(data)
		}
		for i := 0; i+1 < len(exts); i += 2 {
			if err := e.Context.SetExtension(exts[i], exts[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		return &e
	}
	for _, tc := range []struct {
		name     string
		e        *event.Event
		contains []string
		key      string
	}{
		{"json data", mk("application/json", `{"a":[1,2]}`), []string{`"data":{"a":[1,2]}`}, ""},
		{"json suffix", mk("application/vnd.x+json; charset=utf-8", `"s"`), []string{`"data":"s"`}, ""},
		{"text data", mk("text/plain", "héllo \"q\"\n"), []string{`"data_base64":"` + b64("héllo \"q\"\n") + `"`}, ""},
		{"json type, not json", mk("application/json", "{not json"), []string{`"data_base64":"` + b64("{not json") + `"`}, ""},
		{"no data", mk("application/json", ""), []string{`"datacontenttype":"application/json"}`}, ""},
		{"escaped attributes", mk("", "", "exa", "tab\there \"quoted\" back\\slash \x01"), []string{`"exa":"tab\there \"quoted\" back\\slash \u0001"`}, ""},
		{"partition key", mk("", "", "partitionkey", "customer-7"), []string{`"partitionkey":"customer-7"`}, "customer-7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &kgo.Record{Headers: []kgo.RecordHeader{{Key: "stale", Value: []byte("x")}}, Partition: 5}
			if err := cekafka.WriteStructuredRecord(r, "topic", tc.e); err != nil {
				t.Fatal(err)
			}
			if !json.Valid(r.Value) {
				t.Fatalf("value is not JSON: %s", r.Value)
			}
			for _, c := range tc.contains {
				if !strings.Contains(string(r.Value), c) {
					t.Errorf("value %s does not contain %s", r.Value, c)
				}
			}
			if len(r.Headers) != 1 || r.Headers[0].Key != "content-type" || string(r.Headers[0].Value) != "application/cloudevents+json" {
				t.Errorf("headers = %v, want only content-type: application/cloudevents+json", r.Headers)
			}
			if string(r.Key) != tc.key || (tc.key == "" && r.Key != nil) {
				t.Errorf("key = %q, want %q", r.Key, tc.key)
			}
			if r.Topic != "topic" || r.Partition != 0 {
				t.Errorf("record not reset: topic %q partition %d", r.Topic, r.Partition)
			}
		})
	}
}

func b64(s string) string {
	b, _ := json.Marshal([]byte(s))
	return strings.Trim(string(b), `"`)
}

// TestStructuredRefusesReservedExtension: an extension named like a JSON
// format member cannot be carried.
func TestStructuredRefusesReservedExtension(t *testing.T) {
	e := event.New()
	e.SetID("id")
	e.SetSource("/s")
	e.SetType("t")
	if err := e.Context.SetExtension("data", "x"); err != nil {
		t.Skipf("sdk-go refuses the name itself: %v", err)
	}
	err := cekafka.WriteStructuredRecord(new(kgo.Record), "t", &e)
	if !errors.Is(err, cekafka.ErrInvalidAttribute) {
		t.Fatalf("err = %v, want ErrInvalidAttribute", err)
	}
}
