package ingress_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/kafka"
)

// outcome records every answer of a run of posts.
type outcome struct {
	mu       sync.Mutex
	accepted []string // ids answered 202
	posted   []string
	codes    map[int]int
}

func (o *outcome) post(t *testing.T, c *http.Client, url, id string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, h, body, err := binaryPost(ctx, c, url, id)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.posted = append(o.posted, id)
	if err != nil {
		t.Errorf("post %s: %v", id, err)
		return 0
	}
	if o.codes == nil {
		o.codes = map[int]int{}
	}
	o.codes[code]++
	switch code {
	case http.StatusAccepted:
		o.accepted = append(o.accepted, id)
	case http.StatusServiceUnavailable:
		if h.Get("Retry-After") == "" {
			t.Errorf("post %s: 503 without Retry-After (%s)", id, body)
		}
	default:
		t.Errorf("post %s: status %d (%s), want 202 or 503", id, code, body)
	}
	return code
}

// TestKafkaOutage stops the Kafka-protocol server under load and starts it
// again on the same port and data: while it is down, posts get 503 with
// Retry-After; once it is back, 202 again; and every event ever answered 202
// is in the topic.
func TestKafkaOutage(t *testing.T) {
	dir := t.TempDir()
	srv, err := devkafka.Start(devkafka.Config{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	kcfg := kafka.Config{BootstrapServers: []string{addr}, ClientID: "weft-test"}
	const topic = "weft.broker.default.outage"
	{
		_, adm := adminFor(t, kcfg)
		createTopic(t, adm, topic, 3)
	}

	cfg := testConfig(kcfg)
	cfg.ProduceTimeout = time.Second
	cfg.KafkaCheckInterval = 50 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in, err := ingress.New(cfg, ingress.WithLogger(testutil.Logger(t)), ingress.WithListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	if err := in.ApplyContract(context.Background(), contractOf(1, brokerEntry("default", "outage", topic))); err != nil {
		t.Fatal(err)
	}
	_, stop := testutil.Run(t, "Run", in.Run)
	defer stop()
	<-in.Started()
	url := "http://" + in.Addr().String() + "/default/outage"
	client := &http.Client{Timeout: 10 * time.Second}
	var o outcome
	var seq atomic.Int64
	nextID := func(phase string) string { return fmt.Sprintf("%s-%d", phase, seq.Add(1)) }
	burst := func(phase string, n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { o.post(t, client, url, nextID(phase)) })
		}
		wg.Wait()
	}
	testutil.Eventually(t, 10*time.Second, "ready", func() (bool, string) { return in.Ready() == nil, "" })

	// Phase 1: Kafka up.
	burst("up", 20)
	if len(o.accepted) != 20 {
		t.Fatalf("before the outage: %d of 20 accepted (%v)", len(o.accepted), o.codes)
	}

	// Phase 2: Kafka down, with posts in flight while it goes.
	var wg sync.WaitGroup
	stopLoad := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				o.post(t, client, url, nextID("down"))
			}
		})
	}
	srv.Close()
	testutil.Eventually(t, 10*time.Second, "readiness to turn false", func() (bool, string) { return in.Ready() != nil, "" })
	unavailable := func() int { o.mu.Lock(); defer o.mu.Unlock(); return o.codes[503] }
	testutil.Eventually(t, 10*time.Second, "posts to be refused with 503", func() (bool, string) { return unavailable() >= 20, "" })
	close(stopLoad)
	wg.Wait()
	// While it is down, nothing is accepted.
	o.mu.Lock()
	acceptedBefore := len(o.accepted)
	o.mu.Unlock()
	for range 5 {
		if code := o.post(t, client, url, nextID("down")); code != http.StatusServiceUnavailable {
			t.Fatalf("post while Kafka is down: %d", code)
		}
	}

	// Phase 3: Kafka back on the same port and data.
	srv2, err := devkafka.Start(devkafka.Config{Addr: addr, DataDir: dir})
	if err != nil {
		t.Fatalf("restart kafka: %v", err)
	}
	defer srv2.Close()
	testutil.Eventually(t, 20*time.Second, "posts to be accepted again", func() (bool, string) {
		return o.post(t, client, url, nextID("back")) == http.StatusAccepted, ""
	})
	o.mu.Lock()
	n := len(o.accepted)
	o.mu.Unlock()
	burst("after", 20)
	if got := len(o.accepted) - n; got != 20 {
		t.Errorf("after the outage: %d of 20 accepted (%v)", got, o.codes)
	}
	t.Logf("answers: %v; accepted before the outage ended: %d", o.codes, acceptedBefore)
	stop()

	// Every event answered 202 is in the topic; nothing there was not posted.
	_, adm := adminFor(t, kcfg)
	ids := idsOf(t, newTopicReader(t, kcfg, adm, topic).next())
	inTopic := map[string]int{}
	for _, id := range ids {
		inTopic[id]++
	}
	for _, id := range o.accepted {
		if inTopic[id] == 0 {
			t.Errorf("event %s was answered 202 but is not in the topic", id)
		}
	}
	for id := range inTopic {
		if !slices.Contains(o.posted, id) {
			t.Errorf("event %s in the topic was never posted", id)
		}
	}
	if len(inTopic) < len(o.accepted) {
		t.Errorf("%d distinct events in the topic, %d answered 202", len(inTopic), len(o.accepted))
	}
	t.Logf("%d records, %d distinct events, %d answered 202, %d posted", len(ids), len(inTopic), len(o.accepted), len(o.posted))
}

