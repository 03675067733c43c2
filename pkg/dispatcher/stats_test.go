package dispatcher

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/internal/testutil"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// failingSubscriber answers 200 to "ok-*" events, 500 to the first attempt
// of each "flaky-*" event (per path: each egress has its own), and 500 to
// every attempt of "bad-*" ones.
func failingSubscriber(t *testing.T) *subscriber {
	var mu sync.Mutex
	tries := map[string]int{}
	return newSubscriber(t, func(w http.ResponseWriter, r *http.Request, e *event.Event) bool {
		mu.Lock()
		tries[r.URL.Path+" "+e.ID()]++
		n := tries[r.URL.Path+" "+e.ID()]
		mu.Unlock()
		switch {
		case strings.HasPrefix(e.ID(), "bad-"), strings.HasPrefix(e.ID(), "flaky-") && n == 1:
			http.Error(w, "broken", http.StatusInternalServerError)
			return false
		}
		w.WriteHeader(http.StatusOK)
		return true
	})
}

// TestEgressStats: the per-egress counters reported to the control plane
// move with real deliveries: deliveries, failed attempts (retries included),
// dead letters and drops, per egress uid.
func TestEgressStats(t *testing.T) {
	e := newEnv(t)
	e.createTopic(topic, 1)
	sub, dls := failingSubscriber(t), newSubscriber(t, nil)
	d := start(t, testConfig(e.kcfg))
	withDL := egress("with-dl", sub.URL+"/a", "")
	withDL.Delivery = &weftv1.Delivery{Retry: 2, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_LINEAR, BackoffDelayMs: 5, TimeoutMs: 2000, DeadLetterUrl: dls.URL}
	noDL := egress("no-dl", sub.URL+"/b", "")
	noDL.Delivery = &weftv1.Delivery{Retry: 0, TimeoutMs: 2000}
	d.apply(t, contractOf(1, topic, withDL, noDL))
	e.produce(topic, ev("ok-1"), ev("ok-2"), ev("ok-3"), ev("flaky-1"), ev("bad-1"), ev("bad-2"))

	want := []*weftv1.EgressStats{
		// no-dl: one attempt each: the flaky and bad ones fail and are
		// dropped.
		{Uid: noDL.Uid, Delivered: 3, Failed: 3, Dropped: 3},
		// with-dl: the flaky one fails once, each bad one three times
		// (two retries) and is dead-lettered.
		{Uid: withDL.Uid, Delivered: 4, Failed: 1 + 2*3, DeadLettered: 2},
	}
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		got := d.EgressStats()
		if len(got) != len(want) {
			return false, fmt.Sprintf("stats = %v, want %v", got, want)
		}
		for i := range got {
			if !proto.Equal(got[i], want[i]) {
				return false, fmt.Sprintf("stats[%d] = {%v}, want {%v}", i, prototext.Format(got[i]), prototext.Format(want[i]))
			}
		}
		return true, ""
	})
	dls.waitIDs(t, "bad-1", "bad-2")
	if n := d.metricValue(t, "weft_dispatcher_events_dead_lettered_total", `trigger="with-dl"`); n != 2 {
		t.Errorf("dead-lettered metric = %v, want 2 (as the counter)", n)
	}

	// A removed egress's counters are forgotten; the kept one's go on.
	d.apply(t, contractOf(2, topic, withDL))
	e.produce(topic, ev("ok-4"))
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		got := d.EgressStats()
		return len(got) == 1 && got[0].Uid == withDL.Uid && got[0].Delivered == 5, fmt.Sprintf("stats = %v, want only %s with 5 delivered", got, withDL.Uid)
	})
}
