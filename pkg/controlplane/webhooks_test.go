package controlplane

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestWebhookSources: applying webhook sources creates each one's internal
// topic and retry topic (one partition); a source is Ready, with its
// address, sink URI and event attributes, once an ingress serves it and a
// dispatcher runs its egress; a source whose secret is missing is not Ready
// (SecretResolveFailed) but still shows its address; deleting a source
// deletes its topics.
func TestWebhookSources(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	adm := kadm.NewClient(mustClient(t, e))

	manifest := `apiVersion: sources.triggermesh.io/v1alpha1
kind: WebhookSource
metadata: {name: orders, namespace: hooks}
spec:
  eventType: com.example.order
  sink: {uri: "http://display.hooks/"}
---
apiVersion: sources.knative.dev/v1alpha1
kind: GitLabSource
metadata: {name: repo, namespace: hooks}
spec:
  projectUrl: https://gitlab.com/group/project
  eventTypes: [push_events, merge_requests_events]
  secretToken: {secretKeyRef: {name: gitlab, key: token}}
  sink: {uri: "http://display.hooks/"}
`
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, manifest)}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	wt, gt := wire.SourceTopic(apis.KindWebhookSource, "hooks", "orders"), wire.SourceTopic(apis.KindGitLabSource, "hooks", "repo")
	want := map[string]int{wt: 1, wire.RetryTopicOf(wt): 1, gt: 1, wire.RetryTopicOf(gt): 1}
	if got := topicPartitions(t, adm, wt, wire.RetryTopicOf(wt), gt, wire.RetryTopicOf(gt)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("topics %v, want %v", got, want)
	}

	get := func(kind, name string) *weftv1.Object {
		t.Helper()
		po, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: kind, Namespace: "hooks", Name: name})
		if err != nil {
			t.Fatalf("get %s %s: %v", kind, name, err)
		}
		return po
	}
	runDataPlane(t, r.srv.Addr(), wire.RoleIngress, "ingress-1", newGate(true))
	runDataPlane(t, r.srv.Addr(), wire.RoleDispatcher, "dispatcher-1", newGate(true))
	testutil.Eventually(t, 20*time.Second, "the WebhookSource Ready", func() (bool, string) {
		c := decode[*apis.WebhookSource](t, get("webhooksources", "orders")).Status.Conditions
		return len(c) > 0 && c[0].Type == "Ready" && c[0].Status == apis.ConditionTrue, fmt.Sprintf("%+v", c)
	})
	w := decode[*apis.WebhookSource](t, get("webhooksource", "orders"))
	st := w.Status
	if st.Address == nil || st.Address.URL != "http://ingress.test:8080/sources/webhooksource/hooks/orders" {
		t.Errorf("address %+v", st.Address)
	}
	if st.SinkURI != "http://display.hooks/" || fmt.Sprint(st.CloudEventAttributes) != "[{com.example.order hooks.orders}]" {
		t.Errorf("sinkUri %q, ceAttributes %v", st.SinkURI, st.CloudEventAttributes)
	}
	var types []string
	for _, c := range st.Conditions {
		types = append(types, c.Type)
	}
	if fmt.Sprint(types) != "[Ready SinkProvided SecretsProvided IngressReady Deployed]" {
		t.Errorf("conditions %v", types)
	}

	g := decode[*apis.GitLabSource](t, get("gitlabsources", "repo")).Status
	if len(g.Conditions) == 0 || g.Conditions[0].Status != apis.ConditionFalse || g.Conditions[0].Reason != "SecretResolveFailed" {
		t.Errorf("GitLabSource without its Secret: conditions %+v; want Ready False, SecretResolveFailed", g.Conditions)
	}
	if g.Address == nil || g.Address.URL != "http://ingress.test:8080/sources/gitlabsource/hooks/repo" ||
		fmt.Sprint(g.CloudEventAttributes) != "[{dev.knative.sources.gitlab.merge_request https://gitlab.com/group/project} {dev.knative.sources.gitlab.push https://gitlab.com/group/project}]" {
		t.Errorf("GitLabSource address %+v, ceAttributes %v", g.Address, g.CloudEventAttributes)
	}

	if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "webhooksource", Namespace: "hooks", Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "the WebhookSource's topics deleted", func() (bool, string) {
		got := topicPartitions(t, adm, wt, wire.RetryTopicOf(wt), gt)
		return fmt.Sprint(got) == fmt.Sprint(map[string]int{gt: 1}), fmt.Sprint(got)
	})
}
