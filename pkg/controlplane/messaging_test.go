package controlplane

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/observability"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

const messagingManifest = `apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata:
  name: kc
  namespace: flows
spec:
  numPartitions: 2
  retentionDuration: PT1H
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: ch
  namespace: flows
spec:
  delivery:
    deadLetterSink:
      uri: http://dead.example/
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: sub
  namespace: flows
spec:
  channel:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    name: ch
  subscriber:
    uri: http://sub.example/
  reply:
    ref:
      apiVersion: messaging.knative.dev/v1beta1
      kind: KafkaChannel
      name: kc
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: seq
  namespace: flows
spec:
  steps:
  - uri: http://step0.example/
  - ref:
      apiVersion: v1
      kind: Service
      name: step1
  reply:
    ref:
      apiVersion: messaging.knative.dev/v1
      kind: InMemoryChannel
      name: ch
---
apiVersion: flows.knative.dev/v1
kind: Parallel
metadata:
  name: par
  namespace: flows
spec:
  branches:
  - filter:
      uri: http://filter.example/
    subscriber:
      uri: http://b0.example/
  - subscriber:
      uri: http://b1.example/
`

// topicPartitions lists the existing topics among topics with their
// partition counts.
func topicPartitions(t *testing.T, adm *kadm.Client, topics ...string) map[string]int {
	t.Helper()
	td, err := adm.ListTopics(testCtx(t), topics...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for name, d := range td {
		if d.Err == nil {
			out[name] = len(d.Partitions)
		}
	}
	return out
}

func TestChannelsSubscriptionsAndFlows(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	runDataPlane(t, r.srv.Addr(), wire.RoleIngress, "ingress-1", newGate(true))
	runDataPlane(t, r.srv.Addr(), wire.RoleDispatcher, "dispatcher-1", newGate(true))
	cl := mustClient(t, e)
	adm := kadm.NewClient(cl)

	// Events already in the channel before the subscription exists are not
	// its business: its start is fixed at the channel topic's end.
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, strings.SplitN(messagingManifest, "---\n", 3)[1])}); err != nil {
		t.Fatalf("apply channel: %v", err)
	}
	for i := 0; i < 4; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "weft.channel.flows.ch", Partition: int32(i % 3), Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, messagingManifest)}); err != nil {
		t.Fatalf("apply: %v", err)
	}

	want := map[string]int{
		"weft.channel.flows.kc": 2, "weft.retry-channel.flows.kc": 2,
		"weft.channel.flows.ch": 3, "weft.retry-channel.flows.ch": 3,
		"weft.sequence.flows.seq.0": 3, "weft.retry-sequence.flows.seq.0": 3,
		"weft.sequence.flows.seq.1": 3, "weft.retry-sequence.flows.seq.1": 3,
		"weft.parallel.flows.par.in": 3, "weft.retry-parallel.flows.par.in": 3,
		"weft.parallel.flows.par.0": 3, "weft.retry-parallel.flows.par.0": 3,
	}
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	got := topicPartitions(t, adm, append(names, "weft.parallel.flows.par.1")...)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("topics\n got %v\nwant %v", got, want)
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, "weft.channel.flows.kc")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cfgs.On("weft.channel.flows.kc", nil); err != nil || configValue(c.Configs, "retention.ms") != "3600000" {
		t.Errorf("KafkaChannel retentionDuration PT1H: retention.ms %q (%v)", configValue(c.Configs, "retention.ms"), err)
	}
	offs, err := adm.FetchOffsets(ctx, "weft.subscription.flows.sub")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) { sum += o.At })
	if sum != 4 {
		t.Errorf("subscription start offsets sum to %d, want 4 (the channel topic's end)", sum)
	}

	get := func(kind, name string) *weftv1.Object {
		t.Helper()
		po, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: kind, Namespace: "flows", Name: name})
		if err != nil {
			t.Fatalf("get %s %s: %v", kind, name, err)
		}
		return po
	}
	ready := func(conds []apis.Condition) (bool, string) {
		if len(conds) == 0 || conds[0].Type != "Ready" {
			return false, fmt.Sprintf("Ready is not first: %+v", conds)
		}
		return conds[0].Status == apis.ConditionTrue, fmt.Sprintf("%+v", conds)
	}
	testutil.Eventually(t, 20*time.Second, "every resource Ready", func() (bool, string) {
		for _, kn := range [][2]string{{"channel", "ch"}, {"kafkachannel", "kc"}, {"subscription", "sub"}, {"sequence", "seq"}, {"parallel", "par"}} {
			o := mustDecode(t, get(kn[0], kn[1]))
			if ok, msg := ready(o.GetConditions()); !ok {
				return false, kn[1] + ": " + msg
			}
		}
		return true, ""
	})

	sub := decode[*apis.Subscription](t, get("subscriptions", "sub"))
	if p := sub.Status.PhysicalSubscription; p.SubscriberURI != "http://sub.example/" || p.ReplyURI != "http://ingress.test:8080/channels/flows/kc" || p.DeadLetterSinkURI != "http://dead.example/" {
		t.Errorf("physicalSubscription %+v", p)
	}
	ch := decode[*apis.Channel](t, get("inmemorychannel", "ch"))
	if ch.TypeMeta.Kind != apis.KindInMemoryChannel || ch.Status.Address == nil || ch.Status.Address.URL != "http://ingress.test:8080/channels/flows/ch" ||
		ch.Status.Topic != "weft.channel.flows.ch" || ch.Status.DeadLetterSinkURI != "http://dead.example/" {
		t.Errorf("channel status %+v (%s)", ch.Status, ch.TypeMeta.Kind)
	}
	if s := ch.Status.Subscribers; len(s) != 1 || s[0].UID != sub.ObjectMeta.UID || s[0].Ready != apis.ConditionTrue || s[0].ObservedGeneration != 1 {
		t.Errorf("channel subscribers %+v", s)
	}
	seq := decode[*apis.Sequence](t, get("sequence", "seq"))
	if seq.Status.Address == nil || seq.Status.Address.URL != "http://ingress.test:8080/sequences/flows/seq" || len(seq.Status.ChannelStatuses) != 2 || len(seq.Status.SubscriptionStatuses) != 2 {
		t.Fatalf("sequence status %+v", seq.Status)
	}
	if c := seq.Status.ChannelStatuses[1]; c.Channel != (apis.FlowReference{APIVersion: apis.MessagingV1, Kind: apis.KindInMemoryChannel, Name: "seq-kn-sequence-1", Namespace: "flows"}) ||
		c.Topic != "weft.sequence.flows.seq.1" || c.Ready.Status != apis.ConditionTrue {
		t.Errorf("sequence channel status %+v", c)
	}
	if s := seq.Status.SubscriptionStatuses[0]; s.Subscription.Name != "seq-kn-sequence-0" || s.Subscription.Kind != apis.KindSubscription || s.Ready.Status != apis.ConditionTrue {
		t.Errorf("sequence subscription status %+v", s)
	}
	par := decode[*apis.Parallel](t, get("parallel", "par"))
	if par.Status.IngressChannelStatus.Channel.Name != "par-kn-parallel" || par.Status.IngressChannelStatus.Topic != "weft.parallel.flows.par.in" || len(par.Status.BranchStatuses) != 2 ||
		par.Status.Address == nil || par.Status.Address.URL != "http://ingress.test:8080/parallels/flows/par" {
		t.Fatalf("parallel status %+v", par.Status)
	}
	if b := par.Status.BranchStatuses[0]; b.FilterSubscriptionStatus.Subscription.Name != "par-kn-parallel-filter-0" || b.FilterSubscriptionStatus.Ready.Status != apis.ConditionTrue ||
		b.SubscriberSubscriptionStatus.Subscription.Name != "par-kn-parallel-0" || b.FilterChannelStatus.Topic != "weft.parallel.flows.par.0" {
		t.Errorf("branch 0 status %+v", b)
	}

	// A subscription on a missing channel says so.
	orphan := "apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata:\n  name: orphan\n  namespace: flows\nspec:\n  channel:\n    apiVersion: messaging.knative.dev/v1\n    kind: Channel\n    name: gone\n  subscriber:\n    uri: http://x.example/\n"
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, orphan)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "orphan subscription ChannelNotFound", func() (bool, string) {
		s := decode[*apis.Subscription](t, get("subscription", "orphan"))
		c := s.Status.Conditions
		return len(c) > 1 && c[0].Status == apis.ConditionFalse && c[0].Reason == "ChannelNotFound" && c[1].Type == "ChannelReady", fmt.Sprintf("%+v", c)
	})

	// A grown sequence gets its new step's topic; a shrunk one loses it
	// once the dispatchers stopped running the step.
	grown := strings.Replace(messagingManifest, "  reply:\n    ref:\n      apiVersion: messaging.knative.dev/v1\n      kind: InMemoryChannel", "  - uri: http://step2.example/\n  reply:\n    ref:\n      apiVersion: messaging.knative.dev/v1\n      kind: InMemoryChannel", 1)
	if grown == messagingManifest {
		t.Fatal("test manifest edit did not apply")
	}
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, grown)}); err != nil {
		t.Fatal(err)
	}
	if got := topicPartitions(t, adm, "weft.sequence.flows.seq.2", "weft.retry-sequence.flows.seq.2"); len(got) != 2 {
		t.Errorf("grown sequence: step 2 topics %v", got)
	}
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, messagingManifest)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "a shrunk sequence's step 2 topics deleted", func() (bool, string) {
		got := topicPartitions(t, adm, "weft.sequence.flows.seq.2", "weft.retry-sequence.flows.seq.2", "weft.sequence.flows.seq.1")
		return len(got) == 1, fmt.Sprint(got)
	})

	// Deleting removes the topics and groups (a step's group holds what a
	// dispatcher committed).
	var so kadm.Offsets
	so.Add(kadm.Offset{Topic: "weft.sequence.flows.seq.0", Partition: 0, At: 1, LeaderEpoch: -1})
	if resp, err := adm.CommitOffsets(ctx, "weft.sequence.flows.seq.0", so); err != nil || resp.Error() != nil {
		t.Fatalf("commit a step's offsets: %v %v", err, resp.Error())
	}
	if gs, err := adm.ListGroups(ctx); err != nil || gs["weft.sequence.flows.seq.0"].Group == "" || gs["weft.subscription.flows.sub"].Group == "" {
		t.Fatalf("groups before delete: %v %v", gs.Groups(), err)
	}
	for _, kn := range [][2]string{{"subscription", "sub"}, {"kafkachannel", "kc"}, {"channel", "ch"}, {"sequence", "seq"}, {"parallel", "par"}} {
		if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: kn[0], Namespace: "flows", Name: kn[1]}); err != nil {
			t.Fatalf("delete %s: %v", kn[1], err)
		}
	}
	if got := topicPartitions(t, adm, "weft.channel.flows.kc", "weft.retry-channel.flows.kc", "weft.channel.flows.ch", "weft.retry-channel.flows.ch"); len(got) != 0 {
		t.Errorf("channel topics left after delete: %v", got)
	}
	testutil.Eventually(t, 20*time.Second, "flow topics and groups deleted", func() (bool, string) {
		if got := topicPartitions(t, adm, names...); len(got) != 0 {
			return false, fmt.Sprint("topics ", got)
		}
		gs, err := adm.ListGroups(ctx)
		if err != nil {
			return false, err.Error()
		}
		var left []string
		for _, g := range gs.Groups() {
			if strings.HasPrefix(g, "weft.subscription.flows.sub") || strings.HasPrefix(g, "weft.sequence.") || strings.HasPrefix(g, "weft.parallel.") {
				left = append(left, g)
			}
		}
		return len(left) == 0, fmt.Sprint("groups ", left)
	})
}

