package kubemode

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
)

// ReasonNameTaken is the Ready reason of a channel whose name another
// channel kind holds in its namespace: Channels, InMemoryChannels and
// KafkaChannels are one kind of Weft resource (they would share a topic).
const ReasonNameTaken = "NameTaken"

// kindReconciler reconciles the kinds without a class to choose by
// (Subscriptions, Sequences, Parallels, KafkaSinks, the sources, EventTypes,
// EventPolicies): every one is Weft's.
type kindReconciler struct {
	base
	ops kindOps
}

// Reconcile implements reconcile.Reconciler.
func (r *kindReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := controlplane.Key{Kind: r.ops.stored, Namespace: req.Namespace, Name: req.Name}
	obj := r.ops.newObj()
	if err := r.cl.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, r.srv.Unmirror(ctx, key)
		}
		return reconcile.Result{}, err
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return reconcile.Result{}, r.release(ctx, obj, key)
	}
	a := r.ops.toAPI(obj)
	stored, st, ok, err := r.sync(ctx, a, key, obj.GetGeneration(), func() error {
		if controllerutil.ContainsFinalizer(obj, Finalizer) {
			return nil
		}
		// Admission: a Subscription's start position is fixed once, before
		// it can run, as a Trigger's (FixStartOffsets does nothing for the
		// other kinds: their topics are their own, read from the start).
		if err := r.srv.FixStartOffsets(ctx, a); err != nil {
			return err
		}
		return r.addFinalizer(ctx, obj)
	})
	if err != nil || !ok {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, r.writeStatus(ctx, obj, r.ops, stored, st)
}

// channelReconciler reconciles one of the channel kinds (Channel,
// InMemoryChannel, KafkaChannel). All three are stored as a Weft Channel
// named by namespace and name, so in a namespace one name belongs to one
// channel: the one holding Weft's finalizer, else the oldest. The others
// show Ready=False NameTaken. An InMemoryChannel or KafkaChannel owned by a
// Channel is the backing object Knative's Channel controller would create:
// Weft backs the Channel itself and leaves such objects alone.
type channelReconciler struct {
	base
	ops kindOps
}

// Reconcile implements reconcile.Reconciler.
func (r *channelReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := controlplane.Key{Kind: apis.KindChannel, Namespace: req.Namespace, Name: req.Name}
	obj := r.ops.newObj()
	if err := r.cl.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			// Only the stored channel's own kind may take it out: another
			// kind's object of the same name may hold it.
			if s := r.srv.Stored(key); s != nil && s.GetTypeMeta().Kind == r.ops.kind {
				return reconcile.Result{}, r.srv.Unmirror(ctx, key)
			}
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if backingChannel(obj) {
		if controllerutil.ContainsFinalizer(obj, Finalizer) {
			// Adopted by a Channel after Weft admitted it: the Channel
			// holds the name (and its topic) now.
			orig := obj.DeepCopyObject().(client.Object)
			controllerutil.RemoveFinalizer(obj, Finalizer)
			return reconcile.Result{}, client.IgnoreNotFound(r.cl.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})))
		}
		return reconcile.Result{}, nil
	}
	owner, ownerKind, err := r.nameOwner(ctx, req.NamespacedName)
	if err != nil {
		return reconcile.Result{}, err
	}
	if owner == nil || owner.GetUID() != obj.GetUID() {
		if !obj.GetDeletionTimestamp().IsZero() || owner == nil {
			return reconcile.Result{}, nil
		}
		st := apis.Status{ObservedGeneration: obj.GetGeneration(), Conditions: []apis.Condition{{
			Type: "Ready", Status: apis.ConditionFalse, Reason: ReasonNameTaken,
			Message: fmt.Sprintf("the name %q is taken in namespace %q by %s %q: Weft's channels of every kind (Channel, InMemoryChannel, KafkaChannel) share one set of names in a namespace, as each name is one Kafka topic",
				req.Name, req.Namespace, ownerKind, owner.GetName()),
		}}}
		return reconcile.Result{}, r.writeStatus(ctx, obj, r.ops, nil, st)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return reconcile.Result{}, r.release(ctx, obj, key)
	}
	stored, st, ok, err := r.sync(ctx, r.ops.toAPI(obj), key, obj.GetGeneration(), func() error {
		if controllerutil.ContainsFinalizer(obj, Finalizer) {
			return nil
		}
		return r.addFinalizer(ctx, obj)
	})
	if err != nil || !ok {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, r.writeStatus(ctx, obj, r.ops, stored, st)
}

