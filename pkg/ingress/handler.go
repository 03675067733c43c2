package ingress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/pkg/ceformat"
	"github.com/weft-dev/weft/pkg/ceheader"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/observability"
	"github.com/weft-dev/weft/pkg/wire"
)

const (
	mediaStructuredJSON = "application/cloudevents+json"
	mediaBatchJSON      = "application/cloudevents-batch+json"
	mediaBatchPrefix    = "application/cloudevents-batch"
)

// Shared, never-mutated header values (len == cap, so an append elsewhere
// copies rather than writes into them).
var (
	hdrTextPlain = []string{"text/plain; charset=utf-8"}
	hdrAllowPost = []string{"POST"}
	hdrAny       = []string{"*"}
	hdrClose     = []string{"close"}
	hdrZero      = []string{"0"}
	hdrNoSniff   = []string{"nosniff"}
	hdrAllowGet  = []string{"GET"}
	bodyStored   = []byte("event stored\n")
	bodyOK       = []byte("ok\n")
)

// ServeHTTP implements http.Handler.
func (in *Ingress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz", "/readyz":
		in.serveHealth(w, r)
		return
	}
	ctx := in.tel.propagator.Extract(r.Context(), headerCarrier(r.Header))
	b := in.route(r.URL.Path)
	name, bm := r.Method, in.unknown
	if b != nil {
		name, bm = b.spanName, b.metrics
	}
	var span trace.Span
	if in.tracing {
		ctx, span = in.tel.tracer.Start(ctx, name, serverSpan...)
	} else {
		// No tracer: the caller's trace context (if any) still reaches
		// the record through ctx.
		span = trace.SpanFromContext(ctx)
	}
	code := in.serve(ctx, w, r, b, span)
	in.tel.requests.Add(ctx, 1, bm.code(code)...)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
			attribute.Int("http.response.status_code", code))
		if code >= 500 {
			span.SetStatus(codes.Error, http.StatusText(code))
		}
	}
	if in.tracing {
		span.End()
	}
}

func (in *Ingress) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = hdrAllowGet
		writeText(w, http.StatusMethodNotAllowed, "GET only\n")
		return
	}
	if r.URL.Path == "/readyz" {
		if err := in.Ready(); err != nil {
			writeText(w, http.StatusServiceUnavailable, observability.NotReady(err)+"\n")
			return
		}
	}
	w.Header()["Content-Type"] = hdrTextPlain
	w.Write(bodyOK)
}

func (in *Ingress) route(path string) *broker {
	byPath := in.routes.Load().byPath
	if b := byPath[path]; b != nil {
		return b
	}
	if len(path) > 1 && path[len(path)-1] == '/' {
		return byPath[path[:len(path)-1]]
	}
	return nil
}

// serve answers one request to a served path and returns the status code.
func (in *Ingress) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, b *broker, span trace.Span) int {
	if err := in.begin(); err != nil {
		if errors.Is(err, ErrDraining) {
			w.Header()["Connection"] = hdrClose
		}
		return writeError(w, err)
	}
	defer in.end()
	if b == nil {
		if !in.hasVersion.Load() {
			// A 404 now would tell clients a broker that may well exist
			// is gone.
			return writeError(w, ErrNoContract)
		}
		if strings.Count(strings.TrimSuffix(r.URL.Path, "/"), "/") == 2 {
			return writeError(w, fmt.Errorf("%w at %s", ErrUnknownBroker, r.URL.Path))
		}
		if strings.HasPrefix(r.URL.Path, pathPrefixes[kindSink]) {
			return writeError(w, fmt.Errorf("%w at %s", ErrUnknownSink, r.URL.Path))
		}
		if strings.HasPrefix(r.URL.Path, "/sources/") {
			return writeError(w, fmt.Errorf("%w at %s", ErrUnknownSource, r.URL.Path))
		}
		return writeError(w, fmt.Errorf("%w: %s", ErrUnknownPath, r.URL.Path))
	}
	if b.webhook != nil {
		return in.serveWebhook(ctx, w, r, b, span)
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		// CloudEvents webhook abuse protection: any origin, any rate.
		h := w.Header()
		h["Allow"] = hdrAllowPost
		if r.Header.Get("WebHook-Request-Origin") != "" {
			h["Webhook-Allowed-Origin"] = hdrAny
			h["Webhook-Allowed-Rate"] = hdrAny
		}
		h["Content-Length"] = hdrZero
		w.WriteHeader(http.StatusOK)
		return http.StatusOK
	default:
		w.Header()["Allow"] = hdrAllowPost
		return writeError(w, ErrMethodNotAllowed)
	}
	admitted, err := in.authenticate(ctx, w, r, b)
	if err != nil {
		return writeError(w, err)
	}
	if b.target.state.Load() == kafkaDown {
		if b.target.name != "" {
			return writeError(w, fmt.Errorf("%w: the sink's cluster %s", ErrKafkaUnavailable, b.target.name))
		}
		return writeError(w, ErrKafkaUnavailable)
	}

	if mediaType(r.Header.Get("Content-Type")) != mediaBatchJSON {
		if err := b.admit(1); err != nil { // a batch is admitted once counted
			return writeError(w, err)
		}
	}
	req := getRequest()
	req.admitted = admitted
	n, err := in.accept(ctx, w, r, b, req, span)
	req.release()
	if err != nil {
		return writeError(w, err)
	}
	if n < 0 {
		w.Header()["Content-Type"] = hdrTextPlain
		w.WriteHeader(http.StatusAccepted)
		w.Write(bodyStored)
		return http.StatusAccepted
	}
	return writeText(w, http.StatusAccepted, strconv.Itoa(n)+" events stored\n")
}

