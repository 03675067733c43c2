package controlplane

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func TestWalkthroughApplyAndGet(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)

	resp, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, walkthrough)})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(resp.Results) != 3 {
		t.Fatalf("got %d results, want 3", len(resp.Results))
	}
	for _, res := range resp.Results {
		if res.Action != ActionCreated {
			t.Errorf("%s/%s: action %q, want created", res.Object.Kind, res.Object.Name, res.Action)
		}
	}
	want := map[string]string{
		"hello-display":   "http://hello-display.event-example.svc.cluster.local",
		"goodbye-display": "http://goodbye-display.event-example.svc.cluster.local",
	}
	// Status follows the compiled contract, a moment behind the state.
	var list *weftv1.ListResponse
	testutil.Eventually(t, 20*time.Second, "both triggers listed with their subscriberUri", func() (bool, string) {
		list, err = r.client.List(ctx, &weftv1.ListRequest{Kind: "triggers", Namespace: "event-example"})
		if err != nil {
			return false, err.Error()
		}
		if len(list.Objects) != 2 {
			return false, fmt.Sprintf("listed %d triggers", len(list.Objects))
		}
		for _, po := range list.Objects {
			tr := decode[*apis.Trigger](t, po)
			if got := tr.Status.SubscriberURI; got != want[tr.ObjectMeta.Name] {
				return false, fmt.Sprintf("%s: subscriberUri %q, want %q", tr.ObjectMeta.Name, got, want[tr.ObjectMeta.Name])
			}
		}
		return true, ""
	})
	for _, po := range list.Objects {
		tr := decode[*apis.Trigger](t, po)
		if tr.ObjectMeta.UID == "" || tr.ObjectMeta.Generation != 1 || tr.ObjectMeta.ResourceVersion == "" || tr.ObjectMeta.CreationTimestamp == nil {
			t.Errorf("%s: metadata not filled: %+v", tr.ObjectMeta.Name, tr.ObjectMeta)
		}
	}
	b, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: "broker", Namespace: "event-example", Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	broker := decode[*apis.Broker](t, b)
	if broker.Status.Address == nil || broker.Status.Address.URL != "http://ingress.test:8080/event-example/default" {
		t.Errorf("broker address %+v", broker.Status.Address)
	}
	// The broker's topic and its retry topic exist with the configured
	// partitions.
	adm := kadm.NewClient(mustClient(t, e))
	td, err := adm.ListTopics(ctx, "weft.broker.event-example.default", "weft.retry.event-example.default")
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"weft.broker.event-example.default", "weft.retry.event-example.default"} {
		if d := td[topic]; d.Err != nil || len(d.Partitions) != 3 {
			t.Errorf("topic %s: %+v", topic, d)
		}
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, "weft.broker.event-example.default")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cfgs.On("weft.broker.event-example.default", nil); err != nil || c.Err != nil {
		t.Errorf("describe broker topic configs: %v %v", err, c.Err)
	} else if v := configValue(c.Configs, "max.message.bytes"); v != "2097152" {
		t.Errorf("broker topic max.message.bytes = %q, want 2097152", v)
	}

	// Re-applying the same manifest changes nothing.
	resp, err = r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, walkthrough)})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range resp.Results {
		if res.Action != ActionUnchanged {
			t.Errorf("re-apply %s: action %q, want unchanged", res.Object.Name, res.Action)
		}
	}
	// Changing a filter bumps the generation.
	changed := strings.Replace(walkthrough, "type: greeting", "type: greeting.v2", 1)
	resp, err = r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, changed)})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range resp.Results {
		tr, ok := mustDecode(t, res.Object).(*apis.Trigger)
		if !ok || tr.ObjectMeta.Name != "hello-display" {
			continue
		}
		if res.Action != ActionConfigured || tr.ObjectMeta.Generation != 2 {
			t.Errorf("changed trigger: action %q generation %d, want configured 2", res.Action, tr.ObjectMeta.Generation)
		}
	}
}

func configValue(cs []kadm.Config, name string) string {
	for _, c := range cs {
		if c.Key == name && c.Value != nil {
			return *c.Value
		}
	}
	return ""
}

