package controlplane

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

// watchFrom opens a watch of triggers labelled team=blue in namespace
// default, from resourceVersion rv.
func watchFrom(t *testing.T, r *replica, rv string) weftv1.ControlPlane_WatchClient {
	t.Helper()
	wctx, cancel := context.WithCancel(testCtx(t))
	t.Cleanup(cancel)
	stream, err := r.client.Watch(wctx, &weftv1.WatchRequest{Kind: "triggers", Namespace: "default", LabelSelector: "team=blue", ResourceVersion: rv})
	if err != nil {
		t.Fatal(err)
	}
	return stream
}

// Watching from a List's resource_version replays exactly the changes since,
// typed for the watch, then goes on live.
func TestWatchResume(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	applyRV(t, r, labelledTrigger("t1", "x", "team: blue"))
	applyRV(t, r, labelledTrigger("t2", "x", "team: red"))
	waitCompiled(t, r)
	list, err := r.client.List(ctx, &weftv1.ListRequest{Kind: "triggers", Namespace: "default", LabelSelector: "team=blue"})
	if err != nil {
		t.Fatal(err)
	}

	// Statuses are computed as of the watch (so t3, gone by then, shows as
	// not in the contract): this test compares everything else.
	var want []event
	expect := func(typ, name, rv, labels string) {
		want = append(want, event{typ: typ, name: name, rv: rv, labels: labels})
	}
	expect(EventAdded, "t3", applyRV(t, r, labelledTrigger("t3", "x", "team: blue")), "team=blue")
	expect(EventModified, "t1", applyRV(t, r, labelledTrigger("t1", "x", "team: blue", "tier: gold")), "team=blue,tier=gold")
	expect(EventAdded, "t2", applyRV(t, r, labelledTrigger("t2", "x", "team: blue")), "team=blue")
	// t1 stops matching: it leaves with its last matching content.
	expect(EventDeleted, "t1", applyRV(t, r, labelledTrigger("t1", "x", "team: red", "tier: gold")), "team=blue,tier=gold")
	applyRV(t, r, labelledTrigger("t4", "x", "team: red"))                                                                                      // never matched
	applyRV(t, r, brokerYAML("y", "")+"---\n"+strings.Replace(brokerYAML("z", ""), "metadata:\n", "metadata:\n  labels:\n    team: blue\n", 1)) // other kind
	applyRV(t, r, strings.Replace(labelledTrigger("t5", "x", "team: blue"), "metadata:\n", "metadata:\n  namespace: other\n", 1))               // other namespace
	if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "trigger", Name: "t3"}); err != nil {
		t.Fatal(err)
	}
	after, err := r.client.List(ctx, &weftv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	expect(EventDeleted, "t3", after.ResourceVersion, "team=blue") // the deletion's version
	expect(EventAdded, "t4", applyRV(t, r, labelledTrigger("t4", "x", "team: blue")), "team=blue")
	waitCompiled(t, r)

	stream := watchFrom(t, r, list.ResourceVersion)
	next := func() event {
		ev := recvEvent(t, stream)
		ev.statusReady = ""
		return ev
	}
	for i, w := range want {
		if ev := next(); ev != w {
			t.Fatalf("event %d: %v, want %v", i, ev, w)
		}
	}
	// Then live, with nothing in between.
	rv := applyRV(t, r, labelledTrigger("t2", "x", "team: blue", "tier: silver"))
	if ev, w := next(), (event{typ: EventModified, name: "t2", rv: rv, labels: "team=blue,tier=silver"}); ev != w {
		t.Fatalf("live event %v, want %v", ev, w)
	}
}

