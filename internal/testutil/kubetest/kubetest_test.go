package kubetest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/internal/testutil/kubetest"
	"github.com/weft-dev/weft/internal/testutil/kubetest/internal/envtestcache"
	"github.com/weft-dev/weft/pkg/apis"
	eventingv1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

func TestStart(t *testing.T) {
	env := kubetest.Start(t)
	t.Logf("API server started and CRDs established in %s", env.StartTime)
	if again := kubetest.Start(t); again != env {
		t.Fatal("a second Start returned another Env: the package must share one server")
	}
	names := map[string]bool{}
	for _, crd := range env.CRDs {
		names[crd.Name] = true
	}
	for _, want := range []string{"brokers.eventing.knative.dev", "triggers.eventing.knative.dev"} {
		if !names[want] {
			t.Errorf("CRD %s not installed; installed: %v", want, names)
		}
	}

	// The client's scheme knows Weft's kinds: a Broker round-trips.
	ctx := context.Background()
	ns := env.Namespace(t)
	b := &eventingv1.Broker{}
	b.Name, b.Namespace = "default", ns
	b.Spec.Delivery = &apis.DeliverySpec{Retry: new(int32(3))}
	if err := env.Client.Create(ctx, b); err != nil {
		t.Fatalf("create Broker: %v", err)
	}
	got := &eventingv1.Broker{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(b), got); err != nil {
		t.Fatalf("get Broker: %v", err)
	}
	if got.Spec.Delivery == nil || got.Spec.Delivery.Retry == nil || *got.Spec.Delivery.Retry != 3 {
		t.Fatalf("Broker spec.delivery after a round trip = %+v, want retry 3", got.Spec.Delivery)
	}

	// The real kubectl reaches the same server and prints the CRD's columns.
	out, errOut, err := env.Kubectl(t, "", "get", "brokers", "-n", ns)
	if err != nil {
		t.Fatalf("kubectl get brokers: %v: %s", err, errOut)
	}
	if !strings.Contains(out, "default") || !strings.Contains(out, "URL") {
		t.Fatalf("kubectl get brokers printed %q, want the Broker default under a URL column", out)
	}
	// stdin reaches kubectl.
	_, errOut, err = env.Kubectl(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-stdin\n", "apply", "-n", ns, "-f", "-")
	if err != nil {
		t.Fatalf("kubectl apply -f -: %v: %s", err, errOut)
	}
	// A failing kubectl returns an error and its stderr, without failing the test.
	if _, errOut, err = env.Kubectl(t, "", "get", "brokers", "missing", "-n", ns); err == nil || !strings.Contains(errOut, "not found") {
		t.Fatalf("kubectl get of a missing Broker: err %v, stderr %q; want an error saying not found", err, errOut)
	}
}

// envtest's port lock files go to a temporary directory, and the
// process's XDG_CACHE_HOME is as it started.
func TestPortLocksInTempDir(t *testing.T) {
	kubetest.Start(t)
	if !strings.HasPrefix(envtestcache.Dir, os.TempDir()) {
		t.Fatalf("lock directory %s is not under %s", envtestcache.Dir, os.TempDir())
	}
	// envtest's init creates its lock directory where it will put the locks
	// (which expire after two minutes, so they may be gone already).
	if fi, err := os.Stat(filepath.Join(envtestcache.Dir, "kubebuilder-envtest")); err != nil || !fi.IsDir() {
		t.Fatalf("envtest did not take %s as its lock directory: %v", envtestcache.Dir, err)
	}
	if v := os.Getenv("XDG_CACHE_HOME"); v == envtestcache.Dir {
		t.Fatalf("XDG_CACHE_HOME is still %s after package initialization", v)
	}
}
