package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/wire"
)

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
	srv := testutil.StartKafka(t)
	cl, err := ingressProducer(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
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