func mustDecode(t *testing.T, po *weftv1.Object) apis.Object {
	t.Helper()
	o, err := apis.DecodeObject(po.GetJson())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// invalidManifests each break one rule; want is a substring of the error
// naming the field, code the gRPC code.
var invalidManifests = []struct {
	name, manifest, want string
	code                 codes.Code
}{
	{"uppercase name", brokerYAML("Default", ""), "metadata.name", codes.InvalidArgument},
	{"name too long", brokerYAML(strings.Repeat("a", 64), ""), "metadata.name", codes.InvalidArgument},
	{"name with underscore", brokerYAML("my_broker", ""), "metadata.name", codes.InvalidArgument},
	{"empty name", brokerYAML("", ""), "metadata.name", codes.InvalidArgument},
	{"bad namespace", "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n  namespace: Bad_NS\n", "metadata.namespace", codes.InvalidArgument},
	{"negative retry", brokerYAML("b", "  delivery:\n    retry: -1\n"), "spec.delivery.retry", codes.InvalidArgument},
	{"bad backoff policy", brokerYAML("b", "  delivery:\n    backoffPolicy: fibonacci\n"), "spec.delivery.backoffPolicy", codes.InvalidArgument},
	{"go duration", brokerYAML("b", "  delivery:\n    backoffDelay: 5s\n"), "spec.delivery.backoffDelay", codes.InvalidArgument},
	{"garbage duration", brokerYAML("b", "  delivery:\n    timeout: PTX\n"), "spec.delivery.timeout", codes.InvalidArgument},
	{"retry as string", brokerYAML("b", "  delivery:\n    retry: three\n"), "spec.delivery.retry", codes.InvalidArgument},
	{"unknown spec field", brokerYAML("b", "  deliveri: {}\n"), "spec.deliveri", codes.InvalidArgument},
	{"unknown metadata field", "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n  labelz: {}\n", "metadata.labelz", codes.InvalidArgument},
	{"relative dead letter uri", brokerYAML("b", "  delivery:\n    deadLetterSink:\n      uri: /dead\n"), "spec.delivery.deadLetterSink", codes.InvalidArgument},
	{"bad partitions annotation", "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n  annotations:\n    weft.dev/partitions: \"0\"\n", "weft.dev/partitions", codes.InvalidArgument},
	{"unsupported kind", "apiVersion: eventing.knative.dev/v1\nkind: Broom\nmetadata:\n  name: b\n", "Broom", codes.InvalidArgument},
	{"unsupported apiVersion", "apiVersion: eventing.knative.dev/v2\nkind: Broker\nmetadata:\n  name: b\n", "eventing.knative.dev/v2", codes.InvalidArgument},
	{"missing broker", triggerYAML("t", "  subscriber:\n    uri: http://x.example/\n"), "spec.broker", codes.InvalidArgument},
	{"missing subscriber", triggerYAML("t", "  broker: default\n"), "spec.subscriber", codes.InvalidArgument},
	{"relative subscriber uri", triggerYAML("t", "  broker: default\n  subscriber:\n    uri: /path\n"), "spec.subscriber", codes.InvalidArgument},
	{"ref without kind", triggerYAML("t", "  broker: default\n  subscriber:\n    ref:\n      apiVersion: v1\n      name: svc\n"), "spec.subscriber.ref.kind", codes.InvalidArgument},
	{"unknown subscriber field", triggerYAML("t", "  broker: default\n  subscriber:\n    urii: http://x.example/\n"), "spec.subscriber.urii", codes.InvalidArgument},
	{"bad attribute name", triggerYAML("t", sub+"  filter:\n    attributes:\n      Type: x\n"), "spec.filter.attributes", codes.InvalidArgument},
	{"two dialects", triggerYAML("t", sub+"  filters:\n  - exact:\n      type: x\n    prefix:\n      type: y\n"), "spec.filters[0]", codes.InvalidArgument},
	{"empty filter entry", triggerYAML("t", sub+"  filters:\n  - {}\n"), "spec.filters[0]", codes.InvalidArgument},
	{"unparsable cesql", triggerYAML("t", sub+"  filters:\n  - cesql: \"type = \"\n"), "spec.filters[0].cesql", codes.InvalidArgument},
	{"nested bad dialect", triggerYAML("t", sub+"  filters:\n  - all:\n    - exact:\n        type: x\n    - not:\n        cesql: \"((\"\n"), "spec.filters[0].all[1].not.cesql", codes.InvalidArgument},
	{"bad delivery order", "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\n  annotations:\n    kafka.eventing.knative.dev/delivery.order: sorted\nspec:\n" + sub, "delivery.order", codes.InvalidArgument},
	{"trigger negative retry", triggerYAML("t", sub+"  delivery:\n    retry: -3\n"), "spec.delivery.retry", codes.InvalidArgument},
	{"third document bad", brokerYAML("b1", "") + "---\n" + brokerYAML("b2", "") + "---\n" + brokerYAML("B3", ""), "3", codes.InvalidArgument},
	{"stale resourceVersion", "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: existing\n  resourceVersion: \"999999\"\n", "resourceVersion", codes.Aborted},
	{"immutable broker", "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: existing-trigger\nspec:\n  broker: other\n  subscriber:\n    uri: http://x.example/\n", "spec.broker", codes.FailedPrecondition},
}

const sub = "  broker: default\n  subscriber:\n    uri: http://sub.example/\n"

func brokerYAML(name, spec string) string {
	s := "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: \"" + name + "\"\n"
	if spec != "" {
		s += "spec:\n" + spec
	}
	return s
}

func triggerYAML(name, spec string) string {
	return "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

func TestInvalidManifestsChangeNothing(t *testing.T) {
	if len(invalidManifests) < 25 {
		t.Fatalf("only %d invalid manifests", len(invalidManifests))
	}
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	seed := brokerYAML("existing", "") + "---\n" + "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: existing-trigger\nspec:\n  broker: existing\n  subscriber:\n    uri: http://x.example/\n"
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, seed)}); err != nil {
		t.Fatal(err)
	}
	before, err := r.client.List(ctx, &weftv1.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range invalidManifests {
		t.Run(tc.name, func(t *testing.T) {
			// A valid broker rides along: all or nothing means it is not stored either.
			objs := append(objectsFromYAML(t, brokerYAML("innocent", "")), objectsFromYAML(t, tc.manifest)...)
			_, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objs})
			st, _ := status.FromError(err)
			if err == nil || st.Code() != tc.code {
				t.Fatalf("got %v, want code %s", err, tc.code)
			}
			if !strings.Contains(st.Message(), tc.want) {
				t.Errorf("error %q does not name %q", st.Message(), tc.want)
			}
			if tc.code == codes.InvalidArgument && !strings.Contains(st.Message(), "document") {
				t.Errorf("error %q does not say which document", st.Message())
			}
			after, err := r.client.List(ctx, &weftv1.ListRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if after.ResourceVersion != before.ResourceVersion || len(after.Objects) != len(before.Objects) {
				t.Errorf("state changed: version %s -> %s, %d -> %d objects", before.ResourceVersion, after.ResourceVersion, len(before.Objects), len(after.Objects))
			}
		})
	}
	// Field violations travel as structured details too.
	_, err = r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, brokerYAML("b", "  delivery:\n    retry: -1\n"))})
	var found bool
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.FieldViolations {
				found = found || v.Field == "spec.delivery.retry"
			}
		}
	}
	if !found {
		t.Errorf("no BadRequest field violation for spec.delivery.retry in %v", status.Convert(err).Details())
	}
}

