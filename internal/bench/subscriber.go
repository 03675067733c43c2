package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// subscriber counts what Weft delivers. Path /all is the trigger matching
// every event (or a sequence's reply): its arrivals are recorded per id with
// their latency; other paths (the 1% triggers, /slow, which takes 200 ms per
// event, and /echo, a sequence step replying with the event it got) are only
// counted.
type subscriber struct {
	srv       *http.Server
	addr      string
	mu        sync.Mutex
	seen      map[string]int
	latencies []time.Duration
	last      time.Time
	others    atomic.Int64
	warmups   atomic.Int64
}

// warmupID is the id of the events that warm a run up.
const warmupID = "warmup"

// waitWarm waits until n warm-up events arrived at /all since the last
// reset, or max passed.
func (s *subscriber) waitWarm(ctx context.Context, n int, max time.Duration) error {
	deadline := time.Now().Add(max)
	for s.warmups.Load() < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d warm-up events delivered within %s", s.warmups.Load(), n, max)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func startSubscriber() (*subscriber, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &subscriber{addr: ln.Addr().String(), seen: map[string]int{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var body []byte
	if r.URL.Path == "/echo" {
		body, _ = io.ReadAll(r.Body)
	}
	io.Copy(io.Discard, r.Body) // keep the connection reusable whatever the size
	id := r.Header.Get("Ce-Id")
	if r.URL.Path == "/slow" {
		// A slow subscriber: 200 ms of service time per event.
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if r.URL.Path == "/echo" {
		// A sequence step: reply with the event received (binary mode).
		h := w.Header()
		for k, v := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "ce-") || strings.EqualFold(k, "Content-Type") {
				h[k] = v
			}
		}
		s.others.Add(1)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return
	}
	if r.URL.Path != "/all" {
		s.others.Add(1)
		w.WriteHeader(http.StatusOK)
		return
	}
	if id == warmupID {
		// Counted apart: a warm-up event is never part of a run, however
		// late it arrives.
		s.warmups.Add(1)
		w.WriteHeader(http.StatusOK)
		return
	}
	s.mu.Lock()
	n := s.seen[id]
	s.seen[id] = n + 1
	if n == 0 {
		if t, ok := sentAt(id); ok {
			s.latencies = append(s.latencies, now.Sub(t))
		}
	}
	s.last = now
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// reset forgets everything (between runs).
func (s *subscriber) reset() {
	s.mu.Lock()
	s.seen = map[string]int{}
	s.latencies = nil
	s.last = time.Time{}
	s.mu.Unlock()
	s.others.Store(0)
	s.warmups.Store(0)
}

// distinct is the number of distinct ids delivered to /all.
func (s *subscriber) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// waitDrained waits until every acked id arrived at /all, or nothing arrived
// for quiet, or max passed.
func (s *subscriber) waitDrained(ctx context.Context, acked int, quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	lastN, lastChange := -1, time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n := s.distinct()
		if n >= acked {
			return
		}
		if n != lastN {
			lastN, lastChange = n, time.Now()
		} else if time.Since(lastChange) > quiet {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Delivery is what a subscriber saw of one run.
type Delivery struct {
	Distinct, Duplicates, Lost int
	// Others counts deliveries to the 1% triggers.
	Others int64
	// Last is the last arrival at /all.
	Last               time.Time
	P50, P90, P99, Max time.Duration
}

func (s *subscriber) delivery(acked []string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := Delivery{Distinct: len(s.seen), Last: s.last, Others: s.others.Load()}
	for _, n := range s.seen {
		d.Duplicates += n - 1
	}
	for _, id := range acked {
		if s.seen[id] == 0 {
			d.Lost++
		}
	}
	lat := append([]time.Duration(nil), s.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	d.P50, d.P90, d.P99 = q(0.50), q(0.90), q(0.99)
	if len(lat) > 0 {
		d.Max = lat[len(lat)-1]
	}
	return d
}

func (s *subscriber) close() { s.srv.Close() }
