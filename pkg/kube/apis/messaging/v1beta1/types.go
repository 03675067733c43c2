package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"

	"github.com/weft-dev/weft/pkg/apis"
)

// GroupVersion is messaging.knative.dev/v1beta1.
var GroupVersion = schema.GroupVersion{Group: "messaging.knative.dev", Version: "v1beta1"}

// SchemeBuilder registers the kinds of this package; AddToScheme adds them
// to a scheme.
var (
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}
	AddToScheme   = SchemeBuilder.AddToScheme
)

func init() { SchemeBuilder.Register(&KafkaChannel{}, &KafkaChannelList{}) }

// KafkaChannel is messaging.knative.dev/v1beta1 KafkaChannel: a channel
// whose spec sizes its Kafka topic (numPartitions, replicationFactor,
// retentionDuration).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;knative;messaging;channel,shortName=kc
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="duck.knative.dev/addressable=true"
// +kubebuilder:metadata:labels="messaging.knative.dev/subscribable=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit): it names the channel's Kafka topic"
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.address.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type KafkaChannel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the KafkaChannel.
	// +optional
	Spec apis.ChannelSpec `json:"spec,omitempty"`
	// Status is the channel's observed state, written by the control plane.
	// +optional
	Status apis.ChannelStatus `json:"status,omitempty"`
}

// KafkaChannelList is a list of KafkaChannels.
//
// +kubebuilder:object:root=true
type KafkaChannelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KafkaChannel `json:"items"`
}

// DeepCopyObject implements runtime.Object.
func (in *KafkaChannel) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *KafkaChannel) DeepCopy() *KafkaChannel {
	if in == nil {
		return nil
	}
	out := &KafkaChannel{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	c := apis.DeepCopy(&apis.Channel{Spec: in.Spec, Status: in.Status}).(*apis.Channel)
	out.Spec, out.Status = c.Spec, c.Status
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *KafkaChannelList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &KafkaChannelList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]KafkaChannel, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}
