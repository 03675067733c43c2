package dispatcher

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/filter"
)

// lane delivers one partition's records for one trigger: in offset order
// with one in flight (ordered), or up to maxInFlight at once (unordered).
//
// Records reach its bounded queue from the shared read while the lane is
// attached. When the queue is full, the lane detaches instead of holding the
// others back: the shared read passes it by, and a catch-up reader of its
// own reads the partition from the first record it missed, waiting for
// queue space, until it reaches the shared read's position and the lane
// attaches again. frontier says how far it has got: every record below it is
// queued, in flight, finished or filtered out (while attached, the shared
// read's position plays that part too).
//
// Records enter the offset tracker when taken from the queue, so the commit
// point (commitPoint) never passes a queued or in-flight record.
type lane struct {
	part        *part
	partition   int32
	key         string
	group       string
	spec        atomic.Pointer[egressSpec]
	maxInFlight int
	high        int

	ctx       context.Context // cancelled to abandon in-flight deliveries
	cancel    context.CancelFunc
	space     chan struct{} // a record was taken from the queue
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // the lane's runners and its catch-up

	// committed is the last offset committed to the trigger's group, or
	// where the lane started (its committed offset, or the log start when
	// it has none): there is nothing to commit until it moves past that.
	committed atomic.Int64
	// finished counts the records the lane finished (delivered, dead-
	// lettered, dropped, rejected or parked) since its last commit;
	// committedAt is when the last commit happened (commitDue).
	finished    atomic.Int64
	committedAt atomic.Int64 // unix nanoseconds
	// inFlight counts deliveries in progress; filtered counts records the
	// shared read passed by for the trigger's filter, not yet added to the
	// filtered metric (flushed once per commit round: one metric call per
	// trigger rather than one per fetch and trigger).
	inFlight atomic.Int64
	filtered atomic.Int64

	mu         sync.Mutex // guards what follows
	queue      itemQueue
	bytes      int // record values queued
	tracker    *offsetTracker
	attached   bool
	frontier   int64
	catchingUp bool
	stuck      map[int64]*StuckRecord
	// runners counts the lane's tasks on the dispatcher's pool, each
	// taking records from the queue and delivering them one at a time
	// (at most maxInFlight); closed stops new ones.
	runners int
	closed  bool
}

func newLane(pt *part, spec *egressSpec, from int64, attached bool) *lane {
	d := pt.r.d
	ctx, cancel := context.WithCancel(pt.r.workCtx)
	l := &lane{
		part:        pt,
		partition:   pt.partition,
		key:         spec.key,
		group:       spec.group,
		maxInFlight: spec.inFlightLimit(d.cfg.MaxInFlight),
		ctx:         ctx,
		cancel:      cancel,
		space:       make(chan struct{}, 1),
		closing:     make(chan struct{}),
		frontier:    from,
		stuck:       map[int64]*StuckRecord{},
	}
	l.spec.Store(spec)
	l.high = max(2*l.maxInFlight, minQueue)
	l.tracker = newOffsetTracker(l.maxInFlight)
	l.committed.Store(from)
	if attached {
		l.attached = true
	} else {
		l.startCatchUp(from)
	}
	return l
}

// takesShared reports whether the shared read hands this lane the record at
// offset (attached, and not below what it started or caught up from). The
// caller holds the part's mu, so attachment cannot change meanwhile.
func (l *lane) takesShared(offset int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.attached && offset >= l.frontier
}

func (l *lane) isAttached() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.attached
}

func (l *lane) full() bool { return l.queue.len() >= l.high || l.bytes >= maxQueueBytes }

// offer queues it without blocking; false when the queue is full.
func (l *lane) offer(it *item) bool {
	l.mu.Lock()
	if l.full() {
		l.mu.Unlock()
		return false
	}
	l.push(it)
	l.mu.Unlock()
	return true
}

