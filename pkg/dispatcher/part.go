package dispatcher

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/delivery"
	"github.com/weft-dev/weft/pkg/filter"
	"github.com/weft-dev/weft/pkg/wire"
)

// part is one owned partition of a broker topic: the shared read's
// position in it and one lane per trigger.
type part struct {
	r         *reader
	partition int32
	hwm       atomic.Int64 // high watermark seen in the last fetch
	nextA     atomic.Int64 // next, for readers outside mu

	mu    sync.Mutex
	next  int64 // the next offset the shared read fans out
	lanes map[string]*lane
	// set and byIdx: the trigger set the lanes were last aligned with, and
	// the lane of each of its specs (nil when it has none yet). A nil set
	// makes the next fan-out realign.
	set   *triggerSet
	byIdx []*lane
	// Scratch of the fan-out, reused from batch to batch.
	cands   []int
	matched []int // per trigger: records taken this batch
	skipped []int // per trigger: undecodable records this batch
	all     []int
}

func newPart(r *reader, p int32, start int64) *part {
	pt := &part{r: r, partition: p, next: start, lanes: map[string]*lane{}}
	pt.nextA.Store(start)
	pt.hwm.Store(-1)
	return pt
}

// item is a record decoded once for every lane that takes it: its event
// (without the internal hop count, which subscribers never see), its trace
// context and, from the first delivery on, its encoding for HTTP are shared
// and never modified.
type item struct {
	rec *kgo.Record
	ev  *event.Event
	ttl int
	// span and bag are the trace context the record carries.
	span trace.SpanContext
	bag  baggage.Baggage

	msgOnce sync.Once
	msg     *delivery.Message

	// Of a record from a retry topic: the attempts made, and when the next
	// is due.
	attempted int
	retryAt   time.Time
}

// message is the event encoded for delivery, once for every trigger.
func (it *item) message() *delivery.Message {
	it.msgOnce.Do(func() { it.msg = delivery.NewMessage(it.ev) })
	return it.msg
}

// traceContext returns ctx carrying the record's trace context.
func (it *item) traceContext(ctx context.Context) context.Context {
	if it.span.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, it.span)
	}
	if it.bag.Len() > 0 {
		ctx = baggage.ContextWithBaggage(ctx, it.bag)
	}
	return ctx
}

// decode turns a record into an item; nil when it is not a CloudEvent (it
// can never be delivered, so every trigger passes it by). A KafkaSource's
// record is always an event (decodeSource).
func (r *reader) decode(rec *kgo.Record) *item {
	var ev *event.Event
	var err error
	if src := r.source.Load(); src != nil {
		ev, err = decodeSource(src, rec)
	} else {
		ev, err = cekafka.FromRecord(rec)
	}
	if err != nil {
		r.logger.Error("undecodable record; every trigger skips it", "partition", rec.Partition, "offset", rec.Offset, "err", err)
		return nil
	}
	ttl := eventTTL(ev)
	ev.SetExtension(wire.ExtBrokerTTL, nil)
	tctx := r.d.propagator.Extract(context.Background(), cekafka.HeaderCarrier{R: rec})
	it := &item{rec: rec, ev: ev, ttl: ttl, span: trace.SpanContextFromContext(tctx), bag: baggage.FromContext(tctx)}
	if r.retry {
		it.attempted, it.retryAt = retryState(rec)
	}
	return it
}

// matches evaluates spec's filter on rec: from its headers when they
// decide, else on the decoded item (decoded at most once: *it).
func (r *reader) matches(spec *egressSpec, rec *kgo.Record, h filter.Headers, it **item, decoded *bool) bool {
	if r.retry {
		// A retry record is for the one trigger it names; that trigger's
		// filter passed it already (process checks it again).
		if string(retryTrigger(rec)) != spec.key {
			return false
		}
		if !*decoded {
			*it, *decoded = r.decode(rec), true
		}
		return *it != nil
	}
	if h != nil {
		if rj, ok := spec.filter.(filter.HeaderRejecter); ok && rj.RejectHeaders(h) {
			return false
		}
	}
	if !*decoded {
		*it, *decoded = r.decode(rec), true
	}
	return *it != nil && spec.filter.Match((*it).ev)
}

