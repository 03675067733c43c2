package controlplane

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func kafkaSinkManifest(name, spec string) string {
	return "apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata:\n  name: " + name + "\n  namespace: sinks\nspec:\n" + spec
}

// TestKafkaSink: applying a KafkaSink creates its topic, sized as asked, on
// Weft's cluster or on the one its bootstrapServers name, and leaves a topic
// that exists alone; the sink is Ready once an ingress serves it; deleting it
// keeps its topic; an unreachable cluster fails the apply with Unavailable,
// storing nothing.
func TestKafkaSink(t *testing.T) {
	e := testutil.StartKafka(t)
	other := testutil.StartKafka(t)
	r := startReplicaWith(t, e, []Option{withRemoteAdminTimeout(2 * time.Second)})
	ctx := testCtx(t)
	adm := kadm.NewClient(mustClient(t, e))
	otherAdm := kadm.NewClient(mustClient(t, other))

	if resp, err := adm.CreateTopic(ctx, 1, -1, nil, "existing"); err != nil || resp.Err != nil {
		t.Fatalf("create topic existing: %v %v", err, resp.Err)
	}
	manifest := kafkaSinkManifest("orders", "  topic: orders\n  numPartitions: 2\n") + "---\n" +
		kafkaSinkManifest("audit", fmt.Sprintf("  topic: audit\n  numPartitions: 4\n  bootstrapServers: [%q]\n  contentMode: structured\n", other.Addr())) + "---\n" +
		kafkaSinkManifest("existing", "  topic: existing\n  numPartitions: 5\n")
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, manifest)}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if got := topicPartitions(t, adm, "orders", "existing", "audit", wire.RetryTopicOf("orders")); fmt.Sprint(got) != fmt.Sprint(map[string]int{"orders": 2, "existing": 1}) {
		t.Errorf("topics on Weft's cluster: %v; want orders with 2 partitions, existing left with its 1, no retry topic, no audit", got)
	}
	if got := topicPartitions(t, otherAdm, "audit", "orders"); fmt.Sprint(got) != fmt.Sprint(map[string]int{"audit": 4}) {
		t.Errorf("topics on the other cluster: %v; want audit with 4 partitions", got)
	}

	get := func(name string) *apis.KafkaSink {
		t.Helper()
		po, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: "kafkasinks", Namespace: "sinks", Name: name})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		return decode[*apis.KafkaSink](t, po)
	}
	runDataPlane(t, r.srv.Addr(), wire.RoleIngress, "ingress-1", newGate(true))
	testutil.Eventually(t, 20*time.Second, "the sinks Ready once an ingress serves them", func() (bool, string) {
		for _, name := range []string{"orders", "audit"} {
			c := get(name).Status.Conditions
			if len(c) == 0 || c[0].Type != "Ready" || c[0].Status != apis.ConditionTrue {
				return false, fmt.Sprintf("%s: %+v", name, c)
			}
		}
		return true, ""
	})
	audit := get("audit")
	if a := audit.Status.Address; a == nil || a.URL != "http://ingress.test:8080/sinks/sinks/audit" {
		t.Errorf("address %+v", a)
	}
	var types []string
	for _, c := range audit.Status.Conditions {
		types = append(types, c.Type)
		if c.Type == "TopicReady" && c.Message != "topic audit on cluster "+other.Addr() {
			t.Errorf("TopicReady message %q", c.Message)
		}
	}
	if fmt.Sprint(types) != "[Ready Addressable TopicReady IngressReady]" {
		t.Errorf("conditions %v", types)
	}
	if audit.Status.ObservedGeneration != 1 {
		t.Errorf("observedGeneration %d", audit.Status.ObservedGeneration)
	}

	// Deleting a sink keeps its topic: the user's data.
	if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "kafkasink", Namespace: "sinks", Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	if got := topicPartitions(t, adm, "orders"); got["orders"] != 2 {
		t.Errorf("topic orders after deleting its sink: %v", got)
	}

	// The other cluster down: Unavailable naming it, nothing stored.
	other.Close()
	_, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t,
		kafkaSinkManifest("late", fmt.Sprintf("  topic: late\n  bootstrapServers: [%q]\n", other.Addr())))})
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), other.Addr()) {
		t.Errorf("apply with the other cluster down: %v; want Unavailable naming %s", err, other.Addr())
	}
	if _, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: "kafkasink", Namespace: "sinks", Name: "late"}); status.Code(err) != codes.NotFound {
		t.Errorf("get the sink whose apply failed: %v, want NotFound", err)
	}
}