// push queues it and starts a runner when fewer than maxInFlight run;
// the caller holds mu.
func (l *lane) push(it *item) {
	l.queue.push(it)
	l.bytes += len(it.rec.Value)
	if !l.closed && l.runners < l.maxInFlight {
		l.runners++
		l.wg.Add(1)
		l.part.r.d.pool.Go(l.run)
	}
}

// offerWait queues it, waiting for space; false when the lane closes first.
func (l *lane) offerWait(it *item) bool {
	for {
		l.mu.Lock()
		if !l.full() {
			l.push(it)
			l.mu.Unlock()
			return true
		}
		l.mu.Unlock()
		select {
		case <-l.space:
		case <-l.closing:
			return false
		}
	}
}

// detach stops the shared read from handing the lane records, from offset
// on, and starts its catch-up reader there.
func (l *lane) detach(offset int64) {
	l.mu.Lock()
	l.attached = false
	l.frontier = offset
	l.mu.Unlock()
	l.part.r.logger.Debug("trigger fell behind the shared read; catching up on its own", "trigger", l.spec.Load().ref(), "partition", l.partition, "offset", offset)
	l.startCatchUp(offset)
}

func (l *lane) startCatchUp(from int64) {
	l.mu.Lock()
	if l.catchingUp || l.closed {
		l.mu.Unlock()
		return
	}
	l.catchingUp = true
	l.wg.Add(1) // under mu: close, which sets closed under mu, waits for it
	l.mu.Unlock()
	go l.catchUp(from)
}

// catchUp reads the lane's partition from offset from with a client of its
// own, queues what the trigger's filter matches (waiting for space), and
// stops once the lane attaches again at the shared read's position.
func (l *lane) catchUp(from int64) {
	defer l.wg.Done()
	rejoined := false
	defer func() {
		l.mu.Lock()
		l.catchingUp = false
		// Detached again while this reader was finishing: the shared read
		// found the lane full before it was gone; catch up again.
		again, at := rejoined && !l.attached, l.frontier
		l.mu.Unlock()
		select {
		case <-l.closing:
		default:
			if again {
				l.startCatchUp(at)
			}
		}
	}()
	r := l.part.r
	ctx, cancel := context.WithCancel(l.ctx)
	defer cancel()
	go func() {
		select {
		case <-l.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	if l.rejoin() {
		rejoined = true
		return
	}
	cl, err := r.kcfg.NewClient(r.logger.With("trigger", l.spec.Load().ref(), "catch_up", l.partition),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{r.topic: {l.partition: kgo.NewOffset().At(from)}}),
		kgo.FetchMaxWait(fetchMaxWait),
		kgo.FetchMaxBytes(fetchMaxBytes),
		kgo.WithHooks(newFetchHook(r.d.inst, r.topic, "catch-up")),
	)
	if err != nil {
		r.logger.Error("start a catch-up reader; the trigger stays behind until its lane restarts", "trigger", l.spec.Load().ref(), "partition", l.partition, "err", err)
		return
	}
	defer cl.Close()
	for {
		fetches := cl.PollRecords(ctx, maxPollRecords)
		if ctx.Err() != nil {
			return
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.Canceled) {
				r.logger.Warn("catch-up fetch failed", "partition", fe.Partition, "err", fe.Err)
			}
		}
		var stop bool
		fetches.EachRecord(func(rec *kgo.Record) {
			if stop {
				return
			}
			l.mu.Lock()
			attached, frontier := l.attached, l.frontier
			l.mu.Unlock()
			if attached {
				stop, rejoined = true, true
				return
			}
			if rec.Offset < frontier {
				return
			}
			var h filter.Headers
			if lookup, ok := r.attributeHeaders(rec); ok {
				h = lookup
			}
			var it *item
			decoded := false
			if r.matches(l.spec.Load(), rec, h, &it, &decoded) {
				if !l.offerWait(it) {
					stop = true
					return
				}
			}
			l.mu.Lock()
			l.frontier = max(l.frontier, rec.Offset+1)
			l.mu.Unlock()
			if l.rejoin() {
				stop, rejoined = true, true
			}
		})
		if stop {
			return
		}
	}
}

