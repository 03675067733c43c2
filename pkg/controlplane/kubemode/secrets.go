package kubemode

import (
	"context"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
)

// Secrets in Kubernetes mode. The compiler reads the Secrets a source names
// (a webhook's token, a poller's password) from Weft's state
// (compile.Resources.Secrets), as in standalone mode, so the leader mirrors
// into the state exactly the core/v1 Secrets that some source names — by a
// secretKeyRef or valueFromSecret — and no other: a Secret nobody names is
// never read in full, and one no longer named (or deleted) is taken out.
//
// A mirrored Secret's values then live in Weft's state topic, in plain
// text, as a standalone control plane's Secrets do: whoever can read that
// topic (the control plane, the Kafka administrators) can read them, as
// whoever can read etcd can read the cluster's Secrets. Restrict access to
// the state topic accordingly.

// indexSecrets indexes the kinds that name Secrets by "namespace/name" of
// each Secret they name.
const indexSecrets = "weft.secrets"

// secretKinds are the reconciled kinds whose objects may name Secrets.
var secretKinds = []kindOps{webhookSourceKind, gitLabSourceKind, gitHubSourceKind, httpPollerSourceKind, kafkaSourceKind, kafkaSinkKind}

// secretNamesOf returns the names of the Secrets o names (in its own
// namespace), sorted, without duplicates.
func secretNamesOf(o apis.Object) []string {
	var out []string
	sel := func(s *apis.SecretKeySelector) {
		if s != nil && s.Name != "" {
			out = append(out, s.Name)
		}
	}
	from := func(v *apis.SecretValueFromSource) {
		if v != nil {
			sel(v.SecretKeyRef)
		}
	}
	value := func(v *apis.ValueFromField) {
		if v != nil {
			sel(v.ValueFromSecret)
		}
	}
	switch t := o.(type) {
	case *apis.WebhookSource:
		value(t.Spec.BasicAuthPassword)
	case *apis.HTTPPollerSource:
		value(t.Spec.BasicAuthPassword)
	case *apis.GitLabSource:
		from(&t.Spec.SecretToken)
		from(&t.Spec.AccessToken)
	case *apis.GitHubSource:
		from(&t.Spec.SecretToken)
		from(&t.Spec.AccessToken)
	case *apis.KafkaSource:
		if n := t.Spec.Net; n != nil {
			if s := n.SASL; s != nil {
				from(s.User)
				from(s.Password)
				from(s.Type)
			}
			if s := n.TLS; s != nil {
				from(s.Cert)
				from(s.Key)
				from(s.CACert)
			}
		}
	case *apis.KafkaSink:
		if a := t.Spec.Auth; a != nil && a.Secret != nil && a.Secret.Ref != nil && a.Secret.Ref.Name != "" {
			out = append(out, a.Secret.Ref.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// secretKeysOf returns the indexSecrets keys of o: "namespace/name" of each
// Secret it names.
func secretKeysOf(o apis.Object) []string {
	names := secretNamesOf(o)
	ns := o.GetObjectMeta().Namespace
	for i, n := range names {
		names[i] = ns + "/" + n
	}
	return names
}

// secretRequests maps an object of kind k to a request for each Secret it
// names (for an update, controller-runtime maps the old object too: a
// Secret no longer named is reconciled, and taken out).
func secretRequests(k kindOps) handler.MapFunc {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		var out []reconcile.Request
		for _, n := range secretNamesOf(k.toAPI(o)) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: n}})
		}
		return out
	}
}

// namingRequests maps a Secret to a request for each object of kind k that
// names it: a source is reconciled again when a Secret it names changes.
func namingRequests(cl client.Client, k kindOps) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return listRequests(ctx, cl, k.newList(), client.InNamespace(o.GetNamespace()),
			client.MatchingFields{indexSecrets: o.GetNamespace() + "/" + o.GetName()})
	}
}

// secretReconciler mirrors the Secrets that sources name into the state
// and takes out those no source names any more. It watches Secrets by
// their metadata only (the cache holds no Secret's data) and reads a named
// Secret in full from the API server, once per change of its
// resourceVersion.
type secretReconciler struct {
	base
	// reader reads from the API server, not the cache.
	reader client.Reader

	mu sync.Mutex
	// mirrored is the resourceVersion of each Secret as last mirrored.
	mirrored map[types.NamespacedName]string
}

// Reconcile implements reconcile.Reconciler.
func (r *secretReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := controlplane.Key{Kind: apis.KindSecret, Namespace: req.Namespace, Name: req.Name}
	named, err := r.named(ctx, req.NamespacedName)
	if err != nil {
		return reconcile.Result{}, err
	}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err = r.cl.Get(ctx, req.NamespacedName, meta)
	if err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	if !named || apierrors.IsNotFound(err) {
		r.forget(req.NamespacedName)
		return reconcile.Result{}, r.srv.Unmirror(ctx, key)
	}
	if r.upToDate(req.NamespacedName, meta.ResourceVersion) && r.srv.Stored(key) != nil {
		return reconcile.Result{}, nil
	}
	var s corev1.Secret
	if err := r.reader.Get(ctx, req.NamespacedName, &s); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return reconcile.Result{}, r.srv.Unmirror(ctx, key)
		}
		return reconcile.Result{}, err
	}
	a := secretToAPI(&s)
	apis.SetDefaults(a)
	if err := apis.Validate(a); err != nil {
		// The API server took it, so this is a name Weft's state cannot
		// hold (a DNS-1123 subdomain with dots, say): the sources naming
		// it show the Secret as not found.
		r.logger.Warn("a Secret named by a source cannot be mirrored into Weft's state", "secret", req.String(), "err", err)
		r.forget(req.NamespacedName)
		return reconcile.Result{}, r.srv.Unmirror(ctx, key)
	}
	if err := r.srv.Mirror(ctx, a); err != nil {
		return reconcile.Result{}, err
	}
	r.mu.Lock()
	r.mirrored[req.NamespacedName] = s.ResourceVersion
	r.mu.Unlock()
	return reconcile.Result{}, nil
}

// named reports whether an object of a secretKinds kind names the Secret.
func (r *secretReconciler) named(ctx context.Context, nn types.NamespacedName) (bool, error) {
	for _, k := range secretKinds {
		l := k.newList()
		if err := r.cl.List(ctx, l, client.InNamespace(nn.Namespace), client.MatchingFields{indexSecrets: nn.String()}); err != nil {
			return false, err
		}
		if apimeta.LenList(l) > 0 {
			return true, nil
		}
	}
	return false, nil
}

func (r *secretReconciler) upToDate(nn types.NamespacedName, rv string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return rv != "" && r.mirrored[nn] == rv
}

func (r *secretReconciler) forget(nn types.NamespacedName) {
	r.mu.Lock()
	delete(r.mirrored, nn)
	r.mu.Unlock()
}

// secretToAPI is s as Weft's Secret: its name, uid, creation time, type and
// data. Labels and annotations are left out (Weft reads only the data, and
// kubectl's last-applied annotation would hold the values once more).
func secretToAPI(s *corev1.Secret) *apis.Secret {
	m := metaToAPI(&s.ObjectMeta)
	m.Labels, m.Annotations = nil, nil
	data := make(map[string][]byte, len(s.Data))
	for k, v := range s.Data {
		data[k] = slices.Clone(v)
	}
	if len(data) == 0 {
		data = nil
	}
	return &apis.Secret{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.CoreV1, Kind: apis.KindSecret},
		ObjectMeta: m,
		Type:       string(s.Type),
		Data:       data,
	}
}
