package controlplane

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/testutil"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func mustClient(t *testing.T, e *devkafka.Server) *kgo.Client {
	t.Helper()
	cfg := testutil.KafkaConfig(e)
	cl, err := cfg.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := testutil.StartKafkaConfig(t, devkafka.Config{Addr: "127.0.0.1:0", DataDir: dir})
	r := startReplica(t, e)
	ctx := testCtx(t)
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, walkthrough)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "trigger", Namespace: "event-example", Name: "goodbye-display"}); err != nil {
		t.Fatal(err)
	}
	before, err := r.client.List(ctx, &weftv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	r.stop()

	// A new replica on the same Kafka replays the same state.
	r2 := startReplica(t, e)
	after, err := r2.client.List(ctx, &weftv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(after.Objects), names(before.Objects); got != want {
		t.Fatalf("after restart: %s, want %s", got, want)
	}
	for i := range after.Objects {
		a, b := mustDecode(t, after.Objects[i]).GetObjectMeta(), mustDecode(t, before.Objects[i]).GetObjectMeta()
		if a.UID != b.UID || a.ResourceVersion != b.ResourceVersion || a.Generation != b.Generation {
			t.Errorf("%s: metadata changed across restart: %+v vs %+v", a.Name, a, b)
		}
	}
	r2.stop()

	// And so does one after the Kafka-protocol server itself restarted from its data dir.
	addr := e.Addr()
	e.Close()
	e2 := testutil.StartKafkaConfig(t, devkafka.Config{Addr: addr, DataDir: dir})
	r3 := startReplica(t, e2)
	again, err := r3.client.List(ctx, &weftv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(again.Objects), names(before.Objects); got != want {
		t.Fatalf("after kafka restart: %s, want %s", got, want)
	}
}

func names(objs []*weftv1.Object) string {
	var s []string
	for _, o := range objs {
		s = append(s, o.Kind+"/"+o.Namespace+"/"+o.Name)
	}
	return strings.Join(s, ",")
}

func TestReplicasConverge(t *testing.T) {
	e := testutil.StartKafka(t)
	a, b := startReplica(t, e), startReplica(t, e)
	ctx := testCtx(t)
	if _, err := a.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, brokerYAML("from-a", ""))}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, brokerYAML("from-b", ""))}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{a, b} {
		testutil.Eventually(t, 20*time.Second, "replica sees both writes", func() (bool, string) {
			l, err := r.client.List(ctx, &weftv1.ListRequest{Kind: "brokers"})
			if err != nil {
				return false, err.Error()
			}
			got := names(l.Objects)
			return got == "Broker/default/from-a,Broker/default/from-b", got
		})
	}
}

// Two replicas updating one resource from the same resourceVersion: exactly
// one wins, the other gets Aborted, and both replicas agree on the winner.
func TestConcurrentWritersOneWins(t *testing.T) {
	e := testutil.StartKafka(t)
	a, b := startReplica(t, e), startReplica(t, e)
	ctx := testCtx(t)
	resp, err := a.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, brokerYAML("shared", ""))})
	if err != nil {
		t.Fatal(err)
	}
	rv := mustDecode(t, resp.Results[0].Object).GetObjectMeta().ResourceVersion
	testutil.Eventually(t, 20*time.Second, "b sees the broker", func() (bool, string) {
		_, err := b.client.Get(ctx, &weftv1.GetRequest{Kind: "broker", Name: "shared"})
		return err == nil, status.Convert(err).Message()
	})
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, r := range []*replica{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: shared\n  resourceVersion: \"" + rv + "\"\n  labels:\n    writer: w" + string(rune('a'+i)) + strconv.Itoa(round) + "\n"
				_, errs[i] = r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, m)})
			}()
		}
		wg.Wait()
		var wins, aborted int
		for _, err := range errs {
			switch status.Code(err) {
			case codes.OK:
				wins++
			case codes.Aborted:
				aborted++
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 || aborted != 1 {
			t.Fatalf("round %d: %d wins, %d aborted; want 1 and 1 (errs %v)", round, wins, aborted, errs)
		}
		var label string
		for _, r := range []*replica{a, b} {
			testutil.Eventually(t, 20*time.Second, "replicas agree", func() (bool, string) {
				po, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: "broker", Name: "shared"})
				if err != nil {
					return false, err.Error()
				}
				m := mustDecode(t, po).GetObjectMeta()
				if m.ResourceVersion == rv {
					return false, "not updated yet"
				}
				if label == "" {
					label = m.Labels["writer"]
				}
				return m.Labels["writer"] == label, m.Labels["writer"]
			})
		}
		po, _ := a.client.Get(ctx, &weftv1.GetRequest{Kind: "broker", Name: "shared"})
		rv = mustDecode(t, po).GetObjectMeta().ResourceVersion
	}
}
