package apis

import (
	"slices"
	"testing"
)

const eventPolicyManifest = `apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata:
  name: only-orders
  namespace: shop
spec:
  to:
    - ref:
        apiVersion: eventing.knative.dev/v1
        kind: Broker
        name: default
    - selector:
        apiVersion: messaging.knative.dev/v1
        kind: InMemoryChannel
        matchLabels:
          team: orders
        matchExpressions:
          - {key: tier, operator: In, values: [gold, silver]}
  from:
    - ref:
        apiVersion: v1
        kind: ServiceAccount
        name: checkout
    - ref:
        apiVersion: v1
        kind: ServiceAccount
        name: billing
        namespace: finance
    - sub: "system:serviceaccount:partners:*"
  filters:
    - prefix:
        type: com.shop.order.
`

// TestEventPolicyDecode: Knative's EventPolicy decodes, defaults (a
// ServiceAccount ref gets the policy's namespace) and validates; its
// subjects are the service accounts' and the subs as written.
func TestEventPolicyDecode(t *testing.T) {
	objs, err := DecodeManifests([]byte(eventPolicyManifest))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := objs[0].(*EventPolicy)
	if !ok {
		t.Fatalf("decoded %T", objs[0])
	}
	SetDefaults(p)
	if err := Validate(p); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if got := p.Spec.From[0].Ref.Namespace; got != "shop" {
		t.Errorf("from[0].ref.namespace = %q, want the policy's (shop)", got)
	}
	want := []string{"system:serviceaccount:shop:checkout", "system:serviceaccount:finance:billing", "system:serviceaccount:partners:*"}
	if got := p.Subjects(); !slices.Equal(got, want) {
		t.Errorf("Subjects() = %q, want %q", got, want)
	}
	if KindOf(p) != KindEventPolicy {
		t.Errorf("KindOf = %s", KindOf(p))
	}
	for _, n := range []string{"eventpolicy", "eventpolicies", "eventpolicies.eventing.knative.dev"} {
		if k, err := ResolveKind(n); err != nil || k != KindEventPolicy {
			t.Errorf("ResolveKind(%s) = %q, %v", n, k, err)
		}
	}
	c := DeepCopy(p).(*EventPolicy)
	c.Spec.To[1].Selector.MatchLabels["team"] = "changed"
	if p.Spec.To[1].Selector.MatchLabels["team"] != "orders" {
		t.Error("DeepCopy shares the selector's labels")
	}
	sel := p.Spec.To[1].Selector
	for labels, want := range map[*map[string]string]bool{
		{"team": "orders", "tier": "gold"}:  true,
		{"team": "orders", "tier": "paper"}: false,
		{"team": "orders"}:                  false,
		{"team": "billing", "tier": "gold"}: false,
	} {
		if got := sel.Matches(*labels); got != want {
			t.Errorf("Matches(%v) = %v, want %v", *labels, got, want)
		}
	}
}

// TestEventPolicyInvalid: every rule names its field.
func TestEventPolicyInvalid(t *testing.T) {
	manifest := func(spec string) string {
		return "apiVersion: eventing.knative.dev/v1alpha1\nkind: EventPolicy\nmetadata:\n  name: p\n  namespace: ns\nspec:\n" + indent(spec, 2)
	}
	for _, tc := range []struct {
		name, spec, path, message string
	}{
		{"to without ref or selector", "to:\n  - {}", "spec.to[0]", "exactly one of ref and selector, got neither"},
		{"to with ref and selector", "to:\n  - ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: b}\n    selector: {matchLabels: {a: b}}", "spec.to[0]", "got both"},
		{"to ref without name", "to:\n  - ref: {apiVersion: eventing.knative.dev/v1, kind: Broker}", "spec.to[0].ref.name", "required"},
		{"to ref without apiVersion", "to:\n  - ref: {kind: Broker, name: b}", "spec.to[0].ref.apiVersion", "required with kind Broker"},
		{"to ref of a kind Weft does not serve", "to:\n  - ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: b}", "spec.to[0].ref.kind", "Weft enforces EventPolicies on Broker"},
		{"to selector bad operator", "to:\n  - selector: {matchExpressions: [{key: a, operator: Equals, values: [x]}]}", "spec.to[0].selector.matchExpressions[0].operator", "must be one of In, NotIn, Exists, DoesNotExist"},
		{"to selector In without values", "to:\n  - selector: {matchExpressions: [{key: a, operator: In}]}", "spec.to[0].selector.matchExpressions[0].values", "at least one value"},
		{"to selector bad label value", "to:\n  - selector: {matchLabels: {team: 'a b'}}", "spec.to[0].selector.matchLabels[team]", ""},
		{"from without ref or sub", "from:\n  - {}", "spec.from[0]", "exactly one of ref and sub, got neither"},
		{"from with ref and sub", "from:\n  - sub: x\n    ref: {apiVersion: v1, kind: ServiceAccount, name: s}", "spec.from[0]", "got both"},
		{"from sub with inner star", "from:\n  - sub: 'system:*:x'", "spec.from[0].sub", "'*' is only allowed as the last character"},
		{"from empty sub", "from:\n  - sub: ''", "spec.from[0].sub", "must not be empty"},
		{"from ref not a ServiceAccount", "from:\n  - ref: {apiVersion: sources.knative.dev/v1, kind: PingSource, name: p}", "spec.from[0].ref", "must be a ServiceAccount"},
		{"from ref bad name", "from:\n  - ref: {apiVersion: v1, kind: ServiceAccount, name: Bad_Name}", "spec.from[0].ref.name", ""},
		{"filter with two dialects", "filters:\n  - {exact: {type: a}, prefix: {source: b}}", "spec.filters[0]", "found 2: exact, prefix"},
		{"filter bad cesql", "filters:\n  - cesql: \"type = \"", "spec.filters[0].cesql", "invalid CESQL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			invalidManifest(t, manifest(tc.spec), tc.path, tc.message)
		})
	}
}
