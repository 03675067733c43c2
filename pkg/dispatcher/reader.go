package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weft-dev/weft/pkg/filter"
	"github.com/weft-dev/weft/pkg/kafka"
)

const (
	// maxPollRecords bounds what one poll hands to the fan-out.
	maxPollRecords = 512
	// minQueue is the smallest per-lane queue (records); a lane also stops
	// taking records from the shared reader once it holds maxQueueBytes of
	// record values.
	minQueue      = 2048
	maxQueueBytes = 4 << 20
	// fetchMaxBytes bounds one fetch response, which franz-go buffers per
	// broker until polled.
	fetchMaxBytes = 8 << 20
	// fetchMaxWait bounds a fetch long-poll (Kafka's Java default).
	fetchMaxWait = 500 * time.Millisecond
	// commitTimeout bounds one round of offset commits.
	commitTimeout = 10 * time.Second
	// commitParallelism bounds the triggers' offset commits in flight.
	commitParallelism = 16
	// filteredCommitInterval spaces the commits of a trigger whose commit
	// point moved only past records its filter turned away: with a
	// thousand triggers on a broker, most commits would be those, and the
	// records are only read again (not delivered) after a crash.
	filteredCommitInterval = 10 * time.Second
	// A lane that finished fewer than sparseCommitRecords records since its
	// last commit commits every sparseCommitRounds commit intervals rather
	// than every one: a thousand triggers each matching a few events a
	// second made a thousand OffsetCommits a second, most of Kafka's extra
	// work at that scale. What a crash delivers again stays bounded, per
	// lane, by the larger of sparseCommitRecords and sparseCommitRounds
	// intervals of its traffic; a busy lane commits every interval.
	sparseCommitRecords = 256
	sparseCommitRounds  = 5
)

// commitDue reports whether a lane whose commit point moved, having
// finished finished records since its last commit, age ago, commits in
// this round of a reader committing every interval (final: the last round
// before its partitions go, which commits everything).
func commitDue(finished int64, age, interval time.Duration, final bool) bool {
	switch {
	case final:
		return true
	case finished == 0: // only records its filter turned away
		return age >= filteredCommitInterval
	case finished < sparseCommitRecords:
		return age >= sparseCommitRounds*interval
	}
	return true
}

// reader runs the triggers of one broker topic in this process. It reads
// each partition it owns once — the partitions are divided among the
// dispatcher processes by the fleet's consumer group (wire.DispatcherGroup)
// — and fans every record out to the lanes of the triggers whose filters
// match it, through a filter index. Each trigger keeps its own progress in
// its own consumer group (wire.TriggerGroup), committed as a contiguous
// prefix through the admin API: those groups have no members, so per-trigger
// lag stays visible with any Kafka tool. A trigger whose lane is full stops
// taking records from the shared read and catches up with a reader of its own
// (lane.catchUp), so a slow subscriber never holds back the others.
//
// Rebalance callbacks run only between polls (BlockRebalanceOnPoll), so a
// lane never receives records from a previous assignment.
//
// Lock order: setMu, then partsMu, then a part's mu, then a lane's mu.
type reader struct {
	d      *Dispatcher
	logger *slog.Logger
	key    string // readerPlan.key
	topic  string
	group  string // the fleet's group
	// kcfg reaches the topic's cluster: Weft's, or a KafkaSource's.
	kcfg kafka.Config
	// source is the KafkaSource whose topic this is (nil: a Weft topic);
	// its records are decoded as source.go says.
	source atomic.Pointer[sourcePlan]
	// retry: topic is the broker's retry topic, whose records each name the
	// one trigger they wait for (wire.HeaderRetryTrigger) and are delivered
	// when due (retry.go).
	retry bool
	cl    *kgo.Client  // the fleet group's member
	admCl *kgo.Client  // for the triggers' groups and offsets
	adm   *kadm.Client // over admCl

	set atomic.Pointer[triggerSet]

	// setMu serializes changes of the trigger set with assignments, so a
	// part's lanes are always those of the current set.
	setMu sync.Mutex

	partsMu sync.Mutex
	parts   map[int32]*part

	workCtx    context.Context // parent of every delivery and catch-up
	workCancel context.CancelFunc
	pollCancel context.CancelFunc
	pollDone   chan struct{}
	commitStop context.CancelFunc
	commitDone chan struct{}
	stopOnce   sync.Once

	commitMu sync.Mutex // one commit round at a time

	// ping is the PingSource schedule of the topic (nil: none, and always
	// for a retry topic); the pinger (ping.go) runs it while the reader
	// owns partition 0. pingMu guards pingCancel and pingDone.
	ping       atomic.Pointer[pingPlan]
	pingMu     sync.Mutex
	pingCancel context.CancelFunc
	pingDone   chan struct{}
	// poller runs the topic's HTTPPollerSource while the reader owns
	// partition 0 (poller.go).
	poller pollerTask
}