// Right after a resume, a status change reports the objects whose status
// changed, not every object of the view.
func TestWatchResumeStatusChanges(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	applyRV(t, r, brokerYAML("b0", ""))
	applyRV(t, r, labelledTrigger("s1", "b0", "team: blue"))
	applyRV(t, r, labelledTrigger("s2", "b0", "team: blue"))
	s3 := applyRV(t, r, labelledTrigger("s3", "x", "team: blue")) // broker x does not exist yet
	waitCompiled(t, r)
	list, err := r.client.List(ctx, &weftv1.ListRequest{Kind: "triggers", LabelSelector: "team=blue"})
	if err != nil {
		t.Fatal(err)
	}
	stream := watchFrom(t, r, list.ResourceVersion)

	// A change once the watch is established (received: it is).
	rv := applyRV(t, r, labelledTrigger("s1", "b0", "team: blue", "tier: gold"))
	if ev := recvEvent(t, stream); ev.typ != EventModified || ev.name != "s1" || ev.rv != rv {
		t.Fatalf("first event %v, want MODIFIED s1@%s", ev, rv)
	}
	// Creating broker x changes s3's status, and only s3's.
	applyRV(t, r, brokerYAML("x", ""))
	if ev := recvEvent(t, stream); ev.typ != EventModified || ev.name != "s3" || ev.rv != s3 {
		t.Fatalf("after creating broker x: %v, want a status-only MODIFIED s3@%s", ev, s3)
	}
	// A fence: the pass over the view that sent s3's status is over.
	rv = applyRV(t, r, labelledTrigger("s3", "x", "team: blue", "tier: gold"))
	if ev := recvEvent(t, stream); ev.typ != EventModified || ev.name != "s3" || ev.rv != rv {
		t.Fatalf("after relabelling s3: %v, want MODIFIED s3@%s", ev, rv)
	}
}

// A resource_version the replica cannot resume from fails the watch with
// Kubernetes' answers; "0" means "any version", like "".
func TestWatchResumeErrors(t *testing.T) {
	e := testutil.StartKafka(t)
	first := startReplica(t, e)
	old := applyRV(t, first, labelledTrigger("a", "x", "team: blue"))
	applyRV(t, first, labelledTrigger("a", "x", "team: blue", "tier: gold"))
	first.stop()
	// A new replica keeps the changes it follows live, not those it replayed.
	r := startReplicaWith(t, e, []Option{withResumeWait(200 * time.Millisecond)})
	ctx := testCtx(t)
	list, err := r.client.List(ctx, &weftv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	current, _ := strconv.ParseUint(list.ResourceVersion, 10, 64)
	ahead := strconv.FormatUint(current+1000, 10)
	tests := []struct {
		name, rv string
		code     codes.Code
		want     []string // in the message
	}{
		{"too old", old, codes.OutOfRange, []string{"too old resource version", "resource_version " + old, "oldest version this replica can resume from is " + list.ResourceVersion, "list again"}},
		{"ahead of the replica", ahead, codes.Unavailable, []string{"resource_version " + ahead, "newer than this replica's state"}},
		{"not a number", "abc", codes.InvalidArgument, []string{"resource_version", `"abc"`}},
		{"negative", "-1", codes.InvalidArgument, []string{"resource_version", `"-1"`}},
		{"a list's version with spaces", " " + list.ResourceVersion, codes.InvalidArgument, []string{"resource_version"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := watchFrom(t, r, tc.rv).Recv()
			st := status.Convert(err)
			if st.Code() != tc.code {
				t.Fatalf("watch from %q: %v, want code %s", tc.rv, err, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(st.Message(), w) {
					t.Errorf("message %q does not say %q", st.Message(), w)
				}
			}
		})
	}
	for _, rv := range []string{"", "0"} {
		if ev := recvEvent(t, watchFrom(t, r, rv)); ev.typ != EventAdded || ev.name != "a" {
			t.Errorf("watch from %q: first event %v, want ADDED a", rv, ev)
		}
	}
	// The current version resumes with nothing to catch up on.
	stream := watchFrom(t, r, list.ResourceVersion)
	rv := applyRV(t, r, labelledTrigger("b", "x", "team: blue"))
	if ev := recvEvent(t, stream); ev.typ != EventAdded || ev.name != "b" || ev.rv != rv {
		t.Errorf("watch from the current version: %v, want ADDED b@%s", ev, rv)
	}
}