// rejoin attaches the lane again once it caught up with the shared read's
// position; it reports whether the lane is attached.
func (l *lane) rejoin() bool {
	l.mu.Lock()
	frontier := l.frontier
	l.mu.Unlock()
	if frontier < l.part.nextA.Load() {
		return false
	}
	pt := l.part
	pt.mu.Lock()
	defer pt.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.frontier >= pt.next {
		l.attached = true
	}
	return l.attached
}

// run delivers queued records, one at a time, until the queue is empty or
// the lane closes. Records enter the offset tracker as they leave the
// queue, so the commit point never passes one.
func (l *lane) run() {
	defer l.wg.Done()
	for {
		l.mu.Lock()
		it, ok := l.queue.front()
		if !ok || l.closed {
			l.runners--
			l.mu.Unlock()
			return
		}
		l.queue.pop()
		seq := l.tracker.Add(it.rec.Offset)
		l.bytes -= len(it.rec.Value)
		l.mu.Unlock()
		select {
		case l.space <- struct{}{}:
		default:
		}
		l.deliver(it, seq)
	}
}

func (l *lane) deliver(it *item, seq uint64) {
	if !l.process(l.ctx, it) {
		return // not finished: the commit point stays before it
	}
	l.mu.Lock()
	l.tracker.Done(seq)
	l.mu.Unlock()
	l.finished.Add(1)
}

// commitPoint is the offset to commit for this lane: the oldest record in
// flight or queued, or with none, how far the lane has got.
func (l *lane) commitPoint() int64 {
	shared := l.part.nextA.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	if o, ok := l.tracker.FirstPending(); ok {
		return o
	}
	if it, ok := l.queue.front(); ok {
		return it.rec.Offset
	}
	if l.attached && shared > l.frontier {
		return shared
	}
	return l.frontier
}

// close stops taking records, lets in-flight deliveries run until deadline,
// and abandons the rest (uncommitted, so redelivered). It is idempotent.
func (l *lane) close(deadline time.Time) {
	l.mu.Lock()
	l.closed = true // no new runner or catch-up; queued records stay uncommitted
	l.mu.Unlock()
	l.closeOnce.Do(func() { close(l.closing) })
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(time.Until(deadline))
	select {
	case <-done:
		t.Stop()
	case <-t.C:
		l.part.r.logger.Warn("abandoning in-flight deliveries; they will be redelivered", "trigger", l.spec.Load().ref(), "partition", l.partition)
		l.cancel()
		<-done
	}
	l.cancel()
}

// itemQueue is a FIFO ring of items.
type itemQueue struct {
	buf  []*item
	head int
	n    int
}

func (q *itemQueue) len() int { return q.n }

func (q *itemQueue) push(it *item) {
	if q.n == len(q.buf) {
		nb := make([]*item, max(2*len(q.buf), 16))
		for i := range q.n {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = it
	q.n++
}

func (q *itemQueue) front() (*item, bool) {
	if q.n == 0 {
		return nil, false
	}
	return q.buf[q.head], true
}

func (q *itemQueue) pop() (*item, bool) {
	if q.n == 0 {
		return nil, false
	}
	it := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return it, true
}

func (l *lane) markStuck(offset int64, err error) *StuckRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.stuck[offset]
	if !ok {
		spec := l.spec.Load()
		s = &StuckRecord{
			UID: spec.uid, Namespace: spec.namespace, Name: spec.name, Group: l.group,
			Partition: l.partition, Offset: offset, Since: time.Now(),
		}
		l.stuck[offset] = s
	}
	s.Retries++
	s.Err = err.Error()
	cp := *s
	return &cp
}

func (l *lane) unmarkStuck(offset int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.stuck, offset)
}

func (l *lane) stuckRecords() []StuckRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]StuckRecord, 0, len(l.stuck))
	for _, s := range l.stuck {
		out = append(out, *s)
	}
	return out
}
