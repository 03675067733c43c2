//go:build compose

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
)

// The compose fault suite: the cluster of docker-compose.yaml with the Weft
// Kafka-protocol server (deploy/compose/weft-kafka.yaml), brought up from the
// images `make images` builds, and each fault under a steady load. Run it
// with `make fault`.

const faultTrigger = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: %s, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: %s}}
  subscriber: {uri: "http://sink:8080/%s"}
  delivery: {retry: 10, backoffPolicy: exponential, backoffDelay: PT0.5S, timeout: PT2S}
`

type composeCluster struct {
	t                *testing.T
	cmd              []string
	project, root    string
	env              []string
	grpc, ing1, ing2 string
	sink             *sinkLog
}

// sinkLog follows the sink's log (one JSON event per line) and counts the
// deliveries of each id.
type sinkLog struct {
	mu  sync.Mutex
	ids map[string]int
}

func (s *sinkLog) deliveries(prefix string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int{}
	for id, n := range s.ids {
		if strings.HasPrefix(id, prefix+"-") {
			m[id] = n
		}
	}
	return m
}

func composeCommand(t *testing.T) []string {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	t.Fatal("neither `docker compose` nor docker-compose is installed")
	return nil
}

// portOr returns 127.0.0.1:def when that port is free, else a free port:
// the suite uses the documented ports (localhost:8080) when it can.
func portOr(t *testing.T, def int) string {
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", def)); err == nil {
		l.Close()
		return l.Addr().String()
	}
	return freeAddr(t)
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

func upCompose(t *testing.T) *composeCluster {
	for _, img := range []string{"controlplane", "ingress", "dispatcher", "weft"} {
		if err := exec.Command("docker", "image", "inspect", "weft/"+img+":dev").Run(); err != nil {
			t.Fatalf("image weft/%s:dev is missing: run `make images` first (make fault does)", img)
		}
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	c := &composeCluster{t: t, cmd: composeCommand(t), root: root, project: fmt.Sprintf("weftfault%d", os.Getpid()),
		grpc: portOr(t, 9090), ing1: portOr(t, 8080), ing2: portOr(t, 8090)}
	c.env = append(os.Environ(), "WEFT_GRPC_PORT="+port(c.grpc), "WEFT_INGRESS_PORT="+port(c.ing1),
		"WEFT_INGRESS_2_PORT="+port(c.ing2), "WEFT_SESSION_TIMEOUT=6s")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := c.run("logs", "--no-color", "--tail", "60")
			t.Logf("---- compose logs ----\n%s", out)
		}
		if out, err := c.run("down", "-v", "--remove-orphans", "-t", "5"); err != nil {
			t.Logf("compose down: %v\n%s", err, out)
		}
	})
	c.must("up", "-d")
	testutil.Eventually(t, 120*time.Second, "the apply service to finish", func() (bool, string) {
		out, _ := exec.Command("docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", c.container("apply")).CombinedOutput()
		return strings.TrimSpace(string(out)) == "exited 0", string(out)
	})
	c.sink = c.follow("sink")
	return c
}

func (c *composeCluster) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	full := append(append([]string{}, c.cmd[1:]...), "-p", c.project, "-f", "docker-compose.yaml",
		"-f", "deploy/compose/weft-kafka.yaml", "-f", "test/e2e/testdata/compose-fault.yaml")
	cmd := exec.CommandContext(ctx, c.cmd[0], append(full, args...)...)
	cmd.Dir, cmd.Env = c.root, c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *composeCluster) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// container is the id of a service's container.
func (c *composeCluster) container(svc string) string {
	c.t.Helper()
	return strings.TrimSpace(c.must("ps", "-q", svc))
}

func (c *composeCluster) docker(args ...string) string {
	c.t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (c *composeCluster) waitHealthy(svc string) {
	c.t.Helper()
	id := c.container(svc)
	testutil.Eventually(c.t, 90*time.Second, svc+" healthy", func() (bool, string) {
		out, _ := exec.Command("docker", "inspect", "-f", "{{.State.Health.Status}}", id).CombinedOutput()
		s := strings.TrimSpace(string(out))
		return s == "healthy", s
	})
}

// follow streams a service's log and counts the event ids it prints.
func (c *composeCluster) follow(svc string) *sinkLog {
	s := &sinkLog{ids: map[string]int{}}
	cmd := exec.Command("docker", "logs", "-f", c.container(svc))
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var ev struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.ID != "" {
				s.mu.Lock()
				s.ids[ev.ID]++
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// parked counts the events the dispatchers have moved to the retry topic,
// from their logs.
func (c *composeCluster) parked() int {
	n := 0
	for _, svc := range []string{"dispatcher-1", "dispatcher-2"} {
		out, _ := exec.Command("docker", "logs", c.container(svc)).CombinedOutput()
		n += strings.Count(string(out), "waits for its retry in the retry topic")
	}
	return n
}

func (c *composeCluster) urls() []string {
	return []string{"http://" + c.ing1 + "/default/default", "http://" + c.ing2 + "/default/default"}
}

// scenario runs fault under a steady load on both ingresses, then waits
// until every acknowledged event is delivered and returns the counts.
func (c *composeCluster) scenario(name, prefix string, fault func(l *steadyLoad)) faultRow {
	t := c.t
	t.Helper()
	l := startSteadyLoad(c.urls(), prefix, "weft.fault", 4, 20*time.Millisecond)
	stopped := false
	defer func() {
		if !stopped {
			l.Stop()
		}
	}()
	testutil.Eventually(t, 60*time.Second, name+": steady delivery before the fault", func() (bool, string) {
		n := len(c.sink.deliveries(prefix))
		return n >= 100, fmt.Sprint(n)
	})
	fault(l)
	before, _, _ := l.snapshot()
	testutil.Eventually(t, 120*time.Second, name+": 200 more events acknowledged after the fault", func() (bool, string) {
		acked, _, st := l.snapshot()
		return len(acked) >= len(before)+200, fmt.Sprintf("%d acknowledged, others %v", len(acked), st)
	})
	l.Stop()
	stopped = true
	acked, _, _ := l.snapshot()
	testutil.Eventually(t, 180*time.Second, name+": every acknowledged event delivered", func() (bool, string) {
		n := missing(acked, c.sink.deliveries(prefix))
		return n == 0, fmt.Sprintf("%d of %d acknowledged events not delivered", n, len(acked))
	})
	row := tally(name, l.loadResult, c.sink.deliveries(prefix))
	if row.Lost != 0 {
		t.Errorf("%s: %d acknowledged events lost", name, row.Lost)
	}
	t.Logf("%s: sent %d, acknowledged %d, other answers %q, delivered %d, duplicates %d, lost %d",
		name, row.Sent, row.Acked, row.Others, row.Delivered, row.Duplicates, row.Lost)
	return row
}

// waitAllDelivered waits until every event acknowledged so far is delivered.
func (c *composeCluster) waitAllDelivered(what, prefix string, l *steadyLoad) {
	c.t.Helper()
	acked, _, _ := l.snapshot()
	testutil.Eventually(c.t, 120*time.Second, what, func() (bool, string) {
		n := missing(acked, c.sink.deliveries(prefix))
		return n == 0, fmt.Sprintf("%d of %d not delivered", n, len(acked))
	})
}

func (c *composeCluster) waitAcked(what string, l *steadyLoad, more int, url string) {
	c.t.Helper()
	_, at0, _ := l.snapshot()
	testutil.Eventually(c.t, 120*time.Second, what, func() (bool, string) {
		_, at, st := l.snapshot()
		return at[url] >= at0[url]+more, fmt.Sprintf("%d acknowledged at %s, others %v", at[url], url, st)
	})
}

func TestComposeCluster(t *testing.T) {
	c := upCompose(t)
	server := c.grpc
	waitReady(t, server, "default", 1)

	// The example: an event posted to the first ingress reaches event-display.
	code := post(t, c.urls()[0], "compose-hello", "demo.hello", "e2e", `{"hi":1}`)
	if code != http.StatusAccepted {
		t.Fatalf("post to %s: %d", c.urls()[0], code)
	}
	testutil.Eventually(t, 60*time.Second, "the event at event-display", func() (bool, string) {
		out := c.docker("logs", c.container("event-display"))
		return strings.Contains(out, "id: compose-hello"), out
	})
	weftCLI(t, server, "", "delete", "trigger", "display")
	weftCLI(t, server, fmt.Sprintf(faultTrigger, "fault", "weft.fault", "fault"), "apply", "-f", "-")
	waitReady(t, server, "default", 1)

	ing1, ing2 := c.urls()[0], c.urls()[1]
	var rows []faultRow
	rows = append(rows, c.scenario("dispatcher SIGKILL, later restarted", "dkill", func(l *steadyLoad) {
		c.must("kill", "-s", "SIGKILL", "dispatcher-1")
		c.waitAllDelivered("dispatcher-2 delivers dispatcher-1's partitions", "dkill", l)
		c.must("start", "dispatcher-1")
		c.waitHealthy("dispatcher-1")
	}))
	rows = append(rows, c.scenario("ingress SIGKILL under load, later restarted", "ikill", func(l *steadyLoad) {
		_, _, st0 := l.snapshot()
		c.must("kill", "-s", "SIGKILL", "ingress-2")
		testutil.Eventually(t, 60*time.Second, "clients of ingress-2 see errors", func() (bool, string) {
			_, _, st := l.snapshot()
			return st["error"] >= st0["error"]+5, fmt.Sprint(st)
		})
		c.waitAcked("ingress-1 keeps acknowledging", l, 100, ing1)
		c.must("start", "ingress-2")
		c.waitHealthy("ingress-2")
		c.waitAcked("ingress-2 acknowledges again", l, 50, ing2)
	}))
	rows = append(rows, c.scenario("control plane stopped, a trigger created after it returns", "cpstop", func(l *steadyLoad) {
		c.must("stop", "-t", "10", "controlplane")
		c.waitAcked("ingress-1 serves its last contract", l, 150, ing1)
		c.waitAllDelivered("dispatchers deliver on their last contract", "cpstop", l)
		c.must("start", "controlplane")
		c.waitHealthy("controlplane")
		weftCLI(t, server, fmt.Sprintf(faultTrigger, "late", "weft.late", "late"), "apply", "-f", "-")
		waitReady(t, server, "default", 2)
		for i := 0; i < 20; i++ {
			if code := post(t, ing2, fmt.Sprintf("late-%02d", i), "weft.late", "e2e", `{}`); code != http.StatusAccepted {
				t.Fatalf("late event %d: %d", i, code)
			}
		}
		testutil.Eventually(t, 60*time.Second, "the late trigger delivers", func() (bool, string) {
			n := len(c.sink.deliveries("late"))
			return n == 20, fmt.Sprint(n)
		})
	}))
	rows = append(rows, c.scenario("Kafka paused, then unpaused", "kpause", func(l *steadyLoad) {
		c.must("pause", "kafka")
		testutil.Eventually(t, 90*time.Second, "the ingress answers 503 while Kafka is paused", func() (bool, string) {
			_, _, st := l.snapshot()
			return st["503"] > 0, fmt.Sprint(st)
		})
		c.must("unpause", "kafka")
	}))
	rows = append(rows, c.scenario("dispatcher cut off the network, reconnected", "netcut", func(l *steadyLoad) {
		id := c.container("dispatcher-1")
		network := c.docker("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", id)
		c.docker("network", "disconnect", network, id)
		c.waitAllDelivered("dispatcher-2 takes over the cut-off partitions", "netcut", l)
		c.docker("network", "connect", network, id)
		c.waitHealthy("dispatcher-1")
	}))
	// The trigger's retries wait 1, 2 and 4 s in place; from the 4th (8 s)
	// they wait in the retry topic (--retry-topic-after 5s). Attempts to the
	// cut-off sink end at the trigger's 2 s timeout.
	rows = append(rows, c.scenario("sink cut off 30 s (retries wait in the retry topic), dispatcher SIGKILLed meanwhile", "sinkcut", func(l *steadyLoad) {
		id := c.container("sink")
		network := c.docker("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", id)
		c.docker("network", "disconnect", network, id)
		cut := time.Now()
		testutil.Eventually(t, 60*time.Second, "events moved to the retry topic", func() (bool, string) {
			n := c.parked()
			return n > 0, fmt.Sprintf("%v parked", n)
		})
		c.must("kill", "-s", "SIGKILL", "dispatcher-1")
		if d := 30*time.Second - time.Since(cut); d > 0 {
			time.Sleep(d) // the outage's length is the fault itself, not a wait for a condition
		}
		c.docker("network", "connect", "--alias", "sink", network, id)
		c.must("start", "dispatcher-1")
		c.waitHealthy("dispatcher-1")
	}))
	rows = append(rows, c.scenario("rolling restart of every Weft container", "rolling", func(l *steadyLoad) {
		for _, svc := range []string{"controlplane", "ingress-1", "ingress-2", "dispatcher-1", "dispatcher-2"} {
			c.must("restart", "-t", "30", svc)
			c.waitHealthy(svc)
			c.waitAllDelivered("delivery after restarting "+svc, "rolling", l)
		}
	}))

	table := faultTable(rows)
	fmt.Printf("\ncompose fault suite (%s):\n%s\n", strings.Join(c.cmd, " "), table)
	if f := os.Getenv("WEFT_FAULT_REPORT"); f != "" {
		if err := os.WriteFile(f, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// freeAddr returns a loopback address with a free port (the compose suite
// runs alone, after the go tests, so nothing else races for it).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
