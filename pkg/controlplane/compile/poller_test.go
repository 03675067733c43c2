package compile

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestCompileHTTPPollerSource: a poller is an ingress entry without a path
// on wire.SourceTopic with its poller spec (the password resolved from its
// Secret), and one ordered egress to the sink; an unresolved sink or Secret
// leaves it out with the reason.
func TestCompileHTTPPollerSource(t *testing.T) {
	meta := func(name, uid string) apis.ObjectMeta {
		return apis.ObjectMeta{Name: name, Namespace: "ns", UID: uid, Generation: 3}
	}
	spec := func(pw *apis.ValueFromField) apis.HTTPPollerSourceSpec {
		return apis.HTTPPollerSourceSpec{
			Sink:      apis.Destination{Ref: &apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "b", Namespace: "ns"}},
			EventType: "com.example.alerts", Endpoint: "https://api.example.com/alerts", Method: "POST", Interval: "1m30s",
			Headers: map[string]string{"Accept": "application/json"}, CACertificate: "PEM", BasicAuthUsername: "u", BasicAuthPassword: pw,
			CloudEventOverrides: &apis.CloudEventOverrides{Extensions: map[string]string{"team": "ops"}},
		}
	}
	fromSecret := func(name string) *apis.ValueFromField {
		return &apis.ValueFromField{ValueFromSecret: &apis.SecretKeySelector{Name: name, Key: "password"}}
	}
	noSink := spec(nil)
	noSink.Sink = apis.Destination{Ref: &apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "gone", Namespace: "ns"}}
	literal := spec(&apis.ValueFromField{Value: "lit"})
	literal.EventSource = "gov.weather"
	res := Resources{
		Brokers: []*apis.Broker{{ObjectMeta: meta("b", "ub")}},
		Secrets: []*apis.Secret{{ObjectMeta: apis.ObjectMeta{Name: "creds", Namespace: "ns"}, Data: map[string][]byte{"password": []byte("s3cret")}}},
		HTTPPollerSources: []*apis.HTTPPollerSource{
			{ObjectMeta: meta("hp", "uhp"), Spec: spec(fromSecret("creds"))},
			{ObjectMeta: meta("lit", "ulit"), Spec: literal},
			{ObjectMeta: meta("nosecret", "unosecret"), Spec: spec(fromSecret("missing"))},
			{ObjectMeta: meta("nosink", "unosink"), Spec: noSink},
		},
	}
	out := Compile(1, res, Options{IngressURL: "http://in:8080"})
	x := indexContract(t, out.Contract)

	want := &weftv1.Ingress{
		Uid: "uhp", Kind: "HTTPPollerSource", Namespace: "ns", Name: "hp", Topic: "weft.source.httppollersource.ns.hp", Generation: 3,
		Poller: &weftv1.HTTPPoller{
			Endpoint: "https://api.example.com/alerts", Method: "POST", Headers: map[string]string{"Accept": "application/json"},
			IntervalMs: 90000, Type: "com.example.alerts", Source: "ns.hp", CaCertificate: "PEM",
			BasicAuthUsername: "u", BasicAuthPassword: "s3cret", Extensions: map[string]string{"team": "ops"},
		},
		Egresses: []*weftv1.Egress{{
			Uid: "uhp", Kind: "HTTPPollerSource", Namespace: "ns", Name: "hp",
			ConsumerGroup: "weft.source.httppollersource.ns.hp", Destination: "http://in:8080/ns/b",
			Delivery: sourceDelivery(), Order: weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED,
			InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST, Generation: 3,
		}},
	}
	if got := x.ingresses["uhp"]; !proto.Equal(got, want) {
		t.Errorf("ingress =\n%v\nwant\n%v", got, want)
	}
	if r := out.HTTPPollerSources["ns/hp"]; r.Reason != "" || r.SubscriberURI != "http://in:8080/ns/b" || r.UID != "uhp" {
		t.Errorf("resolution = %+v", r)
	}
	if p := x.ingresses["ulit"].GetPoller(); p.GetBasicAuthPassword() != "lit" || p.GetSource() != "gov.weather" {
		t.Errorf("literal password, event source: %v", p)
	}
	for key, tc := range map[string]struct{ uid, reason, msg string }{
		"ns/nosecret": {"unosecret", ReasonSecretResolve, `spec.basicAuthPassword: secret "missing" not found in namespace "ns"`},
		"ns/nosink":   {"unosink", ReasonSubscriberResolve, "sink:"},
	} {
		r := out.HTTPPollerSources[key]
		if r.Reason != tc.reason || !strings.Contains(r.Message, tc.msg) {
			t.Errorf("%s: resolution %+v, want reason %s and %q", key, r, tc.reason, tc.msg)
		}
		if x.ingresses[tc.uid] != nil {
			t.Errorf("%s is in the contract", key)
		}
	}
}
