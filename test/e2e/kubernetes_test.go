package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/internal/testutil/kubetest"
)

// kubeMesh is Weft in Kubernetes mode against a real kube-apiserver: the
// Kafka-protocol server, control-plane replicas on the Kubernetes API, and
// an ingress and a dispatcher as local processes (there are no nodes to run
// pods), fed by the control plane's contract stream.
type kubeMesh struct {
	kube     *kubetest.Env
	kafka    string
	replicas []*controlPlaneProc
	grpc     string // the last replica: the one the data plane and the CLI use
	http     string // the ingress
	adm      *kadm.Client
	cpArgs   []string
	// namespaces are cleaned up when the test ends.
	namespaces []string
}

// ingressURL is what Broker addresses name, as deploy/kubernetes configures it.
const ingressURL = "http://weft-ingress.weft-system.svc.cluster.local"

// startKubeMesh starts the mesh with replicas control-plane replicas (one
// when not given), started one after the other, so the first leads.
func startKubeMesh(t *testing.T, replicas ...int) *kubeMesh {
	t.Helper()
	m := &kubeMesh{kube: kubetest.Start(t)}
	k := testutil.StartKafka(t)
	m.kafka = k.Addr()
	kcfg := testutil.KafkaConfig(k)
	cl, err := kcfg.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	m.adm = kadm.NewClient(cl)
	// The API server is shared by the package's tests: each mesh has its
	// own Lease, in a namespace of its own.
	m.cpArgs = []string{"--store", "kubernetes", "--kubeconfig", m.kube.Kubeconfig, "--bootstrap-servers", m.kafka,
		"--grpc-addr", "127.0.0.1:0", "--ops-addr=", "--ingress-url", ingressURL,
		"--leader-elect", "--leader-election-namespace", m.kube.Namespace(t), "--log-format", "text"}
	n := 1
	if len(replicas) > 0 {
		n = replicas[0]
	}
	for i := range n {
		cp := m.startControlPlane(t, fmt.Sprintf("controlplane-%d", i+1))
		if i == 0 {
			cp.waitOutput(t, `msg="leading: reconciling`, 60*time.Second)
		}
		m.replicas = append(m.replicas, cp)
		m.grpc = cp.grpc
	}
	in := start(t, "ingress", "ingress", "--bootstrap-servers", m.kafka, "--control-plane", m.grpc, "--http-addr", "127.0.0.1:0", "--ops-addr=")
	m.http = in.waitLine(t, `"msg":"ingress listening".*"addr":"([^"]+)"`, 30*time.Second)[1]
	start(t, "dispatcher", "dispatcher", "--bootstrap-servers", m.kafka, "--control-plane", m.grpc, "--ops-addr=", "--process-id", "dispatcher-1")
	// Before the processes stop (cleanups run last first), delete what the
	// test made, so no object with Weft's finalizer outlives its control
	// plane on the shared API server, and the next test (or -count run)
	// starts from nothing.
	t.Cleanup(func() {
		for _, ns := range m.namespaces {
			if _, errOut, err := m.kube.Kubectl(t, "", "delete", "triggers,brokers,services", "--all", "-n", ns, "--wait=true", "--timeout=60s"); err != nil {
				t.Errorf("clean up namespace %s: %v: %s", ns, err, errOut)
			}
		}
	})
	return m
}

// namespace returns a fresh namespace for the test's resources.
func (m *kubeMesh) namespace(t *testing.T) string {
	ns := m.kube.Namespace(t)
	m.namespaces = append(m.namespaces, ns)
	return ns
}

type controlPlaneProc struct {
	*proc
	grpc string
}

func (m *kubeMesh) startControlPlane(t *testing.T, name string) *controlPlaneProc {
	p := start(t, name, "controlplane", m.cpArgs...)
	return &controlPlaneProc{proc: p, grpc: p.waitOutput(t, `msg="control plane serving".* grpc=(\S+)`, 60*time.Second)[1]}
}