// nameOwner returns the channel object that holds the name nn among the
// three channel kinds, and its kind: of the objects that are not backing
// objects and not being deleted without Weft's finalizer, the one with the
// finalizer, else the oldest (then by kind, then by uid). nil when none.
func (r *channelReconciler) nameOwner(ctx context.Context, nn types.NamespacedName) (client.Object, string, error) {
	type candidate struct {
		obj   client.Object
		kind  string
		order int
	}
	var cands []candidate
	for i, k := range channelKinds {
		o := k.newObj()
		if err := r.cl.Get(ctx, nn, o); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, "", err
		}
		fin := controllerutil.ContainsFinalizer(o, Finalizer)
		if backingChannel(o) || (!o.GetDeletionTimestamp().IsZero() && !fin) {
			continue
		}
		cands = append(cands, candidate{o, k.kind, i})
	}
	if len(cands) == 0 {
		return nil, "", nil
	}
	best := slices.MinFunc(cands, func(a, b candidate) int {
		fa, fb := controllerutil.ContainsFinalizer(a.obj, Finalizer), controllerutil.ContainsFinalizer(b.obj, Finalizer)
		if fa != fb {
			if fa {
				return -1
			}
			return 1
		}
		if c := a.obj.GetCreationTimestamp().Compare(b.obj.GetCreationTimestamp().Time); c != 0 {
			return c
		}
		if c := cmp.Compare(a.order, b.order); c != 0 {
			return c
		}
		return cmp.Compare(a.obj.GetUID(), b.obj.GetUID())
	})
	return best.obj, best.kind, nil
}

// backingChannel reports whether o is owned by a messaging.knative.dev
// Channel (the backing channel Knative's Channel controller creates).
func backingChannel(o client.Object) bool {
	for _, ref := range o.GetOwnerReferences() {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err == nil && gv.Group == "messaging.knative.dev" && ref.Kind == apis.KindChannel {
			return true
		}
	}
	return false
}

// writeStatus writes obj's status: the stored object's computed status
// (nil: none) with st as its conditions part, through the status
// subresource when it differs from obj's (condition transition times aside).
func (r *base) writeStatus(ctx context.Context, obj client.Object, ops kindOps, stored apis.Object, st apis.Status) error {
	orig := obj.DeepCopyObject().(client.Object)
	whole, common := ops.status(obj)
	prev := slices.Clone(common.Conditions)
	w := reflect.ValueOf(whole).Elem()
	if sw, _ := storedStatus(stored); sw != nil && reflect.TypeOf(sw) == reflect.TypeOf(whole) {
		w.Set(reflect.ValueOf(sw).Elem())
	} else {
		w.SetZero()
	}
	*common = st
	common.Conditions = withTransitions(st.Conditions, prev, time.Now().UTC().Truncate(time.Second))
	changed := !sameJSON(statusWithoutTimes(orig, ops), statusWithoutTimes(obj, ops))
	return r.patchStatus(ctx, obj, orig, changed)
}

// statusWithoutTimes is a copy of obj's status without condition transition
// times, for comparing.
func statusWithoutTimes(obj client.Object, ops kindOps) any {
	c := obj.DeepCopyObject().(client.Object)
	whole, common := ops.status(c)
	*common = stripTimes(*common)
	return whole
}
