package dispatcher

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// maxPollRecords bounds what one poll hands to the lanes, and so how far
	// a lane's queue can overshoot its high-water mark.
	maxPollRecords = 256
	// minQueue is the smallest per-partition queue (records); a lane also
	// pauses once it holds maxQueueBytes of record values. Queues are deep
	// because a paused partition refills only after the fetch in flight
	// returns (up to fetchMaxWait when the other partitions are idle).
	minQueue      = 2048
	maxQueueBytes = 4 << 20
	// fetchMaxBytes bounds one fetch response, which franz-go buffers per
	// broker until polled.
	fetchMaxBytes = 8 << 20
	// fetchMaxWait bounds a fetch long-poll (Kafka's Java default). A
	// resumed partition joins the next fetch only once the one in flight
	// returns, so this is also the longest a resumed lane can wait.
	fetchMaxWait = 500 * time.Millisecond
	// commitTimeout bounds one offset commit.
	commitTimeout = 10 * time.Second
)

// consumer runs one egress: a franz-go group consumer whose poll loop hands
// records to per-partition lanes, and a committer that commits each lane's
// finished prefix. Rebalance callbacks run only between polls
// (BlockRebalanceOnPoll, allowed right after the non-blocking hand-off), so a
// lane never receives records from a previous assignment.
//
// Lock order: commitMu, then lanesMu, then a lane's mu.
type consumer struct {
	d           *Dispatcher
	logger      *slog.Logger
	topic       string
	group       string
	ordered     bool
	maxInFlight int
	cur         atomic.Pointer[egressSpec]
	cl          *kgo.Client

	pollCancel   context.CancelFunc
	pollDone     chan struct{}
	commitCancel context.CancelFunc
	commitDone   chan struct{}
	workCtx      context.Context // parent of every delivery
	workCancel   context.CancelFunc
	stopOnce     sync.Once

	lanesMu sync.Mutex
	lanes   map[int32]*lane

	commitMu  sync.Mutex
	committed map[int32]int64 // what this member committed, per owned partition

	stuckMu sync.Mutex
	stuck   map[stuckKey]*StuckRecord
}

type stuckKey struct {
	partition int32
	offset    int64
}

func newConsumer(d *Dispatcher, spec *egressSpec) (*consumer, error) {
	c := &consumer{
		d:           d,
		logger:      d.logger.With("egress", spec.ref(), "group", spec.group),
		topic:       spec.topic,
		group:       spec.group,
		ordered:     spec.ordered,
		maxInFlight: spec.inFlightLimit(d.cfg.MaxInFlight),
		pollDone:    make(chan struct{}),
		commitDone:  make(chan struct{}),
		lanes:       map[int32]*lane{},
		committed:   map[int32]int64{},
		stuck:       map[stuckKey]*StuckRecord{},
	}
	c.cur.Store(spec)
	opts := []kgo.Opt{
		kgo.ConsumerGroup(spec.group),
		kgo.ConsumeTopics(spec.topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// The control plane commits a new group's starting offsets when
		// the trigger is created; earliest is only the never-skip fallback.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
		kgo.FetchMaxWait(fetchMaxWait),
		kgo.FetchMaxBytes(fetchMaxBytes),
	}
	if d.cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(d.cfg.SessionTimeout))
	}
	cl, err := d.cfg.Kafka.NewClient(d.logger.With("group", spec.group), opts...)
	if err != nil {
		return nil, err
	}
	c.cl = cl
	var pollCtx, commitCtx context.Context
	pollCtx, c.pollCancel = context.WithCancel(context.Background())
	commitCtx, c.commitCancel = context.WithCancel(context.Background())
	c.workCtx, c.workCancel = context.WithCancel(context.Background())
	go c.pollLoop(pollCtx)
	go c.commitLoop(commitCtx)
	return c, nil
}

func (c *consumer) spec() *egressSpec { return c.cur.Load() }

// update swaps in a new spec for the next records and returns the old one.
func (c *consumer) update(s *egressSpec) *egressSpec { return c.cur.Swap(s) }

// needsRestart reports whether s cannot be applied to the running consumer.
func (c *consumer) needsRestart(s *egressSpec) bool {
	return s.topic != c.topic || s.group != c.group || s.ordered != c.ordered ||
		s.inFlightLimit(c.d.cfg.MaxInFlight) != c.maxInFlight
}

func (c *consumer) queueSize() int { return max(2*c.maxInFlight, minQueue) }

func (c *consumer) pollLoop(ctx context.Context) {
	defer close(c.pollDone)
	for {
		fetches := c.cl.PollRecords(ctx, maxPollRecords)
		if ctx.Err() != nil {
			c.cl.AllowRebalance()
			return
		}
		failed := false
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, kgo.ErrClientClosed) {
				c.cl.AllowRebalance()
				return
			}
			if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
				continue
			}
			failed = true
			c.logger.Warn("fetch failed", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
		}
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if p.Topic != c.topic || len(p.Records) == 0 {
				return
			}
			l := c.lane(p.Partition)
			l.hwm.Store(p.HighWatermark)
			l.enqueue(p.Records)
		})
		c.cl.AllowRebalance()
		if failed && fetches.NumRecords() == 0 {
			// Do not spin on a persistent error; franz-go retries inside.
			t := time.NewTimer(500 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
	}
}

// lane returns the partition's lane, creating it on the partition's first
// records in this assignment.
func (c *consumer) lane(p int32) *lane {
	c.lanesMu.Lock()
	defer c.lanesMu.Unlock()
	l, ok := c.lanes[p]
	if !ok {
		l = newLane(c, p)
		c.lanes[p] = l
	}
	return l
}

