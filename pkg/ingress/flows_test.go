package ingress_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/observability"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestServeChannelsAndFlows: channels, sequences and parallels are served
// at their paths like brokers (202 once Kafka stored the event), a flow's
// internal topics are not served at all, and the metrics name the kind.
func TestServeChannelsAndFlows(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	chTopic := wire.ChannelTopic("ns", "ch")
	seq0, seq1 := wire.SequenceTopic("ns", "seq", 0), wire.SequenceTopic("ns", "seq", 1)
	parTopic := wire.ParallelTopic("ns", "par")
	for _, topic := range []string{chTopic, seq0, seq1, parTopic} {
		createTopic(t, adm, topic, 1)
	}
	m, err := observability.NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	in, err := ingress.New(testConfig(kcfg), ingress.WithLogger(testutil.Logger(t)), ingress.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	hs := httptest.NewServer(in.Handler())
	t.Cleanup(hs.Close)
	ctx := context.Background()
	c := contractOf(1,
		&weftv1.Ingress{Uid: "ch-uid", Kind: "Channel", Namespace: "ns", Name: "ch", Path: wire.ChannelPath("ns", "ch"), Topic: chTopic},
		&weftv1.Ingress{Uid: "seq-uid", Kind: "Sequence", Namespace: "ns", Name: "seq", Path: wire.SequencePath("ns", "seq"), Topic: seq0},
		&weftv1.Ingress{Uid: "seq-uid/step-1", Kind: "Sequence", Namespace: "ns", Name: "seq", Path: "", Topic: seq1},
		&weftv1.Ingress{Uid: "par-uid", Kind: "Parallel", Namespace: "ns", Name: "par", Path: wire.ParallelPath("ns", "par"), Topic: parTopic},
		&weftv1.Ingress{Uid: "x-uid", Kind: "Frobnicator", Namespace: "ns", Name: "x", Path: "/frobs/ns/x", Topic: chTopic},
	)
	if err := in.ApplyContract(ctx, c); err != nil {
		t.Fatalf("ApplyContract: %v", err)
	}
	post := func(path, id string) (int, string) {
		t.Helper()
		code, _, body, err := binaryPost(ctx, hs.Client(), hs.URL+path, id)
		if err != nil {
			t.Fatal(err)
		}
		return code, body
	}
	for path, id := range map[string]string{
		"/channels/ns/ch":   "to-channel",
		"/sequences/ns/seq": "to-sequence",
		"/parallels/ns/par": "to-parallel",
	} {
		if code, body := post(path, id); code != http.StatusAccepted {
			t.Errorf("POST %s: %d %q, want 202", path, code, body)
		}
	}
	// The internal topic has no path; nothing near its name is served,
	// nor is an entry of an unknown kind.
	for _, path := range []string{"/sequences/ns/seq/1", "/sequences/ns/seq-1", "/ns/seq", "/frobs/ns/x", "/channels/ns/nope"} {
		if code, body := post(path, "stray"); code != http.StatusNotFound {
			t.Errorf("POST %s: %d %q, want 404", path, code, body)
		}
	}
	if code, body := post("/channels/ns/nope", "stray"); !strings.Contains(body, "nothing is served") {
		t.Errorf("POST to an unknown channel: %d %q, want a 404 that does not speak of a broker", code, body)
	}

	for topic, want := range map[string][]string{chTopic: {"to-channel"}, seq0: {"to-sequence"}, parTopic: {"to-parallel"}} {
		if ids := idsOf(t, newTopicReader(t, kcfg, adm, topic).next()); !slices.Equal(ids, want) {
			t.Errorf("topic %s holds %v, want %v", topic, ids, want)
		}
	}
	ends, err := adm.ListEndOffsets(ctx, seq1)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup(seq1, 0); o.Offset != 0 {
		t.Errorf("the internal topic %s holds %d records, want none", seq1, o.Offset)
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{`broker="ch"`, `kind="Channel"`, `kind="Sequence"`, `kind="Parallel"`} {
		found := false
		for line := range strings.Lines(rec.Body.String()) {
			if strings.HasPrefix(line, "weft_ingress_requests_total{") && strings.Contains(line, want) && strings.Contains(line, `code="202"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no weft_ingress_requests_total sample with %s and code 202", want)
		}
	}
}
