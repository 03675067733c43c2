package dev_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/weft-dev/weft/internal/dev"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// chromiumPath finds Chromium, installing Debian's package when it is
// missing; it skips the test, loudly, only when that fails.
var chromiumPath = sync.OnceValues(func() (string, error) {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sh", "-c", "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium").CombinedOutput()
	if err != nil {
		tail := string(out)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return "", fmt.Errorf("apt-get install chromium: %v\n%s", err, tail)
	}
	return exec.LookPath("chromium")
})

// browser returns a headless Chromium tab context.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		t.Skipf("!!! SKIPPING THE BROWSER TEST: Chromium is not installed and could not be installed: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1500, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifactDir is where screenshots go: $WEFT_TEST_ARTIFACTS, else a temp dir.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("WEFT_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func toProto(t testing.TB, objs []apis.Object) []*weftv1.Object {
	t.Helper()
	out := make([]*weftv1.Object, 0, len(objs))
	for _, o := range objs {
		b, err := apis.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		tm, m := o.GetTypeMeta(), o.GetObjectMeta()
		out = append(out, &weftv1.Object{ApiVersion: tm.APIVersion, Kind: tm.Kind, Namespace: m.Namespace, Name: m.Name, Json: b})
	}
	return out
}

func apply(t testing.TB, grpcAddr string, objs []apis.Object) {
	t.Helper()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := weftv1.NewControlPlaneClient(conn)
	for len(objs) > 0 {
		n := min(len(objs), 200)
		if _, err := cl.Apply(ctx, &weftv1.ApplyRequest{Objects: toProto(t, objs[:n])}); err != nil {
			t.Fatalf("apply: %v", err)
		}
		objs = objs[n:]
	}
}