func (m *kubeMesh) kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := m.kube.Kubectl(t, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// columns returns the `kubectl get` row of name as its columns.
func columns(table, name string) []string {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}

// The Knative walk-through with kubectl on a real API server: Weft sets
// status the way Knative does, `weft get` shows what `kubectl get` shows,
// events reach subscribers through the real ingress and dispatcher, a new
// Trigger delivers without a restart, deleting one stops it, deleting the
// Broker deletes its topic, and a Broker of another class is left alone.
func TestKubernetesWalkthrough(t *testing.T) {
	m := startKubeMesh(t)
	sub := newSubscriber(t)
	walkthrough, err := os.ReadFile(filepath.Join("..", "..", "pkg", "apis", "testdata", "walkthrough.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	services := ""
	for _, name := range []string{"hello-display", "goodbye-display"} {
		services += fmt.Sprintf("---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: event-example}\nspec:\n  ports: [{port: 80, targetPort: 8080}]\n", name)
	}
	m.kubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: event-example}\n", "apply", "-f", "-")
	m.namespaces = append(m.namespaces, "event-example")
	// The walk-through's Broker has no class annotation: Weft takes it
	// with --default-broker-class, which this mesh does not set; the
	// manifest a user applies for Weft carries the annotation.
	manifest := strings.Replace(string(walkthrough), "  namespace: event-example\n---", "  namespace: event-example\n  annotations: {eventing.knative.dev/broker.class: Weft}\n---", 1)
	applied := time.Now()
	m.kubectl(t, manifest+services, "apply", "-f", "-")

	var table string
	testutil.Eventually(t, 60*time.Second, "the Broker and both Triggers Ready in kubectl get", func() (bool, string) {
		table = m.kubectl(t, "", "get", "brokers,triggers", "-n", "event-example")
		b := columns(table, "broker.eventing.knative.dev/default")
		h := columns(table, "trigger.eventing.knative.dev/hello-display")
		g := columns(table, "trigger.eventing.knative.dev/goodbye-display")
		return len(b) > 0 && len(h) > 0 && len(g) > 0 && strings.Contains(table, "True") &&
			strings.Count(table, " True ") == 3, table
	})
	t.Logf("walk-through applied -> Broker and Triggers Ready in %s\n%s", time.Since(applied).Round(time.Millisecond), table)
	for _, want := range []string{
		ingressURL + "/event-example/default",
		"http://hello-display.event-example.svc.cluster.local",
		"http://goodbye-display.event-example.svc.cluster.local",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("kubectl get lacks %s:\n%s", want, table)
		}
	}
	// The control plane's own API shows what kubectl shows.
	out := weftCLI(t, m.grpc, "", "get", "triggers", "-n", "event-example")
	for _, name := range []string{"hello-display", "goodbye-display"} {
		row := columns(out, name)
		if len(row) < 5 || row[1] != "default" || !strings.HasPrefix(row[2], "http://"+name+".") || !strings.Contains(strings.Join(row, " "), "True") {
			t.Errorf("weft get triggers row of %s = %v:\n%s", name, row, out)
		}
	}
	if _, err := runWeftCLI(m.grpc, manifest, "apply", "-f", "-"); err == nil || !strings.Contains(err.Error(), "kubectl") {
		t.Errorf("weft apply against Kubernetes mode: %v, want a refusal pointing at kubectl", err)
	}

	// A Trigger created on the cluster delivers without a restart.
	created := time.Now()
	m.kubectl(t, fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: local, namespace: event-example}
spec:
  broker: default
  subscriber: {uri: "%s/local"}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: doomed, namespace: event-example}
spec:
  broker: default
  subscriber: {uri: "%s/doomed"}
`, sub.srv.URL, sub.srv.URL), "apply", "-f", "-")
	testutil.Eventually(t, 60*time.Second, "the new Triggers Ready", func() (bool, string) {
		table = m.kubectl(t, "", "get", "triggers", "-n", "event-example")
		l, d := columns(table, "local"), columns(table, "doomed")
		return len(l) > 4 && len(d) > 4 && strings.Contains(strings.Join(l, " "), "True") && strings.Contains(strings.Join(d, " "), "True"), table
	})
	t.Logf("Trigger created -> Ready (dispatcher running it) in %s", time.Since(created).Round(time.Millisecond))
	url := "http://" + m.http + "/event-example/default"
	if code := post(t, url, "first", "greeting", "e2e", `{}`); code != http.StatusAccepted {
		t.Fatalf("post: %d", code)
	}
	testutil.Eventually(t, 30*time.Second, "the event at both subscribers", func() (bool, string) {
		return sub.ids("/local") == "first" && sub.ids("/doomed") == "first", sub.ids("/local") + " | " + sub.ids("/doomed")
	})

	// Deleting a Trigger stops its delivery.
	m.kubectl(t, "", "delete", "trigger", "doomed", "-n", "event-example", "--wait=true")
	testutil.Eventually(t, 30*time.Second, "the doomed group deleted", func() (bool, string) {
		gs, err := m.adm.ListGroups(context.Background())
		if err != nil {
			return false, err.Error()
		}
		_, has := gs["weft.trigger.event-example.doomed"]
		return !has, fmt.Sprint(gs.Groups())
	})
	if code := post(t, url, "second", "greeting", "e2e", `{}`); code != http.StatusAccepted {
		t.Fatalf("post: %d", code)
	}
	testutil.Eventually(t, 30*time.Second, "the second event at the remaining trigger", func() (bool, string) {
		return sub.ids("/local") == "first,second", sub.ids("/local")
	})
	if got := sub.ids("/doomed"); got != "first" {
		t.Errorf("the deleted trigger still delivered: %s", got)
	}

	// References resolve the Knative way: a missing Service leaves the
	// Trigger SubscriberResolveFailed naming it, until the Service exists;
	// any Addressable (here the Broker itself) resolves to its
	// status.address.url.
	m.kubectl(t, `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-later, namespace: event-example}
