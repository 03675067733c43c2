package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/internal/testutil/kubetest"
	eventingv1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1"
)

// brokerManifest is a Broker named name with the given spec (flush-left
// YAML, indented here; "" for none).
func brokerManifest(name, spec string) string {
	s := "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: " + name + "\n"
	if spec != "" {
		s += "spec:\n" + indent(spec)
	}
	return s
}

// triggerManifest is a Trigger named name with the given spec.
func triggerManifest(name, spec string) string {
	return "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: " + name + "\nspec:\n" + indent(spec)
}

func indent(block string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(strings.Trim(block, "\n"), "\n") {
		if l != "" {
			b.WriteString("  ")
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

const sink = "subscriber:\n  uri: http://sink.example.com/\n"

// TestCRDRejectsInvalid creates invalid Brokers and Triggers on the real API
// server and checks that each is refused by the CRD's schema or CEL rules
// with the field path in the message, and that Weft's own validation refuses
// it at the same path (or below it).
func TestCRDRejectsInvalid(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	tests := []struct {
		name, manifest string
		path           string // the field path the API server names
		message        string // a substring of its message
	}{
		// Broker: delivery (OpenAPI enum, minimum, pattern; CEL on durations)
		{"backoffPolicy not linear or exponential", brokerManifest("bad-policy", "delivery:\n  backoffPolicy: fast"),
			"spec.delivery.backoffPolicy", `Unsupported value: "fast": supported values: "linear", "exponential"`},
		{"negative retry", brokerManifest("bad-retry", "delivery:\n  retry: -1"),
			"spec.delivery.retry", "should be greater than or equal to 0"},
		{"format not json or binary", brokerManifest("bad-format", "delivery:\n  format: xml"),
			"spec.delivery.format", `Unsupported value: "xml"`},
		{"Go-style duration", brokerManifest("bad-delay", "delivery:\n  backoffDelay: 5s"),
			"spec.delivery.backoffDelay", "should match"},
		{"zero timeout", brokerManifest("zero-timeout", "delivery:\n  timeout: PT0S"),
			"spec.delivery.timeout", "must be greater than zero"},
		{"negative backoffDelay", brokerManifest("negative-delay", "delivery:\n  backoffDelay: -PT1S"),
			"spec.delivery.backoffDelay", "must not be negative"},
		{"duration with nothing after P", brokerManifest("empty-duration", "delivery:\n  retryAfterMax: P"),
			"spec.delivery.retryAfterMax", "no value after P or T"},
		{"retry as a string", brokerManifest("string-retry", "delivery:\n  retry: \"3\""),
			"spec.delivery.retry", `Invalid value: "string": spec.delivery.retry in body must be of type integer`},
		{"dead-letter sink with neither ref nor uri", brokerManifest("empty-dls", "delivery:\n  deadLetterSink: {}"),
			"spec.delivery.deadLetterSink", "expected ref, uri, or both"},
		{"dead-letter sink ref without name", brokerManifest("dls-no-name", "delivery:\n  deadLetterSink:\n    ref: {apiVersion: v1, kind: Service}"),
			"spec.delivery.deadLetterSink.ref.name", "Required value"},
		{"config without kind", brokerManifest("config-no-kind", "config: {apiVersion: v1, name: cfg}"),
			"spec.config.kind", "Required value"},
		// A rule on the whole object cannot name metadata.name as its field
		// path: the API server reports it at the root, and the message names
		// the field.
		{"Broker name not a DNS-1123 label", brokerManifest("my.broker", ""),
			"metadata.name", "metadata.name must be a DNS-1123 label"},

		// Trigger: broker
		{"broker not a DNS-1123 label", triggerManifest("bad-broker", "broker: Default\n"+sink),
			"spec.broker", "should match"},
		{"brokerRef disagrees with broker", triggerManifest("brokerref-other", "broker: default\nbrokerRef: {name: other}\n"+sink),
			"spec.brokerRef.name", "must equal spec.broker"},
		{"brokerRef to another kind", triggerManifest("brokerref-kind", "broker: default\nbrokerRef: {kind: Service, name: default}\n"+sink),
			"spec.brokerRef.kind", "must be Broker"},

		// Trigger: subscriber (required; CEL on Destination; required KReference fields)
		{"no subscriber", triggerManifest("no-subscriber", "broker: default"),
			"spec.subscriber", "Required value"},
		{"subscriber with neither ref nor uri", triggerManifest("empty-subscriber", "broker: default\nsubscriber: {}"),
			"spec.subscriber", "expected ref, uri, or both"},
		{"relative uri without ref", triggerManifest("relative-uri", "broker: default\nsubscriber:\n  uri: /events"),
			"spec.subscriber.uri", "must be an absolute URL with a scheme and a host"},
		{"uri without host", triggerManifest("uri-no-host", "broker: default\nsubscriber:\n  uri: 'http:/events'"),
			"spec.subscriber.uri", "must be an absolute URL with a scheme and a host"},
		{"absolute uri beside ref", triggerManifest("absolute-uri-with-ref", "broker: default\nsubscriber:\n  ref: {apiVersion: v1, kind: Service, name: s}\n  uri: http://other/"),
			"spec.subscriber.uri", "must be relative"},
		{"ref without apiVersion", triggerManifest("ref-no-apiversion", "broker: default\nsubscriber:\n  ref: {kind: Service, name: s}"),
			"spec.subscriber.ref.apiVersion", "Required value"},
		{"ref without kind", triggerManifest("ref-no-kind", "broker: default\nsubscriber:\n  ref: {apiVersion: v1, name: s}"),
			"spec.subscriber.ref.kind", "Required value"},
		{"ref name not a DNS-1123 subdomain", triggerManifest("ref-bad-name", "broker: default\nsubscriber:\n  ref: {apiVersion: v1, kind: Service, name: My_Service}"),
			"spec.subscriber.ref.name", "should match"},
		{"ref group disagrees with apiVersion", triggerManifest("ref-bad-group", "broker: default\nsubscriber:\n  ref: {apiVersion: serving.knative.dev/v1, group: apps, kind: Service, name: s}"),
			"spec.subscriber.ref.group", "must be the group of apiVersion"},
		{"CACerts not PEM", triggerManifest("cacerts", "broker: default\nsubscriber:\n  uri: https://s.example.com/\n  CACerts: not a cert"),
			"spec.subscriber.CACerts", "PEM-encoded certificates"},
		{"unknown subscriber field", triggerManifest("unknown-field", "broker: default\nsubscriber:\n  urii: http://s/"),
			"spec.subscriber.urii", "unknown field"},

		// Trigger: filters (CEL: one dialect per entry, non-empty values, attribute names)
		{"two dialects in one filters entry", triggerManifest("two-dialects", "broker: default\nfilters:\n- exact: {type: a}\n- exact: {type: a}\n  prefix: {source: b}\n"+sink),
			"spec.filters[1]", "expected exactly one of all, any, not, exact, prefix, suffix, cesql"},
		{"empty filters entry", triggerManifest("empty-filter", "broker: default\nfilters:\n- {}\n"+sink),
			"spec.filters[0]", "expected exactly one of"},
		{"exact with an empty value", triggerManifest("empty-exact", "broker: default\nfilters:\n- exact: {type: ''}\n"+sink),
			"spec.filters[0].exact", "values must not be empty"},
		{"filters not a list", triggerManifest("filters-object", "broker: default\nfilters:\n  exact: {type: a}\n"+sink),
			// Strict field validation meets the object where an array was
			// expected and reports its keys as unknown fields.
			"spec.filters", `strict decoding error: unknown field "spec.filters.exact"`},
		{"uppercase attribute name", triggerManifest("bad-attribute", "broker: default\nfilter:\n  attributes:\n    Type: greeting\n"+sink),
			"spec.filter.attributes", "invalid CloudEvents attribute name"},

		// Trigger: delivery
		{"Trigger timeout in seconds", triggerManifest("bad-timeout", "broker: default\n"+sink+"delivery:\n  timeout: 10s"),
			"spec.delivery.timeout", "should match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if fes := weftFieldErrors(t, tc.manifest, ns); !hasPathUnder(fes, tc.path) {
				t.Errorf("Weft's own validation does not reject the manifest at %s: %v", tc.path, fes)
			}
			err := create(t, env, object(t, tc.manifest, ns))
			if err == nil {
				t.Fatalf("the API server accepted:\n%s", tc.manifest)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("error %v (reason %s), want Invalid or BadRequest", err, apierrors.ReasonForError(err))
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.path) || !strings.Contains(msg, tc.message) {
				t.Fatalf("the API server said:\n  %s\nwant the path %s and %q", msg, tc.path, tc.message)
			}
			t.Logf("rejected: %s", msg)
		})
	}
}

// TestCRDAcceptsWhatWeftAccepts creates manifests Weft's own validation
// accepts (from pkg/apis's tests and Knative's documentation) and checks the
// API server stores each.
func TestCRDAcceptsWhatWeftAccepts(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	cert := pemCertificate(t)
	tests := []struct{ name, manifest string }{
		{"Broker without spec", brokerManifest("bare", "")},
		{"Broker with every annotation", `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: annotated
  annotations:
    weft.dev/partitions: "10000"
    weft.dev/replication-factor: "3"
    eventing.knative.dev/broker.class: Weft
    Example.COM/Key: v
`},
		{"Broker delivery with zero backoffDelay and retryAfterMax (Knative's opt-out)",
			brokerManifest("zero-delays", "delivery:\n  retry: 0\n  backoffDelay: PT0S\n  retryAfterMax: PT0S\n  timeout: PT0.5S\n  backoffPolicy: linear")},
		{"Broker delivery with negative zero and long durations",
			brokerManifest("durations", "delivery:\n  retry: 10\n  backoffDelay: -PT0S\n  retryAfterMax: P1DT2H\n  timeout: PT1M30.5S\n  backoffPolicy: exponential\n  format: binary")},
		{"Broker dead-letter sink in another namespace, config ConfigMap",
			brokerManifest("dls-elsewhere", "config: {apiVersion: v1, kind: ConfigMap, name: kafka-broker-config, namespace: knative-eventing}\ndelivery:\n  deadLetterSink:\n    ref: {apiVersion: v1, kind: Service, name: dls, namespace: other}\n    uri: /dead")},
		{"exact with two attributes", triggerManifest("exact-two", "broker: default\nfilters:\n- exact: {type: a, source: b}\n"+sink)},
		{"brokerRef naming the same Broker", triggerManifest("brokerref-same", "broker: mybroker\nbrokerRef:\n  apiVersion: eventing.knative.dev/v1\n  kind: Broker\n  name: mybroker\n"+sink)},
		{"ref with relative uri, every dialect nested", triggerManifest("nested", "broker: default\nfilters:\n- all:\n  - prefix: {type: com.example.}\n  - any:\n    - suffix: {source: /orders}\n    - not:\n        cesql: \"subject LIKE 'tmp%'\"\nsubscriber:\n  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: svc}\n  uri: /events\n  audience: svc")},
		{"Trigger with every annotation", `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: annotated
  annotations:
    kafka.eventing.knative.dev/delivery.order: unordered
    weft.dev/initial-offset: earliest
    eventing.knative.dev/injection: enabled
    knative.dev/dependency: '{"kind":"PingSource","name":"p","apiVersion":"sources.knative.dev/v1"}'
spec:
  broker: default
` + indent(sink)},
		{"legacy filter, cesql and not", triggerManifest("cesql", "broker: default\nfilter:\n  attributes: {type: greeting, myext1: x}\nfilters:\n- cesql: \"type = 'a' AND source LIKE 'b%'\"\n- not: {exact: {type: b}}\n"+sink)},
		{"empty dialect maps beside the one that is set (Weft counts non-empty ones)", triggerManifest("empty-maps", "broker: default\nfilters:\n- exact: {type: a}\n  prefix: {}\n  cesql: ''\n"+sink)},
		{"absolute https subscriber with port, path and query", triggerManifest("https", "broker: default\nsubscriber:\n  uri: https://sink.example.com:8443/a/b?x=1\n  CACerts: |\n"+indentBy(cert, 4))},
		{"reply to a Broker, ref group matching apiVersion, empty namespace", triggerManifest("to-broker", "broker: default\nsubscriber:\n  ref: {apiVersion: eventing.knative.dev/v1, group: eventing.knative.dev, kind: Broker, name: replies, namespace: ''}")},
		{"Trigger delivery with a dead-letter uri", triggerManifest("dls-uri", "broker: default\n"+sink+"delivery:\n  retry: 3\n  backoffDelay: PT0.2S\n  deadLetterSink:\n    uri: http://dls.example.com/\n  format: json")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			createAccepted(t, env, tc.manifest, ns)
		})
	}
}

