package kube

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/weft-dev/weft/internal/testutil/kubetest"
)

// installObjects is how many objects `kubectl apply -k deploy/kubernetes`
// installs: 17 CRDs (Broker, Trigger, KafkaSink, Channel, InMemoryChannel,
// KafkaChannel, Subscription, Sequence, Parallel, KafkaSource, PingSource,
// GitLabSource, GitHubSource, HTTPPollerSource, WebhookSource, EventType,
// EventPolicy), the namespace, 3 ServiceAccounts, a ClusterRole and its
// binding, a Role and its binding, the ConfigMap, 3 Deployments, 2 Services
// and 3 PodDisruptionBudgets.
const installObjects = 34

// builtObjects returns "kind/name" of every object `kubectl kustomize dir`
// renders, sorted.
func builtObjects(t *testing.T, env *kubetest.Env, dir string) []string {
	t.Helper()
	out, stderr, err := env.Kubectl(t, "", "kustomize", dir)
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v: %s", dir, err, stderr)
	}
	var objs []string
	for _, doc := range strings.Split(out, "\n---\n") {
		u := object(t, doc, "")
		objs = append(objs, strings.ToLower(u.GetKind())+"/"+u.GetName())
	}
	slices.Sort(objs)
	return objs
}

var dryRunLine = regexp.MustCompile(`^([a-z0-9.-]+)/(\S+) (created|configured|unchanged) \(server dry run\)$`)

// TestInstallManifestsServerDryRun applies the CRDs for real, creates the
// namespace weft-system (a dry run cannot see a namespace it creates), then
// checks that the API server accepts every object of
// `kubectl apply --dry-run=server -k deploy/kubernetes` — schemas, field
// names, RBAC rules, the namespace's restricted Pod Security level — with no
// warning.
func TestInstallManifestsServerDryRun(t *testing.T) {
	env := kubetest.Start(t)
	dir := filepath.Join(env.Root, "deploy/kubernetes")

	if out, stderr, err := env.Kubectl(t, "", "apply", "-k", filepath.Join(dir, "10-crds")); err != nil {
		t.Fatalf("kubectl apply -k 10-crds: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := env.Kubectl(t, "", "wait", "--for=condition=Established", "--timeout=60s",
		"crd/brokers.eventing.knative.dev", "crd/triggers.eventing.knative.dev", "crd/kafkasinks.eventing.knative.dev",
		"crd/channels.messaging.knative.dev", "crd/inmemorychannels.messaging.knative.dev", "crd/kafkachannels.messaging.knative.dev",
		"crd/subscriptions.messaging.knative.dev", "crd/sequences.flows.knative.dev", "crd/parallels.flows.knative.dev",
		"crd/kafkasources.sources.knative.dev", "crd/pingsources.sources.knative.dev", "crd/gitlabsources.sources.knative.dev",
		"crd/githubsources.sources.knative.dev", "crd/httppollersources.sources.triggermesh.io", "crd/webhooksources.sources.triggermesh.io",
		"crd/eventtypes.eventing.knative.dev", "crd/eventpolicies.eventing.knative.dev"); err != nil {
		t.Fatalf("kubectl wait for the CRDs: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := env.Kubectl(t, "", "apply", "-f", filepath.Join(dir, "20-weft/00-namespace.yaml")); err != nil {
		t.Fatalf("kubectl apply the namespace: %v\n%s%s", err, out, stderr)
	}

	stdout, stderr, err := env.Kubectl(t, "", "apply", "--dry-run=server", "-k", dir)
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server -k deploy/kubernetes: %v\n%s%s", err, stdout, stderr)
	}
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("kubectl warned:\n%s", stderr)
	}
	var accepted []string
	for l := range strings.SplitSeq(strings.TrimSpace(stdout), "\n") {
		m := dryRunLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("unexpected kubectl output line %q", l)
			continue
		}
		kind, _, _ := strings.Cut(m[1], ".") // "deployment.apps" -> "deployment"
		accepted = append(accepted, kind+"/"+m[2])
	}
	slices.Sort(accepted)
	want := builtObjects(t, env, dir)
	if len(want) != installObjects {
		t.Errorf("deploy/kubernetes renders %d objects, want %d (update installObjects when adding one): %v", len(want), installObjects, want)
	}
	if !slices.Equal(accepted, want) {
		t.Fatalf("the server accepted\n  %v\nwant every rendered object\n  %v\nkubectl printed:\n%s", accepted, want, stdout)
	}
	t.Logf("accepted %d objects in a server dry run:\n%s", len(accepted), stdout)
}

