package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/delivery"
	"github.com/weft-dev/weft/pkg/wire"
)

const (
	// firstStuckBackoff is the first wait before retrying a record whose
	// dead-letter sink failed.
	firstStuckBackoff = 200 * time.Millisecond
	// replyTimeout bounds storing one reply; past it the attempt fails and
	// is retried like any failed attempt.
	replyTimeout = 30 * time.Second
)

// consumerSpan is the dispatch span's start option, built once.
var consumerSpan = trace.WithSpanKind(trace.SpanKindConsumer)

// process delivers one queued item and reports whether it is finished
// (and may be committed): delivered, dead-lettered, dropped by policy, or
// filtered out by a trigger changed since it was queued. It returns false
// only when ctx ended first.
func (l *lane) process(ctx context.Context, it *item) bool {
	d, r, ev := l.part.r.d, it.rec, it.ev
	spec := l.spec.Load()
	ctx, span := d.tracer.Start(it.traceContext(ctx), "weft.dispatch", consumerSpan)
	defer span.End()
	recording := span.IsRecording() // attributes only for spans that keep them
	if recording {
		span.SetAttributes(
			attribute.String("weft.trigger", spec.ref()),
			attribute.String("weft.kind", spec.kind),
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.destination.name", r.Topic),
			attribute.String("messaging.consumer.group.name", l.group),
			attribute.Int("messaging.destination.partition.id", int(r.Partition)),
			attribute.Int64("messaging.kafka.offset", r.Offset),
			attribute.String("cloudevents.event_id", ev.ID()),
			attribute.String("cloudevents.event_type", ev.Type()),
		)
	}

	backoff := time.Duration(0)
	// A record from a retry topic resumes after the attempts it made, when
	// it is due.
	attempted, due := it.attempted, it.retryAt
	for {
		if !due.IsZero() {
			// A wait for a retry is not a delivery in flight: closing
			// (shutdown, rebalance, the trigger's removal) ends it at once,
			// uncommitted, so the next owner waits for it instead.
			if err := delivery.Wait(ctx, time.Until(due), l.closing); err != nil {
				span.SetStatus(codes.Error, "abandoned")
				return false
			}
			due = time.Time{}
		}
		spec = l.spec.Load() // a changed trigger applies from the next attempt
		if !spec.filter.Match(ev) {
			d.inst.filtered.Add(ctx, 1, spec.attrs)
			if recording {
				span.SetAttributes(attribute.Bool("weft.filtered", true))
			}
			l.unmarkStuck(r.Offset)
			return true
		}
		res, err := l.send(ctx, spec, it, attempted)
		if err == nil && res.Outcome == delivery.OutcomeParked {
			if l.park(ctx, spec, it, res) {
				if recording {
					span.SetAttributes(attribute.Int("weft.attempts", res.Attempts), attribute.Bool("weft.parked", true))
				}
				return true // stored in the retry topic
			}
			if ctx.Err() != nil {
				span.SetStatus(codes.Error, "abandoned")
				return false
			}
			attempted, due = res.Attempts, res.RetryAt // wait in place
			continue
		}
		if err == nil {
			l.unmarkStuck(r.Offset)
			l.finish(ctx, spec, span, ev, r, res)
			return true
		}
		if ctx.Err() != nil {
			span.SetStatus(codes.Error, "abandoned")
			return false
		}
		// ErrDeadLetterFailed, or anything unexpected: the event is not
		// stored anywhere, so it is never dropped. Hold the partition's
		// commit point and retry with capped backoff.
		backoff = min(max(2*backoff, firstStuckBackoff), d.cfg.DeadLetterRetryMaxBackoff)
		s := l.markStuck(r.Offset, err)
		d.inst.stuckRetries.Add(ctx, 1, spec.attrs)
		spec.counters.deadLetterFailures.Add(1)
		l.part.r.logger.Error("event not delivered and not dead-lettered; retrying it, the partition's offset is held",
			"trigger", spec.ref(), "partition", r.Partition, "offset", r.Offset, "id", ev.ID(), "retries", s.Retries, "retry_in", backoff,
			"dead_letter_failed", errors.Is(err, delivery.ErrDeadLetterFailed), "err", err)
		span.AddEvent("dead letter failed", trace.WithAttributes(attribute.String("error", err.Error())))
		if err := delivery.Wait(ctx, backoff, nil); err != nil {
			span.SetStatus(codes.Error, "abandoned")
			return false
		}
	}
}