// A Trigger that names no Broker gets Knative's default, "default".
func TestTriggerBrokerDefaultsToDefault(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	if err := create(t, env, object(t, triggerManifest("no-broker", sink), ns)); err != nil {
		t.Fatalf("create: %v", err)
	}
	got := &eventingv1.Trigger{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "no-broker"}, got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Spec.Broker != "default" {
		t.Fatalf("spec.broker = %q, want the default %q", got.Spec.Broker, "default")
	}
}

// The one manifest shape Weft's gRPC API accepts and the CRD refuses: a
// spec.brokerRef alone naming a Broker other than "default". The API server
// defaults spec.broker to "default" first, and Weft requires brokerRef.name
// to equal spec.broker.
func TestBrokerRefAloneMustNameTheDefaultBroker(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	other := triggerManifest("brokerref-only", "brokerRef: {name: mybroker}\n"+sink)
	if fes := weftFieldErrors(t, other, ns); fes != nil {
		t.Fatalf("Weft rejects a brokerRef-only Trigger: %v", fes)
	}
	err := create(t, env, object(t, other, ns))
	if err == nil || !strings.Contains(err.Error(), "spec.brokerRef.name") || !strings.Contains(err.Error(), `defaults to "default"`) {
		t.Fatalf("create = %v, want a rejection at spec.brokerRef.name naming the default", err)
	}
	same := triggerManifest("brokerref-default", "brokerRef: {name: default}\n"+sink)
	if err := create(t, env, object(t, same, ns)); err != nil {
		t.Fatalf("a brokerRef-only Trigger naming the Broker default: %v", err)
	}
}

