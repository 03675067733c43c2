package kubemode

import (
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weft-dev/weft/pkg/apis"
	eventingv1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1"
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
