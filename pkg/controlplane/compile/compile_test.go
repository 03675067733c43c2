package compile

import (
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func ptr[T any](v T) *T { return &v }

func TestCompile(t *testing.T) {
	opts := Options{IngressURL: "http://in:8080/", ServiceURLTemplate: "http://{name}:8080"}
	broker := &apis.Broker{ObjectMeta: apis.ObjectMeta{Name: "b", Namespace: "ns", UID: "ub", Generation: 2},
		Spec: apis.BrokerSpec{Delivery: &apis.DeliverySpec{Retry: ptr(int32(5)), BackoffDelay: ptr("PT0.2S"),
			DeadLetterSink: &apis.Destination{URI: "http://dead.example/"}}}}
	other := &apis.Broker{ObjectMeta: apis.ObjectMeta{Name: "replies", Namespace: "ns", UID: "ur"}}
	trig := func(name string, mut func(*apis.Trigger)) *apis.Trigger {
		t := &apis.Trigger{ObjectMeta: apis.ObjectMeta{Name: name, Namespace: "ns", UID: "u" + name, Generation: 1},
			Spec: apis.TriggerSpec{Broker: "b", Subscriber: apis.Destination{URI: "http://sub.example/" + name}}}
		if mut != nil {
			mut(t)
		}
		return t
	}
	triggers := []*apis.Trigger{
		trig("plain", nil),
		trig("own-delivery", func(t *apis.Trigger) {
			t.Spec.Delivery = &apis.DeliverySpec{Retry: ptr(int32(1)), BackoffPolicy: ptr(apis.BackoffPolicyLinear), Timeout: ptr("PT3S"), RetryAfterMax: ptr("PT0S")}
		}),
		trig("ordered", func(t *apis.Trigger) {
			t.ObjectMeta.Annotations = map[string]string{apis.AnnotationDeliveryOrder: "ordered", apis.AnnotationInitialOffset: "earliest"}
			t.Spec.Filter = &apis.TriggerFilter{Attributes: map[string]string{"type": "x"}}
			t.Spec.Filters = []apis.SubscriptionsAPIFilter{{Not: &apis.SubscriptionsAPIFilter{CESQL: "source = 'a'"}}, {Any: []apis.SubscriptionsAPIFilter{{Prefix: map[string]string{"type": "p"}}, {Suffix: map[string]string{"type": "s"}}}}}
		}),
		trig("svc-ref", func(t *apis.Trigger) {
			t.Spec.Subscriber = apis.Destination{Ref: &apis.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "fn"}, URI: "/path"}
		}),
		trig("broker-ref", func(t *apis.Trigger) {
			t.Spec.Subscriber = apis.Destination{Ref: &apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "replies"}}
		}),
		trig("missing-broker-ref", func(t *apis.Trigger) {
			t.Spec.Subscriber = apis.Destination{Ref: &apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "nope"}}
		}),
		trig("orphan", func(t *apis.Trigger) { t.Spec.Broker = "gone" }),
	}
	c := Compile(42, Resources{Brokers: []*apis.Broker{other, broker}, Triggers: triggers}, opts)
	if c.Contract.Version != 42 || len(c.Contract.Ingresses) != 2 {
		t.Fatalf("contract: %v", c.Contract)
	}
	in := c.Contract.Ingresses[0]
	if in.Name != "b" || in.Topic != "weft.broker.ns.b" || in.Path != "/ns/b" || in.Generation != 2 {
		t.Fatalf("ingresses not sorted or wrong: %v", c.Contract.Ingresses)
	}
	egs := map[string]*weftv1.Egress{}
	for _, eg := range in.Egresses {
		egs[eg.Name] = eg
	}
	if len(egs) != 5 {
		t.Fatalf("egresses %v", egs)
	}
	if d := egs["plain"].Delivery; d.Retry != 5 || d.BackoffDelayMs != 200 || d.DeadLetterUrl != "http://dead.example/" || d.BackoffPolicy != weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL {
		t.Errorf("plain inherits the broker's delivery: %v", d)
	}
	if d := egs["own-delivery"].Delivery; d.Retry != 1 || d.TimeoutMs != 3000 || d.DeadLetterUrl != "" || d.BackoffPolicy != weftv1.BackoffPolicy_BACKOFF_POLICY_LINEAR || d.RetryAfterMaxMs != -1 {
		t.Errorf("own delivery replaces the broker's entirely: %v", d)
	}
	o := egs["ordered"]
	if o.Order != weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED || o.InitialOffset != weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST || o.Attributes["type"] != "x" || len(o.Filters) != 2 {
		t.Errorf("ordered: %v", o)
	}
	if o.Filters[0].GetNot().GetCesql() != "source = 'a'" || o.Filters[1].GetAny().GetFilters()[1].GetSuffix().GetAttributes()["type"] != "s" {
		t.Errorf("filters: %v", o.Filters)
	}
	if got := egs["svc-ref"].Destination; got != "http://fn:8080/path" {
		t.Errorf("svc ref with relative uri: %s", got)
	}
	if got := egs["broker-ref"].Destination; got != "http://in:8080/ns/replies" {
		t.Errorf("broker ref: %s", got)
	}
	if egs["plain"].ConsumerGroup != "weft.trigger.ns.plain" || egs["plain"].ReplyTopic != "weft.broker.ns.b" {
		t.Errorf("plain: %v", egs["plain"])
	}
	if r := c.Triggers["ns/missing-broker-ref"]; r.Reason != ReasonSubscriberResolve {
		t.Errorf("missing broker ref: %+v", r)
	}
	if r := c.Triggers["ns/orphan"]; r.Reason != ReasonBrokerDoesNotExist || r.BrokerExists {
		t.Errorf("orphan: %+v", r)
	}
	// Deterministic: the same inputs in another order compile to the same contract.
	c2 := Compile(42, Resources{Brokers: []*apis.Broker{broker, other}, Triggers: append(triggers[3:], triggers[:3]...)}, opts)
	if c2.Contract.String() != c.Contract.String() {
		t.Errorf("compile depends on input order")
	}
}

