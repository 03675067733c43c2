package e2e

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
)

// The Kafka-protocol server is killed (SIGKILL) under a steady load and
// started again on the same data: the ingress answers errors meanwhile,
// never a 202 for an event it did not store, and every event answered 202
// before, during or after is delivered.
func TestKafkaRestartUnderLoad(t *testing.T) {
	sub := newSubscriber(t)
	c := startCluster(t)
	c.startDispatcher(t, "dispatcher-1")
	weftCLI(t, c.grpc, fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: restart}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: all, namespace: restart}
spec:
  broker: default
  subscriber: {uri: "%s/restart"}
`, sub.srv.URL), "apply", "-f", "-")
	waitReady(t, c.grpc, "restart", 1)
	url := "http://" + c.http + "/restart/default"
	testutil.Eventually(t, 30*time.Second, "ingress serves the broker", func() (bool, string) {
		code := post(t, url, "warmup", "warmup", "e2e", `{}`)
		return code == http.StatusAccepted, fmt.Sprint(code)
	})
	delivered := func() map[string]int {
		m := map[string]int{}
		for _, r := range sub.list("/restart") {
			m[r.ID]++
		}
		return m
	}

	load := startSteadyLoad([]string{url}, "kr", "load", 8, 10*time.Millisecond)
	defer func() {
		select {
		case <-load.stop:
		default:
			load.Stop()
		}
	}()
	testutil.Eventually(t, 60*time.Second, "500 events delivered before the restart", func() (bool, string) {
		n := len(delivered())
		return n >= 500, fmt.Sprint(n)
	})
	c.kafkaProc.stop(syscall.SIGKILL)
	ackedAtKill, _, _ := load.snapshot()
	testutil.Eventually(t, 60*time.Second, "the ingress to refuse events while Kafka is down", func() (bool, string) {
		_, _, st := load.snapshot()
		return st["503"] > 0, fmt.Sprint(st)
	})
	c.startKafka(t)
	testutil.Eventually(t, 90*time.Second, "202s again after the restart", func() (bool, string) {
		acked, _, st := load.snapshot()
		return len(acked) >= len(ackedAtKill)+500, fmt.Sprintf("%d acknowledged, %d at the kill, others %v", len(acked), len(ackedAtKill), st)
	})
	load.Stop()
	acked, _, _ := load.snapshot()
	testutil.Eventually(t, 120*time.Second, "every acknowledged event delivered", func() (bool, string) {
		n := missing(acked, delivered())
		return n == 0, fmt.Sprintf("%d acknowledged events not delivered", n)
	})
	row := tally("kafka-protocol server SIGKILL + restart (loopback)", load.loadResult, delivered())
	t.Logf("\n%s", faultTable([]faultRow{row}))
	if row.Lost != 0 {
		t.Fatalf("%d acknowledged events lost", row.Lost)
	}
}