// send delivers it with spec's policy, attempted attempts made already; an
// unordered trigger's far retry comes back parked (see retry.go). An egress
// without a destination forwards the event itself to its reply target.
func (l *lane) send(ctx context.Context, spec *egressSpec, it *item, attempted int) (delivery.Result, error) {
	d := l.part.r.d
	inst := d.inst
	l.inFlight.Add(1)
	defer l.inFlight.Add(-1)
	start := time.Now()
	p := spec.policy
	p.Attempted = attempted
	if !spec.ordered && l.part.r.d.cfg.RetryTopicAfter > 0 {
		p.ParkAfter = l.part.r.d.cfg.RetryTopicAfter
	}
	var (
		res delivery.Result
		err error
	)
	switch {
	case spec.destination == "" && spec.replyURL != "":
		// The reply URL is the subscriber: its failures are retried,
		// parked and dead-lettered (knativeerrordest = the reply URL) like
		// any subscriber's, and what it answers is discarded.
		res, err = d.sender.SendMessage(ctx, it.message(), spec.replyURL, p, nil)
	case spec.destination == "":
		res, err = l.forward(ctx, spec, it)
	default:
		res, err = d.sender.SendMessage(ctx, it.message(), spec.destination, p, l.replyFunc(spec, it.ttl))
	}
	inst.latency.Record(ctx, time.Since(start).Seconds(), spec.outcomeAttrs(res.Outcome, err))
	// Attempts beyond the first made by this call (a resumed delivery's
	// are all retries).
	if n := res.Attempts - max(attempted, 1); n > 0 {
		inst.retried.Add(ctx, int64(n), spec.attrs)
	}
	if err == nil || ctx.Err() == nil { // an abandoned attempt is no failure
		spec.counters.failed.Add(uint64(failedAttempts(res, attempted)))
	}
	return res, err
}

// failedAttempts counts the attempts a send made (a resumed delivery's
// earlier ones not) that failed: all of them but a last one that delivered
// the event or was rejected by design (a rejection is an answer, not a
// failure).
func failedAttempts(res delivery.Result, attempted int) int {
	n := res.Attempts - attempted
	if res.Err == nil || res.Outcome == delivery.OutcomeRejected {
		n--
	}
	return max(n, 0)
}

// forward produces the event itself, as a reply, into the reply topic of an
// egress without a destination (a Subscription with only a reply), hop
// count rule included; it is then delivered. A produce that fails returns
// the error: the record is not finished and process retries it (with capped
// backoff, holding the partition's commit point), never dropping it.
func (l *lane) forward(ctx context.Context, spec *egressSpec, it *item) (delivery.Result, error) {
	ev := it.ev.Clone() // the item's event is shared by every lane
	if err := l.replyFunc(spec, it.ttl)(ctx, &ev); err != nil {
		return delivery.Result{Attempts: 1, Err: err}, fmt.Errorf("forward event %q to %s: %w", ev.ID(), spec.replyTopic, err)
	}
	return delivery.Result{Outcome: delivery.OutcomeDelivered, Attempts: 1}, nil
}