// A broker's rate-limit annotations become its ingress entry's own limit
// (the burst defaulting to the rate, rounded up); a broker without them, or
// with invalid ones, has none (the ingress's --rate-limit-per-broker).
func TestCompileBrokerRateLimit(t *testing.T) {
	broker := func(name string, ann map[string]string) *apis.Broker {
		return &apis.Broker{ObjectMeta: apis.ObjectMeta{Name: name, Namespace: "ns", UID: "u" + name, Annotations: ann}}
	}
	c := Compile(1, Resources{Brokers: []*apis.Broker{
		broker("a-both", map[string]string{apis.AnnotationRateLimit: "100", apis.AnnotationRateLimitBurst: "500"}),
		broker("b-rate", map[string]string{apis.AnnotationRateLimit: "2.5"}),
		broker("c-none", nil),
		broker("d-invalid", map[string]string{apis.AnnotationRateLimit: "-1"}),
	}}, Options{IngressURL: "http://in:8080/"})
	want := map[string]*weftv1.RateLimit{
		"a-both":    {EventsPerSecond: 100, Burst: 500},
		"b-rate":    {EventsPerSecond: 2.5, Burst: 3},
		"c-none":    nil,
		"d-invalid": nil,
	}
	if len(c.Contract.Ingresses) != len(want) {
		t.Fatalf("ingresses: %v", c.Contract.Ingresses)
	}
	for _, in := range c.Contract.Ingresses {
		got, w := in.GetRateLimit(), want[in.Name]
		if (got == nil) != (w == nil) || got.GetEventsPerSecond() != w.GetEventsPerSecond() || got.GetBurst() != w.GetBurst() {
			t.Errorf("broker %s: rate limit %v, want %v", in.Name, got, w)
		}
	}
}