// spec.broker cannot change, through the client or kubectl; other fields can.
func TestTriggerBrokerImmutable(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	manifest := func(broker string) string {
		return strings.Replace(triggerManifest("moving", "broker: "+broker+"\n"+sink), "metadata:\n", "metadata:\n  namespace: "+ns+"\n", 1)
	}
	if _, stderr, err := env.Kubectl(t, manifest("default"), "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v: %s", err, stderr)
	}
	tr := &eventingv1.Trigger{}
	key := client.ObjectKey{Namespace: ns, Name: "moving"}
	if err := env.Client.Get(ctx, key, tr); err != nil {
		t.Fatalf("get: %v", err)
	}
	tr.Spec.Subscriber.URI = "http://elsewhere.example.com/"
	if err := env.Client.Update(ctx, tr); err != nil {
		t.Fatalf("changing the subscriber: %v", err)
	}
	tr.Spec.Broker = "other"
	err := env.Client.Update(ctx, tr)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.broker") || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("changing spec.broker: %v; want Invalid at spec.broker saying immutable", err)
	}
	t.Logf("client update refused: %v", err)

	_, stderr, err := env.Kubectl(t, manifest("other"), "apply", "-f", "-")
	if err == nil || !strings.Contains(stderr, "spec.broker") || !strings.Contains(stderr, "immutable") {
		t.Fatalf("kubectl apply with another broker: err %v, stderr %q; want a refusal at spec.broker", err, stderr)
	}
	t.Logf("kubectl apply refused: %s", strings.TrimSpace(stderr))
}

