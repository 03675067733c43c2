// Package kubetest runs a real Kubernetes API server (etcd and kube-apiserver,
// through envtest) for the tests of one package, with Weft's CRDs from
// deploy/kubernetes/10-crds installed and Established, and gives tests a
// rest.Config, a controller-runtime client and the real kubectl against it.
//
// A test package starts one server, on first use, and stops it after its
// tests:
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
//
//	func TestX(t *testing.T) {
//		env := kubetest.Start(t)
//		ns := env.Namespace(t)
//		out, errOut, err := env.Kubectl(t, manifest, "apply", "-n", ns, "-f", "-")
//	}
//
// The binaries come from $KUBEBUILDER_ASSETS when it is set, else from
// hack/kube-assets.sh, which builds kube-apiserver, kubectl and etcd from the
// Go module proxy once per machine (minutes) and caches them. When they
// cannot be built the tests are skipped with the reason; set
// WEFT_KUBETEST_REQUIRED=1 to make that a failure instead. Tests are skipped
// in -short mode. etcd's data, the API server's certificates, the kubeconfig,
// kubectl's cache and envtest's port lock files all live in temporary
// directories.
//
// There is no kubelet, scheduler or controller manager: objects are stored
// and validated, but no pod runs and a deleted namespace stays Terminating.
// Every test shares the server, so each works in its own namespace.
package kubetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/weft-dev/weft/internal/testutil/kubetest/internal/envtestcache"
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

func init() { envtestcache.Restore() }

// CRDDir is where the CRDs installed on the server live, relative to the
// repository's root.
const CRDDir = "deploy/kubernetes/10-crds"

// Env is a running API server and what tests use to reach it. It is shared
// by every test of the package and safe for concurrent use.
type Env struct {
	// Config reaches the server as an administrator (system:masters).
	Config *rest.Config
	// Scheme holds client-go's kinds, apiextensions/v1 and Weft's custom
	// resources (eventing.knative.dev/v1, v1alpha1 and v1beta2, messaging.knative.dev/v1
	// and v1beta1, flows.knative.dev/v1, sources.knative.dev/v1, v1alpha1 and
	// v1beta1, sources.triggermesh.io/v1alpha1).
	Scheme *runtime.Scheme
	// Client is a controller-runtime client (no cache) using Scheme.
	Client client.Client
	// Kubeconfig is the path of a kubeconfig file for the server.
	Kubeconfig string
	// KubectlPath is the kubectl binary built with the server.
	KubectlPath string
	// Root is the repository's root directory.
	Root string
	// CRDs are the CRDs installed from CRDDir, as the server returned them.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// StartTime is how long starting the server and installing the CRDs took.
	StartTime time.Duration

	tmp string
}

// RequiredEnv, when set to a non-empty value, turns a skip for want of
// binaries into a failure (for CI, where the tests must run).
const RequiredEnv = "WEFT_KUBETEST_REQUIRED"

var (
	mainRunning bool

	startOnce  sync.Once
	shared     *Env
	skipReason string
	startErr   error

	stopMu  sync.Mutex
	testEnv *envtest.Environment
	tmpDir  string
	stopped bool
)