spec:
  broker: default
  subscriber: {ref: {apiVersion: v1, kind: Service, name: later}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: to-broker, namespace: event-example}
spec:
  broker: default
  filter: {attributes: {type: never}}
  subscriber: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}
`, "apply", "-f", "-")
	ready := func(name string) string {
		return m.kubectl(t, "", "get", "trigger", name, "-n", "event-example", "-o",
			`jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].reason} {.status.conditions[?(@.type=="Ready")].message}|{.status.subscriberUri}`)
	}
	testutil.Eventually(t, 30*time.Second, "to-later failing on the missing Service, to-broker resolved", func() (bool, string) {
		l, b := ready("to-later"), ready("to-broker")
		return strings.HasPrefix(l, "False SubscriberResolveFailed ") && strings.Contains(l, `Service "later" not found`) &&
			strings.HasPrefix(b, "True") && strings.HasSuffix(b, "|"+ingressURL+"/event-example/default"), l + " / " + b
	})
	m.kubectl(t, "apiVersion: v1\nkind: Service\nmetadata: {name: later, namespace: event-example}\nspec:\n  ports: [{port: 80}]\n", "apply", "-f", "-")
	testutil.Eventually(t, 30*time.Second, "to-later Ready once its Service exists", func() (bool, string) {
		l := ready("to-later")
		return strings.HasPrefix(l, "True") && strings.HasSuffix(l, "|http://later.event-example.svc.cluster.local"), l
	})

	// A Broker of another class is left alone.
	m.kubectl(t, `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: other
  namespace: event-example
  annotations: {eventing.knative.dev/broker.class: MTChannelBasedBroker}
