package controlplane

import (
	"sync"
	"time"

	"github.com/weft-dev/weft/pkg/controlplane/console"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

const (
	// statsWindow is the sliding window the delivery rates are computed
	// over.
	statsWindow = 30 * time.Second
	// statsMinSpan is the least history a rate needs (a dispatcher
	// reports every 5 s).
	statsMinSpan = 5 * time.Second
	// statsForget is how long the last counters of a process that
	// disconnected are remembered, so that it reconnecting (same process
	// id, counters going on) is not counted twice.
	statsForget = 10 * time.Minute
)

// counts are delivery counters (cumulative, or a difference of them).
type counts struct {
	delivered, failed, deadLettered, dropped, rejected, deadLetterFailures uint64
}

func countsOf(s *weftv1.EgressStats) counts {
	return counts{s.GetDelivered(), s.GetFailed(), s.GetDeadLettered(), s.GetDropped(), s.GetRejected(), s.GetDeadLetterFailures()}
}

// since is what c counted after prev, field by field; a counter below its
// previous value means the counting restarted (the egress left the
// process's contract and came back), and counts from zero.
func (c counts) since(prev counts) counts {
	d := func(now, before uint64) uint64 {
		if now < before {
			return now
		}
		return now - before
	}
	return counts{d(c.delivered, prev.delivered), d(c.failed, prev.failed), d(c.deadLettered, prev.deadLettered),
		d(c.dropped, prev.dropped), d(c.rejected, prev.rejected), d(c.deadLetterFailures, prev.deadLetterFailures)}
}

func (c *counts) add(d counts) {
	c.delivered += d.delivered
	c.failed += d.failed
	c.deadLettered += d.deadLettered
	c.dropped += d.dropped
	c.rejected += d.rejected
	c.deadLetterFailures += d.deadLetterFailures
}

// deliveryStats aggregates the egress counters the dispatchers connected to
// this replica report (WatchContractRequest.stats): per egress uid, the sum
// of what every process counted. Totals grow by each report's difference
// from the process's previous one, so a process that disconnects keeps its
// share of the totals. Rates are over the last statsWindow. Safe for
// concurrent use.
type deliveryStats struct {
	mu     sync.Mutex
	procs  map[string]*procStats // by process id
	totals map[string]*egressTotal
}

type procStats struct {
	last    map[string]counts // by egress uid: the last cumulative counters
	streams int               // open contract streams of the process
	goneAt  time.Time         // when the last one closed
	// fresh: no report yet from a process this replica had not heard
	// from. Its first report brings everything it counted since it
	// started: history, left out of the rates (a new process's first
	// seconds are too).
	fresh bool
}

type egressTotal struct {
	all counts
	// rated is all without the counts processes had before this replica
	// first heard of them (their history, not deliveries of the window).
	rated     counts
	firstSeen time.Time
	samples   []statsSample // rated over time, oldest first
}

type statsSample struct {
	at time.Time
	c  counts
}

func newDeliveryStats() *deliveryStats {
	return &deliveryStats{procs: map[string]*procStats{}, totals: map[string]*egressTotal{}}
}

// connect and disconnect bracket a contract stream of process id.
func (s *deliveryStats) connect(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.procs[id]
	if ps == nil {
		ps = &procStats{last: map[string]counts{}, fresh: true}
		s.procs[id] = ps
	}
	ps.streams++
}

func (s *deliveryStats) disconnect(id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps := s.procs[id]; ps != nil {
		ps.streams--
		if ps.streams <= 0 {
			ps.goneAt = now
		}
	}
	for pid, ps := range s.procs {
		if ps.streams <= 0 && now.Sub(ps.goneAt) > statsForget {
			delete(s.procs, pid)
		}
	}
}

// observe records a report of process id (between connect and disconnect).
func (s *deliveryStats) observe(id string, stats []*weftv1.EgressStats, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.procs[id]
	if ps == nil {
		return
	}
	for _, st := range stats {
		uid := st.GetUid()
		if uid == "" {
			continue
		}
		c := countsOf(st)
		prev := ps.last[uid]
		ps.last[uid] = c
		d := c.since(prev)
		t := s.totals[uid]
		if t == nil {
			t = &egressTotal{firstSeen: now}
			s.totals[uid] = t
		}
		t.all.add(d)
		if !ps.fresh {
			t.rated.add(d)
		}
		t.addSample(now)
	}
	ps.fresh = false
}

func (t *egressTotal) addSample(now time.Time) {
	if n := len(t.samples); n > 0 && now.Sub(t.samples[n-1].at) < time.Second {
		t.samples[n-1].c = t.rated // coalesce reports within a second
	} else {
		t.samples = append(t.samples, statsSample{at: now, c: t.rated})
	}
	// Keep the newest sample at or before the window's start: the counters
	// then are its.
	cut := now.Add(-statsWindow)
	i := 0
	for i+1 < len(t.samples) && !t.samples[i+1].at.After(cut) {
		i++
	}
	t.samples = t.samples[i:]
}

// retain forgets the egresses whose uid is not in keep.
func (s *deliveryStats) retain(keep map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for uid := range s.totals {
		if !keep[uid] {
			delete(s.totals, uid)
		}
	}
	for _, ps := range s.procs {
		for uid := range ps.last {
			if !keep[uid] {
				delete(ps.last, uid)
			}
		}
	}
}

// figures returns every egress's totals and its rates at now.
func (s *deliveryStats) figures(now time.Time) map[string]console.DeliveryFigures {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]console.DeliveryFigures, len(s.totals))
	for uid, t := range s.totals {
		f := console.DeliveryFigures{
			Delivered: t.all.delivered, Failed: t.all.failed, DeadLettered: t.all.deadLettered,
			Dropped: t.all.dropped, Rejected: t.all.rejected, DeadLetterFailures: t.all.deadLetterFailures,
		}
		// The counters at the window's start: the newest sample at or
		// before it, else zero when this replica first heard of the
		// egress.
		from, span := counts{}, now.Sub(t.firstSeen)
		cut := now.Add(-statsWindow)
		for _, x := range t.samples {
			if x.at.After(cut) {
				break
			}
			from, span = x.c, statsWindow
		}
		if span >= statsMinSpan {
			d, secs := t.rated.since(from), span.Seconds()
			f.DeliveryRate = ptr(float64(d.delivered) / secs)
			f.FailureRate = ptr(float64(d.failed) / secs)
			f.DeadLetterRate = ptr(float64(d.deadLettered) / secs)
		}
		out[uid] = f
	}
	return out
}

func ptr[T any](v T) *T { return &v }