// pingOf is the PingSource schedule among specs (nil for a retry topic).
func pingOf(specs []*egressSpec, retry bool) *pingPlan {
	if retry {
		return nil
	}
	for _, s := range specs {
		if s.ping != nil {
			return s.ping
		}
	}
	return nil
}

// triggerSet is an immutable set of a broker's triggers, in key order, with
// the filter index over them.
type triggerSet struct {
	specs []*egressSpec
	index *filter.Index
	pos   map[string]int // spec key -> index in specs
}

func newTriggerSet(specs []*egressSpec) *triggerSet {
	slices.SortFunc(specs, func(a, b *egressSpec) int { return compareStrings(a.key, b.key) })
	fs := make([]filter.Filter, len(specs))
	for i, s := range specs {
		fs[i] = s.filter
	}
	pos := make(map[string]int, len(specs))
	for i, s := range specs {
		pos[s.key] = i
	}
	return &triggerSet{specs: specs, index: filter.NewIndex(fs), pos: pos}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *triggerSet) lookup(key string) *egressSpec {
	i, ok := slices.BinarySearchFunc(s.specs, key, func(e *egressSpec, k string) int { return compareStrings(e.key, k) })
	if !ok {
		return nil
	}
	return s.specs[i]
}

func newReader(d *Dispatcher, plan readerPlan, specs []*egressSpec) (*reader, error) {
	topic, group, retry := plan.topic, plan.group, plan.retry
	r := &reader{
		d:          d,
		logger:     d.logger.With("topic", topic, "group", group),
		key:        plan.key,
		topic:      topic,
		group:      group,
		kcfg:       d.cfg.Kafka,
		retry:      retry,
		parts:      map[int32]*part{},
		pollDone:   make(chan struct{}),
		commitDone: make(chan struct{}),
	}
	if plan.source != nil {
		r.kcfg = d.cfg.Kafka.ForCluster(plan.source.cluster, plan.source.auth)
		r.logger = r.logger.With("bootstrap_servers", plan.source.clusterKey)
		r.source.Store(plan.source)
	}
	r.set.Store(newTriggerSet(specs))
	r.ping.Store(pingOf(specs, retry))
	r.poller.plan.Store(pollerOf(specs, retry))
	opts := []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AdjustFetchOffsetsFn(r.onAssigned),
		kgo.OnPartitionsRevoked(r.onRevoked),
		kgo.OnPartitionsLost(r.onLost),
		kgo.FetchMaxWait(fetchMaxWait),
		kgo.FetchMaxBytes(fetchMaxBytes),
		kgo.WithHooks(newFetchHook(d.inst, topic, "shared")),
	}
	if d.cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(d.cfg.SessionTimeout))
	}
	// The admin client exists before the group client: the group's
	// callbacks use it from the moment the group client is made.
	admCl, err := r.kcfg.NewClient(r.logger)
	if err != nil {
		return nil, err
	}
	r.admCl, r.adm = admCl, kadm.NewClient(admCl)
	r.workCtx, r.workCancel = context.WithCancel(context.Background())
	cl, err := r.kcfg.NewClient(r.logger, opts...)
	if err != nil {
		admCl.Close()
		r.workCancel()
		return nil, err
	}
	r.cl = cl
	var pollCtx, commitCtx context.Context
	pollCtx, r.pollCancel = context.WithCancel(context.Background())
	commitCtx, r.commitStop = context.WithCancel(context.Background())
	go r.pollLoop(pollCtx)
	go r.commitLoop(commitCtx)
	return r, nil
}

