package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/wire"
)

// startTestKafka starts a Kafka-protocol server for the test and returns it,
// a producer with the ingress's options on it, and a context bounding the
// test.
func startTestKafka(t *testing.T) (*devkafka.Server, *kgo.Client, context.Context) {
	t.Helper()
	srv := testutil.StartKafka(t)
	cl, err := ingressProducer(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return srv, cl, ctx
}

type answer struct {
	code int
	body string
	err  error
}

func post(ctx context.Context, url string, body []byte, headers map[string]string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b), err}
}

// The floor server answers 202 only once Kafka has acknowledged the record,
// and the record is the binary-mode event the ingress would have written;
// a record Kafka refuses is answered 500 and not stored.
func TestFloorHandler(t *testing.T) {
	srv, cl, ctx := startTestKafka(t)
	const topic = "weft.bench.floor.test"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, -1, map[string]*string{"max.message.bytes": ptr("4096")}, topic); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(FloorHandler(cl, topic))
	t.Cleanup(hs.Close)

	held, release := testutil.HoldFirstProduce(srv.Cluster())
	answered := make(chan answer, 1)
	headers := map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": "floor-1", "Ce-Type": "bench.v1", "Ce-Source": "/bench",
		"Content-Type": "application/json",
	}
	go func() { answered <- post(ctx, hs.URL+"/x", []byte(`{"d":1}`), headers) }()
	select {
	case <-held:
	case <-ctx.Done():
		t.Fatal("the floor server never produced")
	}
	select {
	case a := <-answered:
		t.Fatalf("answered %d %q while Kafka held the produce", a.code, a.body)
	default:
	}
	close(release)
	if a := <-answered; a.err != nil || a.code != http.StatusAccepted {
		t.Fatalf("answer: %d %q %v, want 202", a.code, a.body, a.err)
	}

	// Incompressible and larger than the topic's max.message.bytes.
	big := make([]byte, 8<<10)
	rand.Read(big)
	if a := post(ctx, hs.URL+"/x", big, map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "too-big", "Ce-Type": "t", "Ce-Source": "/s"}); a.err != nil || a.code != http.StatusInternalServerError {
		t.Errorf("a record Kafka refuses: %d %q %v, want 500", a.code, a.body, a.err)
	}

	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if end, _ := ends.Lookup(topic, 0); end.Offset != 1 {
		t.Errorf("%d records in the topic, want 1", end.Offset)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr()), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var recs []*kgo.Record
	for len(recs) == 0 && ctx.Err() == nil {
		consumer.PollFetches(ctx).EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	e, err := cekafka.FromRecord(recs[0])
	if err != nil {
		t.Fatalf("the record is not a CloudEvent: %v", err)
	}
	if e.ID() != "floor-1" || e.Type() != "bench.v1" || e.Source() != "/bench" || e.DataContentType() != "application/json" || string(e.Data()) != `{"d":1}` {
		t.Errorf("event %v", e)
	}
	exts := e.Extensions()
	for _, name := range []string{wire.ExtArrivalTime, wire.ExtBrokerTTL} {
		if exts[name] == nil {
			t.Errorf("extension %s missing: %v", name, exts)
		}
	}
}

