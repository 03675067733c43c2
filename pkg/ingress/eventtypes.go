package ingress

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/metric"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// EventTypeReporter sends the event types the ingress observed to the
// control plane (contract.Client implements it over the contract
// connection). ReportEventTypes is called from one goroutine at a time and
// may block until ctx ends; it returns how many EventTypes were created.
type EventTypeReporter interface {
	ReportEventTypes(ctx context.Context, observed []*weftv1.ObservedEventType) (int, error)
}

// eventTypeKey is one (type, source, schema) seen on one entry.
type eventTypeKey struct {
	uid, typ, source, schema string
}

// Bounds of EventType auto-registration.
const (
	// reportBatch is the most observations one report carries.
	reportBatch = 500
	// reportTimeout bounds one report.
	reportTimeout = 10 * time.Second
	// reportRetry is how long a failed report waits before the next.
	reportRetry = time.Second
)

// eventTypes records the (type, source, dataschema) of the events accepted
// on entries with eventtype_auto_create and reports each new one to the
// control plane, asynchronously. Observing costs a map lookup on the
// request path and never blocks: the set of triples is bounded (MaxEventTypes;
// beyond it new triples are dropped), the queue to the reporter too
// (EventTypeQueue; when full the triple is dropped and forgotten, to be
// seen again with a later event); drops are counted in
// weft.ingress.eventtypes.dropped. A report that fails forgets its triples
// the same way. Safe for concurrent use; run owns the reporting goroutine.
type eventTypes struct {
	logger   *slog.Logger
	max      int64
	seen     sync.Map // eventTypeKey -> struct{}
	size     atomic.Int64
	queue    chan eventTypeObservation
	dropped  metric.Int64Counter
	reported metric.Int64Counter
}

type eventTypeObservation struct {
	key eventTypeKey
	b   *broker
}

func newEventTypes(m metric.Meter, maxTracked, queue int, logger *slog.Logger) (*eventTypes, error) {
	et := &eventTypes{logger: logger, max: int64(maxTracked), queue: make(chan eventTypeObservation, queue)}
	var err error
	if et.dropped, err = m.Int64Counter("weft.ingress.eventtypes.dropped",
		metric.WithDescription("Observed event types not reported for EventType auto-registration: the tracked set or the report queue was full, or the report failed (seen again with a later event)"),
		metric.WithUnit("{eventtype}")); err != nil {
		return nil, err
	}
	if et.reported, err = m.Int64Counter("weft.ingress.eventtypes.reported",
		metric.WithDescription("Observed event types reported to the control plane for EventType auto-registration"),
		metric.WithUnit("{eventtype}")); err != nil {
		return nil, err
	}
	return et, nil
}

// observe notes that e was accepted on b (b.autoEventTypes). It never
// blocks.
func (et *eventTypes) observe(b *broker, e *event.Event) {
	k := eventTypeKey{uid: b.uid, typ: e.Type(), source: e.Source(), schema: e.DataSchema()}
	if _, ok := et.seen.Load(k); ok {
		return
	}
	if et.size.Load() >= et.max {
		et.dropped.Add(context.Background(), 1)
		return
	}
	if _, loaded := et.seen.LoadOrStore(k, struct{}{}); loaded {
		return
	}
	et.size.Add(1)
	select {
	case et.queue <- eventTypeObservation{key: k, b: b}:
	default:
		et.forget(k)
		et.dropped.Add(context.Background(), 1)
	}
}

func (et *eventTypes) forget(k eventTypeKey) {
	if _, ok := et.seen.LoadAndDelete(k); ok {
		et.size.Add(-1)
	}
}

// run reports queued observations in batches until ctx ends.
func (et *eventTypes) run(ctx context.Context, r EventTypeReporter) {
	batch := make([]eventTypeObservation, 0, reportBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case o := <-et.queue:
			batch = append(batch, o)
		}
	fill:
		for len(batch) < reportBatch {
			select {
			case o := <-et.queue:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		obs := make([]*weftv1.ObservedEventType, len(batch))
		for i, o := range batch {
			obs[i] = &weftv1.ObservedEventType{
				IngressUid: o.key.uid, Kind: o.b.kind, Namespace: o.b.namespace, Name: o.b.name,
				Type: o.key.typ, Source: o.key.source, Schema: o.key.schema,
			}
		}
		rctx, cancel := context.WithTimeout(ctx, reportTimeout)
		created, err := r.ReportEventTypes(rctx, obs)
		cancel()
		if err != nil {
			for _, o := range batch {
				et.forget(o.key)
			}
			et.dropped.Add(ctx, int64(len(batch)))
			if ctx.Err() != nil {
				return
			}
			et.logger.Warn("event types not reported; they are reported again when seen again", "count", len(batch), "err", err)
			t := time.NewTimer(reportRetry)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		et.reported.Add(ctx, int64(len(batch)))
		et.logger.Debug("event types reported", "count", len(batch), "created", created)
	}
}
