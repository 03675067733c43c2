package apis

import (
	"errors"
	"strings"
	"testing"
)

// validTrigger returns a defaulted, valid Trigger to mutate.
func validTrigger() *Trigger {
	t := &Trigger{
		ObjectMeta: ObjectMeta{Name: "t", Namespace: "ns"},
		Spec: TriggerSpec{
			Broker:     "default",
			Filter:     &TriggerFilter{Attributes: map[string]string{"type": "greeting"}},
			Subscriber: Destination{Ref: &KReference{APIVersion: "v1", Kind: "Service", Name: "s"}},
		},
	}
	SetDefaults(t)
	return t
}

func validBroker() *Broker {
	b := &Broker{ObjectMeta: ObjectMeta{Name: "b", Namespace: "ns"}}
	SetDefaults(b)
	return b
}

func ptr[T any](v T) *T { return &v }

func TestFieldErrorsFormat(t *testing.T) {
	fes := FieldErrors{
		{Path: "spec.delivery.retry", Value: "-1", Message: "must be >= 0"},
		{Path: "spec.broker", Message: "required"},
		{Message: "whole document"},
	}
	want := `spec.delivery.retry: must be >= 0 (value "-1"); spec.broker: required; whole document`
	if got := fes.Error(); got != want {
		t.Errorf("Error() = %q\nwant %q", got, want)
	}
	if !errors.Is(fes, ErrInvalid) || errors.Is(fes, ErrImmutable) || errors.Is(fes, ErrUnsupportedKind) {
		t.Errorf("Is: invalid %v immutable %v kind %v; want true false false",
			errors.Is(fes, ErrInvalid), errors.Is(fes, ErrImmutable), errors.Is(fes, ErrUnsupportedKind))
	}
	long := (&FieldError{Path: "p", Value: strings.Repeat("x", 500), Message: "m"}).Error()
	if len(long) > 140 || !strings.HasSuffix(long, `...")`) {
		t.Errorf("long value not shortened: %q", long)
	}
	me := &ManifestError{Index: 2, Kind: KindTrigger, Name: "hello-display", Err: FieldErrors{{Path: "spec.subscriber", Message: "required"}}}
	if got, want := me.Error(), `document 2 (Trigger "hello-display"): spec.subscriber: required`; got != want {
		t.Errorf("ManifestError = %q, want %q", got, want)
	}
	if !errors.Is(me, ErrInvalid) {
		t.Error("ManifestError does not unwrap to ErrInvalid")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		obj    func() Object
		path   string // "" means valid
		substr string
	}{
		{"valid trigger", func() Object { return validTrigger() }, "", ""},
		{"valid broker", func() Object { return validBroker() }, "", ""},
		{"broker with every annotation", func() Object {
			b := validBroker()
			b.ObjectMeta.Annotations = map[string]string{AnnotationPartitions: "10000", AnnotationReplicationFactor: "3", AnnotationBrokerClass: "Kafka", "Example.COM/Key": "v"}
			return b
		}, "", ""},
		{"trigger with every annotation", func() Object {
			tr := validTrigger()
			tr.ObjectMeta.Annotations = map[string]string{AnnotationDeliveryOrder: "unordered", AnnotationInitialOffset: "earliest", AnnotationInjection: "enabled",
				AnnotationDependency: `{"kind":"PingSource","name":"p","apiVersion":"sources.knative.dev/v1"}`}
			return tr
		}, "", ""},
		{"dependency without name", func() Object {
			tr := validTrigger()
			tr.ObjectMeta.Annotations = map[string]string{AnnotationDependency: `{"kind":"PingSource","apiVersion":"sources.knative.dev/v1"}`}
			return tr
		}, "metadata.annotations[knative.dev/dependency]", "missing name"},
		{"broker dead-letter sink in another namespace (Knative allows)", func() Object {
			b := validBroker()
			b.Spec.Delivery = &DeliverySpec{DeadLetterSink: &Destination{Ref: &KReference{APIVersion: "v1", Kind: "Service", Name: "dls", Namespace: "other"}}}
			return b
		}, "", ""},
		{"trigger dead-letter sink in another namespace", func() Object {
			tr := validTrigger()
			tr.Spec.Delivery = &DeliverySpec{DeadLetterSink: &Destination{Ref: &KReference{APIVersion: "v1", Kind: "Service", Name: "dls", Namespace: "other"}}}
			return tr
		}, "spec.delivery.deadLetterSink.ref.namespace", `Trigger's namespace "ns"`},
		{"ref group disagrees with apiVersion", func() Object {
			tr := validTrigger()
			tr.Spec.Subscriber.Ref = &KReference{APIVersion: "serving.knative.dev/v1", Group: "apps", Kind: "Service", Name: "s"}
			return tr
		}, "spec.subscriber.ref.group", "does not match"},
		{"kind does not match the Go type", func() Object {
			b := validBroker()
			b.Kind = KindTrigger
			return b
		}, "kind", "must be Broker"},
		{"no namespace without SetDefaults", func() Object {
			return &Broker{ObjectMeta: ObjectMeta{Name: "b"}}
		}, "metadata.namespace", "required"},
		{"oversized annotations", func() Object {
			b := validBroker()
			b.ObjectMeta.Annotations = map[string]string{"big": strings.Repeat("x", totalAnnotationSizeLimit)}
			return b
		}, "metadata.annotations", "total size"},
		{"nil object", func() Object { return nil }, "", "nil object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.obj())
			if tc.path == "" && tc.substr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			invalidAt(t, err, tc.path, tc.substr)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name      string
		old, new  func() Object
		immutable string // path of the expected ErrImmutable error; "" if the update is allowed
		substr    string
	}{
		{
			name: "trigger broker changed",
			old:  func() Object { return validTrigger() },
			new: func() Object {
				tr := validTrigger()
				tr.Spec.Broker = "other"
				return tr
			},
			immutable: "spec.broker", substr: `cannot change from "default" to "other"`,
		},
		{
			name: "trigger broker changed through brokerRef",
			old:  func() Object { return validTrigger() },
			new: func() Object {
				tr := validTrigger()
				tr.Spec.Broker, tr.Spec.BrokerRef = "", &BrokerReference{Name: "other"}
				return tr
			},
			immutable: "spec.broker", substr: `to "other"`,
		},
		{
			name: "trigger subscriber, filters, delivery and labels changed",
			old:  func() Object { return validTrigger() },
			new: func() Object {
				tr := validTrigger()
				tr.Spec.Subscriber = Destination{URI: "http://elsewhere/"}
				tr.Spec.Filter = nil
				tr.Spec.Filters = []SubscriptionsAPIFilter{{CESQL: "type = 'a'"}}
				tr.Spec.Delivery = &DeliverySpec{Retry: ptr(int32(5))}
				tr.ObjectMeta.Labels["team"] = "x"
				tr.ObjectMeta.Annotations = map[string]string{AnnotationDeliveryOrder: "ordered"}
				return tr
			},
		},
		{
			name: "brokerRef spelled differently, same broker",
			old:  func() Object { return validTrigger() },
			new: func() Object {
				tr := validTrigger()
				tr.Spec.Broker, tr.Spec.BrokerRef = "", &BrokerReference{Name: "default"}
				return tr
			},
		},
		{
			name:      "kind changed",
			old:       func() Object { return validTrigger() },
			new:       func() Object { b := validBroker(); b.ObjectMeta.Name = "t"; return b },
			immutable: "kind", substr: `cannot change from "Trigger" to "Broker"`,
		},
		{
			name:      "renamed",
			old:       func() Object { return validBroker() },
			new:       func() Object { b := validBroker(); b.ObjectMeta.Name = "c"; return b },
			immutable: "metadata.name", substr: `from "b" to "c"`,
		},
		{
			name: "broker delivery changed",
			old:  func() Object { return validBroker() },
			new: func() Object {
				b := validBroker()
				b.Spec.Delivery = &DeliverySpec{Retry: ptr(int32(3)), BackoffDelay: ptr("PT1S")}
				return b
			},
		},
		{
			name: "broker class changed",
			old:  func() Object { return validBroker() },
			new: func() Object {
				b := validBroker()
				b.ObjectMeta.Annotations = map[string]string{AnnotationBrokerClass: "Kafka"}
				return b
			},
			immutable: "metadata.annotations[eventing.knative.dev/broker.class]", substr: `from "" to "Kafka"`,
		},
		{
			name: "broker config changed",
			old: func() Object {
				b := validBroker()
				b.Spec.Config = &KReference{APIVersion: "v1", Kind: "ConfigMap", Name: "a"}
				return b
			},
			new: func() Object {
				b := validBroker()
				b.Spec.Config = &KReference{APIVersion: "v1", Kind: "ConfigMap", Name: "b", Namespace: "ns"}
				return b
			},
			immutable: "spec.config", substr: "ConfigMap ns/a (v1)",
		},
		{
			name: "create (no old object)",
			old:  func() Object { return nil },
			new:  func() Object { return validTrigger() },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateUpdate(tc.old(), tc.new())
			if tc.immutable == "" {
				if err != nil {
					t.Fatalf("ValidateUpdate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrImmutable) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ValidateUpdate = %v, want ErrImmutable and ErrInvalid", err)
			}
			fe := findPath(fieldErrorsOf(t, err), tc.immutable)
			if fe == nil || !strings.Contains(fe.Message, tc.substr) {
				t.Errorf("ValidateUpdate = %v; want %q at %q", err, tc.substr, tc.immutable)
			}
		})
	}

	t.Run("validation errors are not immutability errors", func(t *testing.T) {
		err := Validate(&Broker{ObjectMeta: ObjectMeta{Name: "B", Namespace: "ns"}})
		if errors.Is(err, ErrImmutable) {
			t.Errorf("Validate error %v matches ErrImmutable", err)
		}
	})
}
