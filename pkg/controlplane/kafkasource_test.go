package controlplane

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func kafkaSourceManifest(name, spec string) string {
	return "apiVersion: sources.knative.dev/v1beta1\nkind: KafkaSource\nmetadata:\n  name: " + name + "\n  namespace: src\nspec:\n" + spec
}

// TestKafkaSource: applying a KafkaSource creates its retry topic on Weft's
// cluster and no topic anywhere else (the source's topics are the user's);
// a source without spec.consumerGroup gets knative-kafka-source-<uid> once,
// kept when the manifest is applied again without it, and the group cannot
// be changed; the source is Ready once the dispatchers run it, with its
// sink URI and one ceAttributes entry per topic; one whose sink does not
// resolve is not Ready and not in the contract; deleting a source removes
// its retry topic and leaves the user's consumer group and its offsets.
func TestKafkaSource(t *testing.T) {
	e := testutil.StartKafka(t)
	source := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	adm := kadm.NewClient(mustClient(t, e))
	srcAdm := kadm.NewClient(mustClient(t, source))

	// The user's topic and group, with a committed offset.
	if resp, err := srcAdm.CreateTopic(ctx, 1, -1, nil, "orders"); err != nil || resp.Err != nil {
		t.Fatalf("create topic orders: %v %v", err, resp.Err)
	}
	var offs kadm.Offsets
	offs.AddOffset("orders", 0, 0, -1)
	if resp, err := srcAdm.CommitOffsets(ctx, "billing", offs); err != nil || resp.Error() != nil {
		t.Fatalf("commit billing: %v %v", err, resp.Error())
	}

	auto := kafkaSourceManifest("auto", fmt.Sprintf("  bootstrapServers: [%q]\n  topics: [orders, payments]\n  sink:\n    uri: http://display.src.svc/\n", source.Addr()))
	named := kafkaSourceManifest("named", fmt.Sprintf("  bootstrapServers: [%q]\n  topics: [orders]\n  consumerGroup: billing\n  sink:\n    ref:\n      apiVersion: eventing.knative.dev/v1\n      kind: Broker\n      name: gone\n", source.Addr()))
	resp, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, auto+"---\n"+named)})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	created := decode[*apis.KafkaSource](t, resp.Results[0].Object)
	group := created.Spec.ConsumerGroup
	if want := "knative-kafka-source-" + created.ObjectMeta.UID; group != want || created.ObjectMeta.UID == "" {
		t.Errorf("spec.consumerGroup = %q, want %q", group, want)
	}
	if got := topicPartitions(t, adm, wire.KafkaSourceRetryTopic("src", "auto"), wire.KafkaSourceRetryTopic("src", "named"), "orders", "payments"); len(got) != 2 || got["orders"] != 0 || got["payments"] != 0 {
		t.Errorf("topics on Weft's cluster: %v; want the two retry topics only", got)
	}
	if got := topicPartitions(t, srcAdm, "orders", "payments", wire.KafkaSourceRetryTopic("src", "auto")); fmt.Sprint(got) != "map[orders:1]" {
		t.Errorf("topics on the source's cluster: %v; want orders as it was, nothing created", got)
	}

	// Applied again without consumerGroup: unchanged, same group.
	resp, err = r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, auto)})
	if err != nil {
		t.Fatalf("re-apply: %v", err)
	}
	if a := resp.Results[0].GetAction(); a != ActionUnchanged {
		t.Errorf("re-apply without spec.consumerGroup: action %q, want %q", a, ActionUnchanged)
	}
	if g := decode[*apis.KafkaSource](t, resp.Results[0].Object).Spec.ConsumerGroup; g != group {
		t.Errorf("re-apply changed the group to %q", g)
	}
	// A spec change without consumerGroup keeps it too.
	resp, err = r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, strings.Replace(auto, "[orders, payments]", "[orders]", 1))})
	if err != nil {
		t.Fatalf("apply with one topic: %v", err)
	}
	if k := decode[*apis.KafkaSource](t, resp.Results[0].Object); k.Spec.ConsumerGroup != group || k.ObjectMeta.Generation != 2 {
		t.Errorf("after a spec change: group %q, generation %d; want %q, 2", k.Spec.ConsumerGroup, k.ObjectMeta.Generation, group)
	}
	_, err = r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, strings.Replace(named, "consumerGroup: billing", "consumerGroup: other", 1))})
	if msg := status.Convert(err).Message(); err == nil || !strings.Contains(msg, "spec.consumerGroup") || !strings.Contains(msg, `immutable: cannot change from "billing" to "other"`) {
		t.Errorf("changing the group: %v", err)
	}
	// TLS and SASL are accepted; a Secret that does not exist keeps the
	// source out of the contract with SecretResolveFailed.
	_, err = r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, kafkaSourceManifest("tls", "  bootstrapServers: [\"k:9092\"]\n  topics: [t]\n  net:\n    tls:\n      enable: true\n    sasl:\n      enable: true\n      user:\n        secretKeyRef: {name: creds, key: user}\n      password:\n        secretKeyRef: {name: creds, key: password}\n  sink:\n    uri: http://a.b/\n"))})
	if err != nil {
		t.Errorf("TLS and SASL enabled: %v", err)
	}

	get := func(name string) *apis.KafkaSource {
		t.Helper()
		po, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: "kafkasources", Namespace: "src", Name: name})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		return decode[*apis.KafkaSource](t, po)
	}
	gate := newGate(true)
	runDataPlane(t, r.srv.Addr(), wire.RoleDispatcher, "dispatcher-1", gate)
	testutil.Eventually(t, 20*time.Second, "auto Ready once a dispatcher runs it", func() (bool, string) {
		c := get("auto").Status.Conditions
		return len(c) > 0 && c[0].Type == "Ready" && c[0].Status == apis.ConditionTrue, fmt.Sprintf("%+v", c)
	})
	k := get("auto")
	var types []string
	for _, c := range k.Status.Conditions {
		types = append(types, c.Type)
	}
	if fmt.Sprint(types) != "[Ready SinkProvided SecretsProvided Deployed DeliveryHealthy]" {
		t.Errorf("conditions %v", types)
	}
	if k.Status.SinkURI != "http://display.src.svc/" || k.Status.Consumers != 1 || k.Status.ObservedGeneration != 2 ||
		fmt.Sprint(k.Status.CloudEventAttributes) != "[{dev.knative.kafka.event /apis/v1/namespaces/src/kafkasources/auto#orders}]" {
		t.Errorf("status %+v", k.Status)
	}
	n := get("named")
	if c := n.Status.Conditions; len(c) < 2 || c[0].Status != apis.ConditionFalse || c[0].Reason != "SubscriberResolveFailed" || !strings.Contains(c[0].Message, `"gone"`) {
		t.Errorf("named (sink broker missing): %+v", c)
	}
	if c := get("tls").Status.Conditions; len(c) < 3 || c[0].Status != apis.ConditionFalse || c[0].Reason != "SecretResolveFailed" ||
		!strings.Contains(c[0].Message, `spec.net.sasl.user: secret "creds" not found in namespace "src"`) {
		t.Errorf("tls (Secret missing): %+v", c)
	}
	var inContract []string
	for _, in := range gate.lastContract().GetIngresses() {
		if in.GetKind() == apis.KindKafkaSource {
			inContract = append(inContract, in.GetName()+"/"+in.GetEgresses()[0].GetConsumerGroup())
		}
	}
	if fmt.Sprint(inContract) != "[auto/"+group+"]" {
		t.Errorf("KafkaSources in the dispatchers' contract: %v", inContract)
	}

	// Deleting: the retry topics go, the user's group and offsets stay.
	for _, name := range []string{"auto", "named"} {
		if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "kafkasource", Namespace: "src", Name: name}); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
	}
	testutil.Eventually(t, 20*time.Second, "retry topics deleted", func() (bool, string) {
		got := topicPartitions(t, adm, wire.KafkaSourceRetryTopic("src", "auto"), wire.KafkaSourceRetryTopic("src", "named"))
		return len(got) == 0, fmt.Sprint(got)
	})
	fetched, err := srcAdm.FetchOffsets(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup("orders", 0); !ok || o.At != 0 {
		t.Errorf("the user's group billing after deleting its source: %+v, %v", o, ok)
	}
	if got := topicPartitions(t, srcAdm, "orders"); got["orders"] != 1 {
		t.Errorf("the source's topic after deleting the sources: %v", got)
	}
}