// accept parses, validates and stores the request's events. It returns -1
// for a single event, or the number of events of a batch.
func (in *Ingress) accept(ctx context.Context, w http.ResponseWriter, r *http.Request, b *broker, req *request, span trace.Span) (int, error) {
	mt := mediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == mediaBatchJSON:
		return in.acceptBatch(ctx, w, r, b, req, span)
	case strings.HasPrefix(mt, mediaBatchPrefix):
		return 0, fmt.Errorf("%w %q: batches must be %s", ErrUnsupportedMediaType, mt, mediaBatchJSON)
	case mt == mediaStructuredJSON:
		if err := in.readBody(w, r, req, in.cfg.MaxEventBytes); err != nil {
			return 0, err
		}
		e, err := ceformat.Parse(req.body.Bytes())
		if err != nil {
			return 0, formatError("malformed structured event", err)
		}
		if err := weftRules(e); err != nil {
			return 0, err
		}
		return -1, in.acceptOne(ctx, b, e, req.body.Len(), req, span)
	case format.IsFormat(mt):
		return 0, fmt.Errorf("%w %q: structured events must be %s", ErrUnsupportedMediaType, mt, mediaStructuredJSON)
	}

	// Binary mode: attributes in Ce- headers, the body is the data.
	sv, ok := r.Header["Ce-Specversion"]
	if !ok {
		for k := range r.Header {
			if strings.HasPrefix(k, "Ce-") {
				return 0, fmt.Errorf("%w: binary mode: missing Ce-Specversion header", ErrInvalidEvent)
			}
		}
		if mt == "" {
			return 0, fmt.Errorf("%w: no Content-Type and no Ce-Specversion header: send a binary-mode event (Ce-* headers) or %s", ErrUnsupportedMediaType, mediaStructuredJSON)
		}
		return 0, fmt.Errorf("%w %q: send a binary-mode event (Ce-* headers), %s or %s", ErrUnsupportedMediaType, mt, mediaStructuredJSON, mediaBatchJSON)
	}
	if len(sv) != 1 || (sv[0] != ceformat.V1 && sv[0] != ceformat.V03) {
		return 0, fmt.Errorf("%w: specversion: must be 1.0 or 0.3, not %q", ErrInvalidEvent, strings.Join(sv, ","))
	}
	if err := in.readBody(w, r, req, in.cfg.MaxEventBytes); err != nil {
		return 0, err
	}
	e := &req.event
	e.Context = &req.ec
	if sv[0] == ceformat.V03 {
		e.Context = &event.EventContextV03{} // kept as 0.3: see ceformat.Parse
	}
	if err := cehttp.NewMessage(r.Header, nil).ReadBinary(ctx, (*eventWriter)(e)); err != nil {
		return 0, err
	}
	if req.body.Len() > 0 {
		e.DataEncoded = req.body.Bytes()
	}
	if err := validate(e); err != nil {
		return 0, err
	}
	return -1, in.acceptOne(ctx, b, e, req.body.Len(), req, span)
}

