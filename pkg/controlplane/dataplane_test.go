package controlplane

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// gateApplier records contracts and applies them only while its gate is open.
type gateApplier struct {
	mu       sync.Mutex
	open     bool
	cond     *sync.Cond
	versions []uint64
	last     *weftv1.Contract
}

func newGate(open bool) *gateApplier {
	g := &gateApplier{open: open}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gateApplier) ApplyContract(ctx context.Context, c *weftv1.Contract) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { g.mu.Lock(); g.cond.Broadcast(); g.mu.Unlock() })
	defer stop()
	for !g.open && ctx.Err() == nil {
		g.cond.Wait()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	g.versions = append(g.versions, c.GetVersion())
	g.last = c
	return nil
}

func (g *gateApplier) setOpen(v bool) {
	g.mu.Lock()
	g.open = v
	g.cond.Broadcast()
	g.mu.Unlock()
}

func (g *gateApplier) lastContract() *weftv1.Contract {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

func runDataPlane(t *testing.T, addr string, role wire.Role, id string, a contract.Applier) (*contract.Client, func()) {
	t.Helper()
	cl := contract.NewClient(contract.ClientConfig{Server: addr, Role: role, ProcessID: id}, a, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = cl.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return cl, stop
}

func triggerReady(t *testing.T, r *replica, ns, name string) (bool, string) {
	po, err := r.client.Get(context.Background(), &weftv1.GetRequest{Kind: "trigger", Namespace: ns, Name: name})
	if err != nil {
		return false, err.Error()
	}
	tr := mustDecode(t, po).(*apis.Trigger)
	for _, c := range tr.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == apis.ConditionTrue, c.Reason + ": " + c.Message
		}
	}
	return false, "no Ready condition"
}

func TestContractStreamAndReadiness(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)

	// No data plane yet: the trigger resolves but is not Ready.
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, walkthrough)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "NoDataPlane reason", func() (bool, string) {
		ok, msg := triggerReady(t, r, "event-example", "hello-display")
		return !ok && len(msg) > 11 && msg[:11] == "NoDataPlane", msg
	})

	open := newGate(true)
	cl, _ := runDataPlane(t, r.srv.Addr(), wire.RoleDispatcher, "dispatcher-1", open)
	testutil.Eventually(t, 20*time.Second, "trigger Ready after the dispatcher acknowledged", func() (bool, string) { return triggerReady(t, r, "event-example", "hello-display") })
	c := open.lastContract()
	if c == nil || len(c.Ingresses) != 1 || len(c.Ingresses[0].Egresses) != 2 {
		t.Fatalf("contract: %v", c)
	}
	in := c.Ingresses[0]
	if in.Topic != "weft.broker.event-example.default" || in.Path != "/event-example/default" {
		t.Errorf("ingress entry: %v", in)
	}
	for _, eg := range in.Egresses {
		if eg.ConsumerGroup != "weft.trigger.event-example."+eg.Name || eg.Destination != "http://"+eg.Name+".event-example.svc.cluster.local" || eg.ReplyTopic != in.Topic {
			t.Errorf("egress: %v", eg)
		}
	}
	if cl.Applied() != c.Version {
		t.Errorf("client applied %d, contract %d", cl.Applied(), c.Version)
	}

	// A second dispatcher that does not apply holds readiness of new changes back.
	stuck := newGate(false)
	runDataPlane(t, r.srv.Addr(), wire.RoleDispatcher, "dispatcher-2", stuck)
	testutil.Eventually(t, 20*time.Second, "second dispatcher connected", func() (bool, string) {
		return len(r.srv.pub.processes()) == 2, "processes connected"
	})
	m := "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: late\n  namespace: event-example\nspec:\n  broker: default\n  subscriber:\n    uri: http://late.example/\n"
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, m)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "the first dispatcher has the new contract", func() (bool, string) {
		c := open.lastContract()
		return c != nil && len(c.Ingresses[0].Egresses) == 3, "egresses"
	})
	if ok, msg := triggerReady(t, r, "event-example", "late"); ok {
		t.Fatalf("trigger Ready although dispatcher-2 has not applied it")
	} else if msg[:17] != "DataPlaneNotReady" {
		t.Fatalf("reason %q, want DataPlaneNotReady", msg)
	}
	stuck.setOpen(true)
	testutil.Eventually(t, 20*time.Second, "trigger Ready once both acknowledged", func() (bool, string) { return triggerReady(t, r, "event-example", "late") })

	// A trigger whose broker is missing says so.
	m = "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: orphan\nspec:\n  broker: missing\n  subscriber:\n    uri: http://x.example/\n"
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, m)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "BrokerDoesNotExist", func() (bool, string) {
		ok, msg := triggerReady(t, r, "default", "orphan")
		return !ok && len(msg) > 18 && msg[:18] == "BrokerDoesNotExist", msg
	})
	// And one with an unresolvable ref says what to do.
	m = "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: oddref\n  namespace: event-example\nspec:\n  broker: default\n  subscriber:\n    ref:\n      apiVersion: example.com/v1\n      kind: Widget\n      name: w\n"
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, m)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "SubscriberResolveFailed", func() (bool, string) {
		ok, msg := triggerReady(t, r, "event-example", "oddref")
		return !ok && len(msg) > 23 && msg[:23] == "SubscriberResolveFailed", msg
	})
}

