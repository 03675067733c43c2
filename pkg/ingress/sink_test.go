package ingress_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func sinkEntry(ns, name, topic, mode string, seeds ...string) *weftv1.Ingress {
	return &weftv1.Ingress{
		Uid: "sink-" + ns + "-" + name, Kind: "KafkaSink", Namespace: ns, Name: name,
		Path: wire.KafkaSinkPath(ns, name), Topic: topic, ContentMode: mode, BootstrapServers: seeds,
	}
}

// serveIngress builds an ingress on cfg (logging to the test, and with
// opts) with contract c and serves its handler over real HTTP; both are
// closed when the test ends.
func serveIngress(t *testing.T, cfg ingress.Config, c *weftv1.Contract, opts ...ingress.Option) (*ingress.Ingress, *httptest.Server) {
	t.Helper()
	in, err := ingress.New(cfg, append([]ingress.Option{ingress.WithLogger(testutil.Logger(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	if err := in.ApplyContract(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(in.Handler())
	t.Cleanup(hs.Close)
	return in, hs
}

// sinkEvent is the i-th event of a run: JSON, text, binary or no data;
// a subject, a partition key, extensions on some.
func sinkEvent(prefix string, i int) *event.Event {
	e := event.New()
	e.SetID(fmt.Sprintf("%s-%05d", prefix, i))
	e.SetSource(fmt.Sprintf("/sources/%d", i%7))
	e.SetType(fmt.Sprintf("com.example.t%d", i%5))
	e.SetTime(time.UnixMilli(1_700_000_000_000 + int64(i)).UTC())
	if i%2 == 0 {
		e.SetSubject(fmt.Sprintf("orders/%d", i))
	}
	if i%3 == 0 {
		_ = e.Context.SetExtension("partitionkey", fmt.Sprintf("pk-%d", i%10))
	}
	_ = e.Context.SetExtension("exstr", fmt.Sprintf("v%d", i))
	switch i % 4 {
	case 0:
		e.SetDataContentType("application/json")
		e.DataEncoded = []byte(fmt.Sprintf(`{"n":%d,"s":"x y"}`, i))
	case 1:
		e.SetDataContentType("text/plain; charset=utf-8")
		e.DataEncoded = []byte(fmt.Sprintf("hello %d ü", i))
	case 2:
		e.SetDataContentType("application/octet-stream")
		e.DataEncoded = []byte{0, 0xff, byte(i), byte(i >> 8), 0x80}
		e.DataBase64 = true // structured HTTP posts: data_base64
	}
	return &e
}

// postEvent posts e with sdk-go's HTTP binding, binary or structured mode.
func postEvent(ctx context.Context, c *http.Client, url string, e *event.Event, structured bool) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	if structured {
		ctx = binding.WithForceStructured(ctx)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(e), req); err != nil {
		return 0, nil, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), nil
}

// TestKafkaSinkTenThousand posts 10,000 events (half in binary, half in
// structured HTTP mode) to a binary-mode and to a structured-mode sink:
// every one is answered 202, and the target topic holds exactly those
// events, in the sink's content mode, read back by the sdk-go sarama
// binding with the attributes, extensions and data sent, the partition key
// as the key, and nothing stamped on them.
func TestKafkaSinkTenThousand(t *testing.T) {
	const n, workers, partitions = 10_000, 32, 3
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	createTopic(t, adm, "out.binary", partitions)
	createTopic(t, adm, "out.structured", partitions)
	_, hs := serveIngress(t, testConfig(kcfg), contractOf(1,
		sinkEntry("default", "bin", "out.binary", ""),
		sinkEntry("default", "str", "out.structured", "structured")))
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	t.Cleanup(client.CloseIdleConnections)

	for _, tc := range []struct {
		name, sink, topic string
		encoding          binding.Encoding
	}{
		{"binary", "bin", "out.binary", binding.EncodingBinary},
		{"structured", "str", "out.structured", binding.EncodingStructured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := hs.URL + wire.KafkaSinkPath("default", tc.sink)
			start := time.Now()
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for {
						i := int(next.Add(1) - 1)
						if i >= n || failed.Load() > 10 {
							return
						}
						code, _, body, err := postEvent(context.Background(), client, url, sinkEvent(tc.name, i), i%2 == 1)
						if err != nil || code != http.StatusAccepted {
							failed.Add(1)
							t.Errorf("post %d: %d %s %v", i, code, body, err)
						}
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			posted := time.Since(start)

			ctx := context.Background()
			seen := map[string]bool{}
			rctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			for _, cm := range testutil.SaramaRead(rctx, t, srv.Addr(), tc.topic, partitions, n) {
				m := kafka_sarama.NewMessageFromConsumerMessage(cm)
				if enc := m.ReadEncoding(); enc != tc.encoding {
					t.Fatalf("offset %d: encoding %v, want %v", cm.Offset, enc, tc.encoding)
				}
				got, err := binding.ToEvent(ctx, m)
				if err != nil {
					t.Fatalf("sarama binding ToEvent: %v", err)
				}
				for _, name := range []string{"kafkaoffset", "kafkapartition", "kafkatopic"} {
					_ = got.Context.SetExtension(name, nil)
				}
				var i int
				if _, err := fmt.Sscanf(got.ID(), tc.name+"-%d", &i); err != nil || seen[got.ID()] {
					t.Fatalf("unexpected or repeated id %q", got.ID())
				}
				seen[got.ID()] = true
				want := sinkEvent(tc.name, i)
				wa, ga := attrsOf(t, want), attrsOf(t, got)
				if fmt.Sprint(wa) != fmt.Sprint(ga) {
					t.Fatalf("event %s attributes:\n got %v\nwant %v", got.ID(), ga, wa)
				}
				if !bytes.Equal(got.Data(), want.Data()) {
					t.Fatalf("event %s data %q, want %q", got.ID(), got.Data(), want.Data())
				}
				if pk, ok := wa["partitionkey"]; ok != (cm.Key != nil) || string(cm.Key) != pk {
					t.Fatalf("event %s key %q, want %q", got.ID(), cm.Key, pk)
				}
			}
			if len(seen) != n {
				t.Fatalf("%d distinct events in %s, want %d", len(seen), tc.topic, n)
			}
			t.Logf("%d events posted in %v (%.0f/s), all read back by the sarama binding", n, posted.Round(time.Millisecond), float64(n)/posted.Seconds())
		})
	}
}

// TestKafkaSinkOtherCluster: a sink naming another cluster's bootstrap
// servers writes there and not on Weft's cluster; sinks naming the same set
// share one producer, closed once no entry names it.
func TestKafkaSinkOtherCluster(t *testing.T) {
	weft, other := testutil.StartKafka(t), testutil.StartKafka(t)
	wcfg, ocfg := testutil.KafkaConfig(weft), testutil.KafkaConfig(other)
	_, wadm := adminFor(t, wcfg)
	_, oadm := adminFor(t, ocfg)
	const topic = "orders"
	createTopic(t, wadm, topic, 1)
	createTopic(t, oadm, topic, 1)
	bad := "127.0.0.1:1"
	in, hs := serveIngress(t, testConfig(wcfg), contractOf(1,
		sinkEntry("default", "there", topic, "structured", other.Addr()),
		sinkEntry("default", "here", topic, "binary")))
	if got := in.SinkClusters(); !slices.Equal(got, []string{other.Addr()}) {
		t.Fatalf("SinkClusters = %v, want [%s]", got, other.Addr())
	}
	for i := range 10 {
		for _, sink := range []string{"there", "here"} {
			e := sinkEvent(sink, i)
			if code, _, body, err := postEvent(context.Background(), hs.Client(), hs.URL+wire.KafkaSinkPath("default", sink), e, false); err != nil || code != http.StatusAccepted {
				t.Fatalf("post to %s: %d %s %v", sink, code, body, err)
			}
		}
	}
	for _, tc := range []struct {
		kcfg       kafka.Config
		prefix     string
		structured bool
	}{{ocfg, "there-", true}, {wcfg, "here-", false}} {
		_, adm := adminFor(t, tc.kcfg)
		recs := newTopicReader(t, tc.kcfg, adm, topic).next()
		ids := idsOf(t, recs)
		if len(ids) != 10 {
			t.Fatalf("%s: %d records %v, want 10", tc.kcfg.BootstrapServers, len(ids), ids)
		}
		for i, id := range ids {
			if !strings.HasPrefix(id, tc.prefix) {
				t.Errorf("%s holds %s", tc.kcfg.BootstrapServers, id)
			}
			ct, _ := recordHeader(recs[i], "content-type")
			_, binary := recordHeader(recs[i], "ce_specversion")
			if structured := ct == "application/cloudevents+json"; structured != tc.structured || binary == tc.structured {
				t.Errorf("%s: content-type %q, ce_specversion header %v; want structured %v", id, ct, binary, tc.structured)
			}
		}
	}

	// Two sinks naming the same servers in another order: one producer.
	c2 := contractOf(2,
		sinkEntry("default", "there", topic, "structured", other.Addr()),
		sinkEntry("default", "a", topic, "", bad, other.Addr()),
		sinkEntry("default", "b", topic, "", other.Addr(), bad, other.Addr()))
	if err := in.ApplyContract(context.Background(), c2); err != nil {
		t.Fatal(err)
	}
	want := []string{strings.Join(slices.Sorted(slices.Values([]string{bad, other.Addr()})), ","), other.Addr()}
	slices.Sort(want)
	if got := in.SinkClusters(); !slices.Equal(got, want) {
		t.Fatalf("SinkClusters = %v, want %v", got, want)
	}
	if err := in.ApplyContract(context.Background(), contractOf(3, sinkEntry("default", "here", topic, ""))); err != nil {
		t.Fatal(err)
	}
	if got := in.SinkClusters(); len(got) != 0 {
		t.Fatalf("SinkClusters after the sinks left = %v, want none", got)
	}
	code, _, body, _ := postEvent(context.Background(), hs.Client(), hs.URL+wire.KafkaSinkPath("default", "there"), sinkEvent("x", 1), false)
	if code != http.StatusNotFound || !strings.Contains(body, "no such sink") {
		t.Fatalf("removed sink: %d %s, want 404 no such sink", code, body)
	}
}

func recordHeader(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// TestKafkaSinkNo202BeforeAck: while the sink's cluster holds the produce,
// the request is not answered; once the cluster acknowledges, 202 and the
// record is there.
func TestKafkaSinkNo202BeforeAck(t *testing.T) {
	weft, other := testutil.StartKafka(t), testutil.StartKafka(t)
	ocfg := testutil.KafkaConfig(other)
	_, oadm := adminFor(t, ocfg)
	createTopic(t, oadm, "held", 1)
	cfg := testConfig(testutil.KafkaConfig(weft))
	cfg.ProduceTimeout = 20 * time.Second
	_, hs := serveIngress(t, cfg, contractOf(1, sinkEntry("default", "held", "held", "", other.Addr())))
	held, release := testutil.HoldFirstProduce(other.Cluster())
	answered := make(chan int, 1)
	go func() {
		code, _, body, err := postEvent(context.Background(), hs.Client(), hs.URL+"/sinks/default/held", sinkEvent("held", 0), false)
		if err != nil {
			t.Error(err)
		}
		t.Logf("%d %s", code, body)
		answered <- code
	}()
	<-held
	select {
	case code := <-answered:
		t.Fatalf("answered %d while the produce is held", code)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if code := <-answered; code != http.StatusAccepted {
		t.Fatalf("after the ack: %d, want 202", code)
	}
	if ids := idsOf(t, newTopicReader(t, ocfg, oadm, "held").next()); !slices.Equal(ids, []string{"held-00000"}) {
		t.Fatalf("topic holds %v", ids)
	}
}

// TestKafkaSinkClusterDown stops the sink's cluster: posts get 503 with
// Retry-After within the produce timeout (then at once, once the cluster is
// seen down), never 202; Weft's brokers are unaffected; when
// the cluster is back, 202 again, and every event answered 202 is stored.
func TestKafkaSinkClusterDown(t *testing.T) {
	weft := testutil.StartKafka(t)
	wcfg := testutil.KafkaConfig(weft)
	_, wadm := adminFor(t, wcfg)
	createTopic(t, wadm, "weft.broker.default.b", 1)
	dir := t.TempDir()
	other, err := devkafka.Start(devkafka.Config{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := other.Addr()
	ocfg := kafka.Config{BootstrapServers: []string{addr}, ClientID: "weft-test"}
	{
		_, oadm := adminFor(t, ocfg)
		createTopic(t, oadm, "out", 1)
	}
	cfg := testConfig(wcfg)
	cfg.ProduceTimeout = time.Second
	cfg.KafkaCheckInterval = 50 * time.Millisecond
	_, hs := serveIngress(t, cfg, contractOf(1,
		brokerEntry("default", "b", "weft.broker.default.b"),
		sinkEntry("default", "out", "out", "structured", addr)))
	url := hs.URL + "/sinks/default/out"
	var accepted []string
	seq := 0
	post := func() (int, http.Header, string, time.Duration) {
		seq++
		e := sinkEvent("down", seq)
		start := time.Now()
		code, h, body, err := postEvent(context.Background(), hs.Client(), url, e, false)
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusAccepted {
			accepted = append(accepted, e.ID())
		}
		return code, h, body, time.Since(start)
	}
	if code, _, body, _ := post(); code != http.StatusAccepted {
		t.Fatalf("cluster up: %d %s", code, body)
	}

	other.Close()
	code, h, body, took := post()
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("cluster down: %d (Retry-After %q) %s, want 503 with Retry-After", code, h.Get("Retry-After"), body)
	}
	if took > cfg.ProduceTimeout+time.Second {
		t.Fatalf("cluster down: answered after %v, produce timeout %v", took, cfg.ProduceTimeout)
	}
	t.Logf("first post while down: %d after %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(body))
	testutil.Eventually(t, 10*time.Second, "posts to be refused at once", func() (bool, string) {
		code, h, body, took := post()
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Fatalf("cluster down: %d %s", code, body)
		}
		return took < 200*time.Millisecond && strings.Contains(body, addr), body
	})
	if code, _, body, err := binaryPost(context.Background(), hs.Client(), hs.URL+"/default/b", "to-broker"); err != nil || code != http.StatusAccepted {
		t.Errorf("broker on Weft's cluster while the sink's is down: %d %s %v", code, body, err)
	}

	other2, err := devkafka.Start(devkafka.Config{Addr: addr, DataDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer other2.Close()
	testutil.Eventually(t, 20*time.Second, "posts to be accepted again", func() (bool, string) {
		code, _, body, _ := post()
		return code == http.StatusAccepted, body
	})
	_, oadm := adminFor(t, ocfg)
	ids := idsOf(t, newTopicReader(t, ocfg, oadm, "out").next())
	for _, id := range accepted {
		if !slices.Contains(ids, id) {
			t.Errorf("%s was answered 202 but is not stored", id)
		}
	}
	t.Logf("%d posts, %d answered 202, %d records", seq, len(accepted), len(ids))
}

// TestKafkaSinkAnswers: 404 for an unknown sink, 405, 400 for an invalid
// event, 413; the record is the event as posted (nothing stamped), keyed by
// its partitionkey; malformed sink entries refuse the contract.
func TestKafkaSinkAnswers(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	createTopic(t, adm, "answers", 1)
	cfg := testConfig(kcfg)
	cfg.MaxEventBytes = 1 << 10
	in, hs := serveIngress(t, cfg, contractOf(1, sinkEntry("default", "s", "answers", "")))
	url := hs.URL + "/sinks/default/s"
	do := func(method, url string, hdr map[string]string, body string) (int, http.Header, string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	ce := map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "ok", "Ce-Source": "/s", "Ce-Type": "t",
		"Ce-Partitionkey": "key-1", "Content-Type": "application/json"}
	for _, tc := range []struct {
		name, method, url string
		hdr               map[string]string
		body              string
		code              int
		contains          string
	}{
		{"unknown sink", http.MethodPost, hs.URL + "/sinks/default/nope", ce, "{}", http.StatusNotFound, "no such sink"},
		{"GET", http.MethodGet, url, nil, "", http.StatusMethodNotAllowed, ""},
		{"no id", http.MethodPost, url, map[string]string{"Ce-Specversion": "1.0", "Ce-Source": "/s", "Ce-Type": "t"}, "", http.StatusBadRequest, "id"},
		{"bad structured", http.MethodPost, url, map[string]string{"Content-Type": "application/cloudevents+json"}, `{"specversion":"1.0","id":"","source":"/s","type":"t"}`, http.StatusBadRequest, "id"},
		{"too large", http.MethodPost, url, ce, strings.Repeat("x", 2<<10), http.StatusRequestEntityTooLarge, ""},
		{"stored", http.MethodPost, url, ce, `{"a":1}`, http.StatusAccepted, ""},
	} {
		code, h, body := do(tc.method, tc.url, tc.hdr, tc.body)
		if code != tc.code || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, code, body, tc.code, tc.contains)
		}
		if code == http.StatusMethodNotAllowed && h.Get("Allow") != "POST" {
			t.Errorf("%s: Allow %q", tc.name, h.Get("Allow"))
		}
	}
	recs := newTopicReader(t, kcfg, adm, "answers").next()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	if string(recs[0].Key) != "key-1" {
		t.Errorf("key %q, want key-1", recs[0].Key)
	}
	e, err := cekafka.FromRecord(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{wire.ExtArrivalTime, wire.ExtBrokerTTL} {
		if _, ok := e.Extensions()[ext]; ok {
			t.Errorf("the sink's record carries %s", ext)
		}
	}

	for name, bad := range map[string]*weftv1.Ingress{
		"path":         {Kind: "KafkaSink", Namespace: "d", Name: "s", Path: "/sinks/d", Topic: "t"},
		"broker path":  {Kind: "KafkaSink", Namespace: "d", Name: "s", Path: "/d/s", Topic: "t"},
		"content mode": sinkEntry("d", "s", "t", "avro"),
		"no topic":     sinkEntry("d", "s", "", ""),
	} {
		if err := in.ApplyContract(context.Background(), contractOf(2, bad)); err == nil {
			t.Errorf("%s: contract applied, want refused", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// The refused contracts left the sink served.
	if code, _, body := do(http.MethodPost, url, ce, `{"a":2}`); code != http.StatusAccepted {
		t.Errorf("after refused contracts: %d %s", code, body)
	}
}
