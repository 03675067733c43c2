package ingress_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/ingress"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// fakeControlPlane streams the contracts sent on its channel and reports
// the acknowledgements it receives.
type fakeControlPlane struct {
	weftv1.UnimplementedContractServiceServer
	token     string
	contracts chan *weftv1.Contract
	acks      chan uint64
}

func (f *fakeControlPlane) WatchContract(s grpc.BidiStreamingServer[weftv1.WatchContractRequest, weftv1.Contract]) error {
	md, _ := metadata.FromIncomingContext(s.Context())
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+f.token {
		return status.Error(codes.Unauthenticated, "bad token")
	}
	hello, err := s.Recv()
	if err != nil {
		return err
	}
	if hello.GetRole() != "ingress" || hello.GetProcessId() != "test" {
		return status.Errorf(codes.InvalidArgument, "hello %v", hello)
	}
	recvDone := make(chan struct{})
	defer func() { <-recvDone }()
	go func() {
		defer close(recvDone)
		for {
			m, err := s.Recv()
			if err != nil {
				return
			}
			if m.GetError() != "" {
				continue
			}
			select {
			case f.acks <- m.GetAckVersion():
			case <-s.Context().Done():
				return
			}
		}
	}()
	for {
		select {
		case c := <-f.contracts:
			if err := s.Send(c); err != nil {
				return err
			}
		case <-s.Context().Done():
			return nil
		}
	}
}

