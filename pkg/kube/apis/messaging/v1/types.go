package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"

	"github.com/weft-dev/weft/pkg/apis"
)

// GroupVersion is messaging.knative.dev/v1.
var GroupVersion = schema.GroupVersion{Group: "messaging.knative.dev", Version: "v1"}

// SchemeBuilder registers the kinds of this package; AddToScheme adds them
// to a scheme.
var (
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}
	AddToScheme   = SchemeBuilder.AddToScheme
)

func init() {
	SchemeBuilder.Register(&Channel{}, &ChannelList{}, &InMemoryChannel{}, &InMemoryChannelList{},
		&Subscription{}, &SubscriptionList{})
}

// Channel is messaging.knative.dev/v1 Channel. Weft backs it with a Kafka
// topic of its own; spec.channelTemplate only sizes that topic (a
// KafkaChannel template) and no backing channel object is created.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;knative;messaging;channel,shortName=ch
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="duck.knative.dev/addressable=true"
// +kubebuilder:metadata:labels="messaging.knative.dev/subscribable=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit): it names the Channel's Kafka topic"
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.address.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type Channel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the Channel.
	// +optional
	Spec apis.ChannelSpec `json:"spec,omitempty"`
	// Status is the Channel's observed state, written by the control plane.
	// +optional
	Status apis.ChannelStatus `json:"status,omitempty"`
}

// ChannelList is a list of Channels.
//
// +kubebuilder:object:root=true
type ChannelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Channel `json:"items"`
}

// InMemoryChannel is messaging.knative.dev/v1 InMemoryChannel. In Weft it
// is as durable as any channel: a Kafka topic.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;knative;messaging;channel,shortName=imc
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="duck.knative.dev/addressable=true"
// +kubebuilder:metadata:labels="messaging.knative.dev/subscribable=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit): it names the channel's Kafka topic"
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.address.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type InMemoryChannel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the InMemoryChannel.
	// +optional
	Spec apis.ChannelSpec `json:"spec,omitempty"`
	// Status is the channel's observed state, written by the control plane.
	// +optional
	Status apis.ChannelStatus `json:"status,omitempty"`
}

// InMemoryChannelList is a list of InMemoryChannels.
//
// +kubebuilder:object:root=true
type InMemoryChannelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InMemoryChannel `json:"items"`
}

// Subscription is messaging.knative.dev/v1 Subscription.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all;knative;messaging,shortName=sub
// +kubebuilder:metadata:labels="knative.dev/crd-install=true"
// +kubebuilder:metadata:labels="app.kubernetes.io/name=weft"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit): it names the Subscription's consumer group"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type Subscription struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired state of the Subscription.
	Spec apis.SubscriptionSpec `json:"spec"`
	// Status is the Subscription's observed state, written by the control
	// plane.
	// +optional
	Status apis.SubscriptionStatus `json:"status,omitempty"`
}

// SubscriptionList is a list of Subscriptions.
//
// +kubebuilder:object:root=true
type SubscriptionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Subscription `json:"items"`
}

// copyChannel deep-copies a channel's spec and status.
func copyChannel(spec apis.ChannelSpec, status apis.ChannelStatus) (apis.ChannelSpec, apis.ChannelStatus) {
	c := apis.DeepCopy(&apis.Channel{Spec: spec, Status: status}).(*apis.Channel)
	return c.Spec, c.Status
}

// DeepCopyObject implements runtime.Object.
func (in *Channel) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *Channel) DeepCopy() *Channel {
	if in == nil {
		return nil
	}
	out := &Channel{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec, out.Status = copyChannel(in.Spec, in.Status)
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *InMemoryChannel) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *InMemoryChannel) DeepCopy() *InMemoryChannel {
	if in == nil {
		return nil
	}
	out := &InMemoryChannel{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec, out.Status = copyChannel(in.Spec, in.Status)
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *Subscription) DeepCopyObject() runtime.Object { return in.DeepCopy() }

// DeepCopy returns a copy of in that shares no memory with it.
func (in *Subscription) DeepCopy() *Subscription {
	if in == nil {
		return nil
	}
	out := &Subscription{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	c := apis.DeepCopy(&apis.Subscription{Spec: in.Spec, Status: in.Status}).(*apis.Subscription)
	out.Spec, out.Status = c.Spec, c.Status
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *ChannelList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &ChannelList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]Channel, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *InMemoryChannelList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &InMemoryChannelList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]InMemoryChannel, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}

// DeepCopyObject implements runtime.Object.
func (in *SubscriptionList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &SubscriptionList{TypeMeta: in.TypeMeta}
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]Subscription, len(in.Items))
		for i := range in.Items {
			out.Items[i] = *in.Items[i].DeepCopy()
		}
	}
	return out
}
