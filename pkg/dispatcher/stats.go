package dispatcher

import (
	"slices"
	"sync/atomic"

	"github.com/weft-dev/weft/pkg/contract"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// egressCounters are one egress's cumulative delivery counters in this
// process, counted beside the metrics of the same name (process.go) and
// reported to the control plane for its console (EgressStats).
type egressCounters struct {
	delivered          atomic.Uint64
	failed             atomic.Uint64 // failed attempts, retries included
	deadLettered       atomic.Uint64
	dropped            atomic.Uint64
	rejected           atomic.Uint64
	deadLetterFailures atomic.Uint64
}

func (c *egressCounters) snapshot(uid string) *weftv1.EgressStats {
	return &weftv1.EgressStats{
		Uid:                uid,
		Delivered:          c.delivered.Load(),
		Failed:             c.failed.Load(),
		DeadLettered:       c.deadLettered.Load(),
		Dropped:            c.dropped.Load(),
		Rejected:           c.rejected.Load(),
		DeadLetterFailures: c.deadLetterFailures.Load(),
	}
}

// attachCounters gives every spec its egress's counters (one set per uid:
// a KafkaSource's topics share theirs; an egress without a uid gets a set
// nobody reports) and forgets the counters of egresses no longer in specs.
func (d *Dispatcher) attachCounters(specs map[string]*egressSpec) {
	d.countersMu.Lock()
	defer d.countersMu.Unlock()
	if d.counters == nil {
		d.counters = map[string]*egressCounters{}
	}
	keep := map[string]bool{}
	for _, s := range specs {
		if s.uid == "" {
			s.counters = &egressCounters{}
			continue
		}
		c, ok := d.counters[s.uid]
		if !ok {
			c = &egressCounters{}
			d.counters[s.uid] = c
		}
		s.counters = c
		keep[s.uid] = true
	}
	for uid := range d.counters {
		if !keep[uid] {
			delete(d.counters, uid)
		}
	}
}

var _ contract.StatsReporter = (*Dispatcher)(nil)

// EgressStats implements contract.StatsReporter: the cumulative counters of
// every egress in the current contract, by uid, sorted.
func (d *Dispatcher) EgressStats() []*weftv1.EgressStats {
	d.countersMu.Lock()
	out := make([]*weftv1.EgressStats, 0, len(d.counters))
	for uid, c := range d.counters {
		out = append(out, c.snapshot(uid))
	}
	d.countersMu.Unlock()
	slices.SortFunc(out, func(a, b *weftv1.EgressStats) int {
		switch {
		case a.Uid < b.Uid:
			return -1
		case a.Uid > b.Uid:
			return 1
		}
		return 0
	})
	return out
}
