package kubemode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
	eventingv1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1"
	"github.com/weft-dev/weft/pkg/wire"
)

// Finalizer is set on every resource Weft admitted: it is removed only once
// the resource's Kafka topics (Broker, Channel, Sequence, Parallel) or
// consumer groups (Trigger, Subscription, Sequence, Parallel) are deleted,
// so a deleted resource never leaves them behind, and a Kafka outage delays
// the deletion rather than orphaning them.
const Finalizer = "weft.dev/kafka-resources"

// errDataPlaneBehind retries a release (with backoff) until the data plane
// has stopped running the resource.
var errDataPlaneBehind = errors.New("waiting for the dispatchers to stop running the resource")

// ReasonInvalidSpec is the Ready reason of a resource the API server took
// but Weft's validation refuses (a CESQL expression that does not parse, for
// one). The last valid spec, if any, keeps running.
const ReasonInvalidSpec = "InvalidSpec"

// base is what every reconciler shares.
type base struct {
	srv    *controlplane.Server
	cl     client.Client
	res    *resolver
	cfg    controlplane.Config
	logger *slog.Logger
}

// ours reports whether b is a Broker this control plane reconciles.
func (r *base) ours(b *eventingv1.Broker) bool {
	class, ok := b.Annotations[apis.AnnotationBrokerClass]
	if !ok || class == "" {
		return r.cfg.DefaultBrokerClass
	}
	return class == r.cfg.BrokerClass
}

// release takes back what Weft holds for obj: its entry in the contract,
// then its Kafka resources, then the finalizer. Each step is idempotent; a
// failure is returned and the request retried with backoff.
func (r *base) release(ctx context.Context, obj client.Object, key controlplane.Key) error {
	if err := r.srv.Unmirror(ctx, key); err != nil {
		return err
	}
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return nil
	}
	// A dispatcher commits a removed trigger's (subscription's, flow's)
	// last offsets before it acknowledges the contract without it: deleting
	// the group earlier would see it made again by that commit.
	if hasGroups(key.Kind) && !r.srv.DataPlaneApplied(wire.RoleDispatcher, r.srv.Store().Snapshot().Version) {
		return errDataPlaneBehind
	}
	if err := r.srv.DeleteKafkaResources(ctx, key); err != nil {
		return err
	}
	orig := obj.DeepCopyObject().(client.Object)
	controllerutil.RemoveFinalizer(obj, Finalizer)
	if err := r.cl.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	r.logger.Info("released", "resource", key.String())
	return nil
}

// hasGroups reports whether resources of the stored kind have consumer
// groups the dispatchers commit to.
func hasGroups(kind string) bool {
	switch kind {
	case apis.KindTrigger, apis.KindSubscription, apis.KindSequence, apis.KindParallel:
		return true
	}
	return false
}

// addFinalizer marks obj admitted.
func (r *base) addFinalizer(ctx context.Context, obj client.Object) error {
	orig := obj.DeepCopyObject().(client.Object)
	controllerutil.AddFinalizer(obj, Finalizer)
	return r.cl.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
}

// sync defaults and validates a; when it is valid, admits it (admit may be
// nil), records how its references resolve and mirrors it into the store.
// It returns the stored object (nil when there is none) and the status to
// write, ok false when there is nothing to write yet.
func (r *base) sync(ctx context.Context, a apis.Object, key controlplane.Key, generation int64, admit func() error) (stored apis.Object, st apis.Status, ok bool, err error) {
	apis.SetDefaults(a)
	invalid := apis.Validate(a)
	if invalid == nil {
		if admit != nil {
			if err := admit(); err != nil {
				return nil, apis.Status{}, false, err
			}
		}
		if err := r.res.annotate(ctx, a); err != nil {
			return nil, apis.Status{}, false, err
		}
		if err := r.srv.Mirror(ctx, a); err != nil {
			return nil, apis.Status{}, false, err
		}
	}
	stored = r.srv.Stored(key)
	st, ok = desiredStatus(stored, generation, invalid)
	return stored, st, ok, nil
}

// desiredStatus is the status to write for an object whose stored form is
// stored (nil: not stored) and whose own spec failed validation with
// invalid (nil: valid).
func desiredStatus(stored apis.Object, generation int64, invalid error) (apis.Status, bool) {
	var st apis.Status
	if _, common := storedStatus(stored); common != nil {
		st = *common
	}
	if invalid == nil {
		return st, stored != nil
	}
	ready := apis.Condition{Type: "Ready", Status: apis.ConditionFalse, Reason: ReasonInvalidSpec, Message: invalid.Error()}
	conds := []apis.Condition{ready}
	for _, c := range st.Conditions {
		if c.Type != "Ready" {
			conds = append(conds, c)
		}
	}
	return apis.Status{ObservedGeneration: generation, Conditions: conds}, true
}