// TestBufferFull fills the bounded producer buffer while Kafka stalls: the
// next request is refused at once with 503 and Retry-After and never stored,
// the buffered one is stored and answered 202 once Kafka answers.
func TestBufferFull(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	const topic = "weft.broker.default.full"
	createTopic(t, adm, topic, 1)
	cfg := testConfig(kcfg)
	cfg.MaxBufferedRecords = 1
	cfg.ProduceTimeout = 20 * time.Second
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	_, hs := serveIngress(t, cfg, contractOf(1, brokerEntry("default", "full", topic)), ingress.WithTracerProvider(tp))
	url := hs.URL + "/default/full"
	ctx := context.Background()

	held, release := testutil.HoldFirstProduce(srv.Cluster())
	first := make(chan int, 1)
	go func() {
		code, _, body, err := binaryPost(ctx, hs.Client(), url, "buffered")
		if err != nil {
			t.Error(err)
		}
		t.Logf("first: %d %s", code, body)
		first <- code
	}()
	<-held
	start := time.Now()
	code, h, body, err := binaryPost(ctx, hs.Client(), url, "refused")
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("with the buffer full: %d (Retry-After %q) %s, want 503 with Retry-After", code, h.Get("Retry-After"), body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusal took %v, want at once", d)
	}
	t.Logf("second: %d %s", code, body)
	close(release)
	if code := <-first; code != http.StatusAccepted {
		t.Fatalf("buffered event: %d, want 202", code)
	}
	if ids := idsOf(t, newTopicReader(t, kcfg, adm, topic).next()); !slices.Equal(ids, []string{"buffered"}) {
		t.Fatalf("topic holds %v, want [buffered]", ids)
	}
	// Each record's producer span ended with Kafka's answer: stored (with
	// its offset), or refused.
	outcome := map[string]string{}
	for _, s := range spans.Ended() {
		if s.Name() != "send "+topic || s.SpanKind() != trace.SpanKindProducer {
			continue
		}
		var id, offset string
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case "messaging.message.id":
				id = kv.Value.AsString()
			case "messaging.kafka.offset":
				offset = kv.Value.Emit()
			}
		}
		outcome[id] = s.Status().Code.String() + " offset=" + offset
	}
	if want := map[string]string{"buffered": "Unset offset=0", "refused": "Error offset="}; !maps.Equal(outcome, want) {
		t.Errorf("producer spans %v, want %v", outcome, want)
	}
}