func startControlPlane(t *testing.T, token string) (*fakeControlPlane, string) {
	t.Helper()
	cp := &fakeControlPlane{token: token, contracts: make(chan *weftv1.Contract), acks: make(chan uint64, 16)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	weftv1.RegisterContractServiceServer(gs, cp)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	return cp, ln.Addr().String()
}

func (f *fakeControlPlane) push(t *testing.T, c *weftv1.Contract) {
	t.Helper()
	select {
	case f.contracts <- c:
	case <-time.After(10 * time.Second):
		t.Fatalf("ingress did not take contract %d", c.GetVersion())
	}
	for {
		select {
		case v := <-f.acks:
			if v == c.GetVersion() {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("contract %d not acknowledged", c.GetVersion())
		}
	}
}

// TestRun runs the whole process: contract from a control plane stream,
// readiness, metrics, traces, and a graceful drain with a produce in flight.
func TestRun(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	createTopic(t, adm, "weft.broker.default.a", 2)
	createTopic(t, adm, "weft.broker.default.b", 2)
	cp, cpAddr := startControlPlane(t, "s3cret")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(kcfg)
	cfg.ControlPlane = cpAddr
	cfg.AuthTokenFile = tokenFile
	cfg.OpsAddr = "127.0.0.1:0"
	cfg.ProduceTimeout = 20 * time.Second
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	in, err := ingress.New(cfg, ingress.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	<-in.Started()
	base := "http://" + in.Addr().String()
	ops := "http://" + in.OpsAddr().String()

	if code, body := testutil.Get(t, ops+"/healthz"); code != 200 {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := testutil.Get(t, ops+"/readyz"); code != 503 || !strings.Contains(body, "contract") {
		t.Fatalf("/readyz before a contract: %d %s, want 503 naming the contract", code, body)
	}
	cp.push(t, contractOf(1, brokerEntry("default", "a", "weft.broker.default.a")))
	testutil.Eventually(t, 10*time.Second, "readiness", func() (bool, string) { code, _ := testutil.Get(t, ops+"/readyz"); return code == 200, "" })
	if code, _ := testutil.Get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz on the event port: %d", code)
	}

	client := &http.Client{Timeout: 30 * time.Second}
	post := func(path, id string, hdr ...string) (int, http.Header, string) {
		req, _ := http.NewRequest(http.MethodPost, base+path, nil)
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Id", id)
		req.Header.Set("Ce-Source", "/run")
		req.Header.Set("Ce-Type", "run.v1")
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("post %s: %v", id, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if code, _, body := post("/default/a", "a1", "traceparent", parent); code != 202 {
		t.Fatalf("post to a: %d %s", code, body)
	}
	if code, _, _ := post("/default/b", "b1"); code != 404 {
		t.Fatalf("post to b before it is in the contract: %d, want 404", code)
	}
	cp.push(t, contractOf(2, brokerEntry("default", "a", "weft.broker.default.a"), brokerEntry("default", "b", "weft.broker.default.b")))
	if code, _, body := post("/default/b", "b2"); code != 202 {
		t.Fatalf("post to b after contract 2: %d %s", code, body)
	}
	if in.ContractVersion() != 2 {
		t.Errorf("ContractVersion %d, want 2", in.ContractVersion())
	}

	// Traces: a server span continuing the caller's trace, a producer span
	// under it (ended: Kafka answered before the 202), carried into the record.
	var server, send sdktrace.ReadOnlySpan
	for _, s := range spans.GetSpans().Snapshots() {
		switch {
		case s.Name() == "POST /default/a":
			server = s
		case s.Name() == "send weft.broker.default.a" && s.SpanContext().TraceID().String() == parent[3:35]:
			send = s
		}
	}
	if server == nil || send == nil {
		t.Fatalf("no span POST /default/a or send weft.broker.default.a in the caller's trace among %d", len(spans.GetSpans()))
	}
	if server.SpanKind() != trace.SpanKindServer || server.SpanContext().TraceID().String() != parent[3:35] ||
		server.Parent().SpanID().String() != parent[36:52] {
		t.Errorf("span %s kind %v trace %s parent %s: want a server span continuing %s",
			server.Name(), server.SpanKind(), server.SpanContext().TraceID(), server.Parent().SpanID(), parent)
	}
	if send.SpanKind() != trace.SpanKindProducer || send.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Errorf("span %s kind %v parent %s: want a producer span under the server span %s",
			send.Name(), send.SpanKind(), send.Parent().SpanID(), server.SpanContext().SpanID())
	}
	recsA := newTopicReader(t, kcfg, adm, "weft.broker.default.a")
	recs := recsA.next()
	if len(recs) != 1 {
		t.Fatalf("%d records in a, want 1", len(recs))
	}
	var tpHeader string
	for _, h := range recs[0].Headers {
		if h.Key == "traceparent" {
			tpHeader = string(h.Value)
		}
	}
	if want := "00-" + send.SpanContext().TraceID().String() + "-" + send.SpanContext().SpanID().String() + "-01"; tpHeader != want {
		t.Errorf("record traceparent %q, want %q", tpHeader, want)
	}

	// Metrics on the ops port.
	_, metrics := testutil.Get(t, ops+"/metrics")
	for _, want := range []string{
		`weft_ingress_requests_total{broker="a",code="202",kind="Broker",namespace="default"`,
		`weft_ingress_requests_total{broker="b",code="202",kind="Broker",namespace="default"`,
		`weft_ingress_requests_total{broker="",code="404",kind="",namespace=""`,
		`weft_ingress_event_size_bytes_bucket{broker="a",kind="Broker",namespace="default"`,
		`weft_ingress_produce_duration_seconds_count{broker="b",kind="Broker",namespace="default"`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Graceful drain: a produce is in flight when the process is told to stop.
	held, release := testutil.HoldFirstProduce(srv.Cluster())
	inflight := make(chan int, 1)
	go func() {
		code, _, body := post("/default/a", "a-inflight")
		t.Logf("in-flight post: %d %s", code, body)
		inflight <- code
	}()
	<-held
	cancel()
	testutil.Eventually(t, 10*time.Second, "readiness to turn false", func() (bool, string) { code, _ := testutil.Get(t, ops+"/readyz"); return code == 503, "" })
	code, h, body := post("/default/a", "a-late")
	if code != 503 || h.Get("Retry-After") == "" || !strings.Contains(body, "shutting down") {
		t.Errorf("post while draining: %d (Retry-After %q) %s, want 503 shutting down", code, h.Get("Retry-After"), body)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned with a produce in flight: %v", err)
	default:
	}
	close(release)
	if code := <-inflight; code != 202 {
		t.Errorf("in-flight post: %d, want 202", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
	if ids := idsOf(t, recsA.next()); len(ids) != 1 || ids[0] != "a-inflight" {
		t.Errorf("records after the drain: %v, want [a-inflight]", ids)
	}
	if _, err := net.DialTimeout("tcp", in.Addr().String(), time.Second); err == nil {
		t.Error("event port still open after Run returned")
	}
}

// TestDrainTimeout bounds the drain when Kafka never answers.
func TestDrainTimeout(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	createTopic(t, adm, "weft.broker.default.stuck", 1)
	cfg := testConfig(kcfg)
	cfg.DrainTimeout = 300 * time.Millisecond
	cfg.ProduceTimeout = 30 * time.Second
	in, err := ingress.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.ApplyContract(context.Background(), contractOf(1, brokerEntry("default", "stuck", "weft.broker.default.stuck"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	<-in.Started()
	held, release := testutil.HoldFirstProduce(srv.Cluster())
	defer close(release)
	answer := make(chan int, 1)
	go func() {
		code, _, _, err := binaryPost(context.Background(), http.DefaultClient, "http://"+in.Addr().String()+"/default/stuck", "stuck")
		if err != nil {
			code = -1 // the connection was closed: no answer is no 202
		}
		answer <- code
	}()
	<-held
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within the drain timeout")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("drain took %v with a 300ms drain timeout", d)
	}
	if code := <-answer; code == 202 {
		t.Error("an event Kafka never acknowledged was answered 202")
	}
}

func TestRunErrors(t *testing.T) {
	cfg := testConfig(testutil.KafkaConfig(testutil.StartKafka(t)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg.HTTPAddr = ln.Addr().String() // taken
	err = ingress.Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Errorf("Run on a taken port: %v", err)
	}
	cfg = testConfig(testutil.KafkaConfig(testutil.StartKafka(t)))
	cfg.AuthTokenFile = filepath.Join(t.TempDir(), "missing")
	if err := ingress.Run(context.Background(), cfg, ingress.WithLogger(testutil.Logger(t))); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run with a missing token file: %v", err)
	}
	cfg.MaxEventBytes = 0
	if _, err := ingress.New(cfg); err == nil {
		t.Error("New accepted an invalid config")
	}
}
