package compile

import (
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
)

// TestCompileCACerts: the CACerts of a trigger's subscriber and of its
// dead-letter sink (its own or the broker's) become the egress's ca_certs,
// each once; a subscription adds its reply's.
func TestCompileCACerts(t *testing.T) {
	const subCA, dlsCA = "-----BEGIN CERTIFICATE-----\nSUB\n-----END CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\nDLS\n-----END CERTIFICATE-----\n"
	broker := &apis.Broker{ObjectMeta: apis.ObjectMeta{Name: "b", Namespace: "ns", UID: "ub"},
		Spec: apis.BrokerSpec{Delivery: &apis.DeliverySpec{DeadLetterSink: &apis.Destination{URI: "https://dead.example/", CACerts: ptr(dlsCA)}}}}
	trig := func(name string, ca *string) *apis.Trigger {
		return &apis.Trigger{ObjectMeta: apis.ObjectMeta{Name: name, Namespace: "ns", UID: "u" + name},
			Spec: apis.TriggerSpec{Broker: "b", Subscriber: apis.Destination{URI: "https://sub.example/" + name, CACerts: ca}}}
	}
	same := trig("same", ptr(dlsCA))
	c := Compile(1, Resources{Brokers: []*apis.Broker{broker}, Triggers: []*apis.Trigger{trig("both", ptr(subCA)), trig("dls-only", nil), same}},
		Options{IngressURL: "https://in:8443/", ServiceURLTemplate: "http://{name}"})
	got := map[string]string{}
	for _, eg := range c.Contract.Ingresses[0].Egresses {
		got[eg.Name] = eg.CaCerts
	}
	for name, want := range map[string]string{
		"both":     subCA + "\n" + dlsCA,
		"dls-only": dlsCA,
		"same":     dlsCA,
	} {
		if got[name] != want {
			t.Errorf("%s: ca_certs %q, want %q", name, got[name], want)
		}
	}
}
