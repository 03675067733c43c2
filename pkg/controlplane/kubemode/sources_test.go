package kubemode_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/controlplane"
	"github.com/weft-dev/weft/pkg/controlplane/kubemode"
	sourcesv1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1"
	sourcesv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1alpha1"
	triggermeshv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/triggermesh/v1alpha1"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// recorder is a data-plane process's Applier that applies every contract
// at once and keeps the last.
type recorder struct {
	mu   sync.Mutex
	last *weftv1.Contract
}

func (r *recorder) ApplyContract(_ context.Context, c *weftv1.Contract) error {
	r.mu.Lock()
	r.last = c
	r.mu.Unlock()
	return nil
}

// ingress returns the entry of the last contract for the resource, nil
// when there is none.
func (r *recorder) ingress(kind, ns, name string) *weftv1.Ingress {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, in := range r.last.GetIngresses() {
		if in.GetKind() == kind && in.GetNamespace() == ns && in.GetName() == name {
			return in
		}
	}
	return nil
}

// dataPlane connects an ingress and a dispatcher to the control plane
// through its contract stream, so resources can turn Ready; it returns
// the ingress's recorder.
func (p *plane) dataPlane(t *testing.T) *recorder {
	t.Helper()
	ing := &recorder{}
	for role, a := range map[wire.Role]*recorder{wire.RoleIngress: ing, wire.RoleDispatcher: {}} {
		cl := contract.NewClient(contract.ClientConfig{Server: p.srv.Addr(), Role: role, ProcessID: string(role) + "-1"}, a, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = cl.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	return ing
}

// sourceStatus is what the tests read of a source's status.
type sourceStatus struct {
	ready, sinkURI, url string
	generation          int64
	observed            int64
	finalizers          []string
}

// statusOf reads obj again and returns its status.
func statusOf(cl client.Client, obj client.Object) (sourceStatus, error) {
	o := obj.DeepCopyObject().(client.Object)
	if err := cl.Get(context.Background(), client.ObjectKeyFromObject(obj), o); err != nil {
		return sourceStatus{}, err
	}
	st := sourceStatus{generation: o.GetGeneration(), finalizers: o.GetFinalizers()}
	var common apis.Status
	switch x := o.(type) {
	case *sourcesv1.PingSource:
		common, st.sinkURI = x.Status.Status, x.Status.SinkURI
	case *triggermeshv1alpha1.HTTPPollerSource:
		common, st.sinkURI = x.Status.Status, x.Status.SinkURI
	case *triggermeshv1alpha1.WebhookSource:
		common, st.sinkURI = x.Status.Status, x.Status.SinkURI
		if x.Status.Address != nil {
			st.url = x.Status.Address.URL
		}
	case *sourcesv1alpha1.GitLabSource:
		common, st.sinkURI = x.Status.Status, x.Status.SinkURI
		if x.Status.Address != nil {
			st.url = x.Status.Address.URL
		}
	case *sourcesv1alpha1.GitHubSource:
		common, st.sinkURI = x.Status.Status, x.Status.SinkURI
		if x.Status.Address != nil {
			st.url = x.Status.Address.URL
		}
	}
	st.ready, st.observed = readyOf(common.Conditions), common.ObservedGeneration
	return st, nil
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// Each source kind applied as a custom resource is admitted, mirrored with
// its sink resolved in the cluster (a Service), and shows Ready with its
// sinkUri (and, for a webhook source, its address) once an ingress and a
// dispatcher run it. The Secret the sources name is mirrored into Weft's
// state (a Secret nobody names is not); a change of its values reaches the
// compiled contract; once no source names it, it is taken out.
func TestSourcesMirroredReady(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ctx := context.Background()
	ing := p.dataPlane(t)
	ns := p.ns
	p.create(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "display", Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
		secret(ns, "hooks", map[string]string{"password": "pw-1", "token": "tok-1"}),
		secret(ns, "unrelated", map[string]string{"x": "y"}))
	sink := apis.Destination{Ref: &apis.KReference{APIVersion: "v1", Kind: "Service", Name: "display"}}
	fromSecret := func(key string) *apis.SecretKeySelector { return &apis.SecretKeySelector{Name: "hooks", Key: key} }
	srcs := []client.Object{
		&sourcesv1.PingSource{ObjectMeta: metav1.ObjectMeta{Name: "ping", Namespace: ns},
			Spec: apis.PingSourceSpec{Schedule: "*/1 * * * *", Data: `{"hello":"world"}`, ContentType: "application/json", Sink: sink}},
		&triggermeshv1alpha1.HTTPPollerSource{ObjectMeta: metav1.ObjectMeta{Name: "poller", Namespace: ns},
			Spec: apis.HTTPPollerSourceSpec{Endpoint: "http://api.example/alerts", Interval: "1m", EventType: "com.example.alert", Sink: sink,
				BasicAuthUsername: "weft", BasicAuthPassword: &apis.ValueFromField{ValueFromSecret: fromSecret("password")}}},
		&triggermeshv1alpha1.WebhookSource{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: ns},
			Spec: apis.WebhookSourceSpec{EventType: "com.example.order", Sink: sink,
				BasicAuthUsername: ptr("shop"), BasicAuthPassword: &apis.ValueFromField{ValueFromSecret: fromSecret("password")}}},
		&sourcesv1alpha1.GitLabSource{ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: ns},
			Spec: apis.GitLabSourceSpec{ProjectURL: "https://gitlab.com/group/project", EventTypes: []string{"push_events"}, Sink: sink,
				SecretToken: apis.SecretValueFromSource{SecretKeyRef: fromSecret("token")}}},
		&sourcesv1alpha1.GitHubSource{ObjectMeta: metav1.ObjectMeta{Name: "hub", Namespace: ns},
			Spec: apis.GitHubSourceSpec{OwnerAndRepository: "knative/eventing", EventTypes: []string{"push"}, Sink: sink,
				SecretToken: apis.SecretValueFromSource{SecretKeyRef: fromSecret("token")}}},
	}
	for _, s := range srcs {
		if err := cl.Create(ctx, s); err != nil {
			t.Fatalf("create %T: %v", s, err)
		}
	}
	for _, s := range srcs {
		kind := strings.TrimPrefix(fmt.Sprintf("%T", s), "*")
		kind = kind[strings.LastIndex(kind, ".")+1:]
		webhook := kind == apis.KindWebhookSource || kind == apis.KindGitLabSource || kind == apis.KindGitHubSource
		testutil.Eventually(t, 60*time.Second, kind+" Ready with its sink", func() (bool, string) {
			st, err := statusOf(cl, s)
			if err != nil {
				return false, err.Error()
			}
			wantURL := "/sources/" + strings.ToLower(kind) + "/" + ns + "/" + s.GetName()
			return st.ready == "True " && st.sinkURI == "http://display."+ns+".svc.cluster.local" &&
				st.observed == st.generation && len(st.finalizers) == 1 && st.finalizers[0] == kubemode.Finalizer &&
				(!webhook || strings.HasSuffix(st.url, wantURL)), fmt.Sprintf("%+v", st)
		})
	}
	stored, ok := p.srv.Stored(controlplane.Key{Kind: apis.KindSecret, Namespace: ns, Name: "hooks"}).(*apis.Secret)
	if !ok || string(stored.Data["token"]) != "tok-1" || stored.TypeMeta.Kind != apis.KindSecret {
		t.Fatalf("the Secret the sources name is stored as %+v, want an apis.Secret with its data", stored)
	}
	if p.srv.Stored(controlplane.Key{Kind: apis.KindSecret, Namespace: ns, Name: "unrelated"}) != nil {
		t.Error("a Secret no source names was mirrored into the state")
	}
	if w := ing.ingress(apis.KindGitLabSource, ns, "lab").GetWebhook(); w.GetToken() != "tok-1" {
		t.Errorf("the GitLabSource's compiled token is %q, want tok-1", w.GetToken())
	}

	// A change of the Secret reaches the contract the ingress runs.
	p.modify(t, secret(ns, "hooks", nil), func(o client.Object) {
		o.(*corev1.Secret).Data = map[string][]byte{"password": []byte("pw-2"), "token": []byte("tok-2")}
	})
	testutil.Eventually(t, 30*time.Second, "the new Secret values compiled", func() (bool, string) {
		lab := ing.ingress(apis.KindGitLabSource, ns, "lab").GetWebhook()
		hub := ing.ingress(apis.KindGitHubSource, ns, "hub").GetWebhook()
		hook := ing.ingress(apis.KindWebhookSource, ns, "hook").GetWebhook()
		return lab.GetToken() == "tok-2" && hub.GetToken() == "tok-2" && hook.GetBasicAuthPassword() == "pw-2",
			fmt.Sprint(lab.GetToken(), hub.GetToken(), hook.GetBasicAuthPassword())
	})

	// Once no source names it, the Secret is taken out of the state.
	for _, s := range srcs {
		if err := cl.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 60*time.Second, "the sources and the Secret's mirror gone", func() (bool, string) {
		for _, s := range srcs {
			if _, err := statusOf(cl, s); !apierrors.IsNotFound(err) {
				return false, s.GetName() + " still there"
			}
		}
		return p.srv.Stored(controlplane.Key{Kind: apis.KindSecret, Namespace: ns, Name: "hooks"}) == nil, "the Secret is still mirrored"
	})
}

// A GitHubSource whose Secret does not exist yet is not Ready
// (SecretResolveFailed); it turns Ready when the Secret is created, with the
// token compiled for the ingress.
func TestGitHubSourceSecretLater(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ing := p.dataPlane(t)
	src := &sourcesv1alpha1.GitHubSource{ObjectMeta: metav1.ObjectMeta{Name: "hub", Namespace: p.ns},
		Spec: apis.GitHubSourceSpec{OwnerAndRepository: "knative", EventTypes: []string{"push", "pull_request"},
			Sink:        apis.Destination{URI: "http://display.example/"},
			SecretToken: apis.SecretValueFromSource{SecretKeyRef: &apis.SecretKeySelector{Name: "gh", Key: "secret"}}}}
	if err := cl.Create(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the GitHubSource waiting for its Secret", func() (bool, string) {
		st, err := statusOf(cl, src)
		return err == nil && st.ready == "False SecretResolveFailed" && st.url != "", fmt.Sprintf("%+v %v", st, err)
	})
	p.create(t, secret(p.ns, "gh", map[string]string{"secret": "hmac-key"}))
	testutil.Eventually(t, 30*time.Second, "the GitHubSource Ready", func() (bool, string) {
		st, err := statusOf(cl, src)
		return err == nil && st.ready == "True " && st.sinkURI == "http://display.example/" &&
			ing.ingress(apis.KindGitHubSource, p.ns, "hub").GetWebhook().GetToken() == "hmac-key", fmt.Sprintf("%+v %v", st, err)
	})
}

