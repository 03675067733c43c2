package dispatcher

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/weft-dev/weft/pkg/observability"
)

// instruments are the dispatcher's metrics, labelled per trigger
// (namespace, trigger).
type instruments struct {
	delivered      *observability.Counter // counted per delivery: an atomic counter, each spec's series bound once
	filtered       metric.Int64Counter
	retried        metric.Int64Counter
	deadLettered   metric.Int64Counter
	dropped        metric.Int64Counter
	rejected       metric.Int64Counter
	undecodable    metric.Int64Counter
	stuckRetries   metric.Int64Counter
	replies        metric.Int64Counter
	repliesDropped metric.Int64Counter
	parked         metric.Int64Counter
	fetchBytes     metric.Int64Counter
	inFlight       metric.Int64ObservableGauge
	latency        metric.Float64Histogram
	lag            metric.Int64ObservableGauge
	stuck          metric.Int64ObservableGauge
}

func newInstruments(m metric.Meter, observe func(context.Context, *instruments, metric.Observer) error) (*instruments, error) {
	var (
		inst instruments
		errs []error
	)
	counter := func(name, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("{event}"))
		errs = append(errs, err)
		return c
	}
	var err error
	inst.delivered, err = observability.NewCounter(m, "weft.dispatcher.events.delivered",
		metric.WithDescription("Events delivered to the subscriber (2xx)."), metric.WithUnit("{event}"))
	errs = append(errs, err)
	inst.filtered = counter("weft.dispatcher.events.filtered", "Events the trigger's filter did not match.")
	inst.retried = counter("weft.dispatcher.events.retried", "Delivery attempts beyond the first.")
	inst.deadLettered = counter("weft.dispatcher.events.dead_lettered", "Events stored in the dead-letter sink.")
	inst.dropped = counter("weft.dispatcher.events.dropped", "Events that exhausted their retries with no dead-letter sink, or were not retryable.")
	inst.rejected = counter("weft.dispatcher.events.rejected", "Events the subscriber refused with a non-retryable 4xx where the egress drops those (a Parallel branch's filter): dropped, not dead-lettered.")
	inst.undecodable = counter("weft.dispatcher.events.undecodable", "Records that are not CloudEvents; skipped.")
	inst.stuckRetries = counter("weft.dispatcher.dead_letter.failures", "Retries of events whose dead-letter sink failed (their offset is held).")
	inst.replies = counter("weft.dispatcher.replies.produced", "Reply events produced into the reply topic (or posted to the reply URL); events an egress without a subscriber forwarded.")
	inst.repliesDropped = counter("weft.dispatcher.replies.dropped", "Reply events dropped because their hop count reached zero.")
	inst.parked = counter("weft.dispatcher.events.parked", "Events moved to the broker's retry topic to wait for a far retry.")
	inst.fetchBytes, err = m.Int64Counter("weft.dispatcher.fetch.bytes",
		metric.WithDescription("Record batch bytes fetched from Kafka (as stored, compressed), by topic and reader: the shared read, or a trigger catching up."),
		metric.WithUnit("By"))
	errs = append(errs, err)
	inst.inFlight, err = m.Int64ObservableGauge("weft.dispatcher.events.in_flight",
		metric.WithDescription("Deliveries in progress."), metric.WithUnit("{event}"))
	errs = append(errs, err)
	inst.latency, err = m.Float64Histogram("weft.dispatcher.delivery.duration",
		metric.WithDescription("Time to deliver an event, retries included."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
	errs = append(errs, err)
	inst.lag, err = m.Int64ObservableGauge("weft.dispatcher.consumer.lag",
		metric.WithDescription("Records between a partition's high watermark and its commit point."), metric.WithUnit("{record}"))
	errs = append(errs, err)
	inst.stuck, err = m.Int64ObservableGauge("weft.dispatcher.events.stuck",
		metric.WithDescription("Events held back because their dead-letter sink failed."), metric.WithUnit("{event}"))
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("create dispatcher metrics: %w", err)
		}
	}
	if _, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return observe(ctx, &inst, o)
	}, inst.lag, inst.stuck, inst.inFlight); err != nil {
		return nil, fmt.Errorf("register dispatcher metrics callback: %w", err)
	}
	return &inst, nil
}

// observe reports consumer lag per egress and partition, and stuck events
// and deliveries in flight per egress. Egresses with the same labels (the
// steps of one Sequence share its name) are summed, as the counters are.
func (d *Dispatcher) observe(_ context.Context, inst *instruments, o metric.Observer) error {
	type key struct{ namespace, name, kind string }
	type lagKey struct {
		key
		partition int32
	}
	stuck := map[key]int64{}
	inFlight := map[key]int64{}
	lag := map[lagKey]int64{}
	for _, l := range d.lanes() {
		spec := l.spec.Load()
		k := key{spec.namespace, spec.name, spec.kind}
		// A retry topic's lag counts every egress's waiting events: not
		// one egress's.
		if hwm := l.part.hwm.Load(); hwm >= 0 && !l.part.r.retry {
			lag[lagKey{k, l.partition}] += max(hwm-l.commitPoint(), 0)
		}
		l.mu.Lock()
		stuck[k] += int64(len(l.stuck))
		l.mu.Unlock()
		inFlight[k] += l.inFlight.Load()
	}
	for k, n := range lag {
		o.ObserveInt64(inst.lag, n, metric.WithAttributeSet(egressAttrs(k.namespace, k.name, k.kind,
			attribute.Int("partition", int(k.partition)))))
	}
	for k, n := range stuck {
		attrs := metric.WithAttributeSet(egressAttrs(k.namespace, k.name, k.kind))
		o.ObserveInt64(inst.stuck, n, attrs)
		o.ObserveInt64(inst.inFlight, inFlight[k], attrs)
	}
	return nil
}

// fetchHook counts the bytes a Kafka client fetches (kgo.HookFetchBatchRead).
type fetchHook struct {
	inst  *instruments
	attrs metric.MeasurementOption
}

func newFetchHook(inst *instruments, topic, reader string) fetchHook {
	return fetchHook{inst: inst, attrs: metric.WithAttributeSet(attribute.NewSet(
		attribute.String("topic", topic), attribute.String("reader", reader)))}
}

// OnFetchBatchRead implements kgo.HookFetchBatchRead.
func (h fetchHook) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	h.inst.fetchBytes.Add(context.Background(), int64(m.CompressedBytes), h.attrs)
}
