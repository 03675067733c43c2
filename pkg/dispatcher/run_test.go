package dispatcher

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/weft-dev/weft/internal/testutil"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// contractServer is a control plane's contract stream reduced to one
// contract: it sends it after the hello and reports the acknowledgements.
type contractServer struct {
	weftv1.UnimplementedContractServiceServer
	contract *weftv1.Contract
	hellos   chan *weftv1.WatchContractRequest
	acks     chan *weftv1.WatchContractRequest
	tokens   chan string
}

func (s *contractServer) WatchContract(stream grpc.BidiStreamingServer[weftv1.WatchContractRequest, weftv1.Contract]) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	s.tokens <- strings.Join(md.Get("authorization"), ",")
	hello, err := stream.Recv()
	if err != nil {
		return err
	}
	s.hellos <- hello
	if err := stream.Send(s.contract); err != nil {
		return err
	}
	for {
		ack, err := stream.Recv()
		if err != nil {
			return nil
		}
		s.acks <- ack
	}
}

// TestRunWithControlPlane runs the Dispatcher as cmd/dispatcher does: the
// contract comes over the stream and is acknowledged, the ops server answers,
// events flow, and /metrics shows per-trigger deliveries and consumer lag.
func TestRunWithControlPlane(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	// The subscriber holds the event "held" until release is closed.
	sub, releaseHeld := heldSubscriber(t, "held")

	srv := &contractServer{
		contract: contractOf(7, topic, egress("streamed", sub.URL, topic)),
		hellos:   make(chan *weftv1.WatchContractRequest, 10),
		acks:     make(chan *weftv1.WatchContractRequest, 10),
		tokens:   make(chan string, 10),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	weftv1.RegisterContractServiceServer(gs, srv)
	go gs.Serve(ln)
	defer gs.Stop()

	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(e.kcfg)
	cfg.ControlPlane = ln.Addr().String()
	cfg.AuthTokenFile = tokenFile
	cfg.OpsAddr = "127.0.0.1:0"
	cfg.ProcessID = "dispatcher-test-1"
	d := start(t, cfg)

	if tok := <-srv.tokens; tok != "Bearer s3cret" {
		t.Errorf("authorization = %q", tok)
	}
	if h := <-srv.hellos; h.GetRole() != "dispatcher" || h.GetProcessId() != "dispatcher-test-1" {
		t.Errorf("hello = %v", h)
	}
	timeout := time.After(20 * time.Second)
	for acked := false; !acked; {
		select {
		case ack := <-srv.acks:
			if ack.GetProblemsReport() {
				if len(ack.GetProblems()) != 0 {
					t.Errorf("problems reported with nothing wrong: %v", ack)
				}
				continue // problem reports share the stream with acks
			}
			acked = true
			if ack.GetAckVersion() != 7 || ack.GetError() != "" {
				t.Errorf("ack = %v, want version 7 without error", ack)
			}
		case <-timeout:
			t.Fatal("the contract was not acknowledged")
		}
	}

	var ops net.Addr
	testutil.Eventually(t, 10*time.Second, "", func() (bool, string) { ops = d.OpsAddr(); return ops != nil, "the ops server did not listen" })
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ok"} {
		if code, body := testutil.Get(t, "http://"+ops.String()+path); code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %q", path, code, body)
		}
	}

	// One event delivered, one held: the trigger's delivered count is 1 and
	// its lag 1 (the held record is not committable yet).
	e.produce(topic, ev("via-stream"), ev("held"))
	sub.waitIDs(t, "via-stream")
	e.waitCommitted("weft.trigger.ns.streamed", topic, map[int32]int64{0: 1})
	perTrigger := []string{`namespace="ns"`, `trigger="streamed"`}
	lagLabels := append([]string{`partition="0"`}, perTrigger...)
	waitMetrics := func(delivered, lag float64) {
		t.Helper()
		testutil.Eventually(t, 20*time.Second, fmt.Sprintf("/metrics to show %v delivered and a lag of %v for ns/streamed", delivered, lag), func() (bool, string) {
			code, body := testutil.Get(t, "http://"+ops.String()+"/metrics")
			d := promSamples(body, "weft_dispatcher_events_delivered_total", perTrigger...)
			l := promSamples(body, "weft_dispatcher_consumer_lag", lagLabels...)
			return code == http.StatusOK && slices.Equal(d, []float64{delivered}) && slices.Equal(l, []float64{lag}),
				fmt.Sprintf("GET /metrics = %d, delivered samples %v, lag samples %v", code, d, l)
		})
	}
	waitMetrics(1, 1)
	releaseHeld()
	sub.waitIDs(t, "held")
	e.waitCommitted("weft.trigger.ns.streamed", topic, map[int32]int64{0: 2})
	waitMetrics(2, 0)
}

func TestConfigFlags(t *testing.T) {
	cfg := DefaultConfig()
	fs := pflag.NewFlagSet("dispatcher", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	err := fs.Parse([]string{
		"--control-plane=cp:9090", "--max-in-flight=7", "--drain-timeout=3s",
		"--dead-letter-retry-max-backoff=1m", "--bootstrap-servers=k1:9092,k2:9092", "--ops-addr=",
		"--http-client=net/http",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s %d %s %s %v %q %s", "cp:9090", 7, 3*time.Second, time.Minute, []string{"k1:9092", "k2:9092"}, "", "net/http")
	got := fmt.Sprintf("%s %d %s %s %v %q %s", cfg.ControlPlane, cfg.MaxInFlight, cfg.DrainTimeout,
		cfg.DeadLetterRetryMaxBackoff, cfg.Kafka.BootstrapServers, cfg.OpsAddr, cfg.HTTPClient)
	if got != want {
		t.Errorf("parsed %s, want %s", got, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
