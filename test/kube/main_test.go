// Package kube tests Weft's Kubernetes artifacts against a real API server
// (internal/testutil/kubetest): the CRDs' OpenAPI schemas and CEL rules
// compared with Weft's own validation (pkg/apis), and the install manifests
// in deploy/kubernetes.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/weft-dev/weft/internal/testutil/kubetest"
	"github.com/weft-dev/weft/pkg/apis"
)

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime; nothing here needs it.
	ctrllog.SetLogger(logr.Discard())
	kubetest.Main(m)
}

// object decodes one YAML manifest into an unstructured object in namespace ns.
func object(t *testing.T, manifest, ns string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatalf("manifest is not YAML: %v\n%s", err, manifest)
	}
	m := map[string]any{}
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatalf("manifest is not an object: %v\n%s", err, manifest)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetNamespace(ns)
	return u
}

// weftFieldErrors returns what Weft's own decoding and validation report for
// manifest in namespace ns (nil when it accepts it).
func weftFieldErrors(t *testing.T, manifest, ns string) apis.FieldErrors {
	t.Helper()
	u := object(t, manifest, ns)
	j, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	_, err = apis.DecodeManifests(j)
	if err == nil {
		return nil
	}
	var fes apis.FieldErrors
	if !errors.As(err, &fes) {
		t.Fatalf("Weft's decoding failed without field errors: %v", err)
	}
	return fes
}

// hasPathUnder reports whether some error's path is path or lies under it
// ("spec.filters[0].exact[type]" lies under "spec.filters[0].exact").
func hasPathUnder(fes apis.FieldErrors, path string) bool {
	for _, fe := range fes {
		if fe.Path == path || strings.HasPrefix(fe.Path, path+".") || strings.HasPrefix(fe.Path, path+"[") {
			return true
		}
	}
	return false
}

func create(t *testing.T, env *kubetest.Env, u *unstructured.Unstructured) error {
	t.Helper()
	// Strict, as kubectl asks by default: unknown fields are errors.
	return env.Client.Create(context.Background(), u, client.FieldValidation(metav1.FieldValidationStrict))
}

// createAccepted checks that Weft's own validation and the API server both
// accept manifest.
func createAccepted(t *testing.T, env *kubetest.Env, manifest, ns string) {
	t.Helper()
	if fes := weftFieldErrors(t, manifest, ns); fes != nil {
		t.Fatalf("Weft's own validation rejects the manifest (fix the test): %v", fes)
	}
	if err := create(t, env, object(t, manifest, ns)); err != nil {
		t.Fatalf("the API server rejected what Weft accepts: %v\n%s", err, manifest)
	}
}

// createRejected checks that Weft's own validation and the API server both
// reject manifest, each naming path.
func createRejected(t *testing.T, env *kubetest.Env, manifest, ns, path string) {
	t.Helper()
	fes := weftFieldErrors(t, manifest, ns)
	if fes == nil {
		t.Fatalf("Weft's own validation accepts the manifest (fix the test)")
	}
	if !strings.Contains(fes.Error(), path) {
		t.Errorf("Weft's validation does not name %s: %v", path, fes)
	}
	err := create(t, env, object(t, manifest, ns))
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), path) {
		t.Fatalf("the API server: got %v, want Invalid naming %s", err, path)
	}
}