`, "apply", "-f", "-")

	// Deleting the Broker deletes its topic (the finalizer holds the
	// object until it did).
	topic := "weft.broker.event-example.default"
	topics, err := m.adm.ListTopics(context.Background(), topic)
	if err != nil || !topics.Has(topic) {
		t.Fatalf("topic %s missing before the delete: %v", topic, err)
	}
	m.kubectl(t, "", "delete", "broker", "default", "-n", "event-example", "--wait=true")
	// The finalizer came off once Kafka accepted the deletion; its
	// metadata follows a moment later (as on a real cluster).
	testutil.Eventually(t, 30*time.Second, "the topic gone", func() (bool, string) {
		topics, err := m.adm.ListTopics(context.Background(), topic)
		return err == nil && !topics.Has(topic), fmt.Sprint(err)
	})
	other := m.kubectl(t, "", "get", "broker", "other", "-n", "event-example", "-o", "jsonpath={.metadata.finalizers}{.status}")
	if other != "" {
		t.Errorf("the other class's Broker got finalizers or status: %q", other)
	}
	if ts, _ := m.adm.ListTopics(context.Background(), "weft.broker.event-example.other"); ts.Has("weft.broker.event-example.other") {
		t.Error("a topic was created for the other class's Broker")
	}
}

// A CESQL expression the API server cannot check shows on the Trigger as
// Ready=False with the reason and the field path.
func TestKubernetesInvalidFilterInStatus(t *testing.T) {
	m := startKubeMesh(t)
	ns := m.namespace(t)
	m.kubectl(t, fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: %[1]s, annotations: {eventing.knative.dev/broker.class: Weft}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: bad-sql, namespace: %[1]s}
spec:
  broker: default
  filters: [{cesql: "type = = 'x'"}]
  subscriber: {uri: "http://example.com/"}
`, ns), "apply", "-f", "-")
	testutil.Eventually(t, 60*time.Second, "Ready=False InvalidSpec on the Trigger", func() (bool, string) {
		out := m.kubectl(t, "", "get", "trigger", "bad-sql", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].reason} {.status.conditions[?(@.type=="Ready")].message}`)
		return strings.HasPrefix(out, "False InvalidSpec ") && strings.Contains(out, "spec.filters[0].cesql"), out
	})
}

// Two control-plane replicas: one leads (holds the Lease) and reconciles;
// when it stops, the other takes over, and the data plane, connected to the
// second, sees new Triggers through it.
func TestKubernetesLeaderElection(t *testing.T) {
	m := startKubeMesh(t, 2)
	ns := m.namespace(t)
	leader := m.replicas[0]
	m.kubectl(t, fmt.Sprintf("apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default, namespace: %s, annotations: {eventing.knative.dev/broker.class: Weft}}\n", ns), "apply", "-f", "-")
	testutil.Eventually(t, 60*time.Second, "the Broker Ready", func() (bool, string) {
		out := m.kubectl(t, "", "get", "broker", "default", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return out == "True", out
	})
	// The leader stops gracefully and releases the Lease: the second
	// replica leads from then on.
	leader.stop(syscall.SIGTERM)
	start := time.Now()
	m.replicas[1].waitOutput(t, `msg="leading: reconciling`, 60*time.Second)
	t.Logf("second replica leads %s after the first stopped", time.Since(start).Round(time.Millisecond))
	sub := newSubscriber(t)
	m.kubectl(t, fmt.Sprintf("apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: after, namespace: %s}\nspec:\n  broker: default\n  subscriber: {uri: \"%s/after\"}\n", ns, sub.srv.URL), "apply", "-f", "-")
	testutil.Eventually(t, 60*time.Second, "the Trigger created after the failover Ready", func() (bool, string) {
		out := m.kubectl(t, "", "get", "trigger", "after", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return out == "True", out
	})
	if code := post(t, "http://"+m.http+"/"+ns+"/default", "after-failover", "t", "e2e", `{}`); code != http.StatusAccepted {
		t.Fatalf("post: %d", code)
	}
	testutil.Eventually(t, 30*time.Second, "the event delivered", func() (bool, string) {
		return sub.ids("/after") == "after-failover", sub.ids("/after")
	})
}
