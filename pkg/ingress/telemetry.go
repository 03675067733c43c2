package ingress

import (
	"fmt"
	"net/http"
	"net/textproto"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/pkg/observability"
)

const instrumentationName = "github.com/weft-dev/weft/pkg/ingress"

// telemetry holds the tracer and the instruments of one Ingress.
type telemetry struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	requests   metric.Int64Counter
	eventSize  metric.Int64Histogram
	produceDur metric.Float64Histogram
}

func newTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) (*telemetry, error) {
	m := mp.Meter(instrumentationName)
	t := &telemetry{
		tracer:     tp.Tracer(instrumentationName),
		propagator: observability.Propagator(),
	}
	var err error
	if t.requests, err = m.Int64Counter("weft.ingress.requests",
		metric.WithDescription("HTTP requests received, by broker and status code"),
		metric.WithUnit("{request}")); err != nil {
		return nil, fmt.Errorf("create requests counter: %w", err)
	}
	if t.eventSize, err = m.Int64Histogram("weft.ingress.event.size",
		metric.WithDescription("Size of the events received (data, or structured body)"),
		metric.WithUnit("By"),
		metric.WithExplicitBucketBoundaries(128, 512, 1<<10, 4<<10, 16<<10, 64<<10, 256<<10, 1<<20, 4<<20)); err != nil {
		return nil, fmt.Errorf("create event size histogram: %w", err)
	}
	if t.produceDur, err = m.Float64Histogram("weft.ingress.produce.duration",
		metric.WithDescription("Time from handing a record to the producer to Kafka's acknowledgement"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)); err != nil {
		return nil, fmt.Errorf("create produce duration histogram: %w", err)
	}
	return t, nil
}

// brokerMetrics caches the measurement options of one served entry as ready-made
// slices, so recording a measurement allocates nothing.
type brokerMetrics struct {
	attrs  []attribute.KeyValue
	record []metric.RecordOption
	codes  map[int][]metric.AddOption // read-only after construction
}

// commonCodes are the status codes whose options are built up front.
var commonCodes = []int{200, 202, 400, 404, 405, 413, 415, 500, 503}

// newBrokerMetrics labels the metrics of one served entry: "broker" is its
// name whatever its kind (the label predates the other kinds), "kind" tells
// a Broker from a Channel, Sequence or Parallel.
func newBrokerMetrics(namespace, name, kind string) *brokerMetrics {
	bm := &brokerMetrics{attrs: []attribute.KeyValue{
		attribute.String("namespace", namespace),
		attribute.String("broker", name),
		attribute.String("kind", kind),
	}}
	bm.record = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(bm.attrs...))}
	bm.codes = make(map[int][]metric.AddOption, len(commonCodes))
	for _, c := range commonCodes {
		bm.codes[c] = bm.codeOption(c)
	}
	return bm
}

func (bm *brokerMetrics) codeOption(code int) []metric.AddOption {
	kv := append(append([]attribute.KeyValue(nil), bm.attrs...), attribute.Int("code", code))
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

func (bm *brokerMetrics) code(code int) []metric.AddOption {
	if o, ok := bm.codes[code]; ok {
		return o
	}
	return bm.codeOption(code)
}

// serverSpan is the option of every request span, made once.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// sendSpanOptions are the start options of a broker's producer spans, made
// once per broker (OpenTelemetry messaging conventions).
func sendSpanOptions(topic string) []trace.SpanStartOption {
	return []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.operation.name", "send"),
			attribute.String("messaging.destination.name", topic),
		),
	}
}

// endSend ends a record's producer span with Kafka's answer.
func endSend(s trace.Span, r *kgo.Record, err error) {
	if s.IsRecording() {
		if err != nil {
			s.SetStatus(codes.Error, err.Error())
		} else {
			s.SetAttributes(
				attribute.Int("messaging.destination.partition.id", int(r.Partition)),
				attribute.Int64("messaging.kafka.offset", r.Offset))
		}
	}
	s.End()
}

// headerCarrier reads trace context from request headers like
// propagation.HeaderCarrier, without canonicalising the well-known keys on
// every request.
type headerCarrier http.Header

var (
	_ propagation.TextMapCarrier = headerCarrier{}
	_ propagation.ValuesGetter   = headerCarrier{}
)

var canonicalTraceHeaders = map[string]string{"traceparent": "Traceparent", "tracestate": "Tracestate", "baggage": "Baggage"}

func canonicalKey(k string) string {
	if c, ok := canonicalTraceHeaders[k]; ok {
		return c
	}
	return textproto.CanonicalMIMEHeaderKey(k)
}

func (h headerCarrier) Get(key string) string {
	if v := h[canonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h headerCarrier) Values(key string) []string { return h[canonicalKey(key)] }
func (h headerCarrier) Set(key, value string)      { http.Header(h).Set(key, value) }
func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}
