package compile

import (
	"slices"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// authOf compiles res with opts and returns each served entry's auth by
// "kind/namespace/name".
func authOf(t *testing.T, res Resources, opts Options) map[string]*weftv1.IngressAuth {
	t.Helper()
	c := Compile(1, res, opts)
	out := map[string]*weftv1.IngressAuth{}
	for _, in := range c.Contract.Ingresses {
		if in.Path != "" {
			out[in.Kind+"/"+in.Namespace+"/"+in.Name] = in.Auth
		}
	}
	return out
}

func policyNames(a *weftv1.IngressAuth) []string {
	var out []string
	for _, p := range a.GetPolicies() {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

// TestCompileAuth: with OIDC authentication on, every served addressable
// gets its Knative audience, the default mode, and the policies of its
// namespace that select it by ref, by kind and labels, or by an empty
// spec.to; a ServiceAccount ref becomes its subject and filters compile as
// a Trigger's. Off, no entry has auth.
func TestCompileAuth(t *testing.T) {
	meta := func(ns, name string, labels map[string]string) apis.ObjectMeta {
		return apis.ObjectMeta{Namespace: ns, Name: name, UID: ns + "-" + name, Labels: labels}
	}
	res := Resources{
		Brokers: []*apis.Broker{
			{ObjectMeta: meta("shop", "default", nil)},
			{ObjectMeta: meta("shop", "audit", map[string]string{"team": "orders"})},
			{ObjectMeta: meta("other", "default", nil)},
		},
		Channels: []*apis.Channel{{TypeMeta: apis.TypeMeta{APIVersion: apis.MessagingV1, Kind: apis.KindInMemoryChannel},
			ObjectMeta: meta("shop", "orders", map[string]string{"team": "orders"})}},
		KafkaSinks: []*apis.KafkaSink{{ObjectMeta: meta("shop", "archive", nil), Spec: apis.KafkaSinkSpec{Topic: "archive"}}},
		EventPolicies: []*apis.EventPolicy{
			{ObjectMeta: meta("shop", "by-ref", nil), Spec: apis.EventPolicySpec{
				To: []apis.EventPolicySpecTo{{Ref: &apis.EventPolicyToReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "default"}}},
				From: []apis.EventPolicySpecFrom{
					{Ref: &apis.EventPolicyFromReference{APIVersion: "v1", Kind: apis.KindServiceAccount, Name: "checkout", Namespace: "shop"}},
					{Sub: ptr("system:serviceaccount:partners:*")},
				},
				Filters: []apis.SubscriptionsAPIFilter{{Prefix: map[string]string{"type": "com.shop."}}},
			}},
			{ObjectMeta: meta("shop", "by-label", nil), Spec: apis.EventPolicySpec{
				To: []apis.EventPolicySpecTo{{Selector: &apis.EventPolicySelector{MatchLabels: map[string]string{"team": "orders"}}}},
			}},
			{ObjectMeta: meta("shop", "channels-only", nil), Spec: apis.EventPolicySpec{
				To: []apis.EventPolicySpecTo{{Selector: &apis.EventPolicySelector{APIVersion: apis.MessagingV1, Kind: apis.KindInMemoryChannel,
					MatchExpressions: []apis.LabelSelectorRequirement{{Key: "team", Operator: apis.LabelSelectorOpExists}}}}},
			}},
			{ObjectMeta: meta("other", "whole-namespace", nil)},
		},
	}

	off := authOf(t, res, Options{})
	for k, a := range off {
		if a != nil {
			t.Errorf("OIDC off: %s has auth %v", k, a)
		}
	}

	got := authOf(t, res, Options{OIDCAuthentication: true, DefaultAuthorizationMode: AuthDenyAll})
	for _, tc := range []struct {
		key, audience string
		policies      []string
	}{
		{"Broker/shop/default", "eventing.knative.dev/broker/shop/default", []string{"shop/by-ref"}},
		{"Broker/shop/audit", "eventing.knative.dev/broker/shop/audit", []string{"shop/by-label"}},
		{"Channel/shop/orders", "messaging.knative.dev/inmemorychannel/shop/orders", []string{"shop/by-label", "shop/channels-only"}},
		{"KafkaSink/shop/archive", "eventing.knative.dev/kafkasink/shop/archive", nil},
		{"Broker/other/default", "eventing.knative.dev/broker/other/default", []string{"other/whole-namespace"}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			a := got[tc.key]
			if a == nil {
				t.Fatalf("no auth; entries %v", got)
			}
			if a.Audience != tc.audience || a.DefaultMode != AuthDenyAll {
				t.Errorf("audience %q mode %q, want %q deny-all", a.Audience, a.DefaultMode, tc.audience)
			}
			if names := policyNames(a); !slices.Equal(names, tc.policies) {
				t.Errorf("policies %q, want %q", names, tc.policies)
			}
		})
	}
	rule := got["Broker/shop/default"].Policies[0]
	if want := []string{"system:serviceaccount:shop:checkout", "system:serviceaccount:partners:*"}; !slices.Equal(rule.Subjects, want) {
		t.Errorf("subjects %q, want %q", rule.Subjects, want)
	}
	if len(rule.Filters) != 1 || rule.Filters[0].GetPrefix().GetAttributes()["type"] != "com.shop." {
		t.Errorf("filters %v", rule.Filters)
	}
}

// TestCompileAuthDefaultMode: the mode is carried as configured, and an
// unset one is allow-all.
func TestCompileAuthDefaultMode(t *testing.T) {
	res := Resources{Brokers: []*apis.Broker{{ObjectMeta: apis.ObjectMeta{Namespace: "ns", Name: "b"}}}}
	for mode, want := range map[string]string{"": AuthAllowAll, AuthAllowAll: AuthAllowAll,
		AuthAllowSameNamespace: AuthAllowSameNamespace, AuthDenyAll: AuthDenyAll} {
		a := authOf(t, res, Options{OIDCAuthentication: true, DefaultAuthorizationMode: mode})["Broker/ns/b"]
		if a.GetDefaultMode() != want || len(a.GetPolicies()) != 0 {
			t.Errorf("mode %q: auth %v, want default mode %q and no policies", mode, a, want)
		}
	}
}
