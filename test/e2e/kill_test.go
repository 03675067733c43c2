package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
)

// cluster is the mesh as separate processes: the Kafka-protocol server, a
// control plane, an ingress and dispatchers.
type cluster struct {
	kafka, grpc, http string
	dataDir           string
	kafkaProc         *proc
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{dataDir: t.TempDir()}
	c.startKafka(t)
	// Every process binds a port the kernel picks and logs it. The control
	// plane starts before the ingress, so the broker URLs in its status name
	// a placeholder; these tests post to the ingress's real address.
	cp := start(t, "controlplane", "controlplane", "--bootstrap-servers", c.kafka, "--grpc-addr", "127.0.0.1:0", "--ops-addr=",
		"--ingress-url", "http://ingress.e2e.invalid")
	c.grpc = cp.waitLine(t, `"msg":"control plane serving".*"grpc":"([^"]+)"`, 30*time.Second)[1]
	in := start(t, "ingress", "ingress", "--bootstrap-servers", c.kafka, "--control-plane", c.grpc, "--http-addr", "127.0.0.1:0", "--ops-addr=")
	c.http = in.waitLine(t, `"msg":"ingress listening".*"addr":"([^"]+)"`, 30*time.Second)[1]
	return c
}

// startKafka starts the Kafka-protocol server on a port the kernel picks,
// or restarts it on the port and data directory of the first start.
func (c *cluster) startKafka(t *testing.T) {
	addr := c.kafka
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	c.kafkaProc = start(t, "kafka", "weft", "kafka", "--addr", addr, "--data-dir", filepath.Join(c.dataDir, "kafka"))
	c.kafka = c.kafkaProc.waitLine(t, `^kafka-protocol server listening on (\S+)`, 30*time.Second)[1]
	c.kafkaProc.waitLine(t, `^ready`, 30*time.Second)
}

func (c *cluster) startDispatcher(t *testing.T, name string) *proc {
	return start(t, name, "dispatcher", "--bootstrap-servers", c.kafka, "--control-plane", c.grpc, "--ops-addr=",
		"--process-id", name, "--session-timeout", "6s")
}

// SIGKILL a dispatcher in the middle of 10,000 events and start it again:
// every acknowledged event is delivered at least once.
func TestDispatcherKilledMidStream(t *testing.T) {
	const n = 10000
	sub := newSubscriber(t)
	c := startCluster(t)
	d1 := c.startDispatcher(t, "dispatcher-1")
	manifest := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: kill}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: all, namespace: kill}
spec:
  broker: default
  subscriber: {uri: "%s/kill"}
`, sub.srv.URL)
	weftCLI(t, c.grpc, manifest, "apply", "-f", "-")
	waitReady(t, c.grpc, "kill", 1)
	testutil.Eventually(t, 30*time.Second, "ingress serves the broker", func() (bool, string) {
		code := post(t, "http://"+c.http+"/kill/default", "warmup", "warmup", "e2e", `{}`)
		return code == http.StatusAccepted, fmt.Sprint(code)
	})

	var res *loadResult
	loadDone := make(chan struct{})
	go func() { res = runLoad(t, "http://"+c.http+"/kill/default", "ev", n, 16); close(loadDone) }()
	testutil.Eventually(t, 120*time.Second, "a quarter of the events delivered", func() (bool, string) {
		_, distinct, _ := sub.count("/kill")
		return distinct >= n/4, fmt.Sprint(distinct)
	})
	d1.stop(syscall.SIGKILL)
	_, atKill, _ := sub.count("/kill")
	c.startDispatcher(t, "dispatcher-2")
	<-loadDone

	res.mu.Lock()
	acked := len(res.acked)
	statuses := fmt.Sprint(res.statuses)
	res.mu.Unlock()
	if acked < n*9/10 {
		t.Fatalf("only %d of %d events acknowledged (%s)", acked, n, statuses)
	}
	testutil.Eventually(t, 180*time.Second, "every acknowledged event delivered", func() (bool, string) {
		missing := 0
		got := map[string]bool{}
		for _, r := range sub.list("/kill") {
			got[r.ID] = true
		}
		for id := range res.acked {
			if !got[id] {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d acknowledged events not delivered yet", missing)
	})
	total, distinct, dups := sub.count("/kill")
	t.Logf("sent %d, acknowledged %d (others: %s), delivered %d distinct (%d total), duplicates %d (events delivered twice or more: %d), delivered before the kill: %d, lost 0",
		res.sent.Load(), acked, statuses, distinct, total, total-distinct, len(dups), atKill)
}

// SIGKILL a dispatcher while 100 triggers of one broker consume (each
// trigger's progress is its own, fanned out from one shared read) and start
// another: every trigger gets every acknowledged event.
func TestDispatcherKilledWith100Triggers(t *testing.T) {
	const n, triggers = 300, 100
	sub := newSubscriber(t)
	c := startCluster(t)
	d1 := c.startDispatcher(t, "dispatcher-1")
	var manifest strings.Builder
	manifest.WriteString("apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default, namespace: kill100}\n")
	for i := range triggers {
		fmt.Fprintf(&manifest, "---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: t%03d, namespace: kill100}\nspec:\n  broker: default\n  subscriber: {uri: \"%s/t%03d\"}\n", i, sub.srv.URL, i)
	}
	weftCLI(t, c.grpc, manifest.String(), "apply", "-f", "-")
	waitReady(t, c.grpc, "kill100", triggers)
	url := "http://" + c.http + "/kill100/default"
	testutil.Eventually(t, 30*time.Second, "ingress serves the broker", func() (bool, string) {
		code := post(t, url, "warmup", "warmup", "e2e", `{}`)
		return code == http.StatusAccepted, fmt.Sprint(code)
	})

	var res *loadResult
	loadDone := make(chan struct{})
	go func() { res = runLoad(t, url, "ev", n, 8); close(loadDone) }()
	testutil.Eventually(t, 120*time.Second, "a quarter of the events delivered to the last trigger", func() (bool, string) {
		_, distinct, _ := sub.count(fmt.Sprintf("/t%03d", triggers-1))
		return distinct >= n/4, fmt.Sprint(distinct)
	})
	d1.stop(syscall.SIGKILL)
	c.startDispatcher(t, "dispatcher-2")
	<-loadDone

	res.mu.Lock()
	acked := make([]string, 0, len(res.acked))
	for id := range res.acked {
		acked = append(acked, id)
	}
	res.mu.Unlock()
	if len(acked) < n*9/10 {
		t.Fatalf("only %d of %d events acknowledged", len(acked), n)
	}
	testutil.Eventually(t, 180*time.Second, "every trigger got every acknowledged event", func() (bool, string) {
		for i := range triggers {
			path := fmt.Sprintf("/t%03d", i)
			got := map[string]bool{}
			for _, r := range sub.list(path) {
				got[r.ID] = true
			}
			for _, id := range acked {
				if !got[id] {
					return false, fmt.Sprintf("trigger t%03d lacks %s (and maybe more)", i, id)
				}
			}
		}
		return true, ""
	})
	var total, dups int
	for i := range triggers {
		tt, distinct, _ := sub.count(fmt.Sprintf("/t%03d", i))
		total += tt
		dups += tt - distinct
	}
	t.Logf("%d events acknowledged, %d triggers each got all of them: %d deliveries, %d duplicates, 0 lost", len(acked), triggers, total, dups)
}
