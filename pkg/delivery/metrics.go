package delivery

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/weft-dev/weft/pkg/observability"
)

// instrumentationName names the meter and the tracer.
const instrumentationName = "github.com/weft-dev/weft/pkg/delivery"

// target says where an attempt went.
type target string

const (
	targetSubscriber target = "subscriber"
	targetDeadLetter target = "dead_letter"
	// targetReply: a reply POSTed to a reply URL (Sender.ReplyTo).
	targetReply target = "reply"
)

// instruments are the Sender's metrics. Attributes stay low-cardinality:
// the target (subscriber or dead_letter), the attempt's result class and its
// HTTP status code; per-trigger metrics belong to the caller.
//
// The two counted per delivery, attempts and delivered, are atomic counters
// (observability.Counter) with their series bound once.
type instruments struct {
	attempts     *observability.Counter // every HTTP attempt
	attemptsMu   sync.RWMutex
	attemptsBy   map[attemptKey]*attemptMetric    // guarded by attemptsMu
	retries      metric.Int64Counter              // attempts after the first
	delivered    map[target]*observability.Series // events the subscriber (or reply URL) accepted
	deadLettered metric.Int64Counter              // events stored in the dead-letter sink
	dropped      metric.Int64Counter              // events given up without a sink
	rejected     metric.Int64Counter              // events refused with Policy.DropRejected
	dlFailed     metric.Int64Counter              // events whose dead-letter sink failed
	parked       metric.Int64Counter              // events handed back to wait for a far retry
	duration     metric.Float64Histogram          // one attempt, response body included
}

func newInstruments(m metric.Meter) (*instruments, error) {
	in := instruments{attemptsBy: map[attemptKey]*attemptMetric{}}
	var errs []error
	counter := func(dst *metric.Int64Counter, name, desc, unit string) {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		*dst = c
	}
	atomicCounter := func(name, desc, unit string) *observability.Counter {
		c, err := observability.NewCounter(m, name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	in.attempts = atomicCounter("weft.delivery.attempts", "HTTP delivery attempts, retries and dead-letter sends included.", "{attempt}")
	counter(&in.retries, "weft.delivery.retries", "Delivery attempts after the first one.", "{attempt}")
	if delivered := atomicCounter("weft.delivery.delivered", "Events accepted (2xx) by their subscriber.", "{event}"); delivered != nil {
		in.delivered = map[target]*observability.Series{}
		for _, t := range []target{targetSubscriber, targetDeadLetter, targetReply} {
			in.delivered[t] = delivered.Series(targetSet(t))
		}
	}
	counter(&in.deadLettered, "weft.delivery.dead_lettered", "Events stored in a dead-letter sink after failed delivery.", "{event}")
	counter(&in.dropped, "weft.delivery.dropped", "Events given up after failed delivery, with no dead-letter sink.", "{event}")
	counter(&in.rejected, "weft.delivery.rejected", "Events a subscriber refused with a non-retryable 4xx, dropped as the policy asks (a Parallel branch's filter).", "{event}")
	counter(&in.dlFailed, "weft.delivery.dead_letter_failures", "Events whose dead-letter sink failed too (not committed).", "{event}")
	counter(&in.parked, "weft.delivery.parked", "Deliveries handed back to wait for a retry due later than the park threshold (the dispatcher's retry topic).", "{event}")
	h, err := m.Float64Histogram("weft.delivery.attempt.duration",
		metric.WithDescription("Duration of one HTTP delivery attempt, response body included."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	errs = append(errs, err)
	in.duration = h
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &in, nil
}

// attemptKey names one attempt attribute set (a few dozen: targets ×
// results × the status codes subscribers answer); instruments.attemptsBy
// holds each one's attributes and series, so an attempt builds no attribute
// set of its own.
type attemptKey struct {
	t      target
	result string
	status int
}

type attemptMetric struct {
	attrs    metric.MeasurementOption
	attempts *observability.Series
}

// countAttempt counts one attempt and records its duration.
func (in *instruments) countAttempt(ctx context.Context, t target, a *attemptResult, seconds float64) {
	m := in.attemptMetric(t, a)
	m.attempts.Add(1)
	in.duration.Record(ctx, seconds, m.attrs)
}

// attemptMetric is the attributes and attempts series of one attempt.
func (in *instruments) attemptMetric(t target, a *attemptResult) *attemptMetric {
	result := "success"
	switch {
	case a.err == nil:
	case a.retryable:
		result = "retryable"
	default:
		result = "permanent"
	}
	k := attemptKey{t, result, a.status}
	in.attemptsMu.RLock()
	m := in.attemptsBy[k]
	in.attemptsMu.RUnlock()
	if m != nil {
		return m
	}
	set := attribute.NewSet(
		attribute.String("weft.delivery.target", string(t)),
		attribute.String("weft.delivery.result", result),
		attribute.Int("http.response.status_code", a.status),
	)
	m = &attemptMetric{attrs: metric.WithAttributeSet(set), attempts: in.attempts.Series(set)}
	in.attemptsMu.Lock()
	in.attemptsBy[k] = m
	in.attemptsMu.Unlock()
	return m
}

var (
	subscriberAttrs = metric.WithAttributeSet(targetSet(targetSubscriber))
	deadLetterAttrs = metric.WithAttributeSet(targetSet(targetDeadLetter))
	replyAttrs      = metric.WithAttributeSet(targetSet(targetReply))
)

// targetSet is the attribute set of the per-event metrics of t.
func targetSet(t target) attribute.Set {
	return attribute.NewSet(attribute.String("weft.delivery.target", string(t)))
}

// targetAttrs are the attributes of the per-event metrics.
func targetAttrs(t target) metric.MeasurementOption {
	switch t {
	case targetDeadLetter:
		return deadLetterAttrs
	case targetReply:
		return replyAttrs
	}
	return subscriberAttrs
}