// A flow's internal topic and its egress share a uid ("{uid}/step-1"):
// readiness tracks them apart, so neither entry looks changed when an
// unrelated resource changes the contract.
func TestReadinessKeepsIngressAndEgressEntriesApart(t *testing.T) {
	p := newPublisher(compile.Options{IngressURL: "http://in"}, observability.DiscardLogger())
	seq := &apis.Sequence{ObjectMeta: apis.ObjectMeta{Name: "seq", Namespace: "ns", UID: "u", Generation: 1},
		Spec: apis.SequenceSpec{Steps: []apis.SequenceStep{{Destination: apis.Destination{URI: "http://a.example/"}}, {Destination: apis.Destination{URI: "http://b.example/"}}}}}
	b := &apis.Broker{ObjectMeta: apis.ObjectMeta{Name: "b", Namespace: "ns", UID: "ub", Generation: 1}}
	p.update(&State{Version: 1, objects: map[Key]apis.Object{KeyOf(seq): seq}})
	p.update(&State{Version: 2, objects: map[Key]apis.Object{KeyOf(seq): seq, KeyOf(b): b}})
	for _, role := range []wire.Role{wire.RoleIngress, wire.RoleDispatcher} {
		if got := p.since[entryKey(role, "u/step-1")]; got != 1 {
			t.Errorf("%s entry of u/step-1 changed at version %d, want 1", role, got)
		}
	}
	if got := p.since[entryKey(wire.RoleIngress, "ub")]; got != 2 {
		t.Errorf("broker entry since %d, want 2", got)
	}
}
