package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"

	"github.com/weft-dev/weft/pkg/apis"
)

// GroupVersion is flows.knative.dev/v1.
var GroupVersion = schema.GroupVersion{Group: "flows.knative.dev", Version: "v1"}

// SchemeBuilder registers the kinds of this package; AddToScheme adds them
// to a scheme.
var (
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}
	AddToScheme   = SchemeBuilder.AddToScheme
)

func init() { SchemeBuilder.Register(&Sequence{}, &SequenceList{}, &Parallel{}, &ParallelList{}) }

// Sequence is flows.knative.dev/v1 Sequence. Weft runs it on Kafka topics
// of its own; it creates no Channel or Subscription objects.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;knative;flows
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="duck.knative.dev/addressable=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit): it names the Sequence's Kafka topics"
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.address.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type Sequence struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the Sequence.
	Spec apis.SequenceSpec `json:"spec"`
	// Status is the Sequence's observed state, written by the control plane.
	// +optional
	Status apis.SequenceStatus `json:"status,omitempty"`
}

// SequenceList is a list of Sequences.
//
// +kubebuilder:object:root=true
type SequenceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Sequence `json:"items"`
}

// Parallel is flows.knative.dev/v1 Parallel. Weft runs it on Kafka topics
// of its own; it creates no Channel or Subscription objects.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;knative;flows
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="duck.knative.dev/addressable=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit): it names the Parallel's Kafka topics"
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.address.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type Parallel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the Parallel.
	Spec apis.ParallelSpec `json:"spec"`
	// Status is the Parallel's observed state, written by the control plane.
	// +optional
	Status apis.ParallelStatus `json:"status,omitempty"`
}

// ParallelList is a list of Parallels.
//
// +kubebuilder:object:root=true
type ParallelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Parallel `json:"items"`
}

// DeepCopyObject implements runtime.Object.
func (in *Sequence) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *Sequence) DeepCopy() *Sequence {
	if in == nil {
		return nil
	}
	out := &Sequence{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	c := apis.DeepCopy(&apis.Sequence{Spec: in.Spec, Status: in.Status}).(*apis.Sequence)
	out.Spec, out.Status = c.Spec, c.Status
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *Parallel) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *Parallel) DeepCopy() *Parallel {
	if in == nil {
		return nil
	}
	out := &Parallel{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	c := apis.DeepCopy(&apis.Parallel{Spec: in.Spec, Status: in.Status}).(*apis.Parallel)
	out.Spec, out.Status = c.Spec, c.Status
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *SequenceList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &SequenceList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]Sequence, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *ParallelList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &ParallelList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]Parallel, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}
