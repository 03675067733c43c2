package dispatcher

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/robfig/cron/v3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// A PingSource's ticks are produced by exactly one dispatcher: the member of
// the fleet's group (wire.FleetGroupOf) that owns partition 0 of the
// source's one-partition topic. While it owns it, its reader runs a pinger:
//
//   - on gaining the partition, the pinger reads the topic's last record and
//     its wire.HeaderPingTick, the last tick written by anyone;
//   - it continues with the schedule's next tick after that one. When that
//     tick is already past (no one owned the partition at the time: a
//     takeover, or every dispatcher was down), the latest past tick — by
//     definition less than one schedule period old — is produced at once,
//     late, and the ones before it are skipped; then the schedule goes on;
//   - each tick is one record (key and header = the tick time, RFC 3339),
//     produced acks=all by the idempotent producer, and retried until it is
//     stored or the partition is lost; the event's time is the tick time and
//     its id is derived from the source's uid and the tick time, so a
//     duplicate could be told apart by id;
//   - on losing the partition (revoked, lost, the reader stopped) the pinger
//     stops and is waited for before the partition moves on (revocation) —
//     so the next owner reads a last record no one is still writing after.
//
// The ticks are then delivered by the source's ordinary egress on the topic.

// pingPlan is a PingSource's compiled schedule and event template.
type pingPlan struct {
	spec     *weftv1.PingSchedule
	schedule cron.Schedule
	uid      string
}

func compilePing(in *weftv1.Ingress) (*pingPlan, error) {
	p := in.GetPing()
	if p == nil {
		return nil, nil
	}
	s, err := cron.ParseStandard(p.GetSchedule())
	if err != nil {
		return nil, fmt.Errorf("%w: PingSource %s/%s: schedule %q: %w", ErrInvalidContract, in.GetNamespace(), in.GetName(), p.GetSchedule(), err)
	}
	return &pingPlan{spec: p, schedule: s, uid: in.GetUid()}, nil
}

// same says whether q runs the same schedule as p.
func (p *pingPlan) same(q *pingPlan) bool {
	return p != nil && q != nil && p.spec.GetSchedule() == q.spec.GetSchedule()
}

// firstTick is the first tick to produce given the last one written (zero:
// none) at now: the schedule's next tick after last, or, when that is past,
// the latest tick at or before now (the earlier missed ones are skipped).
func firstTick(s cron.Schedule, last, now time.Time) time.Time {
	if last.IsZero() {
		return s.Next(now)
	}
	next := s.Next(last)
	if !next.Before(now) {
		return next
	}
	// The latest tick at or before now: by construction less than one
	// period old. Walking is bounded: a schedule too far behind goes on
	// from now.
	t := next
	for range 100000 {
		n := s.Next(t)
		if n.After(now) {
			return t
		}
		t = n
	}
	return s.Next(now)
}

// pingEvent is the event of the tick at tick.
func (p *pingPlan) event(tick time.Time) *event.Event {
	sp := p.spec
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(uuid.NewSHA1(uuid.NameSpaceURL, []byte(p.uid+"/"+tick.UTC().Format(time.RFC3339Nano))).String())
	e.SetType(sp.GetType())
	e.SetSource(sp.GetSource())
	e.SetTime(tick)
	if ct := sp.GetContentType(); ct != "" {
		e.SetDataContentType(ct)
	}
	if len(sp.GetData()) > 0 {
		e.DataEncoded = sp.GetData()
	}
	for k, v := range sp.GetExtensions() {
		e.SetExtension(k, v)
	}
	return &e
}

// startPinger runs the pinger of the reader's PingSource while the reader
// owns partition 0; idempotent.
func (r *reader) startPinger() {
	r.pingMu.Lock()
	defer r.pingMu.Unlock()
	if r.pingCancel != nil || r.ping.Load() == nil {
		return
	}
	ctx, cancel := context.WithCancel(r.workCtx)
	done := make(chan struct{})
	r.pingCancel, r.pingDone = cancel, done
	go func() {
		defer close(done)
		r.runPinger(ctx)
	}()
}

