package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"

	"github.com/weft-dev/weft/pkg/apis"
)

// GroupVersion is sources.knative.dev/v1beta1.
var GroupVersion = schema.GroupVersion{Group: "sources.knative.dev", Version: "v1beta1"}

// SchemeBuilder registers the kinds of this package; AddToScheme adds them
// to a scheme.
var (
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}
	AddToScheme   = SchemeBuilder.AddToScheme
)

func init() { SchemeBuilder.Register(&KafkaSource{}, &KafkaSourceList{}) }

// KafkaSource is sources.knative.dev/v1beta1 KafkaSource: the records of
// topics on a Kafka cluster, sent as events to a sink by Weft's dispatcher
// fleet, which commits spec.consumerGroup on that cluster (without it,
// knative-kafka-source-{uid}).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;knative;sources
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="duck.knative.dev/source=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit): it names the KafkaSource's groups and retry topic"
// +kubebuilder:printcolumn:name="Topics",type=string,JSONPath=`.spec.topics`
// +kubebuilder:printcolumn:name="BootstrapServers",type=string,JSONPath=`.spec.bootstrapServers`
// +kubebuilder:printcolumn:name="Sink",type=string,JSONPath=`.status.sinkUri`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type KafkaSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the KafkaSource.
	Spec apis.KafkaSourceSpec `json:"spec"`
	// Status is the KafkaSource's observed state, written by the control
	// plane.
	// +optional
	Status apis.KafkaSourceStatus `json:"status,omitempty"`
}

// KafkaSourceList is a list of KafkaSources.
//
// +kubebuilder:object:root=true
type KafkaSourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KafkaSource `json:"items"`
}

// DeepCopyObject implements runtime.Object.
func (in *KafkaSource) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *KafkaSource) DeepCopy() *KafkaSource {
	if in == nil {
		return nil
	}
	out := &KafkaSource{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	c := apis.DeepCopy(&apis.KafkaSource{Spec: in.Spec, Status: in.Status}).(*apis.KafkaSource)
	out.Spec, out.Status = c.Spec, c.Status
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *KafkaSourceList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &KafkaSourceList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]KafkaSource, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}
