package controlplane

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// BenchmarkApply measures one Apply over gRPC (a transactional commit read
// back from the log); the Baseline sub-benchmark is one acks=all produce to
// the same server, the floor any durable write pays.
func BenchmarkApply(b *testing.B) {
	e := testutil.StartKafka(b)
	cfg := DefaultConfig()
	cfg.Kafka = testutil.KafkaConfig(e)
	cfg.GRPCAddr, cfg.OpsAddr = "127.0.0.1:0", ""
	ctx := context.Background()
	srv, err := New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(rctx) }()
	defer func() { cancel(); <-done }()
	client, closeConn := dialForBench(b, srv.Addr())
	defer closeConn()

	b.Run("Apply", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			m := "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: bench\n  labels:\n    n: \"" + strconv.Itoa(i) + "\"\n"
			if _, err := client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAMLB(b, m)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Baseline", func(b *testing.B) {
		kcfg := testutil.KafkaConfig(e)
		cl, err := kcfg.NewClient(nil, kgo.DefaultProduceTopic("weft.broker.default.bench"), kgo.RequiredAcks(kgo.AllISRAcks()))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		for b.Loop() {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReplay measures OpenKafkaStore replaying a state topic of
// replayObjects distinct objects (one record each) written beforehand on the
// Kafka-protocol server: the time a control-plane replica needs to start.
func BenchmarkReplay(b *testing.B) {
	const replayObjects = 100_000
	e := testutil.StartKafka(b)
	ctx := context.Background()
	cfg := KafkaStoreConfig{Kafka: testutil.KafkaConfig(e), Topic: "weft.bench.state"}
	writeStateRecords(b, ctx, cfg, replayObjects)
	b.ReportAllocs()
	for b.Loop() {
		s, err := OpenKafkaStore(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(s.Snapshot().List("", "")); n != replayObjects {
			b.Fatalf("replayed %d objects, want %d", n, replayObjects)
		}
		s.Close()
	}
	b.ReportMetric(float64(replayObjects)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// writeStateRecords creates cfg's state topic (by opening the store once) and
// appends n brokers to it with a plain producer, in batches.
func writeStateRecords(tb testing.TB, ctx context.Context, cfg KafkaStoreConfig, n int) {
	tb.Helper()
	s, err := OpenKafkaStore(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s.Close()
	cl, err := cfg.Kafka.NewClient(nil, kgo.DefaultProduceTopic(cfg.Topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	now := time.Now().UTC().Truncate(time.Second)
	const batch = 5000
	recs := make([]*kgo.Record, 0, batch)
	for i := 0; i < n; i++ {
		br := &apis.Broker{
			TypeMeta:   apis.TypeMeta{APIVersion: apis.EventingV1, Kind: apis.KindBroker},
			ObjectMeta: apis.ObjectMeta{Name: "b" + strconv.Itoa(i), Namespace: "bench", UID: uuid.NewString(), Generation: 1, CreationTimestamp: &now},
		}
		v, err := apis.Marshal(br)
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Partition: 0, Key: []byte(KeyOf(br).String()), Value: v})
		if len(recs) == batch || i == n-1 {
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				tb.Fatalf("write state records: %v", err)
			}
			recs = recs[:0]
		}
	}
}
