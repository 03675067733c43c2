// Package kubemode runs Weft's control plane on the Kubernetes API
// (controlplane --store kubernetes): Brokers and Triggers, Channels
// (Channel, InMemoryChannel, KafkaChannel), Subscriptions, Sequences,
// Parallels, KafkaSinks, KafkaSources, PingSources, GitLabSources,
// GitHubSources, EventTypes and EventPolicies are custom resources with
// Knative's group, version and kind, HTTPPollerSources and WebhookSources
// with TriggerMesh's; the Secrets sources name are mirrored into the state
// (secrets.go), and auto-registered EventTypes are created as custom
// resources (eventtypes.go). The
// elected leader reconciles them (Brokers of Weft's broker class, Triggers of
// those Brokers) — one reconciler per kind, with a finalizer for their Kafka
// topics and consumer groups — mirrors each into the control plane's state
// topic (where every replica compiles the same contract in the same global
// order) and writes status back through the status subresource. Every replica serves the contract stream and a read-only
// resource API.
package kubemode

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
	eventingv1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1"
	eventingv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1alpha1"
	eventingv1beta2 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1beta2"
	flowsv1 "github.com/weft-dev/weft/pkg/kube/apis/flows/v1"
	messagingv1 "github.com/weft-dev/weft/pkg/kube/apis/messaging/v1"
	messagingv1beta1 "github.com/weft-dev/weft/pkg/kube/apis/messaging/v1beta1"
	sourcesv1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1"
	sourcesv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1alpha1"
	sourcesv1beta1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1beta1"
	triggermeshv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/triggermesh/v1alpha1"
)

// readOnlyWhy is what the resource API answers an Apply or Delete.
const readOnlyWhy = "this control plane runs on the Kubernetes API (--store kubernetes): change Brokers, Triggers, Channels, Subscriptions, Sequences, Parallels, KafkaSinks, sources (KafkaSource, PingSource, HTTPPollerSource, WebhookSource, GitLabSource, GitHubSource), the Secrets they name, EventTypes and EventPolicies with kubectl"

// Field indexes on the watched kinds.
const (
	indexBroker = "weft.spec.broker" // Trigger: the name of its Broker
	indexRefs   = "weft.refs"        // every reconciled kind: refKeys of its destinations
)

// Run is controlplane.Run on the Kubernetes API: a control-plane replica
// whose resources are custom resources. It returns when ctx ends.
func Run(ctx context.Context, cfg controlplane.Config, opts ...controlplane.Option) error {
	rc, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return err
	}
	srv, err := controlplane.New(ctx, cfg, append(opts, controlplane.WithReadOnlyAPI(readOnlyWhy))...)
	if err != nil {
		return err
	}
	mgr, err := NewManager(rc, cfg, srv.Logger())
	if err != nil {
		srv.Close()
		return err
	}
	if err := Setup(mgr, srv); err != nil {
		srv.Close()
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error {
		select {
		case <-mgr.Elected():
			srv.Logger().Info("leading: reconciling Brokers, Triggers, Channels, Subscriptions, Sequences, Parallels, KafkaSinks, sources and the Secrets they name, EventTypes and EventPolicies", "broker_class", cfg.BrokerClass,
				"default_class", cfg.DefaultBrokerClass, "lease", cfg.LeaderElectionNamespace+"/"+cfg.LeaderElectionID, "leader_election", cfg.LeaderElect)
		case <-gctx.Done():
		}
		return nil
	})
	g.Go(func() error {
		if err := mgr.Start(gctx); err != nil {
			return fmt.Errorf("run the Kubernetes controllers: %w", err)
		}
		return nil
	})
	return g.Wait()
}

// restConfig loads the Kubernetes client configuration: the kubeconfig
// file, else $KUBECONFIG or the in-cluster configuration.
func restConfig(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: load the Kubernetes client configuration: %w", err)
	}
	return rc, nil
}

