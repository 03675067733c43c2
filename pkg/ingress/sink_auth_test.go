package ingress_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/wire"
)

// TestKafkaSinkSecuredCluster: a KafkaSink whose cluster takes TLS and
// SCRAM-SHA-512 gets its events there with the contract's kafka_auth; the
// same sink with a wrong password is refused (503, nothing written) and the
// log says why, and one without auth never reaches the cluster in plaintext.
func TestKafkaSinkSecuredCluster(t *testing.T) {
	weft := testutil.StartKafka(t)
	wcfg := testutil.KafkaConfig(weft)
	other := testutil.StartKafkaSecure(t, testutil.KafkaSecurity{TLS: true,
		Users: []testutil.KafkaUser{{Mechanism: "SCRAM-SHA-512", User: "sink", Password: "right"}}})
	ocfg := other.Config()
	_, oadm := adminFor(t, ocfg)
	const topic = "secured-orders"
	createTopic(t, oadm, topic, 1)

	entry := sinkEntry("default", "secure", topic, "binary", other.Addr())
	entry.KafkaAuth = other.Auth()
	in, hs := serveIngress(t, testConfig(wcfg), contractOf(1, entry))
	if got := in.SinkClusters(); len(got) != 1 || !strings.HasPrefix(got[0], other.Addr()+" (auth ") {
		t.Fatalf("SinkClusters = %v, want %s with an auth digest", got, other.Addr())
	}
	url := hs.URL + wire.KafkaSinkPath("default", "secure")
	for i := range 5 {
		if code, _, body, err := postEvent(context.Background(), hs.Client(), url, sinkEvent("secure", i), false); err != nil || code != http.StatusAccepted {
			t.Fatalf("post: %d %s %v", code, body, err)
		}
	}
	reader := newTopicReader(t, ocfg, oadm, topic)
	if ids := idsOf(t, reader.next()); len(ids) != 5 {
		t.Fatalf("the secured cluster holds %v, want 5 events", ids)
	}

	for name, mutate := range map[string]func(){
		"wrong password": func() { entry.KafkaAuth.SaslPassword = "wrong" },
		"no auth":        func() { entry.KafkaAuth = nil },
	} {
		t.Run(name, func(t *testing.T) {
			entry = sinkEntry("default", "secure", topic, "binary", other.Addr())
			entry.KafkaAuth = other.Auth()
			mutate()
			if err := in.ApplyContract(context.Background(), contractOf(2, entry)); err != nil {
				t.Fatal(err)
			}
			// The producer's reachability check fails: the sink answers 503.
			testutil.Eventually(t, 20*time.Second, "503 from the sink whose cluster refuses the client", func() (bool, string) {
				code, _, body, err := postEvent(context.Background(), hs.Client(), url, sinkEvent("refused", 0), false)
				return err == nil && code == http.StatusServiceUnavailable, body
			})
			if ids := idsOf(t, reader.next()); len(ids) != 0 {
				t.Fatalf("the refused client wrote %v", ids)
			}
		})
	}
}