// acceptOne stores e, validated.
func (in *Ingress) acceptOne(ctx context.Context, b *broker, e *event.Event, size int, req *request, span trace.Span) error {
	in.tel.eventSize.Record(ctx, int64(size), b.metrics.record...)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("cloudevents.event_id", e.ID()), attribute.String("cloudevents.event_type", e.Type()))
	}
	if err := authorizeEvent(req.admitted, e); err != nil {
		return err
	}
	if !b.sink && b.webhook == nil {
		stamp(e, arrivalTime())
	}
	wt := req.waiter()
	if err := in.produce(ctx, b, e, wt); err != nil {
		return err
	}
	if err := in.wait(ctx, b, req, req.waiters); err != nil {
		return err
	}
	if b.autoEventTypes {
		in.eventTypes.observe(b, e)
	}
	return nil
}

func (in *Ingress) acceptBatch(ctx context.Context, w http.ResponseWriter, r *http.Request, b *broker, req *request, span trace.Span) (int, error) {
	if err := in.readBody(w, r, req, in.cfg.MaxBatchBytes); err != nil {
		return 0, err
	}
	// Decode and validate the whole batch, one event at a time, before
	// producing anything.
	events, sizes, err := in.decodeBatch(req)
	if err != nil {
		return 0, err
	}
	if err := b.admit(len(events)); err != nil {
		return 0, err
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("cloudevents.batch_size", len(events)))
	}
	now := arrivalTime()
	for i, e := range events {
		in.tel.eventSize.Record(ctx, int64(sizes[i]), b.metrics.record...)
		if !b.sink {
			stamp(e, now)
		}
		if err := in.produce(ctx, b, e, req.waiter()); err != nil {
			// Records already handed over may still be stored: the client
			// retries the batch and duplicates are allowed, loss is not.
			if werr := in.wait(ctx, b, req, req.waiters); werr != nil {
				in.logger.Debug("batch: earlier events not stored either", "err", werr)
			}
			return 0, err
		}
	}
	if err := in.wait(ctx, b, req, req.waiters); err != nil {
		return 0, err
	}
	if b.autoEventTypes {
		for _, e := range events {
			in.eventTypes.observe(b, e)
		}
	}
	return len(events), nil
}

// decodeBatch decodes and validates the events of a batch body in order,
// stopping at the first fault (ceformat.ParseBatch).
func (in *Ingress) decodeBatch(req *request) ([]*event.Event, []int, error) {
	events, sizes, err := ceformat.ParseBatch(req.body.Bytes(), ceformat.Limits{MaxEvents: in.cfg.MaxBatchEvents, MaxEventBytes: in.cfg.MaxEventBytes})
	if err != nil {
		return nil, nil, formatError("malformed batch", err)
	}
	for i, e := range events {
		if err := weftRules(e); err != nil {
			return nil, nil, fmt.Errorf("event %d of the batch (id %q): %w", i, e.ID(), err)
		}
		if err := authorizeEvent(req.admitted, e); err != nil {
			return nil, nil, fmt.Errorf("event %d of the batch: %w", i, err)
		}
	}
	return events, sizes, nil
}

