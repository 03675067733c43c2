package controlplane

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/contract"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func pollerManifest(name, extra string) string {
	return "apiVersion: sources.triggermesh.io/v1alpha1\nkind: HTTPPollerSource\nmetadata:\n  name: " + name + "\n  namespace: src\nspec:\n" +
		"  eventType: com.example.alerts\n  endpoint: https://api.example.com/alerts\n  interval: 10s\n  basicAuthUsername: u\n" +
		"  sink:\n    uri: http://display.src.svc/\n" + extra
}

// TestHTTPPollerSource: applying an HTTPPollerSource creates its internal
// topic (one partition) and retry topic; it is Ready once a dispatcher runs
// it, with its sink and event attributes; a poll failure the dispatcher
// reports makes it not Ready (PollFailed) until cleared; a password Secret
// that does not resolve keeps it out of the contract (SecretResolveFailed);
// deleting it deletes its topics.
func TestHTTPPollerSource(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	adm := kadm.NewClient(mustClient(t, e))
	manifest := pollerManifest("hp", "  basicAuthPassword:\n    value: s3cret\n") + "---\n" +
		pollerManifest("locked", "  basicAuthPassword:\n    valueFromSecret:\n      name: poller-creds\n      key: password\n")
	resp, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, manifest)})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	uid := mustDecode(t, resp.Results[0].Object).GetObjectMeta().UID
	topic := wire.SourceTopic(apis.KindHTTPPollerSource, "src", "hp")
	if got := topicPartitions(t, adm, topic, wire.RetryTopicOf(topic)); fmt.Sprint(got) != fmt.Sprint(map[string]int{topic: 1, wire.RetryTopicOf(topic): 1}) {
		t.Errorf("topics: %v; want %s and its retry topic with one partition", got, topic)
	}

	get := func(name string) *apis.HTTPPollerSource {
		t.Helper()
		po, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: "httppollersources", Namespace: "src", Name: name})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		return decode[*apis.HTTPPollerSource](t, po)
	}
	ready := func(name string) (bool, string) {
		for _, c := range get(name).Status.Conditions {
			if c.Type == "Ready" {
				return c.Status == apis.ConditionTrue, c.Reason + ": " + c.Message
			}
		}
		return false, "no Ready condition"
	}

	pa := &problemApplier{gateApplier: newGate(true)}
	cl := contract.NewClient(contract.ClientConfig{Server: r.srv.Addr(), Role: wire.RoleDispatcher, ProcessID: "d1", ProblemInterval: 20 * time.Millisecond}, pa, nil)
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = cl.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testutil.Eventually(t, 20*time.Second, "Ready once the dispatcher runs it", func() (bool, string) { return ready("hp") })

	hp := get("hp")
	if hp.Status.SinkURI != "http://display.src.svc/" || fmt.Sprint(hp.Status.CloudEventAttributes) != "[{com.example.alerts src.hp}]" {
		t.Errorf("sinkUri %q, ceAttributes %v", hp.Status.SinkURI, hp.Status.CloudEventAttributes)
	}
	var types []string
	for _, c := range hp.Status.Conditions {
		types = append(types, c.Type)
	}
	if fmt.Sprint(types) != "[Ready SinkProvided SecretsProvided Deployed PollHealthy]" {
		t.Errorf("conditions %v", types)
	}
	var in *weftv1.Ingress
	for _, x := range pa.lastContract().GetIngresses() {
		switch x.GetName() {
		case "hp":
			in = x
		case "locked":
			t.Errorf("the source whose Secret does not resolve is in the contract")
		}
	}
	if p := in.GetPoller(); in.GetTopic() != topic || p.GetBasicAuthPassword() != "s3cret" || p.GetIntervalMs() != 10000 {
		t.Errorf("contract entry %v", in)
	}

	ok, msg := ready("locked")
	if ok || !strings.HasPrefix(msg, "SecretResolveFailed: spec.basicAuthPassword: secret \"poller-creds\" not found") {
		t.Errorf("source with a missing Secret: Ready %v, %s", ok, msg)
	}

	pa.set(&weftv1.EgressProblem{Uid: uid, Reason: "PollFailed", Message: "GET https://api.example.com/alerts: 503 Service Unavailable"})
	testutil.Eventually(t, 20*time.Second, "the poll failure on the status", func() (bool, string) {
		ok, msg := ready("hp")
		return !ok && strings.HasPrefix(msg, "PollFailed: d1: GET https://api.example.com/alerts: 503"), msg
	})
	pa.set()
	testutil.Eventually(t, 20*time.Second, "Ready again", func() (bool, string) { return ready("hp") })

	if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "httppollersource", Namespace: "src", Name: "hp"}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "topics deleted", func() (bool, string) {
		got := topicPartitions(t, adm, topic, wire.RetryTopicOf(topic))
		return len(got) == 0, fmt.Sprint(got)
	})
}