// TestProduceTimeout answers 503 when Kafka does not acknowledge within
// --produce-timeout, and never 202.
func TestProduceTimeout(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	const topic = "weft.broker.default.slow"
	createTopic(t, adm, topic, 1)
	cfg := testConfig(kcfg)
	cfg.ProduceTimeout = 300 * time.Millisecond
	_, hs := serveIngress(t, cfg, contractOf(1, brokerEntry("default", "slow", topic)))

	_, release := testutil.HoldFirstProduce(srv.Cluster())
	defer close(release)
	code, h, body, err := binaryPost(context.Background(), hs.Client(), hs.URL+"/default/slow", "slow")
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("stalled Kafka: %d (Retry-After %q) %s, want 503 with Retry-After", code, h.Get("Retry-After"), body)
	}
	t.Logf("%d %s", code, body)
}

// TestMaxInFlight refuses requests beyond --max-in-flight at once, before
// reading their bodies.
func TestMaxInFlight(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	const topic = "weft.broker.default.busy"
	createTopic(t, adm, topic, 1)
	cfg := testConfig(kcfg)
	cfg.MaxInFlight = 1
	cfg.ProduceTimeout = 20 * time.Second
	_, hs := serveIngress(t, cfg, contractOf(1, brokerEntry("default", "busy", topic)))
	url := hs.URL + "/default/busy"

	held, release := testutil.HoldFirstProduce(srv.Cluster())
	first := make(chan int, 1)
	go func() {
		code, _, _, err := binaryPost(context.Background(), hs.Client(), url, "first")
		if err != nil {
			t.Error(err)
		}
		first <- code
	}()
	<-held
	code, h, body, err := binaryPost(context.Background(), hs.Client(), url, "second")
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "in flight") {
		t.Fatalf("over --max-in-flight: %d (Retry-After %q) %s", code, h.Get("Retry-After"), body)
	}
	close(release)
	if code := <-first; code != http.StatusAccepted {
		t.Fatalf("first: %d", code)
	}
	if code, _, body, _ := binaryPost(context.Background(), hs.Client(), url, "third"); code != http.StatusAccepted {
		t.Fatalf("after the first finished: %d %s", code, body)
	}
	if ids := idsOf(t, newTopicReader(t, kcfg, adm, topic).next()); !slices.Equal(ids, []string{"first", "third"}) {
		t.Fatalf("topic holds %v", ids)
	}
}

// TestRecordTooLargeForKafka answers 413 when the event fits
// --max-event-bytes but not in a Kafka record batch.
func TestRecordTooLargeForKafka(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	const topic = "weft.broker.default.big"
	createTopic(t, adm, topic, 1)
	cfg := testConfig(kcfg)
	cfg.MaxEventBytes = 4 << 20
	cfg.MaxBufferedBytes = 0
	_, hs := serveIngress(t, cfg, contractOf(1, brokerEntry("default", "big", topic)))
	// Random data: compression must not shrink it under the topic's limit.
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/default/big", strings.NewReader(randomText(2<<20)))
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", "big")
	req.Header.Set("Ce-Source", "/s")
	req.Header.Set("Ce-Type", "t")
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB event: %d %s, want 413", resp.StatusCode, body)
	}
	t.Logf("%d %s", resp.StatusCode, body)
	if ids := idsOf(t, newTopicReader(t, kcfg, adm, topic).next()); len(ids) != 0 {
		t.Fatalf("topic holds %v", ids)
	}
}

func randomText(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// TestOneMebibyteEvent: an event at the default --max-event-bytes is stored
// when the topic allows it, as the control plane creates broker topics.
func TestOneMebibyteEvent(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	const topic = "weft.broker.default.mib"
	if err := srv.Cluster().CreateTopic(topic, 1, map[string]string{"max.message.bytes": "2097152"}); err != nil {
		t.Fatal(err)
	}
	_, adm := adminFor(t, kcfg)
	cfg := testConfig(kcfg)
	_, hs := serveIngress(t, cfg, contractOf(1, brokerEntry("default", "mib", topic)))
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/default/mib", strings.NewReader(randomText(int(cfg.MaxEventBytes))))
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", "mib")
	req.Header.Set("Ce-Source", "/s")
	req.Header.Set("Ce-Type", "t")
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("1 MiB event: %d %s, want 202", resp.StatusCode, body)
	}
	if ids := idsOf(t, newTopicReader(t, kcfg, adm, topic).next()); len(ids) != 1 || ids[0] != "mib" {
		t.Fatalf("topic holds %v", ids)
	}
}