// pollLoop reads the owned partitions and fans their records out.
func (r *reader) pollLoop(ctx context.Context) {
	defer close(r.pollDone)
	for {
		fetches := r.cl.PollRecords(ctx, maxPollRecords)
		if ctx.Err() != nil {
			r.cl.AllowRebalance()
			return
		}
		failed := false
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, kgo.ErrClientClosed) {
				r.cl.AllowRebalance()
				return
			}
			if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
				continue
			}
			failed = true
			r.logger.Warn("fetch failed", "partition", fe.Partition, "err", kafka.Explain(r.cl, fe.Err))
		}
		set := r.set.Load()
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if fp.Topic != r.topic {
				return
			}
			r.partsMu.Lock()
			p := r.parts[fp.Partition]
			r.partsMu.Unlock()
			if p != nil {
				p.fanout(set, fp.Records, fp.HighWatermark)
			}
		})
		r.cl.AllowRebalance()
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

// startOffsets are what a partition's lanes start from: each trigger's
// committed offset (the log start when it has none), and where the shared
// read starts.
type startOffsets struct {
	shared   int64
	triggers map[string]int64 // by spec key
}

// fetchStarts reads the committed offsets of the triggers of specs (and of
// the fleet group) on partitions, and decides where each starts. The shared
// read resumes where the fleet committed; without a commit it starts at the
// earliest trigger. Triggers behind the shared read catch up on their own.
func (r *reader) fetchStarts(ctx context.Context, specs []*egressSpec, partitions []int32, withFleet bool) (map[int32]*startOffsets, error) {
	groups := make([]string, 0, len(specs)+1)
	for _, s := range specs {
		groups = append(groups, s.group)
	}
	if withFleet {
		groups = append(groups, r.group)
	}
	out := map[int32]*startOffsets{}
	if len(partitions) == 0 {
		return out, nil
	}
	logStart, err := r.adm.ListStartOffsets(ctx, r.topic)
	if err == nil {
		err = logStart.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list start offsets of %s: %w", r.topic, err)
	}
	committed := map[string]kadm.OffsetResponses{}
	if len(groups) > 0 {
		for g, resp := range r.adm.FetchManyOffsets(ctx, groups...) {
			switch {
			case errors.Is(resp.Err, kerr.GroupIDNotFound):
				// No commit yet: the trigger starts at the log start.
			case resp.Err != nil:
				return nil, fmt.Errorf("fetch the committed offsets of %s: %w", g, resp.Err)
			default:
				committed[g] = resp.Fetched
			}
		}
	}
	at := func(group string, p int32) (int64, bool) {
		o, ok := committed[group].Lookup(r.topic, p)
		if !ok || o.Err != nil || o.At < 0 {
			return 0, false
		}
		return o.At, true
	}
	// Egresses starting at the end of partitions without an offset (a
	// KafkaSource's initial offset latest): that start is committed before
	// anything is read, so a restart resumes there, not at a later end.
	var logEnd kadm.ListedOffsets
	latest := map[string]kadm.Offsets{}
	for _, s := range specs {
		if s.startLatest && !r.retry && logEnd == nil {
			if logEnd, err = r.adm.ListEndOffsets(ctx, r.topic); err == nil {
				err = logEnd.Error()
			}
			if err != nil {
				return nil, fmt.Errorf("list end offsets of %s: %w", r.topic, err)
			}
		}
	}
	for _, p := range partitions {
		so := &startOffsets{triggers: map[string]int64{}}
		first := int64(0)
		if lo, ok := logStart.Lookup(r.topic, p); ok {
			first = lo.Offset
		}
		minTrigger := int64(-1)
		for _, s := range specs {
			c, ok := at(s.group, p)
			if !ok && s.startLatest && !r.retry {
				if lo, found := logEnd.Lookup(r.topic, p); found {
					c = lo.Offset
					offs := latest[s.group]
					if offs == nil {
						offs = kadm.Offsets{}
						latest[s.group] = offs
					}
					offs.AddOffset(r.topic, p, c, -1)
				}
			} else if !ok || c < first {
				c = first
			}
			so.triggers[s.key] = c
			if minTrigger < 0 || c < minTrigger {
				minTrigger = c
			}
		}
		if f, ok := at(r.group, p); withFleet && ok && f >= first {
			so.shared = f
		} else if minTrigger >= 0 {
			so.shared = minTrigger
		} else {
			so.shared = first
		}
		out[p] = so
	}
	for g, offs := range latest {
		resp, err := r.adm.CommitOffsets(ctx, g, offs)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("commit the starting offsets (latest) of %s: %w", g, err)
		}
		r.logger.Info("no committed offsets: starting at the end of the partitions (initial offset latest)", "group", g)
	}
	return out, nil
}