// Scheme holds the kinds the control plane reads: client-go's and
// eventing.knative.dev/v1, v1alpha1 and v1beta2, messaging.knative.dev/v1 and
// v1beta1, flows.knative.dev/v1, sources.knative.dev/v1, v1alpha1 and
// v1beta1, sources.triggermesh.io/v1alpha1.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("build scheme: %w", err)
	}
	for _, add := range []func(*runtime.Scheme) error{eventingv1.AddToScheme, eventingv1alpha1.AddToScheme, eventingv1beta2.AddToScheme, messagingv1.AddToScheme, messagingv1beta1.AddToScheme,
		flowsv1.AddToScheme, sourcesv1.AddToScheme, sourcesv1alpha1.AddToScheme, sourcesv1beta1.AddToScheme, triggermeshv1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("build scheme: %w", err)
		}
	}
	return s, nil
}

var setLoggerOnce sync.Once

// NewManager builds the controller manager: leader election as cfg says, no
// metrics or probe servers of its own (the control plane's ops port serves
// those).
func NewManager(rc *rest.Config, cfg controlplane.Config, logger *slog.Logger) (manager.Manager, error) {
	setLoggerOnce.Do(func() {
		// controller-runtime and client-go (klog: leader election, the
		// reflectors) log through the process's logger.
		l := logr.FromSlogHandler(logger.With("component", "kubernetes").Handler())
		ctrllog.SetLogger(l)
		klog.SetLogger(l)
	})
	s, err := Scheme()
	if err != nil {
		return nil, err
	}
	mgr, err := manager.New(rc, manager.Options{
		Scheme:                        s,
		Logger:                        logr.FromSlogHandler(logger.With("component", "kubernetes").Handler()),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                cfg.LeaderElect,
		LeaderElectionID:              cfg.LeaderElectionID,
		LeaderElectionNamespace:       cfg.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		// The controllers' names are fixed; controller-runtime's check
		// that they are unique per process is for its metrics, which the
		// control plane does not serve.
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("create the Kubernetes controller manager: %w", err)
	}
	return mgr, nil
}

// Setup registers the reconcilers of srv with mgr: Broker, Trigger, one per
// channel kind, Subscription, Sequence, Parallel, KafkaSink, one per source
// kind, Secret (the Secrets sources name), EventType and EventPolicy; and
// makes srv create auto-registered EventTypes through the Kubernetes API.
func Setup(mgr manager.Manager, srv *controlplane.Server) error {
	cfg := srv.Config()
	idx := mgr.GetFieldIndexer()
	ctx := context.Background()
	if err := idx.IndexField(ctx, &eventingv1.Trigger{}, indexBroker, func(o client.Object) []string {
		b := o.(*eventingv1.Trigger).Spec.Broker
		if b == "" {
			b = "default"
		}
		return []string{b}
	}); err != nil {
		return fmt.Errorf("index triggers by broker: %w", err)
	}
	if err := idx.IndexField(ctx, &eventingv1.Trigger{}, indexRefs, func(o client.Object) []string {
		return refKeysOf(triggerToAPI(o.(*eventingv1.Trigger)))
	}); err != nil {
		return fmt.Errorf("index triggers by reference: %w", err)
	}
	if err := idx.IndexField(ctx, &eventingv1.Broker{}, indexRefs, func(o client.Object) []string {
		return refKeysOf(brokerToAPI(o.(*eventingv1.Broker)))
	}); err != nil {
		return fmt.Errorf("index brokers by reference: %w", err)
	}
	// The sources are reconciled as the flows are: they refer to a sink.
	flowKinds := []kindOps{subscriptionKind, sequenceKind, parallelKind, kafkaSourceKind,
		pingSourceKind, httpPollerSourceKind, webhookSourceKind, gitLabSourceKind, gitHubSourceKind}
	for _, k := range append(slices.Clone(channelKinds), flowKinds...) {
		if err := idx.IndexField(ctx, k.newObj(), indexRefs, func(o client.Object) []string {
			return refKeysOf(k.toAPI(o))
		}); err != nil {
			return fmt.Errorf("index %ss by reference: %w", k.kind, err)
		}
	}

	for _, k := range secretKinds {
		if err := idx.IndexField(ctx, k.newObj(), indexSecrets, func(o client.Object) []string {
			return secretKeysOf(k.toAPI(o))
		}); err != nil {
			return fmt.Errorf("index %ss by Secret: %w", k.kind, err)
		}
	}

	cl := mgr.GetClient()
	res := &resolver{cl: cl}
	b0 := base{srv: srv, cl: cl, res: res, cfg: cfg, logger: srv.Logger().With("component", "kubernetes")}
	brokers, err := builder.ControllerManagedBy(mgr).
		Named("weft-broker").
		For(&eventingv1.Broker{}).
		WatchesRawSource(statusSource{srv: srv, kind: apis.KindBroker}).
		Build(&brokerReconciler{b0})
	if err != nil {
		return fmt.Errorf("set up the Broker reconciler: %w", err)
	}
	triggers, err := builder.ControllerManagedBy(mgr).
		Named("weft-trigger").
		For(&eventingv1.Trigger{}).
		Watches(&eventingv1.Broker{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return listRequests(ctx, cl, &eventingv1.TriggerList{}, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexBroker: o.GetName()})
		})).
		WatchesRawSource(statusSource{srv: srv, kind: apis.KindTrigger}).
		Build(&triggerReconciler{b0})
	if err != nil {
		return fmt.Errorf("set up the Trigger reconciler: %w", err)
	}
	referrers := []struct {
		c   controller.Controller
		ops kindOps
	}{{brokers, brokerKind}, {triggers, triggerKind}}
	for _, k := range channelKinds {
		b := builder.ControllerManagedBy(mgr).
			Named("weft-" + strings.ToLower(k.kind)).
			For(k.newObj()).
			WatchesRawSource(statusSource{srv: srv, kind: apis.KindChannel, manifestKind: k.kind})
		// A change of a same-named channel of another kind may give this
		// one the name, or take it.
		for _, other := range channelKinds {
			if other.kind != k.kind {
				b = b.Watches(other.newObj(), &handler.EnqueueRequestForObject{})
			}
		}
		c, err := b.Build(&channelReconciler{base: b0, ops: k})
		if err != nil {
			return fmt.Errorf("set up the %s reconciler: %w", k.kind, err)
		}
		referrers = append(referrers, struct {
			c   controller.Controller
			ops kindOps
		}{c, k})
	}
	for _, k := range flowKinds {
		b := builder.ControllerManagedBy(mgr).
			Named("weft-" + strings.ToLower(k.kind)).
			For(k.newObj()).
			WatchesRawSource(statusSource{srv: srv, kind: k.stored})
		if slices.ContainsFunc(secretKinds, func(s kindOps) bool { return s.kind == k.kind }) {
			b = b.Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(namingRequests(cl, k)), builder.OnlyMetadata)
		}
		c, err := b.Build(&kindReconciler{base: b0, ops: k})
		if err != nil {
			return fmt.Errorf("set up the %s reconciler: %w", k.kind, err)
		}
		referrers = append(referrers, struct {
			c   controller.Controller
			ops kindOps
		}{c, k})
	}
	// A KafkaSink refers to nothing: it is no referrer, only referred to
	// (resolved like any Addressable, by its status.address.url).
	if _, err := builder.ControllerManagedBy(mgr).
		Named("weft-kafkasink").
		For(kafkaSinkKind.newObj()).
		WatchesRawSource(statusSource{srv: srv, kind: apis.KindKafkaSink}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(namingRequests(cl, kafkaSinkKind)), builder.OnlyMetadata).
		Build(&kindReconciler{base: b0, ops: kafkaSinkKind}); err != nil {
		return fmt.Errorf("set up the %s reconciler: %w", kafkaSinkKind.kind, err)
	}
	// EventTypes and EventPolicies refer to no destination either; their
	// status follows the store (an EventType's Broker or channel, the
	// addressables a policy selects), so a new contract reconciles them.
	for _, k := range []kindOps{eventTypeKind, eventPolicyKind} {
		if _, err := builder.ControllerManagedBy(mgr).
			Named("weft-" + strings.ToLower(k.kind)).
			For(k.newObj()).
			WatchesRawSource(statusSource{srv: srv, kind: k.stored}).
			Build(&kindReconciler{base: b0, ops: k}); err != nil {
			return fmt.Errorf("set up the %s reconciler: %w", k.kind, err)
		}
	}
	// Auto-registration (ReportEventTypes, served by every replica) creates
	// the EventType custom resource with the manager's client: writes go
	// to the API server directly, whichever replica leads.
	srv.SetEventTypeCreator(eventTypeCreator{cl: cl})
	// Secrets: mirrored while a source names them. A Secret is reconciled
	// when it changes, when an object naming it (before or after a change)
	// changes, and for every stored Secret when the contract changes (so
	// one deleted, or no longer named, while no leader ran is taken out).
	sb := builder.ControllerManagedBy(mgr).
		Named("weft-secret").
		For(&corev1.Secret{}, builder.OnlyMetadata).
		WatchesRawSource(statusSource{srv: srv, kind: apis.KindSecret})
	for _, k := range secretKinds {
		sb = sb.Watches(k.newObj(), handler.EnqueueRequestsFromMapFunc(secretRequests(k)))
	}
	if _, err := sb.Build(&secretReconciler{base: b0, reader: mgr.GetAPIReader(), mirrored: map[types.NamespacedName]string{}}); err != nil {
		return fmt.Errorf("set up the Secret reconciler: %w", err)
	}
	// A referenced kind is watched from its first lookup on: a change of a
	// referenced object reconciles the objects pointing at it.
	res.watch = func(gvk schema.GroupVersionKind) error {
		var obj client.Object
		if gvk.Group == "" && gvk.Kind == "Service" {
			obj = &corev1.Service{}
		} else {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk)
			obj = u
		}
		for _, w := range referrers {
			h := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
				k := refKey(gvk.Group, gvk.Kind, o.GetNamespace(), o.GetName())
				return listRequests(ctx, cl, w.ops.newList(), client.MatchingFields{indexRefs: k})
			})
			if err := w.c.Watch(source.Kind(mgr.GetCache(), obj, h)); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// listRequests lists objects and returns a request for each.
func listRequests(ctx context.Context, cl client.Client, list client.ObjectList, opts ...client.ListOption) []reconcile.Request {
	if err := cl.List(ctx, list, opts...); err != nil {
		return nil
	}
	items, err := apimeta.ExtractList(list)
	if err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(items))
	for _, it := range items {
		if o, ok := it.(client.Object); ok {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
	}
	return out
}

// statusSource reconciles every stored object of one kind whenever what
// statuses are computed from changes: a new contract, a data-plane process
// acknowledging one or reporting a problem.
type statusSource struct {
	srv  *controlplane.Server
	kind string
	// manifestKind, when set, limits the objects to those whose TypeMeta
	// kind it is (the channel kinds share the stored kind Channel).
	manifestKind string
}

// Start implements source.Source; the goroutine ends with ctx.
func (s statusSource) Start(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	go func() {
		for {
			changed := s.srv.StatusChanged()
			for _, o := range s.srv.Store().Snapshot().List(s.kind, "") {
				if s.manifestKind != "" && o.GetTypeMeta().Kind != s.manifestKind {
					continue
				}
				m := o.GetObjectMeta()
				q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Namespace: m.Namespace, Name: m.Name}})
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
	}()
	return nil
}

func ptr[T any](v T) *T { return &v }
