package kubemode

import (
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weft-dev/weft/pkg/apis"
	eventingv1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1"
	eventingv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1alpha1"
	eventingv1beta2 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1beta2"
	flowsv1 "github.com/weft-dev/weft/pkg/kube/apis/flows/v1"
	messagingv1 "github.com/weft-dev/weft/pkg/kube/apis/messaging/v1"
	sourcesv1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1"
	sourcesv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1alpha1"
	sourcesv1beta1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1beta1"
	triggermeshv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/triggermesh/v1alpha1"
)

// lastAppliedAnnotation is kubectl's copy of the last applied manifest: it
// changes with every apply and means nothing to Weft, so it is not mirrored.
const lastAppliedAnnotation = corev1.LastAppliedConfigAnnotation

// metaToAPI is the part of a Kubernetes object's metadata Weft keeps.
func metaToAPI(m *metav1.ObjectMeta) apis.ObjectMeta {
	ann := maps.Clone(m.Annotations)
	delete(ann, lastAppliedAnnotation)
	if len(ann) == 0 {
		ann = nil
	}
	var created *time.Time
	if !m.CreationTimestamp.IsZero() {
		t := m.CreationTimestamp.UTC()
		created = &t
	}
	return apis.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace,
		Labels: maps.Clone(m.Labels), Annotations: ann,
		UID: string(m.UID), Generation: m.Generation, CreationTimestamp: created,
	}
}

// brokerToAPI is b as Weft's resource type (spec only; status is computed).
func brokerToAPI(b *eventingv1.Broker) *apis.Broker {
	c := b.DeepCopy()
	return &apis.Broker{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.EventingV1, Kind: apis.KindBroker},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// triggerToAPI is t as Weft's resource type (spec only; status is computed).
func triggerToAPI(t *eventingv1.Trigger) *apis.Trigger {
	c := t.DeepCopy()
	return &apis.Trigger{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.EventingV1, Kind: apis.KindTrigger},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// withTransitions returns conds with each condition's lastTransitionTime
// kept from prev when its status did not change, and now when it did.
func withTransitions(conds, prev []apis.Condition, now time.Time) []apis.Condition {
	out := make([]apis.Condition, len(conds))
	for i, c := range conds {
		c.LastTransitionTime = &now
		for _, p := range prev {
			if p.Type == c.Type && p.Status == c.Status && p.LastTransitionTime != nil {
				t := *p.LastTransitionTime
				c.LastTransitionTime = &t
			}
		}
		out[i] = c
	}
	return out
}

// channelToAPI is a channel of manifest kind kind (Channel, InMemoryChannel
// or KafkaChannel) as Weft's resource type (spec only; status is computed).
func channelToAPI(kind string, m *metav1.ObjectMeta, spec *apis.ChannelSpec) *apis.Channel {
	c := apis.DeepCopy(&apis.Channel{Spec: *spec}).(*apis.Channel)
	return &apis.Channel{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.DefaultAPIVersion(kind), Kind: kind},
		ObjectMeta: metaToAPI(m.DeepCopy()),
		Spec:       c.Spec,
	}
}

// subscriptionToAPI is s as Weft's resource type (spec only).
func subscriptionToAPI(s *messagingv1.Subscription) *apis.Subscription {
	c := s.DeepCopy()
	return &apis.Subscription{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.MessagingV1, Kind: apis.KindSubscription},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// sequenceToAPI is s as Weft's resource type (spec only).
func sequenceToAPI(s *flowsv1.Sequence) *apis.Sequence {
	c := s.DeepCopy()
	return &apis.Sequence{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.FlowsV1, Kind: apis.KindSequence},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// parallelToAPI is p as Weft's resource type (spec only).
func parallelToAPI(p *flowsv1.Parallel) *apis.Parallel {
	c := p.DeepCopy()
	return &apis.Parallel{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.FlowsV1, Kind: apis.KindParallel},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// kafkaSinkToAPI is k as Weft's resource type (spec only).
func kafkaSinkToAPI(k *eventingv1alpha1.KafkaSink) *apis.KafkaSink {
	c := k.DeepCopy()
	return &apis.KafkaSink{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.EventingV1alpha1, Kind: apis.KindKafkaSink},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// kafkaSourceToAPI is k as Weft's resource type (spec only).
func kafkaSourceToAPI(k *sourcesv1beta1.KafkaSource) *apis.KafkaSource {
	c := k.DeepCopy()
	return &apis.KafkaSource{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.SourcesV1beta1, Kind: apis.KindKafkaSource},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// pingSourceToAPI is s as Weft's resource type (spec only).
func pingSourceToAPI(s *sourcesv1.PingSource) *apis.PingSource {
	c := s.DeepCopy()
	return &apis.PingSource{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.SourcesV1, Kind: apis.KindPingSource},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// httpPollerSourceToAPI is s as Weft's resource type (spec only).
func httpPollerSourceToAPI(s *triggermeshv1alpha1.HTTPPollerSource) *apis.HTTPPollerSource {
	c := s.DeepCopy()
	return &apis.HTTPPollerSource{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.HTTPPollerSourceAPIVersion, Kind: apis.KindHTTPPollerSource},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// webhookSourceToAPI is s as Weft's resource type (spec only).
func webhookSourceToAPI(s *triggermeshv1alpha1.WebhookSource) *apis.WebhookSource {
	c := s.DeepCopy()
	return &apis.WebhookSource{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.SourcesTriggermeshV1alpha1, Kind: apis.KindWebhookSource},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// gitLabSourceToAPI is s as Weft's resource type (spec only).
func gitLabSourceToAPI(s *sourcesv1alpha1.GitLabSource) *apis.GitLabSource {
	c := s.DeepCopy()
	return &apis.GitLabSource{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.SourcesV1alpha1, Kind: apis.KindGitLabSource},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// gitHubSourceToAPI is s as Weft's resource type (spec only).
func gitHubSourceToAPI(s *sourcesv1alpha1.GitHubSource) *apis.GitHubSource {
	c := s.DeepCopy()
	return &apis.GitHubSource{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.SourcesV1alpha1, Kind: apis.KindGitHubSource},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// eventTypeToAPI is e as Weft's resource type (spec only).
func eventTypeToAPI(e *eventingv1beta2.EventType) *apis.EventType {
	c := e.DeepCopy()
	return &apis.EventType{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.EventingV1beta2, Kind: apis.KindEventType},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}

// eventPolicyToAPI is p as Weft's resource type (spec only).
func eventPolicyToAPI(p *eventingv1alpha1.EventPolicy) *apis.EventPolicy {
	c := p.DeepCopy()
	return &apis.EventPolicy{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.EventingV1alpha1, Kind: apis.KindEventPolicy},
		ObjectMeta: metaToAPI(&c.ObjectMeta),
		Spec:       c.Spec,
	}
}