// onAssigned creates the parts of newly assigned partitions and tells
// franz-go where the shared read of each starts.
func (r *reader) onAssigned(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	ps := make([]int32, 0, len(offsets[r.topic]))
	for p := range offsets[r.topic] {
		ps = append(ps, p)
	}
	r.setMu.Lock()
	defer r.setMu.Unlock()
	set := r.set.Load()
	starts, err := r.fetchStarts(ctx, set.specs, ps, true)
	if err != nil {
		// franz-go leaves the group and rejoins: the partitions are retried.
		r.logger.Warn("partitions assigned, but their start offsets could not be read", "err", err)
		return nil, err
	}
	out := map[string]map[int32]kgo.Offset{r.topic: {}}
	r.partsMu.Lock()
	defer r.partsMu.Unlock()
	for _, p := range ps {
		so := starts[p]
		pt := newPart(r, p, so.shared)
		for _, s := range set.specs {
			pt.addLane(s, so.triggers[s.key])
		}
		r.parts[p] = pt
		out[r.topic][p] = kgo.NewOffset().At(so.shared).WithEpoch(-1)
		r.logger.Debug("partition assigned", "partition", p, "shared_start", so.shared)
		if p == 0 {
			r.startPinger()
			r.startPoller()
		}
	}
	return out, nil
}

// onRevoked runs when partitions move to another member (and at the end of
// every group session with nothing revoked): their lanes finish what is in
// flight within DrainTimeout, and every trigger's finished prefix is
// committed before the new owner reads it.
func (r *reader) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if ps := revoked[r.topic]; len(ps) > 0 {
		if slices.Contains(ps, 0) {
			r.stopPinger()
			r.stopPoller()
		}
		r.release(ctx, r.takeParts(ps), time.Now().Add(r.d.cfg.DrainTimeout), true)
	}
}

// onLost runs when partitions already belong to someone else: in-flight
// deliveries are abandoned at once and nothing is committed.
func (r *reader) onLost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	if ps := lost[r.topic]; len(ps) > 0 {
		if slices.Contains(ps, 0) {
			r.stopPinger()
			r.stopPoller()
		}
		r.release(ctx, r.takeParts(ps), time.Now(), false)
	}
}

// takeParts removes the parts of partitions (every part when nil).
func (r *reader) takeParts(partitions []int32) map[int32]*part {
	r.partsMu.Lock()
	defer r.partsMu.Unlock()
	if partitions == nil {
		taken := r.parts
		r.parts = map[int32]*part{}
		return taken
	}
	taken := map[int32]*part{}
	for _, p := range partitions {
		if pt, ok := r.parts[p]; ok {
			taken[p] = pt
			delete(r.parts, p)
		}
	}
	return taken
}