func (c *consumer) commitLoop(ctx context.Context) {
	defer close(c.commitDone)
	t := time.NewTicker(c.d.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.commitMu.Lock()
			c.lanesMu.Lock()
			offsets := make(map[int32]int64, len(c.lanes))
			for p, l := range c.lanes {
				offsets[p] = l.committable()
			}
			c.lanesMu.Unlock()
			c.commitLocked(ctx, offsets)
			c.commitMu.Unlock()
		}
	}
}

// commitLocked commits the offsets that moved since the last commit; the
// caller holds commitMu.
func (c *consumer) commitLocked(ctx context.Context, offsets map[int32]int64) bool {
	req := map[int32]kgo.EpochOffset{}
	for p, o := range offsets {
		if o < 0 {
			continue
		}
		if prev, ok := c.committed[p]; ok && prev >= o {
			continue
		}
		req[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	if len(req) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	var cerr error
	c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.topic: req},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						cerr = err
						continue
					}
					if eo, ok := req[p.Partition]; ok {
						c.committed[p.Partition] = eo.Offset
					}
				}
			}
		})
	if cerr != nil {
		c.logger.Warn("commit offsets", "offsets", req, "err", cerr)
		return false
	}
	c.logger.Debug("committed offsets", "offsets", req)
	return true
}

// onRevoked runs when partitions move to another member, and also at the
// end of every group session with nothing revoked (an empty map): only the
// named partitions are released.
func (c *consumer) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if ps := revoked[c.topic]; len(ps) > 0 {
		c.release(ctx, c.takeLanes(ps), time.Now().Add(c.d.cfg.DrainTimeout), true)
	}
}

func (c *consumer) onLost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	// The partitions belong to someone else already: abandon in-flight
	// deliveries at once and commit nothing.
	if ps := lost[c.topic]; len(ps) > 0 {
		c.release(ctx, c.takeLanes(ps), time.Now(), false)
	}
}

// takeLanes removes the partitions' lanes (every lane when partitions is
// nil) and returns them. A lane taken is owned by its taker: nothing else
// commits for it, and a later record for the partition starts a new lane at
// the position the group resumes from.
func (c *consumer) takeLanes(partitions []int32) map[int32]*lane {
	c.lanesMu.Lock()
	defer c.lanesMu.Unlock()
	if partitions == nil {
		taken := c.lanes
		c.lanes = map[int32]*lane{}
		return taken
	}
	taken := map[int32]*lane{}
	for _, p := range partitions {
		if l, ok := c.lanes[p]; ok {
			taken[p] = l
			delete(c.lanes, p)
		}
	}
	return taken
}

// release closes taken lanes: their in-flight deliveries may finish until
// deadline (then are abandoned), and their finished prefixes are committed
// when commit is set. The partitions are forgotten: fetching resumes if it
// was paused, and the next commit for them starts afresh.
func (c *consumer) release(ctx context.Context, taken map[int32]*lane, deadline time.Time, commit bool) {
	offsets := make(map[int32]int64, len(taken))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for p, l := range taken {
		wg.Go(func() {
			o := l.close(deadline)
			mu.Lock()
			offsets[p] = o
			mu.Unlock()
		})
	}
	wg.Wait()
	var resume []int32
	for p := range taken {
		resume = append(resume, p)
		c.clearStuck(p)
	}
	if len(resume) > 0 {
		// Paused partitions stay paused across rebalances; a partition
		// assigned again must fetch.
		c.cl.ResumeFetchPartitions(map[string][]int32{c.topic: resume})
	}

	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	if commit {
		c.commitLocked(context.WithoutCancel(ctx), offsets)
	}
	for p := range taken {
		delete(c.committed, p)
	}
}

// stop drains the consumer: no more polls, in-flight deliveries until
// deadline, a final commit, and the group is left. It is idempotent.
func (c *consumer) stop(deadline time.Time) {
	c.stopOnce.Do(func() {
		c.pollCancel()
		<-c.pollDone
		c.commitCancel()
		<-c.commitDone
		c.release(context.Background(), c.takeLanes(nil), deadline, true)
		c.workCancel()
		c.cl.Close()
		c.logger.Info("egress stopped")
	})
}

func (c *consumer) markStuck(l *lane, offset int64, err error) *StuckRecord {
	c.stuckMu.Lock()
	defer c.stuckMu.Unlock()
	k := stuckKey{l.partition, offset}
	s, ok := c.stuck[k]
	if !ok {
		spec := c.spec()
		s = &StuckRecord{
			UID: spec.uid, Namespace: spec.namespace, Name: spec.name, Group: c.group,
			Partition: l.partition, Offset: offset, Since: time.Now(),
		}
		c.stuck[k] = s
	}
	s.Retries++
	s.Err = err.Error()
	cp := *s
	return &cp
}

func (c *consumer) unmarkStuck(l *lane, offset int64) {
	c.stuckMu.Lock()
	defer c.stuckMu.Unlock()
	delete(c.stuck, stuckKey{l.partition, offset})
}

func (c *consumer) clearStuck(p int32) {
	c.stuckMu.Lock()
	defer c.stuckMu.Unlock()
	for k := range c.stuck {
		if k.partition == p {
			delete(c.stuck, k)
		}
	}
}

func (c *consumer) stuckRecords() []StuckRecord {
	c.stuckMu.Lock()
	defer c.stuckMu.Unlock()
	out := make([]StuckRecord, 0, len(c.stuck))
	for _, s := range c.stuck {
		out = append(out, *s)
	}
	return out
}