// Main runs the package's tests and then stops the API server if one was
// started; call it from TestMain. It also stops the server when the process
// is interrupted (SIGINT, SIGTERM) and a few seconds before -test.timeout
// expires: envtest starts etcd and kube-apiserver in their own process group,
// so they would outlive a test binary that dies without stopping them.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain with work of its own after the tests: it
// returns the exit code instead of exiting.
func Run(m *testing.M) int {
	flag.Parse()
	mainRunning = true
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		var deadline <-chan time.Time
		if f := flag.Lookup("test.timeout"); f != nil {
			if d, ok := f.Value.(flag.Getter).Get().(time.Duration); ok && d > 0 {
				margin := min(5*time.Second, d/10)
				timer := time.NewTimer(d - margin)
				defer timer.Stop()
				deadline = timer.C
			}
		}
		select {
		case s := <-sig:
			fmt.Fprintf(os.Stderr, "kubetest: %v: stopping the API server\n", s)
			logStop(stop())
			os.Exit(1)
		case <-deadline:
			fmt.Fprintln(os.Stderr, "kubetest: -test.timeout is about to expire: stopping the API server so that it does not outlive the test binary")
			logStop(stop())
		case <-done:
		}
	}()
	code := m.Run()
	close(done)
	watch.Wait()
	signal.Stop(sig)
	if err := stop(); err != nil {
		logStop(err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func logStop(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: stop the API server: %v\n", err)
	}
}

// Start returns the package's API server, starting it on the first call
// (a few seconds). It skips the test in -short mode and when the binaries
// cannot be built (see RequiredEnv), and fails it when the server does not
// start. The package's TestMain must call Main.
func Start(t testing.TB) *Env {
	t.Helper()
	if !mainRunning {
		t.Fatal("kubetest.Start: the package's TestMain must call kubetest.Main(m), which stops the API server after the tests")
	}
	if testing.Short() {
		t.Skip("kubetest: skipped in -short mode (starts etcd and kube-apiserver)")
	}
	startOnce.Do(func() { shared, skipReason, startErr = start() })
	switch {
	case skipReason != "" && os.Getenv(RequiredEnv) != "":
		t.Fatalf("kubetest: %s (%s is set: not skipping)", skipReason, RequiredEnv)
	case skipReason != "":
		t.Skipf("kubetest: skipped: %s", skipReason)
	case startErr != nil:
		t.Fatalf("kubetest: %v", startErr)
	}
	return shared
}

// start starts the server; skip is why the tests cannot run here.
func start() (env *Env, skip string, err error) {
	begin := time.Now()
	root, err := repoRoot()
	if err != nil {
		return nil, "", err
	}
	assets, skip, err := assetsDir(root)
	if skip != "" || err != nil {
		return nil, skip, err
	}
	tmp, err := os.MkdirTemp("", "weft-kubetest-")
	if err != nil {
		return nil, "", fmt.Errorf("make temp dir: %w", err)
	}
	stopMu.Lock()
	if stopped { // Main gave up (signal or -test.timeout) before the first Start
		stopMu.Unlock()
		os.RemoveAll(tmp)
		return nil, "", errors.New("the package's API server was already stopped")
	}
	tmpDir = tmp
	stopMu.Unlock()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, eventingv1.AddToScheme, eventingv1alpha1.AddToScheme,
		eventingv1beta2.AddToScheme, messagingv1.AddToScheme, messagingv1beta1.AddToScheme, flowsv1.AddToScheme, sourcesv1beta1.AddToScheme,
		sourcesv1.AddToScheme, sourcesv1alpha1.AddToScheme, triggermeshv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, "", fmt.Errorf("build scheme: %w", err)
		}
	}
	te := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		Scheme:                scheme,
		CRDDirectoryPaths:     []string{filepath.Join(root, CRDDir)},
		ErrorIfCRDPathMissing: true,
	}
	te.CRDInstallOptions.PollInterval = 50 * time.Millisecond
	stopMu.Lock()
	testEnv = te
	stopMu.Unlock()
	cfg, err := te.Start()
	if err != nil {
		logStop(stop())
		return nil, "", fmt.Errorf("start etcd and kube-apiserver from %s: %w", assets, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		logStop(stop())
		return nil, "", fmt.Errorf("make client: %w", err)
	}
	crds, err := waitEstablished(c, te.CRDs)
	if err != nil {
		logStop(stop())
		return nil, "", err
	}
	kubeconfig := filepath.Join(tmp, "kubeconfig")
	if err := os.WriteFile(kubeconfig, te.KubeConfig, 0o600); err != nil {
		logStop(stop())
		return nil, "", fmt.Errorf("write kubeconfig: %w", err)
	}
	return &Env{
		Config:      cfg,
		Scheme:      scheme,
		Client:      c,
		Kubeconfig:  kubeconfig,
		KubectlPath: filepath.Join(assets, "kubectl"),
		Root:        root,
		CRDs:        crds,
		StartTime:   time.Since(begin),
		tmp:         tmp,
	}, "", nil
}

