package apis

import (
	"reflect"
	"testing"
)

func TestSetDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Object
		want Object
	}{
		{
			name: "broker: namespace and type; delivery untouched",
			in:   &Broker{ObjectMeta: ObjectMeta{Name: "b"}},
			want: &Broker{TypeMeta: TypeMeta{APIVersion: EventingV1, Kind: KindBroker}, ObjectMeta: ObjectMeta{Name: "b", Namespace: "default"}},
		},
		{
			name: "broker: config and dead-letter refs get the namespace",
			in: &Broker{ObjectMeta: ObjectMeta{Name: "b", Namespace: "ns"}, Spec: BrokerSpec{
				Config:   &KReference{APIVersion: "v1", Kind: "ConfigMap", Name: "c"},
				Delivery: &DeliverySpec{Retry: ptr(int32(2)), DeadLetterSink: &Destination{Ref: &KReference{APIVersion: "v1", Kind: "Service", Name: "dls"}}},
			}},
			want: &Broker{TypeMeta: TypeMeta{APIVersion: EventingV1, Kind: KindBroker}, ObjectMeta: ObjectMeta{Name: "b", Namespace: "ns"}, Spec: BrokerSpec{
				Config:   &KReference{APIVersion: "v1", Kind: "ConfigMap", Name: "c", Namespace: "ns"},
				Delivery: &DeliverySpec{Retry: ptr(int32(2)), DeadLetterSink: &Destination{Ref: &KReference{APIVersion: "v1", Kind: "Service", Name: "dls", Namespace: "ns"}}},
			}},
		},
		{
			name: "trigger: subscriber and dead-letter refs, empty filter, broker label",
			in: &Trigger{ObjectMeta: ObjectMeta{Name: "t", Namespace: "ns", Labels: map[string]string{"app": "x"}}, Spec: TriggerSpec{
				Broker:     "default",
				Subscriber: Destination{Ref: &KReference{APIVersion: "v1", Kind: "Service", Name: "s"}, URI: "/path"},
				Delivery:   &DeliverySpec{DeadLetterSink: &Destination{Ref: &KReference{APIVersion: "v1", Kind: "Service", Name: "dls"}}},
			}},
			want: &Trigger{TypeMeta: TypeMeta{APIVersion: EventingV1, Kind: KindTrigger},
				ObjectMeta: ObjectMeta{Name: "t", Namespace: "ns", Labels: map[string]string{"app": "x", LabelBroker: "default"}},
				Spec: TriggerSpec{
					Broker:     "default",
					Filter:     &TriggerFilter{},
					Subscriber: Destination{Ref: &KReference{APIVersion: "v1", Kind: "Service", Name: "s", Namespace: "ns"}, URI: "/path"},
					Delivery:   &DeliverySpec{DeadLetterSink: &Destination{Ref: &KReference{APIVersion: "v1", Kind: "Service", Name: "dls", Namespace: "ns"}}},
				}},
		},
		{
			name: "trigger: explicit namespaces and filter kept; brokerRef fills broker",
			in: &Trigger{ObjectMeta: ObjectMeta{Name: "t", Namespace: "ns"}, Spec: TriggerSpec{
				BrokerRef:  &BrokerReference{Name: "b"},
				Filter:     &TriggerFilter{Attributes: map[string]string{"type": "x"}},
				Subscriber: Destination{URI: "http://s/"},
			}},
			want: &Trigger{TypeMeta: TypeMeta{APIVersion: EventingV1, Kind: KindTrigger},
				ObjectMeta: ObjectMeta{Name: "t", Namespace: "ns", Labels: map[string]string{LabelBroker: "b"}},
				Spec: TriggerSpec{
					Broker:     "b",
					BrokerRef:  &BrokerReference{Name: "b"},
					Filter:     &TriggerFilter{Attributes: map[string]string{"type": "x"}},
					Subscriber: Destination{URI: "http://s/"},
				}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			SetDefaults(tc.in)
			if !reflect.DeepEqual(tc.in, tc.want) {
				t.Fatalf("SetDefaults:\n got %+v\nwant %+v", tc.in, tc.want)
			}
			SetDefaults(tc.in)
			if !reflect.DeepEqual(tc.in, tc.want) {
				t.Errorf("SetDefaults is not idempotent: %+v", tc.in)
			}
		})
	}
	SetDefaults(nil)
	SetDefaults((*Trigger)(nil))
}