// patchStatus writes obj's status through the status subresource when it
// differs from orig's (condition transition times aside).
func (r *base) patchStatus(ctx context.Context, obj, orig client.Object, changed bool) error {
	if !changed {
		return nil
	}
	err := r.cl.Status().Patch(ctx, obj, client.MergeFrom(orig))
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// sameJSON compares two values by their JSON.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// brokerReconciler reconciles Brokers of Weft's class.
type brokerReconciler struct{ base }

// Reconcile implements reconcile.Reconciler.
func (r *brokerReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := controlplane.Key{Kind: apis.KindBroker, Namespace: req.Namespace, Name: req.Name}
	var b eventingv1.Broker
	if err := r.cl.Get(ctx, req.NamespacedName, &b); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, r.srv.Unmirror(ctx, key)
		}
		return reconcile.Result{}, err
	}
	if !r.ours(&b) || !b.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, r.release(ctx, &b, key)
	}
	if !controllerutil.ContainsFinalizer(&b, Finalizer) {
		if err := r.addFinalizer(ctx, &b); err != nil {
			return reconcile.Result{}, err
		}
	}
	stored, st, ok, err := r.sync(ctx, brokerToAPI(&b), key, b.Generation, nil)
	if err != nil || !ok {
		return reconcile.Result{}, err
	}
	want := b.Status
	want.Status = st
	if sb, ok := stored.(*apis.Broker); ok {
		want.Address, want.Topic = sb.Status.Address, sb.Status.Topic
	}
	orig := b.DeepCopy()
	want.Conditions = withTransitions(want.Conditions, b.Status.Conditions, time.Now().UTC().Truncate(time.Second))
	changed := !sameJSON(stripTimes(want.Status), stripTimes(b.Status.Status)) || !sameJSON(want.Address, b.Status.Address) || want.Topic != b.Status.Topic
	b.Status = want
	return reconcile.Result{}, r.patchStatus(ctx, &b, orig, changed)
}

// stripTimes is s without condition transition times, for comparing.
func stripTimes(s apis.Status) apis.Status {
	c := s
	c.Conditions = make([]apis.Condition, len(s.Conditions))
	for i, cond := range s.Conditions {
		cond.LastTransitionTime = nil
		c.Conditions[i] = cond
	}
	return c
}

// triggerReconciler reconciles Triggers whose Broker is of Weft's class.
type triggerReconciler struct{ base }

// Reconcile implements reconcile.Reconciler.
func (r *triggerReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := controlplane.Key{Kind: apis.KindTrigger, Namespace: req.Namespace, Name: req.Name}
	var t eventingv1.Trigger
	if err := r.cl.Get(ctx, req.NamespacedName, &t); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, r.srv.Unmirror(ctx, key)
		}
		return reconcile.Result{}, err
	}
	ours, err := r.triggerIsOurs(ctx, &t)
	if err != nil {
		return reconcile.Result{}, err
	}
	if !ours || !t.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, r.release(ctx, &t, key)
	}
	a := triggerToAPI(&t)
	stored, st, ok, err := r.sync(ctx, a, key, t.Generation, func() error {
		if controllerutil.ContainsFinalizer(&t, Finalizer) {
			return nil
		}
		// Admission: the start position is fixed once, before the trigger
		// can run, however its spec changes later.
		if err := r.srv.FixStartOffsets(ctx, a); err != nil {
			return err
		}
		return r.addFinalizer(ctx, &t)
	})
	if err != nil || !ok {
		return reconcile.Result{}, err
	}
	want := t.Status
	want.Status = st
	if stt, ok := stored.(*apis.Trigger); ok {
		want.SubscriberURI, want.DeadLetterSinkURI = stt.Status.SubscriberURI, stt.Status.DeadLetterSinkURI
	}
	orig := t.DeepCopy()
	want.Conditions = withTransitions(want.Conditions, t.Status.Conditions, time.Now().UTC().Truncate(time.Second))
	changed := !sameJSON(stripTimes(want.Status), stripTimes(t.Status.Status)) ||
		want.SubscriberURI != t.Status.SubscriberURI || want.DeadLetterSinkURI != t.Status.DeadLetterSinkURI
	t.Status = want
	return reconcile.Result{}, r.patchStatus(ctx, &t, orig, changed)
}

// triggerIsOurs: a Trigger is Weft's when its Broker is, or when its Broker
// does not exist and either Weft is the default class or it admitted the
// Trigger earlier (then it shows BrokerDoesNotExist, as Knative does).
func (r *triggerReconciler) triggerIsOurs(ctx context.Context, t *eventingv1.Trigger) (bool, error) {
	name := t.Spec.Broker
	if name == "" {
		name = "default"
	}
	var b eventingv1.Broker
	err := r.cl.Get(ctx, types.NamespacedName{Namespace: t.Namespace, Name: name}, &b)
	switch {
	case err == nil:
		return r.ours(&b), nil
	case apierrors.IsNotFound(err):
		return r.cfg.DefaultBrokerClass || controllerutil.ContainsFinalizer(t, Finalizer), nil
	}
	return false, err
}
