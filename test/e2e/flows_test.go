package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weft-dev/weft/internal/testutil"
)

// flowService is a set of real HTTP services, one per path, for channels and
// flows: each records the events it gets and answers as its handler says.
type flowService struct {
	srv      *httptest.Server
	mu       sync.Mutex
	got      map[string][]flowEvent
	handlers map[string]func(ev flowEvent) (code int, reply *flowEvent)
}

// flowEvent is the part of an event these tests look at; Data is a JSON
// object {"marks": [...]} the step services append to.
type flowEvent struct {
	ID, Type, Source string
	Marks            []string
}

func newFlowService(t *testing.T) *flowService {
	s := &flowService{got: map[string][]flowEvent{}, handlers: map[string]func(flowEvent) (int, *flowEvent){}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *flowService) serve(w http.ResponseWriter, r *http.Request) {
	ev, err := binding.ToEvent(context.Background(), cehttp.NewMessageFromHttpRequest(r))
	if err != nil {
		http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	fe := flowEvent{ID: ev.ID(), Type: ev.Type(), Source: ev.Source()}
	var data struct {
		Marks []string `json:"marks"`
	}
	if err := json.Unmarshal(ev.Data(), &data); err != nil {
		http.Error(w, "data is not {\"marks\": [...]}: "+err.Error(), http.StatusBadRequest)
		return
	}
	fe.Marks = data.Marks
	s.mu.Lock()
	h := s.handlers[r.URL.Path]
	s.mu.Unlock()
	code, reply := http.StatusOK, (*flowEvent)(nil)
	if h != nil {
		code, reply = h(fe)
	}
	if code/100 == 2 {
		s.mu.Lock()
		s.got[r.URL.Path] = append(s.got[r.URL.Path], fe)
		s.mu.Unlock()
	}
	if reply == nil {
		w.WriteHeader(code)
		return
	}
	body, _ := json.Marshal(map[string]any{"marks": reply.Marks})
	hd := w.Header()
	hd.Set("Ce-Id", reply.ID)
	hd.Set("Ce-Specversion", "1.0")
	hd.Set("Ce-Type", reply.Type)
	hd.Set("Ce-Source", reply.Source)
	hd.Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// handle sets the handler of path.
func (s *flowService) handle(path string, h func(ev flowEvent) (int, *flowEvent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[path] = h
}

// appender answers every event with the same event, its name appended to
// the marks: a Knative sequence step.
func appender(name string) func(ev flowEvent) (int, *flowEvent) {
	return func(ev flowEvent) (int, *flowEvent) {
		r := ev
		r.Marks = append(append([]string(nil), ev.Marks...), name)
		return http.StatusOK, &r
	}
}

// events returns the distinct events received at path by id (the last
// copy of each) and how many arrived in all.
func (s *flowService) events(path string) (byID map[string]flowEvent, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byID = map[string]flowEvent{}
	for _, e := range s.got[path] {
		byID[e.ID] = e
	}
	return byID, len(s.got[path])
}

// postMarked posts a binary-mode event with data {"marks": []} and returns
// the status code (0 when the request failed).
func postMarked(url, id, typ string) int {
	code, _ := sendBinary(http.DefaultClient, url, id, typ, "e2e-flows", `{"marks":[]}`)
	return code
}

// waitKindReady waits until `weft get KIND -n ns` shows n objects Ready.
func waitKindReady(t *testing.T, server, kind, ns string, n int) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, kind+" Ready in "+ns, func() (bool, string) {
		out := weftCLI(t, server, "", "get", kind, "-n", ns)
		return strings.Count(out, " True ") == n, out
	})
}

// waitAccepting posts warm-up events to url until the ingress accepts them
// (it serves a path once its contract has it).
func waitAccepting(t *testing.T, url string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, "ingress serves "+url, func() (bool, string) {
		code := postMarked(url, "warmup", "warmup")
		return code == http.StatusAccepted, fmt.Sprint(code)
	})
}

// The Knative docs' channel walk-through on the real binaries: a Channel
// with two Subscriptions, one of which replies into a second Channel whose
// Subscription reaches a display. Every event reaches both subscribers, and
// every reply the display.
func TestChannelWalkthrough(t *testing.T) {
	const n = 200
	svc := newFlowService(t)
	svc.handle("/replier", func(ev flowEvent) (int, *flowEvent) {
		if ev.Type == "warmup" {
			return http.StatusOK, nil
		}
		return http.StatusOK, &flowEvent{ID: "reply-" + ev.ID, Type: "dev.weft.reply", Source: "replier", Marks: []string{"replied"}}
	})
	c := startCluster(t)
	c.startDispatcher(t, "dispatcher-1")
	const ns = "channel-example"
	weftCLI(t, c.grpc, fmt.Sprintf(`apiVersion: messaging.knative.dev/v1
kind: Channel
metadata: {name: channel, namespace: %[1]s}
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: {name: reply-channel, namespace: %[1]s}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {name: to-replier, namespace: %[1]s}
spec:
  channel: {apiVersion: messaging.knative.dev/v1, kind: Channel, name: channel}
  subscriber: {uri: "%[2]s/replier"}
  reply:
    ref: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: reply-channel}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {name: to-second, namespace: %[1]s}
spec:
  channel: {apiVersion: messaging.knative.dev/v1, kind: Channel, name: channel}
  subscriber: {uri: "%[2]s/second"}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {name: to-display, namespace: %[1]s}
spec:
  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: reply-channel}
  subscriber: {uri: "%[2]s/display"}
`, ns, svc.srv.URL), "apply", "-f", "-")
	waitKindReady(t, c.grpc, "subscriptions", ns, 3)
	waitKindReady(t, c.grpc, "channels", ns, 2)
	url := "http://" + c.http + "/channels/" + ns + "/channel"
	waitAccepting(t, url)

	for i := 0; i < n; i++ {
		if code := postMarked(url, fmt.Sprintf("ch-%03d", i), "dev.weft.example"); code != http.StatusAccepted {
			t.Fatalf("event %d: status %d, want 202", i, code)
		}
	}
	testutil.Eventually(t, 60*time.Second, "every event at both subscribers and every reply at the display", func() (bool, string) {
		replier, _ := svc.events("/replier")
		second, _ := svc.events("/second")
		display, _ := svc.events("/display")
		missing := 0
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("ch-%03d", i)
			_, a := replier[id]
			_, b := second[id]
			r, c := display["reply-"+id]
			if !a || !b || !c || r.Type != "dev.weft.reply" || len(r.Marks) != 1 {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d events not yet everywhere (replier %d, second %d, display %d)", missing, n, len(replier), len(second), len(display))
	})
}

// A Sequence of three real step services, each appending its name to the
// event, replying into a Broker whose Trigger delivers to a display: 1,000
// events arrive carrying the three marks in order, none lost, while the
// dispatcher running the sequence is SIGKILLed mid-run and replaced.
func TestSequenceKilledMidRun(t *testing.T) {
	const n = 1000
	svc := newFlowService(t)
	for _, s := range []string{"step-1", "step-2", "step-3"} {
		svc.handle("/"+s, appender(s))
	}
	c := startCluster(t)
	d1 := c.startDispatcher(t, "dispatcher-1")
	const ns = "flows"
	weftCLI(t, c.grpc, fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: %[1]s}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: display, namespace: %[1]s}
spec:
  broker: default
  subscriber: {uri: "%[2]s/display"}
---
apiVersion: flows.knative.dev/v1
kind: Sequence
metadata: {name: sequence, namespace: %[1]s}
spec:
  channelTemplate: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel}
  steps:
  - uri: "%[2]s/step-1"
  - uri: "%[2]s/step-2"
  - uri: "%[2]s/step-3"
  reply:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
`, ns, svc.srv.URL), "apply", "-f", "-")
	waitReady(t, c.grpc, ns, 1)
	waitKindReady(t, c.grpc, "sequences", ns, 1)
	url := "http://" + c.http + "/sequences/" + ns + "/sequence"
	waitAccepting(t, url)

	var res *loadResult
	loadDone := make(chan struct{})
	go func() {
		res = newLoadResult()
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("seq-%04d", i)
			res.sent.Add(1)
			if code := postMarked(url, id, "dev.weft.example"); code == http.StatusAccepted {
				res.mu.Lock()
				res.acked[id] = true
				res.mu.Unlock()
			}
		}
		close(loadDone)
	}()
	testutil.Eventually(t, 120*time.Second, "a quarter of the events through the sequence", func() (bool, string) {
		got, _ := svc.events("/display")
		return len(got) >= n/4, fmt.Sprint(len(got))
	})
	d1.stop(syscall.SIGKILL)
	atKill, _ := svc.events("/display")
	c.startDispatcher(t, "dispatcher-2")
	<-loadDone
	res.mu.Lock()
	acked := len(res.acked)
	res.mu.Unlock()
	if acked != n {
		t.Fatalf("%d of %d events acknowledged", acked, n)
	}
	testutil.Eventually(t, 180*time.Second, "every event at the display with the three marks in order", func() (bool, string) {
		got, _ := svc.events("/display")
		missing, wrong := 0, ""
		for id := range res.acked {
			e, ok := got[id]
			switch {
			case !ok:
				missing++
			case strings.Join(e.Marks, ",") != "step-1,step-2,step-3":
				wrong = fmt.Sprintf("event %s carries marks %v", id, e.Marks)
			}
		}
		return missing == 0 && wrong == "", fmt.Sprintf("%d events not at the display yet %s", missing, wrong)
	})
	got, total := svc.events("/display")
	t.Logf("acknowledged %d, at the display %d distinct (%d deliveries in all, warm-up included), %d before the kill, lost 0", acked, len(got)-1, total, len(atKill))
}

// A Parallel with two branches — the first behind a filter service that
// passes only events of type a — and a top-level reply: each event reaches
// the branches it should, and their replies reach the reply target.
func TestParallelBranchesAndFilter(t *testing.T) {
	const n = 50
	svc := newFlowService(t)
	svc.handle("/filter-a", func(ev flowEvent) (int, *flowEvent) {
		if ev.Type == "a" {
			return http.StatusOK, &ev // pass the event on
		}
		return http.StatusOK, nil // no event: not for this branch
	})
	svc.handle("/branch-a", appender("branch-a"))
	svc.handle("/branch-b", appender("branch-b"))
	c := startCluster(t)
	c.startDispatcher(t, "dispatcher-1")
	const ns = "parallel"
	weftCLI(t, c.grpc, fmt.Sprintf(`apiVersion: flows.knative.dev/v1
kind: Parallel
metadata: {name: parallel, namespace: %[1]s}
spec:
  branches:
  - filter: {uri: "%[2]s/filter-a"}
    subscriber: {uri: "%[2]s/branch-a"}
  - subscriber: {uri: "%[2]s/branch-b"}
  reply: {uri: "%[2]s/display"}
`, ns, svc.srv.URL), "apply", "-f", "-")
	waitKindReady(t, c.grpc, "parallels", ns, 1)
	url := "http://" + c.http + "/parallels/" + ns + "/parallel"
	waitAccepting(t, url)
	for i := 0; i < n; i++ {
		typ := "a"
		if i%2 == 1 {
			typ = "b"
		}
		if code := postMarked(url, fmt.Sprintf("par-%02d-%s", i, typ), typ); code != http.StatusAccepted {
			t.Fatalf("event %d: status %d, want 202", i, code)
		}
	}
	testutil.Eventually(t, 60*time.Second, "every event at its branches and every reply at the display", func() (bool, string) {
		a, _ := svc.events("/branch-a")
		b, _ := svc.events("/branch-b")
		marks := map[string]bool{}
		svc.mu.Lock()
		for _, e := range svc.got["/display"] {
			marks[e.ID+" "+strings.Join(e.Marks, ",")] = true
		}
		svc.mu.Unlock()
		var problems []string
		for i := 0; i < n; i++ {
			typ := map[bool]string{true: "a", false: "b"}[i%2 == 0]
			id := fmt.Sprintf("par-%02d-%s", i, typ)
			if _, ok := b[id]; !ok {
				problems = append(problems, id+" not at branch-b")
			}
			if _, ok := a[id]; ok != (typ == "a") {
				problems = append(problems, fmt.Sprintf("%s at branch-a: %v", id, ok))
			}
			if !marks[id+" branch-b"] {
				problems = append(problems, id+": branch-b's reply not at the display")
			}
			if typ == "a" && !marks[id+" branch-a"] {
				problems = append(problems, id+": branch-a's reply not at the display")
			}
		}
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		return len(problems) == 0, strings.Join(problems, "; ")
	})
	// Filtered-out events never reach branch-a, even later.
	a, _ := svc.events("/branch-a")
	for id := range a {
		if strings.HasSuffix(id, "-b") {
			t.Errorf("event %s of type b reached branch-a", id)
		}
	}
}
