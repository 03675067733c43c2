package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
)

// tickSink records the id and time of every PingSource event it gets.
type tickSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	ids map[string]string // id → ce-time
	n   int
}

func newTickSink(t *testing.T) *tickSink {
	s := &tickSink{ids: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ids[r.Header.Get("Ce-Id")] = r.Header.Get("Ce-Time")
		s.n++
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// ticks returns the distinct tick times received, sorted, and whether two
// different event ids carried the same tick time (a tick produced twice).
func (s *tickSink) ticks() (times []time.Time, twice string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]string{}
	for id, ts := range s.ids {
		if other, ok := seen[ts]; ok {
			twice = fmt.Sprintf("tick %s produced twice (ids %s and %s)", ts, other, id)
		}
		seen[ts] = id
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if err == nil {
			times = append(times, tm)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	return times, twice
}

// A PingSource ticking every second, run by two dispatcher processes: the
// one producing the ticks is SIGKILLed and the other takes over. No tick is
// produced twice, and ticks go on after one gap no longer than the session
// timeout allows.
func TestPingSourceDispatcherKilled(t *testing.T) {
	sink := newTickSink(t)
	c := startCluster(t)
	d1 := c.startDispatcher(t, "dispatcher-1")
	const ns = "ping"
	weftCLI(t, c.grpc, fmt.Sprintf(`apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: every-second, namespace: %s}
spec:
  schedule: "@every 1s"
  data: '{"ping":true}'
  contentType: application/json
  sink: {uri: "%s/ping"}
`, ns, sink.srv.URL), "apply", "-f", "-")
	testutil.Eventually(t, 60*time.Second, "three ticks from the first dispatcher", func() (bool, string) {
		times, _ := sink.ticks()
		return len(times) >= 3, fmt.Sprint(len(times))
	})
	// The second dispatcher joins the fleet's group of the source's topic;
	// the partition stays with the first (cooperative-sticky).
	d2 := c.startDispatcher(t, "dispatcher-2")
	d2.waitLine(t, `"msg":"started reader".*"topic":"weft\.ping\.ping\.every-second"`, 30*time.Second)
	if !strings.Contains(d1.output(), "running PingSource schedule") {
		t.Fatalf("dispatcher-1 does not run the schedule:\n%s", d1.output())
	}
	before, _ := sink.ticks()
	d1.stop(syscall.SIGKILL)
	killedAt := before[len(before)-1]

	testutil.Eventually(t, 60*time.Second, "four ticks after the kill", func() (bool, string) {
		times, _ := sink.ticks()
		after := 0
		for _, tm := range times {
			if tm.After(killedAt) {
				after++
			}
		}
		return after >= 4, fmt.Sprint(after)
	})
	if !strings.Contains(d2.output(), "running PingSource schedule") {
		t.Errorf("dispatcher-2 never ran the schedule")
	}
	times, twice := sink.ticks()
	if twice != "" {
		t.Fatal(twice)
	}
	// Ticks are whole seconds apart; the takeover leaves one gap of at most
	// the session timeout (6 s), a rebalance and one period.
	const maxGap = 15 * time.Second
	gaps := 0
	for i := 1; i < len(times); i++ {
		d := times[i].Sub(times[i-1])
		switch {
		case d == time.Second:
		case d > time.Second && d <= maxGap:
			gaps++
		default:
			t.Errorf("ticks %s and %s are %s apart", times[i-1].Format(time.RFC3339Nano), times[i].Format(time.RFC3339Nano), d)
		}
	}
	if gaps > 1 {
		t.Errorf("%d gaps between ticks, want at most one (the takeover)", gaps)
	}
	sink.mu.Lock()
	deliveries := sink.n
	sink.mu.Unlock()
	t.Logf("%d distinct ticks (%d deliveries), %d before the kill, one takeover gap: %v", len(times), deliveries, len(before), gaps == 1)
}