// TestConsoleInBrowser loads the console of an in-process `weft dev`
// holding the walk-through, checks the graph, posts an event and waits for
// it in the live tail.
func TestConsoleInBrowser(t *testing.T) {
	bctx := browser(t)
	display := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	t.Cleanup(display.Close)

	cfg := dev.DefaultConfig()
	cfg.KafkaAddr, cfg.GRPCAddr, cfg.HTTPAddr, cfg.ConsoleAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.DataDir = ""
	cfg.ServiceURLTemplate = display.URL + "/{name}"
	ctx, cancel := context.WithCancel(context.Background())
	addrsc := make(chan dev.Addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- dev.Run(ctx, cfg, testutil.Logger(t), nil, io.Discard, func(a dev.Addrs) { addrsc <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("weft dev: %v", err)
		}
	})
	var addrs dev.Addrs
	select {
	case addrs = <-addrsc:
	case err := <-done:
		t.Fatalf("weft dev stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("weft dev not ready in 60s")
	}
	walk, err := os.ReadFile("../../pkg/apis/testdata/walkthrough.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := apis.DecodeManifests(walk)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, addrs.GRPC, objs)

	url := "http://" + addrs.Console + "/#token=" + addrs.ConsoleToken
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(`#graph[data-rendered="1"]`)); err != nil {
		t.Fatalf("load console: %v", err)
	}
	for _, id := range []string{
		"Broker/event-example/default",
		"Trigger/event-example/hello-display", "Trigger/event-example/goodbye-display",
		"ref:Service/event-example/hello-display", "ref:Service/event-example/goodbye-display",
	} {
		sel := fmt.Sprintf(`#graph .node[data-id=%q]`, id)
		if err := chromedp.Do(bctx, chromedp.WaitVisible(sel)); err != nil {
			t.Fatalf("graph has no node %s: %v", id, err)
		}
	}
	// The triggers become Ready once the dispatcher runs them.
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](
		`document.querySelectorAll('#graph .node[data-kind="Trigger"][data-ready="True"]').length === 2`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("triggers not shown Ready: %v", err)
	}

	// Live tail: start it on the broker, post, see the event within 2 s.
	if err := chromedp.Do(bctx,
		chromedp.Click(`#graph .node[data-id="Broker/event-example/default"]`),
		chromedp.WaitVisible(`#detail-yaml`),
		chromedp.Click(`#tail-start`),
		chromedp.WaitVisible(`#tail-status[data-state="ready"]`)); err != nil {
		t.Fatalf("start the live tail: %v", err)
	}
	posted := time.Now()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addrs.HTTP+"/event-example/default", strings.NewReader(`{"msg":"Hello Knative!"}`))
	for k, v := range map[string]string{"Ce-Id": "say-hello", "Ce-Specversion": "1.0", "Ce-Type": "greeting", "Ce-Source": "not-sendoff", "Content-Type": "application/json"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("post: %d", resp.StatusCode)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`!!document.querySelector('#tail-events li[data-id="say-hello"]')`,
		chromedp.WithPollingTimeout(2*time.Second), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatalf("event not in the live tail within 2s: %v", err)
	}
	t.Logf("event in the live tail %v after the POST", time.Since(posted).Round(time.Millisecond))

	png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifactDir(t), "console.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	if os.Getenv("WEFT_UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile("../../docs/console.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsoleLoadTime measures the console's load (navigation start to
// graph rendered) on a control plane with 100 brokers and 1,000 triggers.
func TestConsoleLoadTime(t *testing.T) {
	bctx := browser(t)
	k := testutil.StartKafka(t)
	cfg := controlplane.DefaultConfig()
	cfg.Kafka = testutil.KafkaConfig(k)
	cfg.GRPCAddr, cfg.OpsAddr = "127.0.0.1:0", ""
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := controlplane.New(t.Context(), cfg, controlplane.WithHTTPListener(httpLn), controlplane.WithHTTPToken("load-token"))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "control plane", srv.Run)

	var objs []apis.Object
	for b := range 100 {
		objs = append(objs, &apis.Broker{TypeMeta: apis.TypeMeta{APIVersion: apis.EventingV1, Kind: apis.KindBroker},
			ObjectMeta: apis.ObjectMeta{Namespace: "load", Name: fmt.Sprintf("broker-%03d", b)}})
	}
	for i := range 1000 {
		objs = append(objs, &apis.Trigger{TypeMeta: apis.TypeMeta{APIVersion: apis.EventingV1, Kind: apis.KindTrigger},
			ObjectMeta: apis.ObjectMeta{Namespace: "load", Name: fmt.Sprintf("trigger-%04d", i)},
			Spec: apis.TriggerSpec{Broker: fmt.Sprintf("broker-%03d", i%100),
				Filter:     &apis.TriggerFilter{Attributes: map[string]string{"type": fmt.Sprintf("type-%d", i%10)}},
				Subscriber: apis.Destination{URI: fmt.Sprintf("http://subscriber-%04d.load.svc/", i)}}})
	}
	start := time.Now()
	apply(t, srv.Addr(), objs)
	t.Logf("applied 100 brokers and 1,000 triggers in %v", time.Since(start).Round(time.Millisecond))

	url := "http://" + srv.HTTPAddr() + "/#token=load-token"
	// Once to warm the browser's process, then measured.
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(`#graph[data-rendered="1"]`)); err != nil {
		t.Fatal(err)
	}
	var best time.Duration
	for i := range 3 {
		if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
		wall := time.Now()
		if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(`#graph[data-rendered="1"]`)); err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(wall)
		ms, err := chromedp.Run(bctx, chromedp.AttributeValue(`#graph`, "data-render-ms"))
		if err != nil {
			t.Fatal(err)
		}
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#graph .node').length`))
		if err != nil {
			t.Fatal(err)
		}
		var inPage time.Duration
		fmt.Sscan(ms.Value, &inPage)
		inPage *= time.Millisecond
		t.Logf("load %d: navigation start to graph rendered %v (in page), %v (test's wall clock, with chromedp's navigation and DOM query); %d nodes", i+1, inPage, elapsed.Round(time.Millisecond), n)
		if n < 2100 {
			t.Fatalf("graph has %d nodes, want 100 brokers + 1,000 triggers + 1,000 subscribers", n)
		}
		if i == 0 || inPage < best {
			best = inPage
		}
	}
	t.Logf("console load with 100 brokers and 1,000 triggers: %v (best of 3)", best)
	if best >= time.Second {
		t.Errorf("page load %v (best of 3), want < 1s", best)
	}
}
