package cli

import (
	"strings"
	"testing"
)

// TestCLIEventPolicy: an EventPolicy applies; get shows what it applies to
// and whom it admits, Ready False while the control plane runs without
// --oidc-authentication; describe shows the resolved subjects and filters.
func TestCLIEventPolicy(t *testing.T) {
	addr := startControlPlane(t)
	manifest := `apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata:
  name: orders
spec:
  to:
    - ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
    - selector: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, matchLabels: {team: orders}}
  from:
    - ref: {apiVersion: v1, kind: ServiceAccount, name: checkout}
    - sub: "system:serviceaccount:partners:*"
  filters:
    - prefix: {type: com.shop.}
`
	if out, errs, code := weft(t, addr, manifest, "apply", "-f", "-"); code != 0 {
		t.Fatalf("apply: code %d: %s%s", code, out, errs)
	}
	out, errs, code := weft(t, addr, "", "get", "eventpolicies")
	if code != 0 {
		t.Fatalf("get: %s", errs)
	}
	for col, want := range map[string]string{
		"TO":    "broker/default,inmemorychannel(team=orders)",
		"FROM":  "system:serviceaccount:default:checkout,system:serviceaccount:partners:*",
		"READY": "False",
	} {
		if got := cell(t, out, "orders", col); got != want {
			t.Errorf("%s = %q, want %q:\n%s", col, got, want, out)
		}
	}
	if !strings.Contains(out, "OIDCAuthenticationDisabled") {
		t.Errorf("no reason OIDCAuthenticationDisabled:\n%s", out)
	}
	out, _, code = weft(t, addr, "", "describe", "eventpolicy", "orders")
	for _, want := range []string{"From:", "system:serviceaccount:default:checkout", `"prefix":{"type":"com.shop."}`, "AuthenticationEnabled"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	bad := strings.Replace(manifest, "sub: \"system:serviceaccount:partners:*\"", "sub: \"system:*:x\"", 1)
	if _, errs, code := weft(t, addr, bad, "apply", "-f", "-"); code == 0 || !strings.Contains(errs, "spec.from[1].sub") {
		t.Errorf("invalid sub: code %d, stderr %q", code, errs)
	}
}
