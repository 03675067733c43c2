package e2e

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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
	c := &cluster{kafka: freeAddr(t), grpc: freeAddr(t), http: freeAddr(t), dataDir: t.TempDir()}
	c.startKafka(t)
	start(t, "controlplane", "controlplane", "--bootstrap-servers", c.kafka, "--grpc-addr", c.grpc, "--ops-addr=", "--ingress-url", "http://"+c.http)
	waitFor(t, "control plane", 30*time.Second, func() (bool, string) {
		return dialable(c.grpc), "not listening"
	})
	start(t, "ingress", "ingress", "--bootstrap-servers", c.kafka, "--control-plane", c.grpc, "--http-addr", c.http, "--ops-addr=")
	return c
}

// startKafka starts (or restarts) the Kafka-protocol server on the
// cluster's address and data directory.
func (c *cluster) startKafka(t *testing.T) {
	c.kafkaProc = start(t, "kafka", "weft", "kafka", "--addr", c.kafka, "--data-dir", filepath.Join(c.dataDir, "kafka"))
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
	waitFor(t, "ingress serves the broker", 30*time.Second, func() (bool, string) {
		code := post(t, "http://"+c.http+"/kill/default", "warmup", "warmup", "e2e", `{}`)
		return code == http.StatusAccepted, fmt.Sprint(code)
	})

	var res *loadResult
	loadDone := make(chan struct{})
	go func() { res = runLoad(t, "http://"+c.http+"/kill/default", "ev", n, 16); close(loadDone) }()
	waitFor(t, "a quarter of the events delivered", 120*time.Second, func() (bool, string) {
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
	waitFor(t, "every acknowledged event delivered", 180*time.Second, func() (bool, string) {
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

func dialable(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
