package controlplane

import (
	"context"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
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
