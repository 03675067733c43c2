package cekafka_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
)

// saramaMetadata are the extensions the sarama binding adds from the
// record's coordinates; they are not part of the event that was written.
var saramaMetadata = []string{"kafkaoffset", "kafkapartition", "kafkatopic"}

// TestCrossBindingSarama writes the corpus with ToRecord to a topic on a
// Kafka-protocol server and reads it back with a real sarama consumer and
// the sdk-go kafka_sarama binding: every event must come back identical
// (attributes, extensions, data byte for byte), and the key must be the
// partition key.
func TestCrossBindingSarama(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := testutil.StartKafka(t)
	const topic = "weft.broker.default.cross"
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

	events := corpus(t)
	byID := map[string]canonical{}
	var recs []*kgo.Record
	for _, tc := range events {
		r, err := cekafka.ToRecord(topic, &tc.e)
		if err != nil {
			t.Fatalf("%s: ToRecord: %v", tc.name, err)
		}
		recs = append(recs, r)
		byID[tc.e.ID()] = canon(t, &tc.e)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}

	for _, cm := range testutil.SaramaRead(ctx, t, srv.Addr(), topic, partitions, len(events)) {
		checkSaramaMessage(ctx, t, cm, binding.EncodingBinary, byID, map[string]string{
			"kafkaoffset":    strconv.FormatInt(cm.Offset, 10),
			"kafkapartition": strconv.Itoa(int(cm.Partition)),
			"kafkatopic":     topic,
		})
	}
	if len(byID) != 0 {
		t.Errorf("%d events never read by sarama", len(byID))
	}
}

// checkSaramaMessage reads cm with the sdk-go sarama binding, which must see
// encoding enc and a valid event, and checks the event against the one of
// its id in byID (then removed): identical once the binding's metadata
// extensions are dropped (each equal to wantMeta's value, when wantMeta is
// set), with the partition key as the message key.
func checkSaramaMessage(ctx context.Context, t *testing.T, cm *sarama.ConsumerMessage, enc binding.Encoding, byID map[string]canonical, wantMeta map[string]string) {
	t.Helper()
	m := kafka_sarama.NewMessageFromConsumerMessage(cm)
	if m.ReadEncoding() != enc {
		t.Fatalf("sarama binding sees encoding %v, want %v", m.ReadEncoding(), enc)
	}
	e, err := binding.ToEvent(ctx, m)
	if err != nil {
		t.Fatalf("sarama binding ToEvent: %v", err)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("event %s read by sarama is invalid: %v", e.ID(), err)
	}
	for _, name := range saramaMetadata {
		if v := e.Extensions()[name]; wantMeta != nil && v != wantMeta[name] {
			t.Errorf("sarama metadata %s = %v, want %s", name, v, wantMeta[name])
		}
		if err := e.Context.SetExtension(name, nil); err != nil {
			t.Fatal(err)
		}
	}
	want, ok := byID[e.ID()]
	if !ok {
		t.Fatalf("sarama read an unknown event %q", e.ID())
	}
	delete(byID, e.ID())
	if d := diffCanonical(want, canon(t, e)); d != "" {
		t.Errorf("event %s differs through sarama:\n%s", e.ID(), d)
	}
	if pk := want.Attrs["partitionkey"]; pk != "" && string(cm.Key) != pk {
		t.Errorf("event %s: sarama key %q, want %q", e.ID(), cm.Key, pk)
	} else if pk == "" && cm.Key != nil {
		t.Errorf("event %s: sarama key %q, want none", e.ID(), cm.Key)
	}
}

// TestSameHeadersAsSaramaWriter checks that ToRecord writes exactly the
// headers, key and value the sdk-go sarama binding writes for the same event
// (order aside), so either side can read the other's records.
func TestSameHeadersAsSaramaWriter(t *testing.T) {
	ctx := context.Background()
	for _, tc := range corpus(t) {
		t.Run(tc.name, func(t *testing.T) {
			var pm sarama.ProducerMessage
			if err := kafka_sarama.WriteProducerMessage(ctx, binding.ToMessage(&tc.e), &pm); err != nil {
				t.Fatalf("sarama WriteProducerMessage: %v", err)
			}
			r, err := cekafka.ToRecord("t", &tc.e)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, h := range pm.Headers {
				want[string(h.Key)] = string(h.Value)
			}
			got := map[string]string{}
			for _, h := range r.Headers {
				got[h.Key] = string(h.Value)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("header %s = %q, sarama writes %q", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("header %s not written by sarama", k)
				}
			}
			var wantKey, wantValue []byte
			if pm.Key != nil {
				wantKey, _ = pm.Key.Encode()
			}
			if pm.Value != nil {
				wantValue, _ = pm.Value.Encode()
			}
			if !bytes.Equal(r.Key, wantKey) {
				t.Errorf("key = %q, sarama writes %q", r.Key, wantKey)
			}
			if !bytes.Equal(r.Value, wantValue) {
				t.Errorf("value differs from sarama's")
			}

			// And the other way: what sarama writes, FromRecord reads.
			rec := &kgo.Record{Key: wantKey, Value: wantValue}
			for _, h := range pm.Headers {
				rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
			}
			e, err := cekafka.FromRecord(rec)
			if err != nil {
				t.Fatalf("FromRecord of sarama's record: %v", err)
			}
			if d := diffCanonical(canon(t, &tc.e), canon(t, e)); d != "" {
				t.Errorf("sarama-written record decodes differently:\n%s", d)
			}
		})
	}
}
