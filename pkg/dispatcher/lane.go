package dispatcher

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lane delivers one partition's records for one egress: in offset order
// with one in flight (ordered), or up to maxInFlight at once (unordered). Its
// queue is bounded: past the high-water mark (records or bytes) the
// partition's fetching is paused, and resumed once the queue drained to
// half; it overshoots the mark by at most one poll (maxPollRecords). Records enter the
// offset tracker when they are taken from the queue, so the tracker's commit
// point never passes a queued or in-flight record.
type lane struct {
	c         *consumer
	partition int32
	ctx       context.Context // cancelled to abandon in-flight deliveries
	cancel    context.CancelFunc
	sem       chan struct{} // one token per delivery in flight
	wake      chan struct{}
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // the lane loop and its deliveries
	hwm       atomic.Int64   // high watermark seen in the last fetch

	mu      sync.Mutex // guards the fields below
	queue   recordQueue
	bytes   int // record values queued
	high    int
	last    int64 // offset of the last record enqueued (-1: none)
	first   int64 // offset of the first record enqueued (-1: none)
	paused  bool
	tracker *offsetTracker
}

func newLane(c *consumer, p int32) *lane {
	ctx, cancel := context.WithCancel(c.workCtx)
	l := &lane{
		c:         c,
		partition: p,
		ctx:       ctx,
		cancel:    cancel,
		sem:       make(chan struct{}, c.maxInFlight),
		wake:      make(chan struct{}, 1),
		closing:   make(chan struct{}),
		high:      c.queueSize(),
		last:      -1,
		first:     -1,
		tracker:   newOffsetTracker(c.maxInFlight),
	}
	l.hwm.Store(-1)
	l.wg.Add(1)
	go l.loop()
	return l
}

// enqueue appends polled records; it never blocks.
func (l *lane) enqueue(rs []*kgo.Record) {
	l.mu.Lock()
	for _, r := range rs {
		if r.Offset <= l.last {
			continue // already queued; the tracker needs increasing offsets
		}
		if l.first < 0 {
			l.first = r.Offset
		}
		l.queue.push(r)
		l.bytes += len(r.Value)
		l.last = r.Offset
	}
	if !l.paused && (l.queue.len() >= l.high || l.bytes >= maxQueueBytes) {
		l.paused = true
		l.c.cl.PauseFetchPartitions(map[string][]int32{l.c.topic: {l.partition}})
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// next takes the next record and registers it with the tracker; ok is false
// once the lane is closing.
func (l *lane) next() (r *kgo.Record, seq uint64, ok bool) {
	for {
		select {
		case <-l.closing:
			return nil, 0, false
		default:
		}
		l.mu.Lock()
		if r, ok := l.queue.pop(); ok {
			seq := l.tracker.Add(r.Offset)
			l.bytes -= len(r.Value)
			if l.paused && l.queue.len() <= l.high/2 && l.bytes <= maxQueueBytes/2 {
				l.paused = false
				l.c.cl.ResumeFetchPartitions(map[string][]int32{l.c.topic: {l.partition}})
			}
			l.mu.Unlock()
			return r, seq, true
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-l.closing:
			return nil, 0, false
		}
	}
}

func (l *lane) loop() {
	defer l.wg.Done()
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.closing:
			return
		}
		r, seq, ok := l.next()
		if !ok {
			<-l.sem
			return
		}
		l.wg.Add(1)
		go l.deliver(r, seq)
	}
}

func (l *lane) deliver(r *kgo.Record, seq uint64) {
	defer l.wg.Done()
	defer func() { <-l.sem }()
	if !l.c.process(l.ctx, l, r) {
		return // not finished: the commit point stays before it
	}
	l.mu.Lock()
	l.tracker.Done(seq)
	l.mu.Unlock()
}

// committable is the offset to commit for this lane (-1: nothing yet).
func (l *lane) committable() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tracker.Committable()
}

// position is where a restarted consumer would resume (for lag).
func (l *lane) position() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if o := l.tracker.Committable(); o >= 0 {
		return o
	}
	return l.first
}

// close stops taking records, lets in-flight deliveries run until deadline,
// abandons the rest, and returns the offset to commit. It is idempotent.
func (l *lane) close(deadline time.Time) int64 {
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
		l.c.logger.Warn("abandoning in-flight deliveries; they will be redelivered", "partition", l.partition)
		l.cancel()
		<-done
	}
	l.cancel()
	return l.committable()
}

// recordQueue is a FIFO ring of records.
type recordQueue struct {
	buf  []*kgo.Record
	head int
	n    int
}

func (q *recordQueue) len() int { return q.n }

func (q *recordQueue) push(r *kgo.Record) {
	if q.n == len(q.buf) {
		nb := make([]*kgo.Record, max(2*len(q.buf), 16))
		for i := range q.n {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = r
	q.n++
}

func (q *recordQueue) pop() (*kgo.Record, bool) {
	if q.n == 0 {
		return nil, false
	}
	r := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return r, true
}
