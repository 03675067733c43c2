package dispatcher

import (
	"fmt"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// pingContract is the contract of one PingSource on "@every 1s" delivering
// to url, as the control plane compiles it.
func pingContract(topic, url string) *weftv1.Contract {
	return &weftv1.Contract{Version: 1, Ingresses: []*weftv1.Ingress{{
		Uid: "ping-uid", Kind: "PingSource", Namespace: "ns", Name: "p", Topic: topic,
		Ping: &weftv1.PingSchedule{
			Schedule: "@every 1s", Type: "dev.knative.sources.ping", Source: "/apis/v1/namespaces/ns/pingsources/p",
			ContentType: "application/json", Data: []byte(`{"hello":"ping"}`), Extensions: map[string]string{"team": "ops"},
		},
		Egresses: []*weftv1.Egress{{
			Uid: "ping-uid", Kind: "PingSource", Namespace: "ns", Name: "p",
			ConsumerGroup: wire.PingSourceGroup("ns", "p"), Destination: url,
			Order:         weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED,
			InitialOffset: weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST,
			Delivery:      &weftv1.Delivery{Retry: 5, BackoffDelayMs: 100},
		}},
	}}}
}

// pinging says whether d runs the pinger of topic.
func pinging(d *running, topic string) bool {
	for _, r := range d.readerList() {
		if r.topic == topic {
			r.pingMu.Lock()
			on := r.pingCancel != nil
			r.pingMu.Unlock()
			return on
		}
	}
	return false
}

// ticksOf returns the tick times the sink received, in arrival order.
func ticksOf(s *subscriber) []time.Time {
	var out []time.Time
	for _, e := range s.received() {
		out = append(out, e.Time())
	}
	return out
}

// TestPingSourceOneEventPerTickAcrossDispatchers runs one PingSource on
// "@every 1s" in two dispatchers. Exactly one event per tick reaches the
// sink: tick times distinct and consecutive (1s apart) for at least 3 ticks;
// then the dispatcher producing them stops and the other takes over: ticks
// go on with no duplicate, and the one gap in tick times is at most one
// period plus the takeover bound (session timeout + 3s of rebalance).
func TestPingSourceOneEventPerTickAcrossDispatchers(t *testing.T) {
	e := newEnv(t)
	topic := wire.PingSourceTopic("ns", "p")
	e.createTopic(topic, 1)
	e.createTopic(wire.RetryTopicOf(topic), 1)
	sink := newSubscriber(t, nil)
	cfg := testConfig(e.kcfg)
	cfg.SessionTimeout = 6 * time.Second
	a, b := start(t, cfg), start(t, cfg)
	c := pingContract(topic, sink.URL)
	a.apply(t, c)
	b.apply(t, c)

	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		n := len(sink.received())
		return n >= 4, fmt.Sprintf("%d ticks received", n)
	})
	owner, other := a, b
	if !pinging(a, topic) {
		owner, other = b, a
	}
	if pinging(owner, topic) == pinging(other, topic) {
		t.Fatalf("want exactly one pinger: a %v, b %v", pinging(a, topic), pinging(b, topic))
	}
	before := len(sink.received())
	owner.stop(t)
	testutil.Eventually(t, 30*time.Second, "", func() (bool, string) {
		n := len(sink.received())
		return n >= before+4 && pinging(other, topic), fmt.Sprintf("%d ticks received (%d before the takeover)", n, before)
	})

	ticks := ticksOf(sink)
	period := time.Second
	takeover := cfg.SessionTimeout + 3*time.Second
	seen := map[time.Time]bool{}
	longGaps := 0
	for i, tk := range ticks {
		if seen[tk] {
			t.Fatalf("tick %s received twice; ticks %v", tk, ticks)
		}
		seen[tk] = true
		if tk.Nanosecond() != 0 {
			t.Errorf("tick %s is not on the schedule (whole seconds)", tk)
		}
		if i == 0 {
			continue
		}
		gap := tk.Sub(ticks[i-1])
		switch {
		case gap <= 0:
			t.Errorf("tick %d (%s) not after tick %d (%s)", i, tk, i-1, ticks[i-1])
		case gap == period:
		case gap <= period+takeover:
			longGaps++
		default:
			t.Errorf("gap of %s between ticks %d and %d: more than one period plus the takeover bound %s", gap, i-1, i, takeover)
		}
	}
	if longGaps > 1 {
		t.Errorf("%d gaps longer than one period; want at most one (the takeover); ticks %v", longGaps, ticks)
	}
	for i := 1; i < before; i++ {
		if gap := ticks[i].Sub(ticks[i-1]); gap != period {
			t.Errorf("before the takeover, tick %d is %s after the previous one; want %s", i, gap, period)
		}
	}
	ev := sink.received()[0]
	if ev.Type() != "dev.knative.sources.ping" || ev.Source() != "/apis/v1/namespaces/ns/pingsources/p" ||
		ev.DataContentType() != "application/json" || string(ev.Data()) != `{"hello":"ping"}` || ev.Extensions()["team"] != "ops" {
		t.Errorf("event = %s", ev)
	}
	// The topic holds one record per tick, too: no duplicate produce.
	if n, got := e.endOffsets(topic)[0], int64(len(seen)); n < got {
		t.Errorf("topic holds %d records, fewer than the %d ticks delivered", n, got)
	}
}

// TestFirstTick checks where a pinger that gains the partition starts.
func TestFirstTick(t *testing.T) {
	s, err := cron.ParseStandard("*/5 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	at := func(hm string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05", "2026-01-01 "+hm)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name            string
		last, now, want time.Time
	}{
		{"fresh source: the next tick", time.Time{}, at("10:02:00"), at("10:05:00")},
		{"next tick still ahead", at("10:00:00"), at("10:03:00"), at("10:05:00")},
		{"missed tick within one period: fired now", at("10:00:00"), at("10:06:00"), at("10:05:00")},
		{"several missed: only the latest, if within one period", at("10:00:00"), at("10:21:00"), at("10:20:00")},
		{"due exactly now", at("10:00:00"), at("10:05:00"), at("10:05:00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstTick(s, tc.last, tc.now); !got.Equal(tc.want) {
				t.Errorf("firstTick(%s, %s) = %s, want %s", tc.last, tc.now, got, tc.want)
			}
		})
	}
}