// The batch splitter finds each element's boundaries however its strings
// and nesting look, and refuses what is not a JSON array of objects with a
// message naming the fault.
func TestSplitBatch(t *testing.T) {
	for name, c := range map[string]struct {
		body string
		want []string
	}{
		"empty array":                                {`[]`, nil},
		"empty array, spaced":                        {" \t\r\n[ \n ] \n", nil},
		"one event":                                  {`[{"id":"1"}]`, []string{`{"id":"1"}`}},
		"whitespace everywhere":                      {"\n [ \t{\"id\":\"1\"} ,\r\n {\"id\":\"2\"}\n ]\n", []string{`{"id":"1"}`, `{"id":"2"}`}},
		"nested objects, arrays":                     {`[{"a":{"b":[1,[2,{"c":[]}]]},"d":{}},{"e":[{"f":{}}]}]`, []string{`{"a":{"b":[1,[2,{"c":[]}]]},"d":{}}`, `{"e":[{"f":{}}]}`}},
		"brackets in strings":                        {`[{"s":"]},[{\"x\":\"]\"}"},{"t":"{["}]`, []string{`{"s":"]},[{\"x\":\"]\"}"}`, `{"t":"{["}`}},
		"escaped backslash before the closing quote": {`[{"s":"a\\"},{"u":"\\\"}]"}]`, []string{`{"s":"a\\"}`, `{"u":"\\\"}]"}`}},
		"escaped quote in a key":                     {`[{"k\"}":1}]`, []string{`{"k\"}":1}`}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := splitBatch([]byte(c.body))
			if err != nil {
				t.Fatalf("splitBatch(%q): %v", c.body, err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("splitBatch(%q) = %q, want %q", c.body, got, c.want)
			}
			for i := range got {
				if string(got[i]) != c.want[i] {
					t.Errorf("element %d = %q, want %q", i, got[i], c.want[i])
				}
			}
		})
	}
	for body, want := range map[string]string{
		``:                        "empty body",
		`  `:                      "empty body",
		`{"id":"1"}`:              "want '[' opening a JSON array",
		`[`:                       "the array is not closed",
		`[{"id":"1"}`:             "the array is not closed: want ',' or ']' after element 0",
		`[{"id":"1"},`:            "the array is not closed",
		`[{"id":"1"},]`:           "element 1 (byte 12): want a JSON object, got ']'",
		`[{"id":"1"} {"id":"2"}]`: "byte 12: want ',' or ']' after element 0",
		`[1,2]`:                   "element 0 (byte 1): want a JSON object",
		`["a"]`:                   "element 0 (byte 1): want a JSON object",
		`[{"id":"1"]}]`:           `element 0 (byte 10): ']' closes nothing open`,
		`[{"id":"1"}}]`:           `byte 11: want ',' or ']' after element 0, got '}'`,
		`[{"id":"1}]`:             "element 0: the string at byte 7 is not closed",
		`[{"id":"1\"}]`:           "element 0: the string at byte 7 is not closed",
		`[{"a":{"b":1}]`:          "element 0 (byte 13): ']' closes nothing open",
		`[{"a":{"b":1}`:           "element 0 (byte 1): the object is not closed",
		`[{"id":"1"}] x`:          `byte 13: 'x' after the array`,
		`[] []`:                   `byte 3: '[' after the array`,
	} {
		if got, err := splitBatch([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("splitBatch(%q) = %q, %v; want an error containing %q", body, got, err, want)
		}
	}
}

// A batch is produced as one structured-mode record per element, in order,
// and answered 202 once Kafka has acknowledged them all; an empty batch is
// answered 202 with nothing produced; a malformed one is answered 400 with
// the fault and nothing of it is produced.
func TestFloorHandlerBatch(t *testing.T) {
	srv, cl, ctx := startTestKafka(t)
	const topic = "weft.bench.floor.batch"
	if err := createTopic(ctx, cl, topic, 1); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(FloorHandler(cl, topic))
	t.Cleanup(hs.Close)
	batchCT := map[string]string{"Content-Type": "Application/CloudEvents-Batch+JSON; charset=utf-8"}
	end := func() int64 {
		t.Helper()
		ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := ends.Lookup(topic, 0)
		return o.Offset
	}

	for _, body := range []string{`[{"specversion":"1.0","id":"ok"},]`, `[{"specversion":"1.0","id":"ok"}, {"id":"]`, `{"specversion":"1.0"}`} {
		a := post(ctx, hs.URL+"/x", []byte(body), batchCT)
		if a.err != nil || a.code != http.StatusBadRequest || !strings.HasPrefix(a.body, "malformed batch: ") {
			t.Errorf("malformed batch %q: %d %q %v, want 400 naming the fault", body, a.code, a.body, a.err)
		}
	}
	if a := post(ctx, hs.URL+"/x", []byte(" [ ] "), batchCT); a.err != nil || a.code != http.StatusAccepted {
		t.Errorf("empty batch: %d %q %v, want 202", a.code, a.body, a.err)
	}
	if n := end(); n != 0 {
		t.Fatalf("%d records in the topic after malformed and empty batches, want none", n)
	}

	events := []string{
		`{"specversion":"1.0","id":"b-1","type":"bench.v1","source":"/bench","datacontenttype":"application/json","data":{"s":"]},[{\"x\":\"]\"}","n":[1,[2,{}]]}}`,
		`{"specversion":"1.0","id":"b-2","type":"bench.v1","source":"/bench","data":"a\\"}`,
		`{"specversion":"1.0","id":"b-3","type":"bench.v1","source":"/bench"}`,
	}
	body := "[\n  " + strings.Join(events, " ,\n  ") + "\n]\n"
	if a := post(ctx, hs.URL+"/x", []byte(body), batchCT); a.err != nil || a.code != http.StatusAccepted {
		t.Fatalf("batch: %d %q %v, want 202", a.code, a.body, a.err)
	}
	// ProduceSync returned before the 202: the records are in the topic.
	if n := end(); n != int64(len(events)) {
		t.Fatalf("%d records in the topic, want %d", n, len(events))
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr()), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var recs []*kgo.Record
	for len(recs) < len(events) && ctx.Err() == nil {
		consumer.PollFetches(ctx).EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	for i, r := range recs {
		if string(r.Value) != events[i] {
			t.Errorf("record %d = %s, want %s", i, r.Value, events[i])
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != cekafka.ContentTypeHeader || string(r.Headers[0].Value) != "application/cloudevents+json" {
			t.Errorf("record %d headers %v, want only content-type application/cloudevents+json", i, r.Headers)
		}
		e, err := cekafka.FromRecord(r)
		if err != nil {
			t.Errorf("record %d is not a structured CloudEvent: %v", i, err)
		} else if want := fmt.Sprintf("b-%d", i+1); e.ID() != want {
			t.Errorf("record %d has id %q, want %q", i, e.ID(), want)
		}
	}
}