func TestDataPlaneKeepsContractWhenControlPlaneGoes(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, walkthrough)}); err != nil {
		t.Fatal(err)
	}
	g := newGate(true)
	cl, _ := runDataPlane(t, r.srv.Addr(), wire.RoleIngress, "ingress-1", g)
	<-cl.Ready()
	v := cl.Applied()
	r.stop()
	// The process keeps the contract it had.
	if cl.Applied() != v || g.lastContract().Version != v {
		t.Fatalf("applied version changed after the control plane stopped")
	}
}

func TestAuthToken(t *testing.T) {
	e := testutil.StartKafka(t)
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, e, func(c *Config) { c.AuthTokenFile = tokFile })
	ctx := testCtx(t)
	if _, err := r.client.List(ctx, &weftv1.ListRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v", err)
	}
	for tok, want := range map[string]codes.Code{"wrong": codes.Unauthenticated, "s3cret": codes.OK} {
		conn, err := grpc.NewClient(r.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(wire.BearerToken(tok)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = weftv1.NewControlPlaneClient(conn).List(ctx, &weftv1.ListRequest{})
		conn.Close()
		if status.Code(err) != want {
			t.Errorf("token %q: %v, want %s", tok, err, want)
		}
	}
}

// A data-plane process connected to one replica counts on every replica.
func TestReadinessAcrossReplicas(t *testing.T) {
	e := testutil.StartKafka(t)
	a, b := startReplica(t, e), startReplica(t, e)
	ctx := testCtx(t)
	if _, err := a.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, walkthrough)}); err != nil {
		t.Fatal(err)
	}
	g := newGate(true)
	_, stop := runDataPlane(t, a.srv.Addr(), wire.RoleDispatcher, "dispatcher-on-a", g)
	testutil.Eventually(t, 20*time.Second, "Ready on the replica the dispatcher is not connected to", func() (bool, string) {
		return triggerReady(t, b, "event-example", "hello-display")
	})
	stop()
	testutil.Eventually(t, 20*time.Second, "not Ready on b once the dispatcher left a", func() (bool, string) {
		ok, msg := triggerReady(t, b, "event-example", "hello-display")
		return !ok, msg
	})
}

// problemApplier applies everything and reports the problems it is given.
type problemApplier struct {
	*gateApplier
	mu       sync.Mutex
	problems []*weftv1.EgressProblem
}

func (p *problemApplier) EgressProblems() []*weftv1.EgressProblem {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*weftv1.EgressProblem(nil), p.problems...)
}

func (p *problemApplier) set(ps ...*weftv1.EgressProblem) {
	p.mu.Lock()
	p.problems = ps
	p.mu.Unlock()
}

// A problem a dispatcher reports (a failing dead-letter sink) shows on the
// Trigger, on every replica, until the dispatcher clears it.
func TestReportedProblemsShowOnTriggers(t *testing.T) {
	e := testutil.StartKafka(t)
	a, b := startReplica(t, e), startReplica(t, e)
	ctx := testCtx(t)
	resp, err := a.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, walkthrough)})
	if err != nil {
		t.Fatal(err)
	}
	var uid string
	for _, r := range resp.Results {
		if r.Object.Name == "hello-display" {
			uid = mustDecode(t, r.Object).GetObjectMeta().UID
		}
	}
	pa := &problemApplier{gateApplier: newGate(true)}
	cl := contract.NewClient(contract.ClientConfig{Server: a.srv.Addr(), Role: wire.RoleDispatcher, ProcessID: "d1", ProblemInterval: 20 * time.Millisecond}, pa, nil)
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = cl.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testutil.Eventually(t, 20*time.Second, "Ready", func() (bool, string) { return triggerReady(t, b, "event-example", "hello-display") })

	pa.set(&weftv1.EgressProblem{Uid: uid, Reason: "DeadLetterSinkFailing", Message: "3 event(s) held back"})
	for _, r := range []*replica{a, b} {
		testutil.Eventually(t, 20*time.Second, "the problem on the trigger", func() (bool, string) {
			ok, msg := triggerReady(t, r, "event-example", "hello-display")
			return !ok && strings.HasPrefix(msg, "DeadLetterSinkFailing: d1: 3 event(s) held back"), msg
		})
	}
	if ok, msg := triggerReady(t, a, "event-example", "goodbye-display"); !ok {
		t.Errorf("the other trigger is not Ready: %s", msg)
	}
	pa.set()
	testutil.Eventually(t, 20*time.Second, "Ready again", func() (bool, string) { return triggerReady(t, b, "event-example", "hello-display") })
}

func TestOpsEndpoints(t *testing.T) {
	e := testutil.StartKafka(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ops := l.Addr().String()
	l.Close()
	startReplica(t, e, func(c *Config) { c.OpsAddr = ops })
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + ops + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	testutil.Eventually(t, 20*time.Second, "ops server", func() (bool, string) { code, body := get("/healthz"); return code == 200, body })
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "weft_contract_version") || !strings.Contains(body, "weft_dataplane_processes") {
		t.Errorf("/metrics = %d %s", code, body)
	}
}
