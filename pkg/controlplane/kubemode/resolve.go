package kubemode

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/pkg/apis"
)

// resolveTimeout bounds one lookup of a referenced object: the first lookup
// of a kind starts watching it, which waits for the watch to sync.
const resolveTimeout = 10 * time.Second

// refKey names a referenced object: group/kind/namespace/name. Triggers and
// Brokers are indexed by the refKeys of their destinations, so a change of a
// referenced object reconciles exactly the objects that point at it.
func refKey(group, kind, namespace, name string) string {
	return group + "/" + kind + "/" + namespace + "/" + name
}

// refGroup is the API group of ref (its group field, or its apiVersion's).
func refGroup(ref *apis.KReference) string {
	if ref.Group != "" {
		return ref.Group
	}
	if g, _, ok := strings.Cut(ref.APIVersion, "/"); ok {
		return g
	}
	return ""
}

// destinations lists the destinations of o with their field paths, the
// keys of apis.AnnotationResolvedRefs: spec.subscriber, spec.reply,
// spec.delivery.deadLetterSink, spec.channelTemplate.spec.delivery.deadLetterSink,
// spec.steps[i], spec.steps[i].delivery.deadLetterSink,
// spec.branches[i].filter, .subscriber, .reply and .delivery.deadLetterSink.
func destinations(o apis.Object) map[string]*apis.Destination {
	out := map[string]*apis.Destination{}
	add := func(path string, d *apis.Destination) {
		if d != nil {
			out[path] = d
		}
	}
	dls := func(path string, ds *apis.DeliverySpec) {
		if ds != nil {
			add(path+".deadLetterSink", ds.DeadLetterSink)
		}
	}
	template := func(t *apis.ChannelTemplateSpec) {
		if t != nil && t.Spec != nil {
			dls("spec.channelTemplate.spec.delivery", t.Spec.Delivery)
		}
	}
	switch t := o.(type) {
	case *apis.Trigger:
		add("spec.subscriber", &t.Spec.Subscriber)
		dls("spec.delivery", t.Spec.Delivery)
	case *apis.Broker:
		dls("spec.delivery", t.Spec.Delivery)
	case *apis.Channel:
		dls("spec.delivery", t.Spec.Delivery)
		template(t.Spec.ChannelTemplate)
	case *apis.Subscription:
		add("spec.subscriber", t.Spec.Subscriber)
		add("spec.reply", t.Spec.Reply)
		dls("spec.delivery", t.Spec.Delivery)
	case *apis.Sequence:
		for i := range t.Spec.Steps {
			p := fmt.Sprintf("spec.steps[%d]", i)
			add(p, &t.Spec.Steps[i].Destination)
			dls(p+".delivery", t.Spec.Steps[i].Delivery)
		}
		add("spec.reply", t.Spec.Reply)
		template(t.Spec.ChannelTemplate)
	case *apis.Parallel:
		for i := range t.Spec.Branches {
			b := &t.Spec.Branches[i]
			p := fmt.Sprintf("spec.branches[%d]", i)
			add(p+".filter", b.Filter)
			add(p+".subscriber", &b.Subscriber)
			add(p+".reply", b.Reply)
			dls(p+".delivery", b.Delivery)
		}
		add("spec.reply", t.Spec.Reply)
		template(t.Spec.ChannelTemplate)
	case *apis.KafkaSource:
		add("spec.sink", &t.Spec.Sink)
		dls("spec.delivery", t.Spec.Delivery)
	case *apis.PingSource:
		add("spec.sink", &t.Spec.Sink)
	case *apis.HTTPPollerSource:
		add("spec.sink", &t.Spec.Sink)
	case *apis.WebhookSource:
		add("spec.sink", &t.Spec.Sink)
	case *apis.GitLabSource:
		add("spec.sink", &t.Spec.Sink)
	case *apis.GitHubSource:
		add("spec.sink", &t.Spec.Sink)
	}
	return out
}

// refKeysOf returns the refKeys of o's destinations that have a ref.
func refKeysOf(o apis.Object) []string {
	var keys []string
	for _, d := range destinations(o) {
		if d.Ref == nil {
			continue
		}
		ns := d.Ref.Namespace
		if ns == "" {
			ns = o.GetObjectMeta().Namespace
		}
		keys = append(keys, refKey(refGroup(d.Ref), d.Ref.Kind, ns, d.Ref.Name))
	}
	return keys
}

// resolver resolves references the Knative way, reading the referenced
// objects from the manager's cache (which watches a kind from its first
// lookup on), and asks watch to reconcile referrers when a referenced kind's
// objects change.
type resolver struct {
	cl    client.Client
	watch func(schema.GroupVersionKind) error

	mu      sync.Mutex
	watched map[schema.GroupKind]bool
}

