package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"

	"github.com/weft-dev/weft/pkg/apis"
)

// GroupVersion is eventing.knative.dev/v1beta2.
var GroupVersion = schema.GroupVersion{Group: "eventing.knative.dev", Version: "v1beta2"}

// SchemeBuilder registers the kinds of this package; AddToScheme adds them
// to a scheme.
var (
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}
	AddToScheme   = SchemeBuilder.AddToScheme
)

func init() { SchemeBuilder.Register(&EventType{}, &EventTypeList{}) }

// EventType is eventing.knative.dev/v1beta2 EventType: a type of event
// offered on a Broker or channel (spec.reference). Users create them, and
// the control plane creates them for the events it sees on a Broker or
// channel with auto-registration on, owned by that Broker or channel.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=all;knative;eventing
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.source`
// +kubebuilder:printcolumn:name="Schema",type=string,JSONPath=`.spec.schema`
// +kubebuilder:printcolumn:name="Reference Name",type=string,JSONPath=`.spec.reference.name`
// +kubebuilder:printcolumn:name="Reference Kind",type=string,JSONPath=`.spec.reference.kind`
// +kubebuilder:printcolumn:name="Description",type=string,JSONPath=`.spec.description`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type EventType struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the EventType; every field is immutable
	// (as Knative's).
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="immutable: every field of an EventType's spec is immutable (as Knative): delete the EventType and create it again"
	Spec apis.EventTypeSpec `json:"spec"`
	// Status is the EventType's observed state, written by the control
	// plane.
	// +optional
	Status apis.EventTypeStatus `json:"status,omitempty"`
}

// EventTypeList is a list of EventTypes.
//
// +kubebuilder:object:root=true
type EventTypeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EventType `json:"items"`
}

// DeepCopyObject implements runtime.Object.
func (in *EventType) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *EventType) DeepCopy() *EventType {
	if in == nil {
		return nil
	}
	out := &EventType{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	c := apis.DeepCopy(&apis.EventType{Spec: in.Spec, Status: in.Status}).(*apis.EventType)
	out.Spec, out.Status = c.Spec, c.Status
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *EventTypeList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &EventTypeList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]EventType, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}
