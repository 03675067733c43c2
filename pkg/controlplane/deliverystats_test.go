package controlplane

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevent "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/controlplane/console"
	"github.com/weft-dev/weft/pkg/dispatcher"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func report(uid string, delivered, failed, dl uint64) []*weftv1.EgressStats {
	return []*weftv1.EgressStats{{Uid: uid, Delivered: delivered, Failed: failed, DeadLettered: dl}}
}

// TestDeliveryStatsAggregate: totals are the sum over processes, survive a
// process leaving, do not double on a reconnect, restart from a counter that
// went down; rates cover the window and leave out a process's history.
func TestDeliveryStatsAggregate(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	s := newDeliveryStats()
	want := func(step string, now time.Time, delivered, failed, dl uint64, rate *float64) {
		t.Helper()
		f, ok := s.figures(now)["t1"]
		if !ok {
			t.Fatalf("%s: no figures for t1", step)
		}
		if f.Delivered != delivered || f.Failed != failed || f.DeadLettered != dl {
			t.Errorf("%s: delivered/failed/dead-lettered = %d/%d/%d, want %d/%d/%d", step, f.Delivered, f.Failed, f.DeadLettered, delivered, failed, dl)
		}
		switch {
		case rate == nil && f.DeliveryRate != nil:
			t.Errorf("%s: delivery rate = %v, want none yet", step, *f.DeliveryRate)
		case rate != nil && (f.DeliveryRate == nil || *f.DeliveryRate != *rate):
			t.Errorf("%s: delivery rate = %v, want %v", step, f.DeliveryRate, *rate)
		}
	}

	// a has counted 1000 before this replica heard of it: history.
	s.connect("a")
	s.observe("a", report("t1", 1000, 10, 1), at(0))
	want("first report", at(1), 1000, 10, 1, nil)
	s.observe("a", report("t1", 1100, 10, 1), at(5))
	want("a's second report", at(10), 1100, 10, 1, ptr(100.0/10))

	s.connect("b") // a new process
	s.observe("b", report("t1", 50, 5, 2), at(10))
	s.observe("b", report("t1", 350, 6, 3), at(20))
	want("two processes", at(20), 1450, 16, 4, ptr(400.0/20))

	// b goes; its counts stay in the totals.
	s.disconnect("b", at(21))
	want("b gone", at(21), 1450, 16, 4, ptr(400.0/21))

	// b comes back (same process, counters going on): only its new counts
	// add up.
	s.connect("b")
	s.observe("b", report("t1", 400, 6, 3), at(25))
	want("b back", at(25), 1500, 16, 4, ptr(450.0/25))

	// The window slides: at at(35) it starts at at(5), when the rated
	// counts were a's 100.
	want("window slid", at(35), 1500, 16, 4, ptr((450.0-100)/30))
	// Nothing for a minute: the rate falls to zero, totals stay.
	want("quiet", at(120), 1500, 16, 4, ptr(0.0))

	// a's counter went down (the egress left its contract and came
	// back): counted from zero.
	s.observe("a", report("t1", 7, 10, 1), at(121))
	want("reset", at(121), 1507, 16, 4, ptr(7.0/30))

	s.retain(map[string]bool{"t2": true})
	if f := s.figures(at(122)); len(f) != 0 {
		t.Errorf("figures after the trigger left the contract = %v", f)
	}
}

