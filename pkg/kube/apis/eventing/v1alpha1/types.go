package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"

	"github.com/weft-dev/weft/pkg/apis"
)

// GroupVersion is eventing.knative.dev/v1alpha1.
var GroupVersion = schema.GroupVersion{Group: "eventing.knative.dev", Version: "v1alpha1"}

// SchemeBuilder registers the kinds of this package; AddToScheme adds them
// to a scheme.
var (
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}
	AddToScheme   = SchemeBuilder.AddToScheme
)

func init() {
	SchemeBuilder.Register(&KafkaSink{}, &KafkaSinkList{}, &EventPolicy{}, &EventPolicyList{})
}

// KafkaSink is eventing.knative.dev/v1alpha1 KafkaSink: an Addressable whose
// events the ingress writes to a Kafka topic (on Weft's cluster or the one
// spec.bootstrapServers names), served at /sinks/{namespace}/{name}.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;knative;eventing
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="duck.knative.dev/addressable=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit): it names the KafkaSink's path /sinks/{namespace}/{name}"
// +kubebuilder:printcolumn:name="Topic",type=string,JSONPath=`.spec.topic`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.address.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type KafkaSink struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the KafkaSink.
	Spec apis.KafkaSinkSpec `json:"spec"`
	// Status is the KafkaSink's observed state, written by the control plane.
	// +optional
	Status apis.KafkaSinkStatus `json:"status,omitempty"`
}

// KafkaSinkList is a list of KafkaSinks.
//
// +kubebuilder:object:root=true
type KafkaSinkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KafkaSink `json:"items"`
}

// DeepCopyObject implements runtime.Object.
func (in *KafkaSink) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *KafkaSink) DeepCopy() *KafkaSink {
	if in == nil {
		return nil
	}
	out := &KafkaSink{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	c := apis.DeepCopy(&apis.KafkaSink{Spec: in.Spec, Status: in.Status}).(*apis.KafkaSink)
	out.Spec, out.Status = c.Spec, c.Status
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *KafkaSinkList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &KafkaSinkList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]KafkaSink, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}

// EventPolicy is eventing.knative.dev/v1alpha1 EventPolicy: which senders
// (spec.from) may send which events (spec.filters) to which addressables
// of its namespace (spec.to); the ingress enforces it when the control
// plane runs with --oidc-authentication.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;knative;eventing
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type EventPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the EventPolicy.
	Spec apis.EventPolicySpec `json:"spec"`
	// Status is the EventPolicy's observed state, written by the control
	// plane.
	// +optional
	Status apis.EventPolicyStatus `json:"status,omitempty"`
}

// EventPolicyList is a list of EventPolicies.
//
// +kubebuilder:object:root=true
type EventPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EventPolicy `json:"items"`
}

// DeepCopyObject implements runtime.Object.
func (in *EventPolicy) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *EventPolicy) DeepCopy() *EventPolicy {
	if in == nil {
		return nil
	}
	out := &EventPolicy{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	c := apis.DeepCopy(&apis.EventPolicy{Spec: in.Spec, Status: in.Status}).(*apis.EventPolicy)
	out.Spec, out.Status = c.Spec, c.Status
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *EventPolicyList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &EventPolicyList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]EventPolicy, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}