// produce hands e's record to the producer; the outcome arrives on wt.done.
// An error is returned only when the record was refused before buffering.
func (in *Ingress) produce(ctx context.Context, b *broker, e *event.Event, wt *waiter) error {
	write := cekafka.WriteRecord
	if b.structured {
		write = cekafka.WriteStructuredRecord
	}
	if err := write(&wt.rec, b.topic, e); err != nil {
		wt.produced = false
		return fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if in.tracing {
		// One producer span per record, ended when Kafka answers (in the
		// promise); its context, not the request's, is what the record
		// carries to the dispatcher.
		ctx, wt.span = in.tel.tracer.Start(ctx, b.sendSpan, b.sendOpts...)
		if wt.span.IsRecording() {
			wt.span.SetAttributes(attribute.String("messaging.message.id", e.ID()))
		}
	}
	in.tel.propagator.Inject(ctx, cekafka.HeaderCarrier{R: &wt.rec})
	wt.produced = true
	wt.start = time.Now()
	b.target.cl.TryProduce(in.produceCtx, &wt.rec, wt.promise)
	return nil
}

// wait waits for the promises of ws, at most ProduceTimeout, and returns
// the first failure.
func (in *Ingress) wait(ctx context.Context, b *broker, req *request, ws []*waiter) error {
	req.timer.Reset(in.cfg.ProduceTimeout)
	defer req.timer.Stop()
	var first error
	for _, wt := range ws {
		if !wt.produced {
			continue
		}
		select {
		case err := <-wt.done:
			wt.produced = false
			in.tel.produceDur.Record(ctx, time.Since(wt.start).Seconds(), b.metrics.record...)
			if err != nil {
				if first == nil {
					first = produceError(err)
				}
				continue
			}
			if b.target.state.Load() != kafkaUp {
				b.target.state.Store(kafkaUp)
			}
		case <-req.timer.C:
			req.abandoned = true
			return ErrProduceTimeout
		case <-ctx.Done():
			req.abandoned = true
			return fmt.Errorf("%w: client went away: %v", ErrProduceFailed, ctx.Err())
		}
	}
	return first
}

// validate checks e against the CloudEvents spec (ceformat.Check) and
// Weft's own rules, naming the attribute at fault.
func validate(e *event.Event) error {
	if err := ceformat.Check(e); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	return weftRules(e)
}

// weftRules checks what Weft requires beyond the spec of an event that
// passed ceformat.Check (ceformat.Parse checks).
func weftRules(e *event.Event) error {
	if v, ok := extensions(e)[wire.ExtBrokerTTL]; ok {
		if _, err := types.ToInteger(v); err != nil {
			return fmt.Errorf("%w: %s: must be an integer, not %v", ErrInvalidEvent, wire.ExtBrokerTTL, v)
		}
	}
	return nil
}

// extensions reads e's extensions without the copy GetExtensions makes.
func extensions(e *event.Event) map[string]any {
	if ec, ok := e.Context.(*event.EventContextV1); ok {
		return ec.Extensions
	}
	return e.Extensions()
}

// stamp adds the extensions the ingress owns.
func stamp(e *event.Event, arrival any) {
	ec, ok := e.Context.(*event.EventContextV1)
	if !ok {
		_ = e.Context.SetExtension(wire.ExtArrivalTime, arrival)
		if _, ok := extensions(e)[wire.ExtBrokerTTL]; !ok {
			_ = e.Context.SetExtension(wire.ExtBrokerTTL, wire.DefaultTTL)
		}
		return
	}
	// Straight into the map: both names are valid lower-case extension
	// names and both values (a string, an int32) valid attribute values, so
	// SetExtension's checks (name syntax, lower-casing, the reserved-name
	// lookup, value conversion) would pass anyway.
	if ec.Extensions == nil {
		ec.Extensions = make(map[string]any, 2)
	}
	ec.Extensions[wire.ExtArrivalTime] = arrival
	if _, ok := ec.Extensions[wire.ExtBrokerTTL]; !ok {
		ec.Extensions[wire.ExtBrokerTTL] = wire.DefaultTTL
	}
}

type arrivalStamp struct {
	ms int64
	v  any // the formatted time, boxed once
}

var lastArrival atomic.Pointer[arrivalStamp]

// arrivalTime is the knativearrivaltime value for now; requests arriving in
// the same millisecond share one value.
func arrivalTime() any {
	now := time.Now()
	ms := now.UnixMilli()
	if a := lastArrival.Load(); a != nil && a.ms == ms {
		return a.v
	}
	a := &arrivalStamp{ms: ms, v: time.UnixMilli(ms).UTC().Format(wire.ArrivalTimeLayout)}
	lastArrival.Store(a)
	return a.v
}

// formatError maps a ceformat error: too large, malformed (what says what
// was), or an invalid event.
func formatError(what string, err error) error {
	switch {
	case errors.Is(err, ceformat.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, ceformat.ErrMalformed) && !strings.HasPrefix(err.Error(), what):
		return fmt.Errorf("%w: %s: %w", ErrInvalidEvent, what, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalidEvent, err)
}

// invalid wraps a parse or validation error as ErrInvalidEvent, with sdk-go's
// per-attribute errors sorted so the message is stable.
func invalid(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("unexpected end of JSON input")
	}
	msg := err.Error()
	var ve event.ValidationError
	if errors.As(err, &ve) {
		parts := make([]string, 0, len(ve))
		for _, k := range slices.Sorted(maps.Keys(ve)) {
			parts = append(parts, k+": "+ve[k].Error())
		}
		msg = strings.Join(parts, "; ")
	}
	if what != "" {
		msg = what + ": " + msg
	}
	return fmt.Errorf("%w: %s", ErrInvalidEvent, msg)
}

// mediaType is the lower-case media type of a Content-Type, without
// parameters.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

func writeError(w http.ResponseWriter, err error) int {
	code, retryAfter := statusOf(err)
	var rl *RateLimitError
	if errors.As(err, &rl) {
		retryAfter = rl.retryAfter()
	}
	if retryAfter != nil {
		w.Header()["Retry-After"] = retryAfter
	}
	return writeText(w, code, err.Error()+"\n")
}

func writeText(w http.ResponseWriter, code int, body string) int {
	h := w.Header()
	h["Content-Type"] = hdrTextPlain
	h["X-Content-Type-Options"] = hdrNoSniff
	w.WriteHeader(code)
	io.WriteString(w, body)
	return code
}

// eventWriter sets the attributes sdk-go reads from a binary-mode message,
// naming the attribute when a value is refused.
type eventWriter event.Event

var _ binding.BinaryWriter = (*eventWriter)(nil)

func (w *eventWriter) Start(context.Context) error { return nil }
func (w *eventWriter) End(context.Context) error   { return nil }
func (w *eventWriter) SetData(io.Reader) error     { return nil }

func (w *eventWriter) SetAttribute(attr spec.Attribute, value any) error {
	if attr.Kind() == spec.SpecVersion {
		return nil // checked before: 1.0
	}
	if attr.Kind() != spec.DataContentType {
		// HTTP binding §3.1.3.2: ce- values are percent-encoded.
		v, _ := value.(string)
		s, err := ceheader.Decode(v)
		if err != nil {
			return fmt.Errorf("%w: header ce-%s: %v", ErrInvalidEvent, attr.Name(), err)
		}
		if s == "" {
			// The SDK would unset the attribute; the spec requires a
			// non-empty value wherever one is present (core §3.1).
			return fmt.Errorf("%w: header ce-%s: must not be empty", ErrInvalidEvent, attr.Name())
		}
		if s != v {
			value = s // boxed only when decoding changed it
		}
	}
	if err := attr.Set(w.Context, value); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalidEvent, attr.Name(), err)
	}
	return nil
}

