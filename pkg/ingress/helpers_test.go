package ingress_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/kafka"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// testConfig is a Config for tests against the Kafka-protocol server kcfg.
func testConfig(kcfg kafka.Config) ingress.Config {
	cfg := ingress.DefaultConfig()
	cfg.Kafka = kcfg
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.OpsAddr = ""
	cfg.ControlPlane = ""
	cfg.ProduceTimeout = 2 * time.Second
	cfg.KafkaCheckInterval = 100 * time.Millisecond
	cfg.DrainTimeout = 5 * time.Second
	cfg.ProcessID = "test"
	return cfg
}

func brokerEntry(ns, name, topic string) *weftv1.Ingress {
	return &weftv1.Ingress{
		Uid: ns + "-" + name, Kind: "Broker", Namespace: ns, Name: name,
		Path: "/" + ns + "/" + name, Topic: topic,
	}
}

func contractOf(version uint64, entries ...*weftv1.Ingress) *weftv1.Contract {
	return &weftv1.Contract{Version: version, Ingresses: entries}
}

func adminFor(t testing.TB, kcfg kafka.Config) (*kgo.Client, *kadm.Client) {
	t.Helper()
	cl, err := kcfg.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl)
}

func createTopic(t testing.TB, adm *kadm.Client, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// topicReader returns, on each call of next, every record appended to a
// topic since the previous call.
type topicReader struct {
	t     testing.TB
	adm   *kadm.Client
	cl    *kgo.Client
	topic string
	pos   map[int32]int64
}

func newTopicReader(t testing.TB, kcfg kafka.Config, adm *kadm.Client, topic string) *topicReader {
	t.Helper()
	cl, err := kcfg.NewClient(nil, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &topicReader{t: t, adm: adm, cl: cl, topic: topic, pos: map[int32]int64{}}
}

func (r *topicReader) next() []*kgo.Record {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ends, err := r.adm.ListEndOffsets(ctx, r.topic)
	if err != nil {
		r.t.Fatalf("list end offsets: %v", err)
	}
	behind := func() bool {
		found := false
		ends.Each(func(o kadm.ListedOffset) {
			if r.pos[o.Partition] < o.Offset {
				found = true
			}
		})
		return found
	}
	var out []*kgo.Record
	for behind() {
		fs := r.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			r.t.Fatalf("reading %s: %v (have %v, want %v)", r.topic, ctx.Err(), r.pos, ends)
		}
		fs.EachError(func(_ string, _ int32, err error) { r.t.Logf("fetch: %v", err) })
		fs.EachRecord(func(rec *kgo.Record) {
			out = append(out, rec)
			r.pos[rec.Partition] = rec.Offset + 1
		})
	}
	return out
}

// idsOf decodes records and returns the event ids in order.
func idsOf(t testing.TB, recs []*kgo.Record) []string {
	t.Helper()
	var ids []string
	for _, r := range recs {
		e, err := cekafka.FromRecord(r)
		if err != nil {
			t.Fatalf("record at offset %d is not a CloudEvent: %v", r.Offset, err)
		}
		ids = append(ids, e.ID())
	}
	return ids
}

// attrsOf is an event's attributes and extensions in canonical string form.
func attrsOf(t testing.TB, e *event.Event) map[string]string {
	t.Helper()
	m := map[string]string{"specversion": e.SpecVersion(), "id": e.ID(), "source": e.Source(), "type": e.Type()}
	for k, v := range map[string]string{"subject": e.Subject(), "datacontenttype": e.DataContentType(), "dataschema": e.DataSchema()} {
		if v != "" {
			m[k] = v
		}
	}
	if !e.Time().IsZero() {
		m["time"] = types.FormatTime(e.Time())
	}
	for k, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			t.Fatal(err)
		}
		m[k] = s
	}
	return m
}

// binaryPost posts a binary-mode event with id to url.
func binaryPost(ctx context.Context, c *http.Client, url, id string) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"n":1}`))
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", id)
	req.Header.Set("Ce-Source", "/test")
	req.Header.Set("Ce-Type", "test.event")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), nil
}

// run runs in until the test ends (and checks that Run then returns
// cleanly), waits until it serves, and returns the context it runs with.
func run(t *testing.T, in *ingress.Ingress) context.Context {
	t.Helper()
	ctx, _ := testutil.Run(t, "Run", in.Run)
	<-in.Started()
	return ctx
}