// stopPinger stops the pinger and waits for it: a tick being produced is
// either stored or abandoned when it returns.
func (r *reader) stopPinger() {
	r.pingMu.Lock()
	defer r.pingMu.Unlock()
	if r.pingCancel == nil {
		return
	}
	r.pingCancel()
	<-r.pingDone
	r.pingCancel, r.pingDone = nil, nil
}

// ownsPingPartition says whether the reader owns partition 0.
func (r *reader) ownsPingPartition() bool {
	r.partsMu.Lock()
	defer r.partsMu.Unlock()
	_, ok := r.parts[0]
	return ok
}

func (r *reader) runPinger(ctx context.Context) {
	var last time.Time
	for attempt := 0; ; attempt++ {
		var err error
		last, err = r.lastTick(ctx)
		if err == nil {
			break
		}
		r.logger.Warn("read the last tick of a PingSource", "err", err)
		if !sleep(ctx, min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second)) {
			return
		}
	}
	plan := r.ping.Load()
	next := firstTick(plan.schedule, last, time.Now())
	r.logger.Info("running PingSource schedule", "schedule", plan.spec.GetSchedule(), "last_tick", last, "next_tick", next)
	for {
		if !sleep(ctx, time.Until(next)) {
			return
		}
		plan = r.ping.Load()
		if !r.produceTick(ctx, plan, next) {
			return
		}
		next = firstTick(plan.schedule, next, time.Now())
	}
}

// produceTick writes the tick's record, retrying until it is stored
// (true) or ctx ends (false).
func (r *reader) produceTick(ctx context.Context, plan *pingPlan, tick time.Time) bool {
	ts := tick.UTC().Format(time.RFC3339Nano)
	for attempt := 0; ; attempt++ {
		rec, err := cekafka.ToRecord(r.topic, plan.event(tick))
		if err != nil {
			r.logger.Error("encode a PingSource tick", "err", err)
			return false
		}
		rec.Key = []byte(ts)
		rec.Partition = 0
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: wire.HeaderPingTick, Value: []byte(ts)})
		err = r.d.producer.ProduceSync(ctx, rec).FirstErr()
		if err == nil {
			r.logger.Debug("PingSource tick", "tick", ts)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		r.logger.Warn("produce a PingSource tick", "tick", ts, "err", err)
		if !sleep(ctx, min(time.Duration(attempt+1)*100*time.Millisecond, 2*time.Second)) {
			return false
		}
	}
}

// lastTick reads the tick time of the topic's last record (zero when the
// topic is empty).
func (r *reader) lastTick(ctx context.Context) (time.Time, error) {
	return r.lastRecordTime(ctx, wire.HeaderPingTick)
}

// lastRecordTime reads the time in header key (RFC 3339) of the last record
// of partition 0 of the reader's topic: zero when the topic is empty or its
// last record has no such header (not written by the partition's owner
// task: it starts afresh).
func (r *reader) lastRecordTime(ctx context.Context, key string) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	ends, err := r.adm.ListEndOffsets(ctx, r.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("list end offsets of %s: %w", r.topic, err)
	}
	starts, err := r.adm.ListStartOffsets(ctx, r.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("list start offsets of %s: %w", r.topic, err)
	}
	end, _ := ends.Lookup(r.topic, 0)
	start, _ := starts.Lookup(r.topic, 0)
	if end.Offset <= start.Offset {
		return time.Time{}, nil
	}
	cl, err := r.d.cfg.Kafka.NewClient(r.logger,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{r.topic: {0: kgo.NewOffset().At(end.Offset - 1)}}))
	if err != nil {
		return time.Time{}, err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return time.Time{}, fmt.Errorf("read the last record of %s: %w", r.topic, err)
		}
		var rec *kgo.Record
		fs.EachRecord(func(x *kgo.Record) {
			if x.Offset == end.Offset-1 {
				rec = x
			}
		})
		if rec == nil {
			continue
		}
		for _, h := range rec.Headers {
			if h.Key == key {
				t, err := time.Parse(time.RFC3339Nano, string(h.Value))
				if err != nil {
					return time.Time{}, fmt.Errorf("last record of %s: header %s: %w", r.topic, key, err)
				}
				return t, nil
			}
		}
		r.logger.Warn("the last record of the topic has no time header; starting afresh", "header", key)
		return time.Time{}, nil
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