// release closes the lanes of taken parts (in-flight deliveries may run
// until deadline) and, with commit, commits their final progress.
func (r *reader) release(ctx context.Context, taken map[int32]*part, deadline time.Time, commit bool) {
	var wg sync.WaitGroup
	for _, pt := range taken {
		wg.Go(func() { pt.close(deadline) })
	}
	wg.Wait()
	if commit && len(taken) > 0 {
		r.commitMu.Lock()
		r.commit(context.WithoutCancel(ctx), taken, true)
		r.commitMu.Unlock()
	}
}

// update replaces the trigger set: lanes of removed triggers (and of
// triggers whose ordering or concurrency changed) finish and commit, new
// ones start at their committed offsets, and changed filters, subscribers
// and delivery policies apply to the next records.
func (r *reader) update(specs []*egressSpec) {
	r.setMu.Lock()
	defer r.setMu.Unlock()
	old := r.set.Load()
	next := newTriggerSet(specs)
	var added, restarted []*egressSpec
	var removed []string
	for _, s := range next.specs {
		o := old.lookup(s.key)
		switch {
		case o == nil:
			added = append(added, s)
		case o.group != s.group || o.ordered != s.ordered || o.inFlightLimit(r.d.cfg.MaxInFlight) != s.inFlightLimit(r.d.cfg.MaxInFlight):
			restarted = append(restarted, s)
		}
	}
	for _, o := range old.specs {
		if next.lookup(o.key) == nil {
			removed = append(removed, o.key)
		}
	}
	// Lanes that go (removed or restarted) finish first, so a restarted
	// trigger resumes from what its old lanes committed.
	gone := append(slices.Clone(removed), keysOf(restarted)...)
	r.partsMu.Lock()
	parts := make([]*part, 0, len(r.parts))
	for _, pt := range r.parts {
		parts = append(parts, pt)
	}
	r.partsMu.Unlock()
	if len(gone) > 0 {
		deadline := time.Now().Add(r.d.cfg.DrainTimeout)
		closed := map[int32]map[string]*lane{}
		for _, pt := range parts {
			closed[pt.partition] = pt.removeLanes(gone)
		}
		var wg sync.WaitGroup
		for _, ls := range closed {
			for _, l := range ls {
				wg.Go(func() { l.close(deadline) })
			}
		}
		wg.Wait()
		r.commitMu.Lock()
		r.commitLanes(context.Background(), closed, true)
		r.commitMu.Unlock()
	}
	r.set.Store(next)
	if np := pingOf(specs, r.retry); np == nil {
		r.ping.Store(nil)
		r.stopPinger()
	} else if old := r.ping.Swap(np); !old.same(np) {
		// A new schedule: the pinger starts over from the last tick.
		r.stopPinger()
		if r.ownsPingPartition() {
			r.startPinger()
		}
	}
	r.updatePoller(specs)
	for _, pt := range parts {
		pt.updateSpecs(next)
	}
	if fresh := append(added, restarted...); len(fresh) > 0 && len(parts) > 0 {
		ps := make([]int32, len(parts))
		for i, pt := range parts {
			ps[i] = pt.partition
		}
		ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
		starts, err := r.fetchStarts(ctx, fresh, ps, false)
		cancel()
		for _, pt := range parts {
			for _, s := range fresh {
				from := int64(0)
				if err == nil {
					from = starts[pt.partition].triggers[s.key]
				} else {
					// Without its committed offset, the trigger starts at
					// the shared read's beginning: the log start is never
					// skipped past (catch-up from there).
					r.logger.Warn("committed offsets of new triggers not read; starting them at the log start", "err", err)
				}
				pt.addLane(s, from)
			}
		}
	}
}

func keysOf(specs []*egressSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.key
	}
	return out
}

// commitLoop commits every trigger's finished prefix, and the fleet's
// position, every CommitInterval.
func (r *reader) commitLoop(ctx context.Context) {
	defer close(r.commitDone)
	t := time.NewTicker(r.d.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.partsMu.Lock()
			parts := make(map[int32]*part, len(r.parts))
			for p, pt := range r.parts {
				parts[p] = pt
			}
			r.partsMu.Unlock()
			r.commitMu.Lock()
			r.commit(ctx, parts, false)
			r.commitMu.Unlock()
		}
	}
}

