package kube

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/internal/testutil/kubetest"
	eventingv1beta2 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1beta2"
)

// The EventType and EventPolicy CRDs store what Weft's own validation
// accepts, and refuse — as Weft does — what their schemas can see, naming
// the field.
func TestEventTypeAndEventPolicyCRDsAgreeWithWeft(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	const (
		et = "eventing.knative.dev/v1beta2"
		ep = "eventing.knative.dev/v1alpha1"
	)
	broker := "reference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}\n"
	accepted := []struct{ name, manifest string }{
		{"EventType with every v1beta2 field", sourceManifest(et, "EventType", "et1", "type: dev.knative.samples.helloworld\nsource: /apis/v1/namespaces/default/pingsources/ping\nschema: https://example.com/schema.json\nschemaData: '{}'\ndescription: greetings\n"+broker)},
		{"EventType on a KafkaChannel, no source", sourceManifest(et, "EventType", "et2", "type: t\nreference: {apiVersion: messaging.knative.dev/v1beta1, kind: KafkaChannel, name: c}\n")},
		{"EventType with v1beta3 attributes only", sourceManifest(et, "EventType", "et3", "attributes:\n- {name: type, value: greeting, required: true}\n- {name: source, value: sendoff, required: true}\n- {name: id, required: false}\n")},
		{"EventPolicy to a Broker from a ServiceAccount", sourceManifest(ep, "EventPolicy", "p1", "to:\n- ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}\nfrom:\n- ref: {apiVersion: v1, kind: ServiceAccount, name: sender}\n- sub: system:serviceaccount:team-a:*\n")},
		{"EventPolicy by selector with filters", sourceManifest(ep, "EventPolicy", "p2", "to:\n- selector:\n    apiVersion: eventing.knative.dev/v1\n    kind: Broker\n    matchLabels: {team: a}\n    matchExpressions:\n    - {key: tier, operator: In, values: [gold]}\nfrom:\n- sub: alice\nfilters:\n- exact: {type: order.created}\n")},
		{"EventPolicy without to (every addressable)", sourceManifest(ep, "EventPolicy", "p3", "from:\n- sub: bob\n")},
	}
	for _, tc := range accepted {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			createAccepted(t, env, tc.manifest, ns)
		})
	}

	rejected := []struct{ name, manifest, path string }{
		{"EventType without type", sourceManifest(et, "EventType", "bad", "source: /s\n"+broker), "spec.type"},
		{"EventType on a Trigger", sourceManifest(et, "EventType", "bad", "type: t\nreference: {apiVersion: eventing.knative.dev/v1, kind: Trigger, name: x}\n"), "spec.reference.kind"},
		{"EventType source with a space", sourceManifest(et, "EventType", "bad", "type: t\nsource: a b\n"), "spec.source"},
		{"EventType attribute name in capitals", sourceManifest(et, "EventType", "bad", "type: t\nattributes:\n- {name: Type, value: t, required: true}\n"), "spec.attributes[0].name"},
		{"EventType attributes' type not spec.type", sourceManifest(et, "EventType", "bad", "type: t\nattributes:\n- {name: type, value: u, required: true}\n"), "spec.attributes"},
		{"EventPolicy to with ref and selector", sourceManifest(ep, "EventPolicy", "bad", "to:\n- ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: b}\n  selector: {apiVersion: eventing.knative.dev/v1, kind: Broker}\n"), "spec.to[0]"},
		{"EventPolicy to with neither", sourceManifest(ep, "EventPolicy", "bad", "to:\n- {}\n"), "spec.to[0]"},
		{"EventPolicy to a Trigger", sourceManifest(ep, "EventPolicy", "bad", "to:\n- ref: {apiVersion: eventing.knative.dev/v1, kind: Trigger, name: t}\n"), "spec.to[0].ref.kind"},
		{"EventPolicy from with ref and sub", sourceManifest(ep, "EventPolicy", "bad", "from:\n- ref: {apiVersion: v1, kind: ServiceAccount, name: s}\n  sub: alice\n"), "spec.from[0]"},
		{"EventPolicy from with neither", sourceManifest(ep, "EventPolicy", "bad", "from:\n- {}\n"), "spec.from[0]"},
		{"EventPolicy sub with an inner *", sourceManifest(ep, "EventPolicy", "bad", "from:\n- sub: a*b\n"), "spec.from[0].sub"},
		{"EventPolicy from a Pod", sourceManifest(ep, "EventPolicy", "bad", "from:\n- ref: {apiVersion: v1, kind: Pod, name: p}\n"), "spec.from[0].ref"},
		{"EventPolicy selector operator", sourceManifest(ep, "EventPolicy", "bad", "to:\n- selector:\n    matchExpressions:\n    - {key: tier, operator: Equals, values: [gold]}\n"), "spec.to[0].selector.matchExpressions[0].operator"},
	}
	for _, tc := range rejected {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			createRejected(t, env, tc.manifest, ns, tc.path)
		})
	}
}

// An EventType's spec is immutable, as Knative's (and Weft's) validation
// makes it: a change is refused naming spec; metadata may change.
func TestEventTypeSpecImmutable(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	if err := create(t, env, object(t, sourceManifest("eventing.knative.dev/v1beta2", "EventType", "fixed", "type: t\nsource: /s\n"), ns)); err != nil {
		t.Fatal(err)
	}
	e := &eventingv1beta2.EventType{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fixed"}, e); err != nil {
		t.Fatal(err)
	}
	e.Labels = map[string]string{"team": "a"}
	if err := env.Client.Update(ctx, e); err != nil {
		t.Fatalf("changing a label: %v", err)
	}
	e.Spec.Description = "now described"
	err := env.Client.Update(ctx, e)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec") || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("changing spec.description: %v; want Invalid at spec saying immutable", err)
	}
}