// stop stops the server and removes the temporary files; it is idempotent.
func stop() error {
	stopMu.Lock()
	defer stopMu.Unlock()
	if stopped {
		return nil
	}
	stopped = true
	var err error
	if testEnv != nil {
		err = testEnv.Stop()
	}
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	return err
}

// waitEstablished waits until every CRD has the condition Established=True.
func waitEstablished(c client.Client, crds []*apiextensionsv1.CustomResourceDefinition) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs found in %s: run 'make crd'", CRDDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	out := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(crds))
	for _, crd := range crds {
		for {
			got := &apiextensionsv1.CustomResourceDefinition{}
			err := c.Get(ctx, client.ObjectKey{Name: crd.Name}, got)
			if err == nil && established(got) {
				out = append(out, got)
				break
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("CRD %s not Established after 30s (last error: %v)", crd.Name, err)
			case <-tick.C:
			}
		}
	}
	return out, nil
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// assetsDir returns the directory holding etcd, kube-apiserver and kubectl:
// $KUBEBUILDER_ASSETS when set (an error when it lacks one of them), else
// what hack/kube-assets.sh prints; skip says why there is none.
func assetsDir(root string) (dir, skip string, err error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		if missing := missingBinaries(dir); len(missing) > 0 {
			return "", "", fmt.Errorf("KUBEBUILDER_ASSETS=%s has no %s", dir, strings.Join(missing, ", "))
		}
		return dir, "", nil
	}
	script := filepath.Join(root, "hack", "kube-assets.sh")
	if _, err := exec.LookPath("bash"); err != nil {
		return "", "no bash to run hack/kube-assets.sh, and KUBEBUILDER_ASSETS is not set", nil
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Sprintf("hack/kube-assets.sh could not build kube-apiserver, kubectl and etcd (%v), and KUBEBUILDER_ASSETS is not set; its last output: %s", err, lastLines(stderr.String(), 5)), nil
	}
	dir = strings.TrimSpace(stdout.String())
	if missing := missingBinaries(dir); len(missing) > 0 {
		return "", "", fmt.Errorf("hack/kube-assets.sh printed %q, which has no %s", dir, strings.Join(missing, ", "))
	}
	return dir, "", nil
}

func missingBinaries(dir string) []string {
	var missing []string
	for _, b := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	return missing
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return "(none)"
	}
	return strings.Join(lines, " | ")
}

// repoRoot is the nearest directory above the working directory holding
// Weft's go.mod (tests run in their package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/weft-dev/weft\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/weft-dev/weft above the working directory")
		}
		dir = parent
	}
}

// Namespace creates a namespace with a fresh name for the test and returns
// its name. It is not deleted: without a namespace controller it would stay
// Terminating, and the server is discarded after the package's tests.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "kubetest-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// Kubectl runs the real kubectl against the server with args, stdin as its
// standard input ("" for none), and returns what it printed. err is non-nil
// when kubectl exits non-zero (an *exec.ExitError) or cannot run; the test
// is not failed, so that tests can assert on rejections. kubectl's discovery
// cache lives in a temporary directory.
func (e *Env) Kubectl(t testing.TB, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"--kubeconfig", e.Kubeconfig, "--cache-dir", filepath.Join(e.tmp, "kubectl-cache")}, args...)
	cmd := exec.CommandContext(ctx, e.KubectlPath, full...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.Kubeconfig)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var o, eo bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &eo
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("kubectl %s: timed out after 2m: %w", strings.Join(args, " "), err)
	}
	return o.String(), eo.String(), err
}