func (w *eventWriter) SetExtension(name string, value any) error {
	v, _ := value.(string)
	s, err := ceheader.Decode(v)
	if err != nil {
		return fmt.Errorf("%w: header ce-%s: %v", ErrInvalidEvent, name, err)
	}
	if s != v {
		value = s // boxed only when decoding changed it
	}
	if err := w.Context.SetExtension(name, value); err != nil {
		return fmt.Errorf("%w: extension %q: %v", ErrInvalidEvent, name, err)
	}
	return nil
}

// request is the per-request state, pooled: the body buffer, a binary-mode
// event, the waiters of the records produced and a timer.
type request struct {
	body      bytes.Buffer
	event     event.Event
	ec        event.EventContextV1
	waiters   []*waiter
	timer     *time.Timer
	abandoned bool // a record may still reference body: never reuse

	// admitted are the EventPolicies that admitted the sender (nil: the
	// entry has no auth); each event must pass one's filters (authz.go).
	admitted []*authPolicy
}

// waiter receives the outcome of one record.
type waiter struct {
	rec      kgo.Record
	done     chan error
	promise  func(*kgo.Record, error)
	span     trace.Span // the record's producer span (nil when not tracing); the promise ends it
	start    time.Time
	produced bool
}

var (
	requestPool = sync.Pool{New: func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return &request{timer: t}
	}}
	waiterPool = sync.Pool{New: func() any {
		w := &waiter{done: make(chan error, 1)}
		w.promise = func(r *kgo.Record, err error) {
			if s := w.span; s != nil {
				w.span = nil
				endSend(s, r, err)
			}
			w.done <- err
		}
		return w
	}}
)

// maxPooledBody is the largest body buffer kept for reuse.
const maxPooledBody = 256 << 10

func getRequest() *request { return requestPool.Get().(*request) }

func (req *request) waiter() *waiter {
	wt := waiterPool.Get().(*waiter)
	req.waiters = append(req.waiters, wt)
	return wt
}

// release returns req and its waiters to their pools, unless a record that
// references them may still be in the producer.
func (req *request) release() {
	if req.abandoned {
		return
	}
	for i, wt := range req.waiters {
		if wt.produced {
			// Handed to the producer and never answered: leave it to the GC.
			req.abandoned = true
			continue
		}
		clear(wt.rec.Headers)
		wt.rec = kgo.Record{Headers: wt.rec.Headers[:0]}
		waiterPool.Put(wt)
		req.waiters[i] = nil
	}
	if req.abandoned {
		return
	}
	req.waiters = req.waiters[:0]
	req.admitted = nil
	req.event = event.Event{}
	exts := req.ec.Extensions
	clear(exts)
	req.ec = event.EventContextV1{Extensions: exts}
	if req.body.Cap() > maxPooledBody {
		req.body = bytes.Buffer{}
	}
	req.body.Reset()
	requestPool.Put(req)
}
