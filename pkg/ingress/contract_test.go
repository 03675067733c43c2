package ingress_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/ingress"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

var _ contract.Applier = (*ingress.Ingress)(nil)

// TestApplyContract serves a broker as soon as its contract is applied and
// answers 404 once it is removed; a bad snapshot is refused whole.
func TestApplyContract(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	const topicA, topicB = "weft.broker.ns1.a", "weft.broker.ns2.b"
	createTopic(t, adm, topicA, 1)
	createTopic(t, adm, topicB, 1)
	in, err := ingress.New(testConfig(kcfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	hs := httptest.NewServer(in.Handler())
	t.Cleanup(hs.Close)
	ctx := context.Background()
	var retryAfter string
	post := func(path, id string) int {
		t.Helper()
		code, h, _, err := binaryPost(ctx, hs.Client(), hs.URL+path, id)
		if err != nil {
			t.Fatal(err)
		}
		retryAfter = h.Get("Retry-After")
		return code
	}
	apply := func(c *weftv1.Contract) {
		t.Helper()
		if err := in.ApplyContract(ctx, c); err != nil {
			t.Fatalf("apply %d: %v", c.GetVersion(), err)
		}
	}
	a, b := brokerEntry("ns1", "a", topicA), brokerEntry("ns2", "b", topicB)

	// Before the first contract the ingress cannot know the broker is
	// missing: 503 and retry, not 404.
	if code := post("/ns1/a", "a0"); code != http.StatusServiceUnavailable || retryAfter == "" {
		t.Fatalf("before any contract: %d (Retry-After %q), want 503 with Retry-After", code, retryAfter)
	}
	apply(contractOf(1, a))
	if code := post("/ns1/a", "a1"); code != http.StatusAccepted {
		t.Fatalf("a after contract 1: %d", code)
	}
	if code := post("/ns2/b", "b1"); code != http.StatusNotFound {
		t.Fatalf("b before it is applied: %d, want 404", code)
	}

	channel := &weftv1.Ingress{Kind: "Channel", Namespace: "ns1", Name: "c", Path: "/channels/ns1/c", Topic: "weft.channel.ns1.c"}
	apply(contractOf(2, a, b, channel))
	if code := post("/ns2/b", "b2"); code != http.StatusAccepted {
		t.Fatalf("b after contract 2: %d", code)
	}
	if code := post("/ns1/c", "c2"); code != http.StatusNotFound {
		t.Fatalf("a channel served as a broker: %d", code)
	}

	for name, bad := range map[string]*weftv1.Contract{
		"duplicate path":             contractOf(3, a, brokerEntry("ns1", "a", "other")),
		"no topic":                   contractOf(3, a, brokerEntry("ns3", "x", "")),
		"bad path":                   contractOf(3, &weftv1.Ingress{Kind: "Broker", Namespace: "ns1", Name: "a", Path: "ns1/a", Topic: topicA}),
		"deep path":                  contractOf(3, &weftv1.Ingress{Kind: "Broker", Namespace: "ns1", Name: "a", Path: "/x/ns1/a", Topic: topicA}),
		"channel at a broker path":   contractOf(3, &weftv1.Ingress{Kind: "Channel", Namespace: "ns1", Name: "c", Path: "/ns1/c", Topic: topicA}),
		"sequence at a channel path": contractOf(3, &weftv1.Ingress{Kind: "Sequence", Namespace: "ns1", Name: "s", Path: "/channels/ns1/s", Topic: topicA}),
		"short parallel path":        contractOf(3, &weftv1.Ingress{Kind: "Parallel", Namespace: "ns1", Name: "p", Path: "/parallels/ns1", Topic: topicA}),
		"channel without topic":      contractOf(3, &weftv1.Ingress{Kind: "Channel", Namespace: "ns1", Name: "c", Path: "/channels/ns1/c"}),
	} {
		if err := in.ApplyContract(ctx, bad); err == nil {
			t.Errorf("%s: contract applied", name)
		} else if !strings.Contains(err.Error(), "contract 3") {
			t.Errorf("%s: error %q does not name the version", name, err)
		}
	}
	if in.ContractVersion() != 2 {
		t.Errorf("version %d after refused contracts, want 2", in.ContractVersion())
	}
	if post("/ns1/a", "a3") != http.StatusAccepted || post("/ns2/b", "b3") != http.StatusAccepted {
		t.Fatal("a refused contract changed what is served")
	}

	apply(contractOf(4, b))
	if code := post("/ns1/a", "a4"); code != http.StatusNotFound {
		t.Fatalf("a after it was removed: %d, want 404", code)
	}
	if code := post("/ns2/b", "b4"); code != http.StatusAccepted {
		t.Fatalf("b after contract 4: %d", code)
	}

	// The broker's topic moves: events follow the contract.
	apply(contractOf(5, brokerEntry("ns2", "b", topicA)))
	if code := post("/ns2/b", "b5"); code != http.StatusAccepted {
		t.Fatalf("b after its topic moved: %d", code)
	}

	if ids := idsOf(t, newTopicReader(t, kcfg, adm, topicA).next()); !slices.Equal(ids, []string{"a1", "a3", "b5"}) {
		t.Errorf("topic a holds %v", ids)
	}
	if ids := idsOf(t, newTopicReader(t, kcfg, adm, topicB).next()); !slices.Equal(ids, []string{"b2", "b3", "b4"}) {
		t.Errorf("topic b holds %v", ids)
	}
}
