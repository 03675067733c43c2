package controlplane

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestEventPolicyStatus: with --oidc-authentication an EventPolicy is Ready,
// lists its resolved subjects in status.from and names the addressables it
// applies to; the contract's broker entry carries the audience, the policy
// and the default mode.
func TestEventPolicyStatus(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e, func(c *Config) {
		c.OIDCAuthentication = true
		c.DefaultAuthorizationMode = "deny-all"
	})
	ctx := testCtx(t)
	manifest := `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: shop}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata: {name: orders, namespace: shop}
spec:
  to:
    - ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
  from:
    - ref: {apiVersion: v1, kind: ServiceAccount, name: checkout}
`
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, manifest)}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, "the EventPolicy is Ready and applies to the broker", func() (bool, string) {
		po, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: apis.KindEventPolicy, Namespace: "shop", Name: "orders"})
		if err != nil {
			return false, err.Error()
		}
		p := decode[*apis.EventPolicy](t, po)
		ready := p.Status.Conditions[0]
		ok := ready.Type == "Ready" && ready.Status == apis.ConditionTrue && strings.Contains(ready.Message, "applies to broker default") &&
			slices.Equal(p.Status.From, []string{"system:serviceaccount:shop:checkout"})
		return ok, testutil.JSON(p.Status)
	})
	c, _ := r.srv.pub.current()
	var auth *weftv1.IngressAuth
	for _, in := range c.Contract.GetIngresses() {
		if in.GetKind() == apis.KindBroker && in.GetName() == "default" {
			auth = in.GetAuth()
		}
	}
	if auth.GetAudience() != "eventing.knative.dev/broker/shop/default" || auth.GetDefaultMode() != "deny-all" ||
		len(auth.GetPolicies()) != 1 || auth.GetPolicies()[0].GetName() != "orders" {
		t.Errorf("broker auth %v", auth)
	}
}