// statsSubscriber answers 200 but to "bad-*" events (always 500) and to the
// first attempt of "flaky-*" ones.
func statsSubscriber(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	tries := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		tries[e.ID()]++
		n := tries[e.ID()]
		mu.Unlock()
		if strings.HasPrefix(e.ID(), "bad-") || strings.HasPrefix(e.ID(), "flaky-") && n == 1 {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runDispatcher runs a real dispatcher process following the control plane
// at addr; stop ends it (drained) and is idempotent.
func runDispatcher(t *testing.T, k *devkafka.Server, addr, id string) (stop func()) {
	t.Helper()
	cfg := dispatcher.DefaultConfig()
	cfg.ControlPlane, cfg.OpsAddr, cfg.ProcessID = addr, "", id
	cfg.Kafka = testutil.KafkaConfig(k)
	cfg.CommitInterval, cfg.DrainTimeout, cfg.SessionTimeout = 50*time.Millisecond, 5*time.Second, 10*time.Second
	cfg.StatsInterval = 100 * time.Millisecond
	d, err := dispatcher.New(cfg, dispatcher.WithLogger(testutil.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	_, stop = testutil.Run(t, fmt.Sprintf("dispatcher %s Run", id), d.Run)
	return stop
}

// TestConsoleDeliveryStats runs a control plane and real dispatchers on
// Kafka: after deliveries with failed attempts and dead letters,
// /v1/console/stats shows them on the trigger, summed over the dispatcher
// processes, one of which has gone.
func TestConsoleDeliveryStats(t *testing.T) {
	k := testutil.StartKafka(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("console-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, k, func(c *Config) { c.ConsoleAddr = "127.0.0.1:0"; c.ConsoleTokenFile = tokenFile })
	base := "http://" + r.srv.HTTPAddr()
	sub := statsSubscriber(t)
	var dlMu sync.Mutex
	var deadLetters []string
	dls := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e, err := cehttp.NewEventFromHTTPRequest(r); err == nil {
			dlMu.Lock()
			deadLetters = append(deadLetters, e.ID())
			dlMu.Unlock()
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(dls.Close)
	ctx := testCtx(t)
	manifest := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: stats
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: counted
  namespace: stats
spec:
  broker: default
  subscriber:
    uri: %s
  delivery:
    retry: 2
    backoffPolicy: linear
    backoffDelay: PT0.01S
    deadLetterSink:
      uri: %s
`, sub.URL, dls.URL)
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, manifest)}); err != nil {
		t.Fatal(err)
	}
	stop1 := runDispatcher(t, k, r.srv.Addr(), "d1")
	testutil.Eventually(t, 30*time.Second, "the trigger Ready", func() (bool, string) { return triggerReady(t, r, "stats", "counted") })

	kcfg := testutil.KafkaConfig(k)
	cl, err := kcfg.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	produce := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			e := cloudevent.New()
			e.SetID(id)
			e.SetType("counted")
			e.SetSource("stats-test")
			rec, err := cekafka.ToRecord(wire.BrokerTopic("stats", "default"), &e)
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitCounts := func(step string, want console.DeliveryFigures) {
		t.Helper()
		testutil.Eventually(t, 30*time.Second, step, func() (bool, string) {
			code, body := httpGet(t, base+"/v1/console/stats", "console-token")
			var s console.Stats
			if err := json.Unmarshal(body, &s); code != 200 || err != nil {
				return false, fmt.Sprintf("%d %v %s", code, err, body)
			}
			c := s.Triggers["Trigger/stats/counted"].Counts
			if c == nil || c.Delivered != want.Delivered || c.Failed != want.Failed || c.DeadLettered != want.DeadLettered || c.Dropped != 0 {
				return false, fmt.Sprintf("trigger figures %s, want delivered %d, failed %d, dead-lettered %d", body, want.Delivered, want.Failed, want.DeadLettered)
			}
			return true, ""
		})
	}

	// d1: four delivered (one after a failed attempt), two dead-lettered
	// after three failed attempts each.
	produce("ok-1", "ok-2", "flaky-1", "bad-1", "ok-3", "bad-2")
	waitCounts("d1's deliveries", console.DeliveryFigures{Delivered: 4, Failed: 1 + 2*3, DeadLettered: 2})

	// d1 goes, d2 takes over: d1's counts stay in the totals, d2's add up.
	stop1()
	runDispatcher(t, k, r.srv.Addr(), "d2")
	produce("ok-4", "bad-3")
	waitCounts("d1's and d2's deliveries", console.DeliveryFigures{Delivered: 5, Failed: 1 + 3*3, DeadLettered: 3})
	dlMu.Lock()
	defer dlMu.Unlock()
	if len(deadLetters) != 3 {
		t.Errorf("dead-letter sink got %v, want bad-1, bad-2, bad-3", deadLetters)
	}
}