// annotate sets apis.AnnotationResolvedRefs on o: how each of its refs
// resolves now. Refs that fail are recorded with the reason, so the
// compiled status says SubscriberResolveFailed (or DeadLetterSinkResolveFailed)
// naming the ref.
func (r *resolver) annotate(ctx context.Context, o apis.Object) error {
	refs := map[string]apis.ResolvedRef{}
	for path, d := range destinations(o) {
		if d.Ref == nil {
			continue
		}
		u, err := r.resolve(ctx, o.GetObjectMeta().Namespace, d)
		if err != nil {
			refs[path] = apis.ResolvedRef{Error: err.Error()}
			continue
		}
		refs[path] = apis.ResolvedRef{URI: u}
	}
	m := o.GetObjectMeta()
	delete(m.Annotations, apis.AnnotationResolvedRefs)
	if len(refs) == 0 {
		return nil
	}
	b, err := json.Marshal(refs)
	if err != nil {
		return fmt.Errorf("encode resolved refs: %w", err)
	}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[apis.AnnotationResolvedRefs] = string(b)
	return nil
}

// resolve turns a destination with a ref into a URL: a core Service is
// http://{name}.{namespace}.svc.cluster.local, anything else is Addressable
// and resolves to its status.address.url (or the status.addresses entry the
// ref's address names). A uri beside the ref is resolved relative to it.
func (r *resolver) resolve(ctx context.Context, namespace string, d *apis.Destination) (string, error) {
	ref := d.Ref
	ns := ref.Namespace
	if ns == "" {
		ns = namespace
	}
	group := refGroup(ref)
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	var base string
	if group == "" && ref.Kind == "Service" {
		var svc corev1.Service
		if err := r.get(ctx, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, ns, ref.Name, &svc); err != nil {
			return "", err
		}
		base = fmt.Sprintf("http://%s.%s.svc.cluster.local", ref.Name, ns)
	} else {
		gvk, err := r.gvk(ref, group)
		if err != nil {
			return "", err
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		if err := r.get(ctx, gvk, ns, ref.Name, u); err != nil {
			return "", err
		}
		if base, err = addressOf(u, ref.Address); err != nil {
			return "", err
		}
	}
	if d.URI == "" {
		return base, nil
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("ref: %s %q has a bad address %q: %w", ref.Kind, ref.Name, base, err)
	}
	rel, err := url.Parse(d.URI)
	if err != nil {
		return "", fmt.Errorf("uri: %w", err)
	}
	return b.ResolveReference(rel).String(), nil
}

// gvk is the group, version and kind of ref (the cluster's preferred
// version when the ref names only a group).
func (r *resolver) gvk(ref *apis.KReference, group string) (schema.GroupVersionKind, error) {
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil && gv.Version != "" {
		return gv.WithKind(ref.Kind), nil
	}
	m, err := r.cl.RESTMapper().RESTMapping(schema.GroupKind{Group: group, Kind: ref.Kind})
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("ref: kind %s in group %q is not served by this cluster: %w", ref.Kind, group, err)
	}
	return m.GroupVersionKind, nil
}

// get reads one object through the cache, watching its kind from then on.
func (r *resolver) get(ctx context.Context, gvk schema.GroupVersionKind, ns, name string, into client.Object) error {
	if err := r.ensureWatch(gvk); err != nil {
		return fmt.Errorf("ref: watch %s: %w", gvk.Kind, err)
	}
	err := r.cl.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, into)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("ref: %s %q not found in namespace %q", gvk.Kind, name, ns)
	case err != nil:
		return fmt.Errorf("ref: get %s %q in namespace %q: %w", gvk.Kind, name, ns, err)
	}
	return nil
}

func (r *resolver) ensureWatch(gvk schema.GroupVersionKind) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.watched[gvk.GroupKind()] {
		return nil
	}
	if err := r.watch(gvk); err != nil {
		return err
	}
	if r.watched == nil {
		r.watched = map[schema.GroupKind]bool{}
	}
	r.watched[gvk.GroupKind()] = true
	return nil
}

// addressOf reads an Addressable's URL: status.address.url, or with name
// set, the url of the status.addresses entry of that name.
func addressOf(u *unstructured.Unstructured, name *string) (string, error) {
	if name != nil && *name != "" {
		addrs, _, _ := unstructured.NestedSlice(u.Object, "status", "addresses")
		for _, a := range addrs {
			m, ok := a.(map[string]any)
			if !ok {
				continue
			}
			if n, _ := m["name"].(string); n == *name {
				if s, _ := m["url"].(string); s != "" {
					return s, nil
				}
			}
		}
		return "", fmt.Errorf("ref: %s %q has no address named %q in status.addresses", u.GetKind(), u.GetName(), *name)
	}
	s, found, _ := unstructured.NestedString(u.Object, "status", "address", "url")
	if !found || s == "" {
		return "", fmt.Errorf("ref: %s %q in namespace %q has no status.address.url (not addressable, or not ready yet)", u.GetKind(), u.GetName(), u.GetNamespace())
	}
	return s, nil
}
