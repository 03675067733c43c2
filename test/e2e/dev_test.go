package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
)

// devMesh is a running `weft dev` process.
type devMesh struct {
	proc              *proc
	grpc, http, kafka string
}

func startDev(t *testing.T, serviceTemplate string) *devMesh {
	t.Helper()
	return runDev(t, "--data-dir", filepath.Join(t.TempDir(), "data"), "--service-url-template", serviceTemplate, "--log-level", "info")
}

// runDev starts `weft dev` with args on ports the kernel picks (unless args
// name them) and reads the bound addresses from its banner.
func runDev(t *testing.T, args ...string) *devMesh {
	t.Helper()
	args = append([]string{"dev", "--kafka-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--console-addr", "127.0.0.1:0"}, args...)
	d := &devMesh{proc: start(t, "weft dev", "weft", args...)}
	d.kafka = d.proc.waitLine(t, `^\s+kafka:\s+(\S+)`, 60*time.Second)[1]
	d.grpc = d.proc.waitLine(t, `^\s+control plane:\s+(\S+)`, 10*time.Second)[1]
	d.http = d.proc.waitLine(t, `^\s+ingress:\s+http://([^/]+)/`, 10*time.Second)[1]
	d.proc.waitLine(t, `^ready`, 10*time.Second)
	return d
}

func (d *devMesh) url(ns, broker string) string { return "http://" + d.http + "/" + ns + "/" + broker }

// post sends a binary-mode event the way the Knative walk-through's curl does.
func post(t *testing.T, url, id, typ, source string, data string, headers ...string) int {
	t.Helper()
	code, err := sendBinary(http.DefaultClient, url, id, typ, source, data, headers...)
	if err != nil {
		t.Fatalf("post %s: %v", id, err)
	}
	return code
}

// sendBinary posts a binary-mode event with JSON data through cl, headers
// (name, value pairs) added, and returns the status code.
func sendBinary(cl *http.Client, url, id, typ, source, data string, headers ...string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(data))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Ce-Id", id)
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Type", typ)
	req.Header.Set("Ce-Source", source)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// postStructured sends a structured-mode event (application/cloudevents+json).