// The walk-through manifests go in with `kubectl apply -f`, and kubectl
// prints Knative's columns for them.
func TestWalkthroughKubectlApply(t *testing.T) {
	env := kubetest.Start(t)
	if _, stderr, err := env.Kubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: event-example\n", "apply", "-f", "-"); err != nil {
		t.Fatalf("create namespace event-example: %v: %s", err, stderr)
	}
	stdout, stderr, err := env.Kubectl(t, "", "apply", "-f", filepath.Join(env.Root, "pkg/apis/testdata/walkthrough.yaml"))
	if err != nil {
		t.Fatalf("kubectl apply -f walkthrough.yaml: %v\n%s%s", err, stdout, stderr)
	}
	for _, want := range []string{"broker.eventing.knative.dev/default", "trigger.eventing.knative.dev/hello-display", "trigger.eventing.knative.dev/goodbye-display"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("kubectl apply printed %q, want %s", stdout, want)
		}
	}
	for _, c := range []struct {
		kind   string
		header []string
		row    []string
	}{
		{"brokers", []string{"NAME", "URL", "AGE", "READY", "REASON"}, []string{"default"}},
		{"triggers", []string{"NAME", "BROKER", "SUBSCRIBER_URI", "AGE", "READY", "REASON"}, []string{"hello-display", "default"}},
	} {
		stdout, stderr, err := env.Kubectl(t, "", "get", c.kind, "-n", "event-example")
		if err != nil {
			t.Fatalf("kubectl get %s: %v: %s", c.kind, err, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != strings.Join(c.header, " ") {
			t.Errorf("kubectl get %s columns = %v, want %v", c.kind, got, c.header)
		}
		if !containsRow(lines[1:], c.row) {
			t.Errorf("kubectl get %s printed\n%s\nwant a row starting %v", c.kind, stdout, c.row)
		}
	}
	// The walk-through's objects are Weft's too.
	data, err := os.ReadFile(filepath.Join(env.Root, "pkg/apis/testdata/walkthrough.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if fes := weftFieldErrors(t, doc, "event-example"); fes != nil {
			t.Errorf("Weft rejects a walk-through document: %v", fes)
		}
	}
}

func containsRow(lines, prefix []string) bool {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= len(prefix) && strings.Join(f[:len(prefix)], " ") == strings.Join(prefix, " ") {
			return true
		}
	}
	return false
}

func indentBy(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad) + "\n"
}

// pemCertificate returns a self-signed certificate in PEM.
func pemCertificate(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sink"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