// fanout hands the records of one fetch to the lanes of the triggers they
// match. It never blocks: a lane that is full detaches and catches up on
// its own. Only the filters the index names as candidates are evaluated,
// and a record is decoded at most once.
func (pt *part) fanout(set *triggerSet, recs []*kgo.Record, hwm int64) {
	pt.hwm.Store(hwm)
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.set != set {
		pt.align(set)
	}
	clear(pt.matched)
	clear(pt.skipped)
	fresh := 0
	for _, rec := range recs {
		if rec.Offset < pt.next {
			continue // fanned out already
		}
		fresh++
		var h filter.Headers
		cands := pt.all
		if pt.r.retry {
			// Only the trigger the record names.
			pt.cands = pt.cands[:0]
			if i, ok := set.pos[string(retryTrigger(rec))]; ok {
				pt.cands = append(pt.cands, i)
			}
			cands = pt.cands
		} else if lookup, ok := pt.r.attributeHeaders(rec); ok {
			h = lookup
			pt.cands = set.index.Candidates(h, pt.cands[:0])
			cands = pt.cands
		}
		var it *item
		decoded := false
		for _, i := range cands {
			l := pt.byIdx[i]
			if l == nil || !l.takesShared(rec.Offset) {
				continue
			}
			if !pt.r.matches(set.specs[i], rec, h, &it, &decoded) {
				if decoded && it == nil {
					pt.skipped[i]++
					pt.r.d.inst.undecodable.Add(context.Background(), 1, set.specs[i].attrs)
				}
				continue
			}
			pt.matched[i]++
			if !l.offer(it) {
				l.detach(rec.Offset)
			}
		}
		pt.next = rec.Offset + 1
	}
	pt.nextA.Store(pt.next)
	if fresh == 0 || pt.r.retry {
		return // retry records for other triggers are not filtered out
	}
	// Every attached trigger saw the fresh records; those it did not take
	// (and could decode) were filtered out.
	for i, l := range pt.byIdx {
		if l == nil || !l.isAttached() {
			continue
		}
		if n := fresh - pt.matched[i] - pt.skipped[i]; n > 0 {
			l.filtered.Add(int64(n))
		}
	}
}

// align makes byIdx follow set; the caller holds mu.
func (pt *part) align(set *triggerSet) {
	pt.set = set
	pt.byIdx = make([]*lane, len(set.specs))
	for i, s := range set.specs {
		pt.byIdx[i] = pt.lanes[s.key]
	}
	pt.matched = make([]int, len(set.specs))
	pt.skipped = make([]int, len(set.specs))
	pt.all = make([]int, len(set.specs))
	for i := range pt.all {
		pt.all[i] = i
	}
}

// addLane starts the lane of spec at from (its committed offset): attached
// to the shared read when that has not passed from, else catching up.
func (pt *part) addLane(spec *egressSpec, from int64) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	l := newLane(pt, spec, from, from >= pt.next)
	pt.lanes[spec.key] = l
	pt.set = nil
}

// removeLanes takes the lanes of keys out of the fan-out and returns them
// (the caller closes them).
func (pt *part) removeLanes(keys []string) map[string]*lane {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	out := map[string]*lane{}
	for _, k := range keys {
		if l, ok := pt.lanes[k]; ok {
			out[k] = l
			delete(pt.lanes, k)
		}
	}
	pt.set = nil
	return out
}

// updateSpecs gives the lanes the specs of set (new filters, subscribers,
// delivery policies apply to the next records).
func (pt *part) updateSpecs(set *triggerSet) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for k, l := range pt.lanes {
		if s := set.lookup(k); s != nil {
			l.spec.Store(s)
		}
	}
	pt.set = nil
}

func (pt *part) lanesByKey() map[string]*lane {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	out := make(map[string]*lane, len(pt.lanes))
	for k, l := range pt.lanes {
		out[k] = l
	}
	return out
}

// fleetPoint is where the shared read resumes after a restart: the
// earliest commit point of the attached lanes (lanes catching up resume from
// their own groups' offsets), the shared position without any.
func (pt *part) fleetPoint() int64 {
	point := pt.nextA.Load()
	for _, l := range pt.lanesByKey() {
		if !l.isAttached() {
			continue
		}
		if o := l.commitPoint(); o >= 0 && o < point {
			point = o
		}
	}
	return point
}

// close closes every lane (in-flight deliveries may run until deadline).
func (pt *part) close(deadline time.Time) {
	var wg sync.WaitGroup
	for _, l := range pt.lanesByKey() {
		wg.Go(func() { l.close(deadline) })
	}
	wg.Wait()
}