// TestInstallRBAC installs deploy/kubernetes/20-weft for real (no pod runs:
// there is no kubelet) and asks the API server's authorizer what each
// ServiceAccount may do: the control plane what it needs and no more, the
// ingress and dispatcher nothing.
func TestInstallRBAC(t *testing.T) {
	env := kubetest.Start(t)
	dir := filepath.Join(env.Root, "deploy/kubernetes/20-weft")
	if out, stderr, err := env.Kubectl(t, "", "apply", "-k", dir); err != nil {
		t.Fatalf("kubectl apply -k 20-weft: %v\n%s%s", err, out, stderr)
	}
	type check struct {
		verb, group, resource, subresource, namespace string
		allowed                                       bool
	}
	const ev = "eventing.knative.dev"
	controlplane := []check{
		{"list", ev, "brokers", "", "", true},
		{"watch", ev, "triggers", "", "", true},
		{"get", ev, "triggers", "", "team-a", true},
		{"update", ev, "brokers", "", "team-a", true},
		{"patch", ev, "triggers", "", "team-a", true},
		{"update", ev, "brokers", "status", "team-a", true},
		{"patch", ev, "triggers", "status", "team-a", true},
		{"list", "", "services", "", "", true},
		{"watch", "serving.knative.dev", "services", "", "", true},
		{"get", "messaging.knative.dev", "inmemorychannels", "", "team-a", true},
		{"list", "messaging.knative.dev", "channels", "", "", true},
		{"list", "messaging.knative.dev", "subscriptions", "", "", true},
		{"watch", ev, "kafkasinks", "", "", true},
		{"watch", "sources.knative.dev", "kafkasources", "", "", true},
		{"patch", "sources.knative.dev", "kafkasources", "status", "team-a", true},
		{"watch", "sources.knative.dev", "pingsources", "", "", true},
		{"update", "sources.knative.dev", "githubsources", "finalizers", "team-a", true},
		{"patch", "sources.knative.dev", "gitlabsources", "status", "team-a", true},
		{"list", "sources.triggermesh.io", "httppollersources", "", "", true},
		{"patch", "sources.triggermesh.io", "webhooksources", "status", "team-a", true},
		{"watch", "", "secrets", "", "", true},
		{"get", "", "secrets", "", "team-a", true},
		{"watch", ev, "eventtypes", "", "", true},
		{"create", ev, "eventtypes", "", "team-a", true},
		{"patch", ev, "eventtypes", "status", "team-a", true},
		{"watch", ev, "eventpolicies", "", "", true},
		{"patch", ev, "eventpolicies", "status", "team-a", true},
		{"update", ev, "eventpolicies", "finalizers", "team-a", true},
		{"create", "", "events", "", "team-a", true},
		{"patch", "events.k8s.io", "events", "", "team-a", true},
		{"create", "coordination.k8s.io", "leases", "", "weft-system", true},
		{"update", "coordination.k8s.io", "leases", "", "weft-system", true},
		{"get", "coordination.k8s.io", "leases", "", "weft-system", true},
		// ...and no more.
		{"create", ev, "brokers", "", "team-a", false},
		{"delete", ev, "triggers", "", "team-a", false},
		{"update", ev, "triggers", "", "", true}, // cluster-wide, as the manager watches all namespaces
		{"update", "", "services", "", "team-a", false},
		{"list", "", "configmaps", "", "", false},
		{"create", "", "pods", "", "team-a", false},
		{"create", "coordination.k8s.io", "leases", "", "team-a", false},
		{"delete", "coordination.k8s.io", "leases", "", "weft-system", false},
		{"update", "apiextensions.k8s.io", "customresourcedefinitions", "", "", false},
		{"create", "", "secrets", "", "team-a", false},
		{"update", "", "secrets", "", "team-a", false},
		{"delete", "", "secrets", "", "team-a", false},
		{"delete", "sources.knative.dev", "pingsources", "", "team-a", false},
		{"delete", ev, "eventtypes", "", "team-a", false},
		{"create", ev, "eventpolicies", "", "team-a", false},
	}
	nothing := []check{
		{"get", ev, "brokers", "", "team-a", false},
		{"list", "", "services", "", "", false},
		{"get", "", "secrets", "", "weft-system", false},
		{"get", "", "configmaps", "", "weft-system", false},
		{"create", "", "events", "", "weft-system", false},
		{"get", "coordination.k8s.io", "leases", "", "weft-system", false},
	}
	for sa, checks := range map[string][]check{"weft-controlplane": controlplane, "weft-ingress": nothing, "weft-dispatcher": nothing} {
		for _, c := range checks {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   "system:serviceaccount:weft-system:" + sa,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:weft-system", "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: c.verb, Group: c.group, Resource: c.resource, Subresource: c.subresource, Namespace: c.namespace,
				},
			}}
			if err := env.Client.Create(context.Background(), sar); err != nil {
				t.Fatalf("SubjectAccessReview: %v", err)
			}
			if sar.Status.Allowed != c.allowed {
				t.Errorf("%s may %s %s.%s/%s in %q: %v, want %v (%s)", sa, c.verb, c.resource, c.group, c.subresource, c.namespace, sar.Status.Allowed, c.allowed, sar.Status.Reason)
			}
		}
	}
}