func postStructured(t *testing.T, url, id, typ, source string) int {
	t.Helper()
	body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"type":%q,"source":%q,"datacontenttype":"application/json","data":{"msg":"Hello Knative!"}}`, id, typ, source)
	resp, err := http.Post(url, "application/cloudevents+json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReady waits until `weft get triggers` shows every trigger of ns Ready.
func waitReady(t *testing.T, server, ns string, n int) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, "triggers Ready in "+ns, func() (bool, string) {
		out := weftCLI(t, server, "", "get", "triggers", "-n", ns)
		return strings.Count(out, " True ") == n, out
	})
}

// The Knative getting-started walk-through, through `weft dev`, the real CLI
// and real HTTP subscribers.
func TestWalkthroughThroughWeftDev(t *testing.T) {
	sub := newSubscriber(t)
	d := startDev(t, sub.srv.URL+"/{name}")
	manifest, err := os.ReadFile(filepath.Join("..", "..", "pkg", "apis", "testdata", "walkthrough.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := weftCLI(t, d.grpc, string(manifest), "apply", "-f", "-")
	if !strings.Contains(out, "trigger.eventing.knative.dev/goodbye-display created") {
		t.Fatalf("apply: %s", out)
	}
	waitReady(t, d.grpc, "event-example", 2)
	out = weftCLI(t, d.grpc, "", "get", "triggers", "-n", "event-example")
	for _, want := range []string{sub.srv.URL + "/hello-display", sub.srv.URL + "/goodbye-display"} {
		if !strings.Contains(out, want) {
			t.Errorf("get triggers lacks %s:\n%s", want, out)
		}
	}

	url := d.url("event-example", "default")
	if code := post(t, url, "say-hello", "greeting", "not-sendoff", `{"msg":"Hello Knative!"}`); code != http.StatusAccepted {
		t.Fatalf("say-hello: %d", code)
	}
	if code := post(t, url, "say-goodbye", "not-greeting", "sendoff", `{"msg":"Goodbye Knative!"}`); code != http.StatusAccepted {
		t.Fatalf("say-goodbye: %d", code)
	}
	if code := postStructured(t, url, "say-hello-goodbye", "greeting", "sendoff"); code != http.StatusAccepted {
		t.Fatalf("say-hello-goodbye (structured): %d", code)
	}
	testutil.Eventually(t, 30*time.Second, "both subscribers", func() (bool, string) {
		h, g := sub.ids("/hello-display"), sub.ids("/goodbye-display")
		return h == "say-hello,say-hello-goodbye" && g == "say-goodbye,say-hello-goodbye", h + " | " + g
	})
	// A last event for both: once it arrived, nothing else is in flight.
	post(t, url, "zz-last", "greeting", "sendoff", `{}`)
	testutil.Eventually(t, 30*time.Second, "the last event", func() (bool, string) {
		return strings.HasSuffix(sub.ids("/hello-display"), "zz-last") && strings.HasSuffix(sub.ids("/goodbye-display"), "zz-last"), ""
	})
	if h := sub.ids("/hello-display"); h != "say-hello,say-hello-goodbye,zz-last" {
		t.Errorf("hello-display got %s", h)
	}
	if g := sub.ids("/goodbye-display"); g != "say-goodbye,say-hello-goodbye,zz-last" {
		t.Errorf("goodbye-display got %s", g)
	}
	for _, r := range sub.list("/hello-display") {
		if _, ok := r.Ext["knativearrivaltime"]; !ok {
			t.Errorf("%s has no knativearrivaltime: %v", r.ID, r.Ext)
		}
	}
}

// Delivery through `weft dev`: retries with backoff, dead letters, no retry
// on 400, a reply chain, and ordered delivery.
func TestDeliveryThroughWeftDev(t *testing.T) {
	sub := newSubscriber(t)
	var mu sync.Mutex
	attempts := map[string][]time.Time{}
	sub.respond = func(path, id string, n int) int {
		mu.Lock()
		attempts[path+"/"+id] = append(attempts[path+"/"+id], time.Now())
		k := len(attempts[path+"/"+id])
		mu.Unlock()
		switch path {
		case "/flaky":
			if k <= 3 {
				return http.StatusServiceUnavailable
			}
		case "/broken":
			return http.StatusInternalServerError
		case "/picky":
			return http.StatusBadRequest
		}
		return http.StatusOK
	}
	sub.replyType["/replier"] = "order.confirmed"
	d := startDev(t, "http://unused.invalid/{name}")
	s := sub.srv.URL
	manifest := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: delivery}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: flaky, namespace: delivery}
spec:
  broker: default
  filter: {attributes: {type: flaky}}
  subscriber: {uri: "%[1]s/flaky"}
  delivery: {retry: 5, backoffPolicy: exponential, backoffDelay: PT0.1S}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: broken, namespace: delivery}
spec:
  broker: default
  filter: {attributes: {type: broken}}
  subscriber: {uri: "%[1]s/broken"}
  delivery: {retry: 2, backoffDelay: PT0.05S, deadLetterSink: {uri: "%[1]s/dead"}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: picky, namespace: delivery}
spec:
  broker: default
  filter: {attributes: {type: picky}}
  subscriber: {uri: "%[1]s/picky"}
  delivery: {retry: 5, backoffDelay: PT0.05S, deadLetterSink: {uri: "%[1]s/dead-picky"}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: placed, namespace: delivery}
spec:
  broker: default
  filters: [{exact: {type: order.placed}}]
  subscriber: {uri: "%[1]s/replier"}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: confirmed, namespace: delivery}
spec:
  broker: default
  filters: [{cesql: "type = 'order.confirmed' AND source LIKE 'e2e-%%'"}]
  subscriber: {uri: "%[1]s/confirmed"}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ordered
  namespace: delivery
  annotations: {kafka.eventing.knative.dev/delivery.order: ordered}
spec:
  broker: default
  filter: {attributes: {type: seq}}
  subscriber: {uri: "%[1]s/ordered"}
`, s)
	weftCLI(t, d.grpc, manifest, "apply", "-f", "-")
	waitReady(t, d.grpc, "delivery", 6)
	url := d.url("delivery", "default")

	t.Run("retries with exponential backoff", func(t *testing.T) {
		post(t, url, "f1", "flaky", "e2e", `{}`)
		testutil.Eventually(t, 30*time.Second, "flaky delivered", func() (bool, string) { return sub.ids("/flaky") == "f1", sub.ids("/flaky") })
		mu.Lock()
		at := attempts["/flaky/f1"]
		mu.Unlock()
		if len(at) != 4 {
			t.Fatalf("%d attempts, want 4", len(at))
		}
		for i := 1; i < 4; i++ {
			gap, want := at[i].Sub(at[i-1]), 100*time.Millisecond<<i // delay×2^n
			if gap < want || gap > want+want/2+300*time.Millisecond {
				t.Errorf("gap before retry %d = %v, want %v (+20%% jitter, + scheduling)", i, gap, want)
			}
		}
	})
	t.Run("dead letter after retries", func(t *testing.T) {
		post(t, url, "b1", "broken", "e2e", `{}`)
		testutil.Eventually(t, 30*time.Second, "dead letter", func() (bool, string) { return sub.ids("/dead") == "b1", sub.ids("/dead") })
		r := sub.list("/dead")[0]
		wantData := base64.StdEncoding.EncodeToString([]byte("subscriber says 500"))
		if r.Ext["knativeerrordest"] != s+"/broken" || r.Ext["knativeerrorcode"] != "500" || r.Ext["knativeerrordata"] != wantData {
			t.Errorf("dead letter extensions: %v", r.Ext)
		}
		mu.Lock()
		n := len(attempts["/broken/b1"])
		mu.Unlock()
		if n != 3 {
			t.Errorf("broken subscriber saw %d attempts, want 3 (1 + 2 retries)", n)
		}
	})
	t.Run("400 is not retried", func(t *testing.T) {
		post(t, url, "p1", "picky", "e2e", `{}`)
		testutil.Eventually(t, 30*time.Second, "dead letter of 400", func() (bool, string) { return sub.ids("/dead-picky") == "p1", sub.ids("/dead-picky") })
		mu.Lock()
		n := len(attempts["/picky/p1"])
		mu.Unlock()
		if n != 1 {
			t.Errorf("400 attempted %d times, want 1", n)
		}
	})
	t.Run("reply chain", func(t *testing.T) {
		post(t, url, "o1", "order.placed", "e2e", `{"order":1}`)
		testutil.Eventually(t, 30*time.Second, "reply delivered to the second trigger", func() (bool, string) {
			return sub.ids("/confirmed") == "reply-to-o1", sub.ids("/confirmed")
		})
		r := sub.list("/confirmed")[0]
		if r.Type != "order.confirmed" || string(r.Data) != `{"in-reply-to":"o1"}` {
			t.Errorf("reply: %+v", r)
		}
	})
	t.Run("1000 events with one partition key arrive in order", func(t *testing.T) {
		const n = 1000
		for i := 0; i < n; i++ {
			if code := post(t, url, fmt.Sprintf("seq-%04d", i), "seq", "e2e", `{}`, "Ce-Partitionkey", "one-key"); code != http.StatusAccepted {
				t.Fatalf("post %d: %d", i, code)
			}
		}
		testutil.Eventually(t, 60*time.Second, "all ordered events", func() (bool, string) {
			total, _, _ := sub.count("/ordered")
			return total >= n, fmt.Sprint(total)
		})
		got := sub.list("/ordered")
		for i, r := range got {
			if want := fmt.Sprintf("seq-%04d", i); r.ID != want {
				t.Fatalf("event %d is %s, want %s (out of order)", i, r.ID, want)
			}
		}
	})
}

