package controlplane

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
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

// labelledTrigger is a trigger in the default namespace on broker with the
// given labels ("k: v" lines).
func labelledTrigger(name, broker string, labels ...string) string {
	m := "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: " + name + "\n"
	if len(labels) > 0 {
		m += "  labels:\n"
		for _, l := range labels {
			m += "    " + l + "\n"
		}
	}
	return m + "spec:\n  broker: " + broker + "\n  subscriber:\n    uri: http://x.example/\n"
}

// applyRV applies manifest and returns the resourceVersion of its first object.
func applyRV(t *testing.T, r *replica, manifest string) string {
	t.Helper()
	resp, err := r.client.Apply(testCtx(t), &weftv1.ApplyRequest{Objects: objectsFromYAML(t, manifest)})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return mustDecode(t, resp.Results[0].Object).GetObjectMeta().ResourceVersion
}

// waitCompiled waits until the replica's contract includes its whole state,
// so that computed statuses no longer change on their own.
func waitCompiled(t *testing.T, r *replica) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, "the contract to catch up with the state", func() (bool, string) {
		c, _ := r.srv.pub.current()
		v := r.srv.store.Snapshot().Version
		return c.Contract.GetVersion() >= v, fmt.Sprintf("contract %d, state %d", c.Contract.GetVersion(), v)
	})
}

// event is a received watch event, reduced to what tests compare.
type event struct {
	typ, name, rv, labels string
	statusReady           string // the Ready condition's status, "" when absent
}

func (e event) String() string {
	return e.typ + " " + e.name + "@" + e.rv + " {" + e.labels + "} ready=" + e.statusReady
}

func toEvent(t *testing.T, ev *weftv1.WatchEvent) event {
	t.Helper()
	o := mustDecode(t, ev.Object)
	m := o.GetObjectMeta()
	var labels []string
	for k, v := range m.Labels {
		if k != apis.LabelBroker { // set by defaulting
			labels = append(labels, k+"="+v)
		}
	}
	sort.Strings(labels)
	e := event{typ: ev.Type, name: m.Name, rv: m.ResourceVersion, labels: strings.Join(labels, ",")}
	if tr, ok := o.(*apis.Trigger); ok {
		for _, c := range tr.Status.Conditions {
			if c.Type == "Ready" {
				e.statusReady = string(c.Status)
			}
		}
	}
	return e
}

// recvEvent receives the next event, failing the test on error.
func recvEvent(t *testing.T, stream weftv1.ControlPlane_WatchClient) event {
	t.Helper()
	ev, err := stream.Recv()
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	return toEvent(t, ev)
}

// A label-selector watch sees objects enter (ADDED) and leave (DELETED,
// with their previous content at the new version) as their labels change,
// and hears nothing more about an object once it left.
func TestWatchSelectorTransitions(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	// Broker x does not exist yet: creating it later changes every
	// trigger's status at once.
	applyRV(t, r, labelledTrigger("t1", "x", "team: blue"))
	applyRV(t, r, labelledTrigger("t2", "x", "team: red"))
	applyRV(t, r, labelledTrigger("t3", "x", "team: blue"))
	waitCompiled(t, r)

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := r.client.Watch(wctx, &weftv1.WatchRequest{Kind: "triggers", LabelSelector: "team=blue"})
	if err != nil {
		t.Fatal(err)
	}
	got := []event{recvEvent(t, stream), recvEvent(t, stream)}
	if got[0].typ != EventAdded || got[0].name != "t1" || got[1].typ != EventAdded || got[1].name != "t3" {
		t.Fatalf("initial events %v, want ADDED t1, ADDED t3", got)
	}

	// t1 stops matching, t2 starts.
	rv1 := applyRV(t, r, labelledTrigger("t1", "x", "team: red"))
	rv2 := applyRV(t, r, labelledTrigger("t2", "x", "team: blue"))
	for i, want := range []event{
		{typ: EventDeleted, name: "t1", rv: rv1, labels: "team=blue"},
		{typ: EventAdded, name: "t2", rv: rv2, labels: "team=blue", statusReady: "False"},
	} {
		if ev := recvEvent(t, stream); ev != want {
			t.Fatalf("event %d after relabelling: %v, want %v", i, ev, want)
		}
	}

	// Creating the broker changes the status of all three triggers: t2 and
	// t3 are watched and report it in one pass over the view; t1 left it.
	// Relabelling t3 afterwards is a fence: that pass is over before it.
	applyRV(t, r, brokerYAML("x", ""))
	var statusNames []string
	for len(statusNames) < 2 {
		ev := recvEvent(t, stream)
		if ev.typ != EventModified || ev.name == "t1" {
			t.Fatalf("status change sent %v; want MODIFIED for t2 and t3 only", ev)
		}
		statusNames = append(statusNames, ev.name)
	}
	sort.Strings(statusNames)
	if fmt.Sprint(statusNames) != "[t2 t3]" {
		t.Fatalf("status changes for %v, want t2 and t3", statusNames)
	}
	rv3 := applyRV(t, r, labelledTrigger("t3", "x", "team: blue", "tier: gold"))
	if ev := recvEvent(t, stream); ev.typ != EventModified || ev.name != "t3" || ev.rv != rv3 {
		t.Fatalf("after the fence: %v, want MODIFIED t3@%s (nothing about t1)", ev, rv3)
	}
}