// commit commits the progress of parts: each lane's finished prefix to its
// trigger's group, and the fleet's restart point, the earliest of the
// attached lanes' (a lane catching up resumes from its own group's offset).
// Failures are logged and retried on the next round; the caller holds
// commitMu.
func (r *reader) commit(ctx context.Context, parts map[int32]*part, final bool) {
	lanes := map[int32]map[string]*lane{}
	fleet := map[int32]kgo.EpochOffset{}
	for p, pt := range parts {
		lanes[p] = pt.lanesByKey()
		if o := pt.fleetPoint(); o >= 0 {
			fleet[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
		}
	}
	r.commitLanes(ctx, lanes, final)
	if len(fleet) > 0 {
		ctx, cancel := context.WithTimeout(ctx, commitTimeout)
		defer cancel()
		var cerr error
		r.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{r.topic: fleet},
			func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
				if err != nil {
					cerr = err
					return
				}
				for _, t := range resp.Topics {
					for _, p := range t.Partitions {
						if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
							cerr = err
						}
					}
				}
			})
		if cerr != nil {
			r.logger.Debug("commit the fleet's position", "err", cerr)
		}
	}
}

// commitLanes commits each lane's finished prefix that moved since its last
// commit and is due (commitDue), one OffsetCommit per trigger group, some in
// parallel.
func (r *reader) commitLanes(ctx context.Context, lanes map[int32]map[string]*lane, final bool) {
	type pending struct {
		offs     kadm.Offsets
		lanes    []*lane
		at       []int64
		finished []int64
	}
	byGroup := map[string]*pending{}
	now := time.Now()
	for p, ls := range lanes {
		for _, l := range ls {
			if n := l.filtered.Swap(0); n > 0 {
				r.d.inst.filtered.Add(ctx, n, l.spec.Load().attrs)
			}
			o := l.commitPoint()
			if o < 0 || o <= l.committed.Load() {
				continue
			}
			if !commitDue(l.finished.Load(), now.Sub(time.Unix(0, l.committedAt.Load())), r.d.cfg.CommitInterval, final) {
				continue
			}
			n := l.finished.Swap(0)
			pg := byGroup[l.group]
			if pg == nil {
				pg = &pending{offs: kadm.Offsets{}}
				byGroup[l.group] = pg
			}
			pg.offs.AddOffset(r.topic, p, o, -1)
			pg.lanes = append(pg.lanes, l)
			pg.at = append(pg.at, o)
			pg.finished = append(pg.finished, n)
		}
	}
	if len(byGroup) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	sem := make(chan struct{}, commitParallelism)
	var wg sync.WaitGroup
	for group, pg := range byGroup {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			resp, err := r.adm.CommitOffsets(ctx, group, pg.offs)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				r.logger.Warn("commit a trigger's offsets", "group", group, "err", err)
				for i, l := range pg.lanes {
					l.finished.Add(max(pg.finished[i], 1)) // commit again next round
				}
				return
			}
			for i, l := range pg.lanes {
				l.committed.Store(pg.at[i])
				l.committedAt.Store(now.UnixNano())
			}
		})
	}
	wg.Wait()
}

// stop drains the reader: no more polls, lanes finish within deadline, a
// final commit, and the fleet's group is left. It is idempotent.
func (r *reader) stop(deadline time.Time) {
	r.stopOnce.Do(func() {
		r.pollCancel()
		<-r.pollDone
		// No callback runs after the poll loop: the pinger stays stopped.
		r.stopPinger()
		r.stopPoller()
		r.commitStop()
		<-r.commitDone
		r.release(context.Background(), r.takeParts(nil), deadline, true)
		r.workCancel()
		r.cl.Close()
		r.admCl.Close()
		r.logger.Info("broker reader stopped")
	})
}