func TestGetDeleteErrors(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	_, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: "broker", Namespace: "default", Name: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("get missing: %v", err)
	}
	_, err = r.client.Get(ctx, &weftv1.GetRequest{Kind: "pods", Name: "x"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("get unknown kind: %v", err)
	}
	_, err = r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "trigger", Name: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("delete missing: %v", err)
	}
	_, err = r.client.List(ctx, &weftv1.ListRequest{LabelSelector: "a=(b"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad selector: %v", err)
	}
	resp, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, brokerYAML("b", ""))})
	if err != nil {
		t.Fatal(err)
	}
	rv := mustDecode(t, resp.Results[0].Object).GetObjectMeta().ResourceVersion
	if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "broker", Name: "b", ResourceVersion: rv + "0"}); status.Code(err) != codes.Aborted {
		t.Errorf("delete with stale version: %v", err)
	}
	if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "broker", Name: "b", ResourceVersion: rv}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	adm := kadm.NewClient(mustClient(t, e))
	testutil.Eventually(t, 20*time.Second, "broker and retry topics deleted", func() (bool, string) {
		td, err := adm.ListTopics(ctx, "weft.broker.default.b", "weft.retry.default.b")
		if err != nil {
			return false, err.Error()
		}
		return !td.Has("weft.broker.default.b") && !td.Has("weft.retry.default.b"), "topic still listed"
	})
}

func TestLabelSelector(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	m := "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: a\n  labels:\n    team: blue\n---\n" +
		"apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n  labels:\n    team: red\n---\n" +
		"apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: c\n"
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, m)}); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]string{"team=blue": "a", "team!=blue": "b,c", "team": "a,b", "!team": "c", "": "a,b,c"} {
		resp, err := r.client.List(ctx, &weftv1.ListRequest{Kind: "brokers", LabelSelector: sel})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range resp.Objects {
			names = append(names, o.Name)
		}
		if got := strings.Join(names, ","); got != want {
			t.Errorf("selector %q: got %s, want %s", sel, got, want)
		}
	}
}

var _ = proto.Clone
