package controlplane

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func TestWatch(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, brokerYAML("first", ""))}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := r.client.Watch(wctx, &weftv1.WatchRequest{Kind: "brokers"})
	if err != nil {
		t.Fatal(err)
	}
	next := func() *weftv1.WatchEvent {
		t.Helper()
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		return ev
	}
	if ev := next(); ev.Type != "ADDED" || ev.Object.Name != "first" {
		t.Fatalf("first event %s %s", ev.Type, ev.Object.Name)
	}
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, brokerYAML("second", ""))}); err != nil {
		t.Fatal(err)
	}
	// Triggers are not watched; the second broker arrives as ADDED.
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, triggerYAML("t", "  broker: first\n  subscriber:\n    uri: http://x.example/\n"))}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for !seen["ADDED/second"] {
		ev := next()
		if ev.Object.Kind != "Broker" {
			t.Fatalf("watch of brokers sent a %s", ev.Object.Kind)
		}
		seen[ev.Type+"/"+ev.Object.Name] = true
	}
	if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "broker", Name: "second"}); err != nil {
		t.Fatal(err)
	}
	for !seen["DELETED/second"] {
		ev := next()
		seen[ev.Type+"/"+ev.Object.Name] = true
	}
}

// A new trigger's consumer group starts where the topic ended when the
// trigger was created, durably, before any dispatcher joins.
func TestTriggerStartOffsetsFixedAtCreation(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e, func(c *Config) { c.BrokerPartitions = 2 })
	ctx := testCtx(t)
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, brokerYAML("b", ""))}); err != nil {
		t.Fatal(err)
	}
	cl := mustClient(t, e)
	for i := 0; i < 5; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "weft.broker.default.b", Partition: int32(i % 2), Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	m := triggerYAML("latest", "  broker: b\n  subscriber:\n    uri: http://x.example/\n") + "---\n" +
		"apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: earliest\n  annotations:\n    weft.dev/initial-offset: earliest\nspec:\n  broker: b\n  subscriber:\n    uri: http://x.example/\n"
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, m)}); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	for group, want := range map[string]int64{"weft.trigger.default.latest": 5, "weft.trigger.default.earliest": 0} {
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
		if sum != want {
			t.Errorf("%s: committed offsets sum to %d, want %d", group, sum, want)
		}
	}
}