// The source CRDs' schemas refuse what they can see, with the field path or
// Weft's message: one or more cases per kind.
func TestSourcesValidation(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	sink := map[string]any{"uri": "http://a.example/"}
	token := map[string]any{"secretKeyRef": map[string]any{"name": "s", "key": "k"}}
	for name, tc := range map[string]struct {
		apiVersion, kind, name string
		spec                   map[string]any
		want                   string
	}{
		"PingSource without schedule": {apis.SourcesV1, apis.KindPingSource, "", map[string]any{"sink": sink}, "spec.schedule: Required value"},
		"PingSource data and dataBase64": {apis.SourcesV1, apis.KindPingSource, "",
			map[string]any{"sink": sink, "schedule": "* * * * *", "data": "x", "dataBase64": "eA=="}, "exactly one of data and dataBase64"},
		"PingSource timezone twice": {apis.SourcesV1, apis.KindPingSource, "",
			map[string]any{"sink": sink, "schedule": "CRON_TZ=UTC * * * * *", "timezone": "Europe/Paris"}, "spec.timezone"},
		"PingSource name with a dot": {apis.SourcesV1, apis.KindPingSource, "a.b",
			map[string]any{"sink": sink, "schedule": "* * * * *"}, "DNS-1123 label"},
		"HTTPPollerSource interval below 1s": {apis.HTTPPollerSourceAPIVersion, apis.KindHTTPPollerSource, "",
			map[string]any{"sink": sink, "eventType": "t", "endpoint": "http://a.example/", "interval": "500ms"}, "too short"},
		"HTTPPollerSource ftp endpoint": {apis.HTTPPollerSourceAPIVersion, apis.KindHTTPPollerSource, "",
			map[string]any{"sink": sink, "eventType": "t", "endpoint": "ftp://a.example/", "interval": "10s"}, "spec.endpoint"},
		"HTTPPollerSource method": {apis.HTTPPollerSourceAPIVersion, apis.KindHTTPPollerSource, "",
			map[string]any{"sink": sink, "eventType": "t", "endpoint": "http://a.example/", "interval": "10s", "method": "get"}, "spec.method"},
		"WebhookSource user without password": {apis.SourcesTriggermeshV1alpha1, apis.KindWebhookSource, "",
			map[string]any{"sink": sink, "eventType": "t", "basicAuthUsername": "u"}, "basicAuthUsername and basicAuthPassword go together"},
		"WebhookSource without eventType": {apis.SourcesTriggermeshV1alpha1, apis.KindWebhookSource, "",
			map[string]any{"sink": sink}, "spec.eventType: Required value"},
		"WebhookSource password twice": {apis.SourcesTriggermeshV1alpha1, apis.KindWebhookSource, "",
			map[string]any{"sink": sink, "eventType": "t", "basicAuthUsername": "u",
				"basicAuthPassword": map[string]any{"value": "p", "valueFromSecret": map[string]any{"name": "s", "key": "k"}}}, "exactly one of value and valueFromSecret"},
		"GitLabSource unknown hook": {apis.SourcesV1alpha1, apis.KindGitLabSource, "",
			map[string]any{"sink": sink, "projectUrl": "https://gitlab.com/g/p", "eventTypes": []any{"push"}, "secretToken": token}, "spec.eventTypes[0]"},
		"GitLabSource without secretToken": {apis.SourcesV1alpha1, apis.KindGitLabSource, "",
			map[string]any{"sink": sink, "projectUrl": "https://gitlab.com/g/p"}, "spec.secretToken"},
		"GitLabSource project without path": {apis.SourcesV1alpha1, apis.KindGitLabSource, "",
			map[string]any{"sink": sink, "projectUrl": "https://gitlab.com/", "secretToken": token}, "spec.projectUrl"},
		"GitHubSource no eventTypes": {apis.SourcesV1alpha1, apis.KindGitHubSource, "",
			map[string]any{"sink": sink, "ownerAndRepository": "a/b", "eventTypes": []any{}, "secretToken": token}, "spec.eventTypes"},
		"GitHubSource owner/repo/extra": {apis.SourcesV1alpha1, apis.KindGitHubSource, "",
			map[string]any{"sink": sink, "ownerAndRepository": "a/b/c", "eventTypes": []any{"push"}, "secretToken": token}, "spec.ownerAndRepository"},
		"GitHubSource secretKeyRef without key": {apis.SourcesV1alpha1, apis.KindGitHubSource, "",
			map[string]any{"sink": sink, "ownerAndRepository": "a/b", "eventTypes": []any{"push"},
				"secretToken": map[string]any{"secretKeyRef": map[string]any{"name": "s"}}}, "spec.secretToken.secretKeyRef.key"},
	} {
		t.Run(name, func(t *testing.T) {
			n := tc.name
			if n == "" {
				n = "bad"
			}
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": tc.apiVersion, "kind": tc.kind,
				"metadata": map[string]any{"name": n, "namespace": p.ns},
				"spec":     tc.spec,
			}}
			err := cl.Create(context.Background(), u)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create: got %v, want Invalid naming %q", err, tc.want)
			}
		})
	}
}
