package kubemode

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/pkg/apis"
	eventingv1beta2 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1beta2"
)

// eventTypeCreator is the control plane's controlplane.EventTypeCreator in
// Kubernetes mode: an auto-registered EventType becomes an
// eventing.knative.dev/v1beta2 EventType custom resource, created through
// the Kubernetes API with the name, labels, annotations and spec the
// control plane chose, and metadata.ownerReferences naming its Broker or
// channel (as Knative's auto-created EventTypes have), so it goes when its
// owner does. The EventType reconciler then mirrors it into the state like
// any other. Safe for concurrent use.
type eventTypeCreator struct{ cl client.Client }

// CreateEventType implements controlplane.EventTypeCreator: created false,
// no error, when an EventType of that name exists already (another replica,
// an earlier report, or a user's).
func (c eventTypeCreator) CreateEventType(ctx context.Context, et *apis.EventType) (bool, error) {
	m := &et.ObjectMeta
	var owner apis.OwnerReference
	if err := json.Unmarshal([]byte(m.Annotations[apis.AnnotationOwnerReference]), &owner); err != nil || owner.UID == "" {
		return false, fmt.Errorf("annotation %s: not an owner reference: %q", apis.AnnotationOwnerReference, m.Annotations[apis.AnnotationOwnerReference])
	}
	c2 := apis.DeepCopy(et).(*apis.EventType)
	obj := &eventingv1beta2.EventType{
		TypeMeta: metav1.TypeMeta{APIVersion: eventingv1beta2.GroupVersion.String(), Kind: apis.KindEventType},
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace,
			Labels: maps.Clone(m.Labels), Annotations: maps.Clone(m.Annotations),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: owner.APIVersion, Kind: owner.Kind, Name: owner.Name, UID: types.UID(owner.UID),
			}},
		},
		Spec: c2.Spec,
	}
	err := c.cl.Create(ctx, obj)
	switch {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("create the EventType custom resource: %w", err)
	}
	return true, nil
}