// `weft dev` stops cleanly on Ctrl-C, and a restart on the same data dir
// keeps resources and events: an event stored before the restart is
// delivered to a trigger created after it with initial offset earliest.
func TestWeftDevRestartKeepsState(t *testing.T) {
	sub := newSubscriber(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	// The first run picks free ports; the restart binds the same ones.
	first := runDev(t, "--data-dir", dataDir)
	p := first.proc
	run := func() *proc {
		return runDev(t, "--kafka-addr", first.kafka, "--grpc-addr", first.grpc, "--http-addr", first.http, "--data-dir", dataDir).proc
	}
	grpc, url := first.grpc, first.url("restart", "default")
	weftCLI(t, grpc, "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default, namespace: restart}\n", "apply", "-f", "-")
	testutil.Eventually(t, 30*time.Second, "broker served", func() (bool, string) {
		code := post(t, url, "before-restart", "kept", "e2e", `{"n":1}`)
		return code == http.StatusAccepted, fmt.Sprint(code)
	})
	p.stop(syscall.SIGINT)
	if p.err != nil {
		t.Fatalf("weft dev exited with %v after Ctrl-C", p.err)
	}
	if !strings.Contains(p.output(), "stopped") {
		t.Errorf("no 'stopped' line after Ctrl-C")
	}

	run()
	out := weftCLI(t, grpc, "", "get", "brokers", "-n", "restart")
	if !strings.Contains(out, "default") {
		t.Fatalf("broker gone after restart:\n%s", out)
	}
	weftCLI(t, grpc, fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: replay
  namespace: restart
  annotations: {weft.dev/initial-offset: earliest}
spec:
  broker: default
  filter: {attributes: {type: kept}}
  subscriber: {uri: "%s/replay"}
`, sub.srv.URL), "apply", "-f", "-")
	testutil.Eventually(t, 30*time.Second, "the event stored before the restart", func() (bool, string) {
		return sub.ids("/replay") == "before-restart", sub.ids("/replay")
	})
}