func (l *lane) finish(ctx context.Context, spec *egressSpec, span trace.Span, ev *event.Event, r *kgo.Record, res delivery.Result) {
	inst := l.part.r.d.inst
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.response.status_code", res.StatusCode), attribute.Int("weft.attempts", res.Attempts))
	}
	switch res.Outcome {
	case delivery.OutcomeDelivered:
		spec.delivered.Add(1)
		spec.counters.delivered.Add(1)
	case delivery.OutcomeRejected:
		spec.counters.rejected.Add(1)
		// The subscriber said no (a Parallel branch's filter): dropped by
		// design, neither a failure nor dead-lettered.
		inst.rejected.Add(ctx, 1, spec.attrs)
		if span.IsRecording() {
			span.SetAttributes(attribute.Bool("weft.rejected", true))
		}
	case delivery.OutcomeDeadLettered:
		inst.deadLettered.Add(ctx, 1, spec.attrs)
		spec.counters.deadLettered.Add(1)
		span.SetStatus(codes.Error, "dead-lettered")
		l.part.r.logger.Debug("event dead-lettered", "partition", r.Partition, "offset", r.Offset, "id", ev.ID(),
			"status", res.StatusCode, "attempts", res.Attempts, "err", res.Err)
	default:
		inst.dropped.Add(ctx, 1, spec.attrs)
		spec.counters.dropped.Add(1)
		span.SetStatus(codes.Error, "dropped")
		l.part.r.logger.Debug("event dropped after its retries (no dead-letter sink)", "partition", r.Partition, "offset", r.Offset,
			"id", ev.ID(), "status", res.StatusCode, "attempts", res.Attempts, "err", res.Err)
	}
}

// replyFunc produces replies into the egress's reply topic with the
// producer's durability (acks=all, idempotent), or POSTs them to its reply
// URL (without a hop count: it counts hops inside Kafka only); an error
// fails the attempt.
func (l *lane) replyFunc(spec *egressSpec, ttl int) delivery.ReplyFunc {
	if spec.replyPost != nil {
		return func(ctx context.Context, reply *event.Event) error {
			reply.SetExtension(wire.ExtBrokerTTL, nil)
			if err := spec.replyPost(ctx, reply); err != nil {
				return err
			}
			l.part.r.d.inst.replies.Add(ctx, 1, spec.attrs)
			return nil
		}
	}
	return func(ctx context.Context, reply *event.Event) error {
		if spec.replyTopic == "" {
			l.part.r.logger.Debug("reply discarded: the egress has no reply topic", "id", reply.ID())
			return nil
		}
		next := ttl - 1
		if next <= 0 {
			l.part.r.d.inst.repliesDropped.Add(ctx, 1, spec.attrs)
			l.part.r.logger.Warn("reply dropped: hop count exhausted (reply loop?)", "id", reply.ID(), "type", reply.Type(), "ttl", ttl)
			return nil
		}
		reply.SetExtension(wire.ExtBrokerTTL, int32(next))
		rec, err := l.part.r.d.encode(spec.replyTopic, reply)
		if err != nil {
			return fmt.Errorf("encode reply: %w", err)
		}
		// A producer span, child of the delivery attempt, like the
		// ingress's: the reply record carries its context, so the reply's
		// dispatch continues the same trace.
		ctx, span := l.part.r.d.tracer.Start(ctx, "send "+spec.replyTopic, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				attribute.String("messaging.system", "kafka"),
				attribute.String("messaging.operation.type", "send"),
				attribute.String("messaging.operation.name", "send"),
				attribute.String("messaging.destination.name", spec.replyTopic),
				attribute.String("messaging.message.id", reply.ID()),
			))
		defer span.End()
		l.part.r.d.propagator.Inject(ctx, cekafka.HeaderCarrier{R: rec})
		ctx, cancel := context.WithTimeout(ctx, replyTimeout)
		defer cancel()
		if err := l.part.r.d.producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
			span.SetStatus(codes.Error, err.Error())
			return fmt.Errorf("produce reply to %s: %w", spec.replyTopic, err)
		}
		span.SetAttributes(
			attribute.Int("messaging.destination.partition.id", int(rec.Partition)),
			attribute.Int64("messaging.kafka.offset", rec.Offset))
		l.part.r.d.inst.replies.Add(ctx, 1, spec.attrs)
		return nil
	}
}

// eventTTL reads the hop count (wire.DefaultTTL when absent or unreadable).
func eventTTL(ev *event.Event) int {
	v, ok := ev.Extensions()[wire.ExtBrokerTTL]
	if !ok {
		return int(wire.DefaultTTL)
	}
	n, err := types.ToInteger(v)
	if err != nil {
		if s, ok := v.(string); ok {
			if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
				return i
			}
		}
		return int(wire.DefaultTTL)
	}
	return int(n)
}
