package delivery

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/pkg/observability"
)

// ReplyFunc stores a reply: the CloudEvent a subscriber returned in a 2xx
// response. An error fails the attempt, which is then retried (or
// dead-lettered) like any failed attempt, so a reply is never lost silently
// (it may be stored more than once). ctx carries the attempt's trace span but
// not its timeout.
type ReplyFunc func(ctx context.Context, reply *event.Event) error

// Outcome is how a finished event ended. The zero Outcome means none: Send
// returned an error and the event is not finished.
type Outcome int

const (
	// OutcomeDelivered: the subscriber answered 2xx (and its reply, if any,
	// was stored).
	OutcomeDelivered Outcome = iota + 1
	// OutcomeDeadLettered: delivery failed and the event is stored in the
	// dead-letter sink.
	OutcomeDeadLettered
	// OutcomeDropped: delivery failed (retries exhausted, or a non-retryable
	// response) and the policy has no dead-letter sink: the user's choice.
	OutcomeDropped
	// OutcomeParked: the last attempt failed and the next retry is due at
	// Result.RetryAt, at least Policy.ParkAfter away; the event is not
	// finished, and the caller resumes it then (Policy.Attempted).
	OutcomeParked
	// OutcomeRejected: the subscriber refused the event with a
	// non-retryable 4xx and the policy says DropRejected: the event is
	// finished without the dead-letter sink (a filter said no).
	OutcomeRejected
)

func (o Outcome) String() string {
	switch o {
	case OutcomeDelivered:
		return "delivered"
	case OutcomeDeadLettered:
		return "dead_lettered"
	case OutcomeDropped:
		return "dropped"
	case OutcomeParked:
		return "parked"
	case OutcomeRejected:
		return "rejected"
	}
	return "none"
}

// Result describes a Send.
type Result struct {
	Outcome Outcome
	// StatusCode is the subscriber's last HTTP status (0: no response).
	StatusCode int
	// Attempts counts the attempts to the subscriber, those of earlier
	// deliveries of a resumed event (Policy.Attempted) included, dead-letter
	// sends not.
	Attempts int
	// RetryAt is when a parked event's next attempt is due.
	RetryAt time.Time
	// Err is the last failed attempt's error (nil when delivered).
	Err error
}

// Sender delivers events over HTTP. It is safe for concurrent use and holds
// no goroutines of its own; idle keep-alive connections belong to its HTTP
// clients (see CloseIdleConnections). By default it sends with fasthttp (the
// fast path, fast.go); a Sender built WithHTTPClient, or made while the
// environment configures a proxy, sends with net/http.
type Sender struct {
	client     *http.Client
	clients    *tlsClients // per destination CA set (Policy.CACerts), fast path included
	logger     *slog.Logger
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	inst       *instruments
	urls       urlCache
	// jitter draws the jitter fraction in [0, 1); tests pin it.
	jitter func() float64
}

// Option customizes a Sender.
type Option func(*options)

type options struct {
	client         *http.Client
	netHTTP        bool
	rootCAs        *x509.CertPool
	logger         *slog.Logger
	meterProvider  metric.MeterProvider
	tracerProvider trace.TracerProvider
}

// WithHTTPClient makes the Sender send with c, a net/http client (default:
// fasthttp, with net/http's behaviour: many keep-alive connections per host,
// only 307/308 redirects followed). Its Timeout, if any, applies on top of
// Policy.Timeout.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithNetHTTP makes the Sender send with Go's net/http client (the default
// one WithHTTPClient would replace) rather than fasthttp: HTTP/2 with TLS
// subscribers that offer it, gzip, net/http's limits, at more CPU per
// delivery.
func WithNetHTTP() Option { return func(o *options) { o.netHTTP = true } }

// WithRootCAs makes every delivery to an https URL trust pool (a
// process-wide CA bundle: build it from tlsconfig.SystemPool to keep the
// system's roots) instead of the system's roots; a destination's
// Policy.CACerts are added to it. It applies to WithHTTPClient's client too
// when that client's transport is an *http.Transport.
func WithRootCAs(pool *x509.CertPool) Option { return func(o *options) { o.rootCAs = pool } }

// WithLogger sets the logger for dropped, dead-lettered and failed
// dead-lettered events, and per-attempt failures at debug level (default:
// discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMeterProvider sets where metrics go (default: the global provider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

// WithTracerProvider sets where attempt spans go (default: the global
// provider). Trace context is propagated to subscribers (W3C traceparent
// and baggage) either way: the attempt's span, or the caller's.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// NewSender builds a Sender. It sends with net/http rather than fasthttp
// when given WithHTTPClient or WithNetHTTP, or when HTTP_PROXY or
// HTTPS_PROXY (either case) is set now: only net/http honours them.
func NewSender(opts ...Option) *Sender {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	fast := o.client == nil && !o.netHTTP && !proxyConfigured()
	if o.client == nil {
		o.client = newHTTPClient()
	}
	if o.rootCAs != nil {
		o.client = withRootCAs(o.client, o.rootCAs)
	}
	if o.logger == nil {
		o.logger = observability.DiscardLogger()
	}
	if o.meterProvider == nil {
		o.meterProvider = otel.GetMeterProvider()
	}
	if o.tracerProvider == nil {
		o.tracerProvider = otel.GetTracerProvider()
	}
	inst, err := newInstruments(o.meterProvider.Meter(instrumentationName))
	if err != nil {
		o.logger.Warn("delivery metrics disabled: cannot create instruments", "err", err)
		inst, _ = newInstruments(noop.NewMeterProvider().Meter(instrumentationName))
	}
	clients := &tlsClients{base: o.client, roots: o.rootCAs}
	if fast {
		clients.fast = newFastClient(o.rootCAs)
	}
	return &Sender{
		client:     o.client,
		clients:    clients,
		logger:     o.logger,
		tracer:     o.tracerProvider.Tracer(instrumentationName),
		propagator: observability.Propagator(),
		inst:       inst,
		jitter:     rand.Float64,
	}
}

// newHTTPClient is the default client: keep-alive connections reused across
// many concurrent deliveries to the same subscriber. Per-attempt timeouts
// come from the request context, not from the client. The idle pool is large:
// many triggers often share one subscriber host, each with deliveries in
// flight, and a connection closed for want of an idle slot is dialled again
// at once (at a thousand triggers, dialling was a seventh of the
// dispatcher's CPU with 256 idle connections per host).
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 8192
	t.MaxIdleConnsPerHost = 4096
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// checkRedirect follows 307 and 308, which keep the method and body, and
// returns any other 3xx as the response (a non-retryable failure): a 301,
// 302 or 303 would turn the POST into a bodiless GET.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 || req.Response == nil {
		return http.ErrUseLastResponse
	}
	switch req.Response.StatusCode {
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return nil
	}
	return http.ErrUseLastResponse
}

// CloseIdleConnections closes the HTTP clients' idle connections (the fast
// path's included).
func (s *Sender) CloseIdleConnections() { s.clients.closeIdle() }

// Send delivers ev to url with policy p, handing a reply event (if any, and
// if reply is non-nil) to reply. ev is not modified. It is SendMessage of
// NewMessage(ev).
func (s *Sender) Send(ctx context.Context, ev *event.Event, url string, p Policy, reply ReplyFunc) (Result, error) {
	return s.SendMessage(ctx, NewMessage(ev), url, p, reply)
}

// SendMessage delivers m to url with policy p, handing a reply event (if
// any, and if reply is non-nil) to reply. m is only read: one Message may
// be sent to many destinations at once.
//
// A nil error means the event is finished and Result.Outcome says how:
// delivered, dead-lettered (p.DeadLetterURL got it with the knativeerror*
// extensions), dropped (it failed and there is no dead-letter sink),
// rejected (p.DropRejected and a non-retryable 4xx), or parked. A
// non-nil error means it is not finished and must not be committed: ctx
// ended (the error wraps ctx.Err()), or the dead-letter sink failed after
// its own retries (ErrDeadLetterFailed).
func (s *Sender) SendMessage(ctx context.Context, m *Message, url string, p Policy, reply ReplyFunc) (Result, error) {
	p = p.normalize()
	ev := m.ev
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("deliver event %q to %s: %w", ev.ID(), url, err)
	}
	last, attempts, err := s.deliver(ctx, m, url, p, targetSubscriber, reply)
	res := Result{StatusCode: last.status, Attempts: attempts, Err: last.err}
	if err != nil {
		return res, fmt.Errorf("deliver event %q to %s: %w", ev.ID(), url, err)
	}
	if !last.parkUntil.IsZero() {
		res.Outcome, res.RetryAt = OutcomeParked, last.parkUntil
		s.inst.parked.Add(ctx, 1, subscriberAttrs)
		return res, nil
	}
	if last.err == nil {
		res.Outcome = OutcomeDelivered
		s.inst.delivered[targetSubscriber].Add(1)
		return res, nil
	}
	if p.DropRejected && rejected(&last) {
		res.Outcome = OutcomeRejected
		s.inst.rejected.Add(ctx, 1, subscriberAttrs)
		s.logger.Debug("event rejected by the subscriber: dropped, as the policy says", eventAttrs(ev, url, &res)...)
		return res, nil
	}
	if p.DeadLetterURL == "" {
		res.Outcome = OutcomeDropped
		s.inst.dropped.Add(ctx, 1, subscriberAttrs)
		s.logger.Warn("event dropped: delivery failed and there is no dead-letter sink",
			eventAttrs(ev, url, &res)...)
		return res, nil
	}

	dl := newMessage(deadLetterEvent(ev, url, &last), false)
	if last.replyLast != nil {
		// The subscriber answered, but its reply could not be delivered:
		// the dead letter says where and how the reply failed.
		dl = newMessage(deadLetterEvent(ev, last.replyURL, last.replyLast), false)
	}
	dlp := p
	dlp.Attempted, dlp.ParkAfter = 0, 0 // the sink gets its own full set of attempts
	dlLast, dlAttempts, err := s.deliver(ctx, dl, p.DeadLetterURL, dlp, targetDeadLetter, nil)
	if err != nil {
		return res, fmt.Errorf("dead-letter event %q to %s: %w", ev.ID(), p.DeadLetterURL, err)
	}
	if dlLast.err != nil {
		s.inst.dlFailed.Add(ctx, 1, deadLetterAttrs)
		s.logger.Error("event not dead-lettered: delivery and the dead-letter sink failed",
			append(eventAttrs(ev, url, &res), "dead_letter_url", p.DeadLetterURL,
				"dead_letter_status", dlLast.status, "dead_letter_attempts", dlAttempts, "dead_letter_err", dlLast.err)...)
		return res, fmt.Errorf("%w: event %q to %s after %d attempts: %w",
			ErrDeadLetterFailed, ev.ID(), p.DeadLetterURL, dlAttempts, dlLast.err)
	}
	res.Outcome = OutcomeDeadLettered
	s.inst.deadLettered.Add(ctx, 1, deadLetterAttrs)
	s.logger.Warn("event dead-lettered: delivery failed",
		append(eventAttrs(ev, url, &res), "dead_letter_url", p.DeadLetterURL)...)
	return res, nil
}

func eventAttrs(ev *event.Event, url string, res *Result) []any {
	return []any{"id", ev.ID(), "type", ev.Type(), "source", ev.Source(), "url", url,
		"status", res.StatusCode, "attempts", res.Attempts, "err", res.Err}
}

// deliver sends m to url until an attempt succeeds, fails permanently, or
// p.Retry retries are spent. It returns the last attempt and the number of
// attempts; err is non-nil only when ctx ended first.
func (s *Sender) deliver(ctx context.Context, m *Message, url string, p Policy, t target, reply ReplyFunc) (attemptResult, int, error) {
	if m.err != nil {
		return attemptResult{err: m.err}, 1, nil
	}
	u, err := s.urls.parse(url)
	if err != nil {
		return attemptResult{err: err}, 1, nil
	}
	var (
		cl *http.Client
		fc *fastClient
	)
	if s.clients.fast != nil {
		fc, err = s.clients.getFast(p.CACerts)
	} else {
		cl, err = s.clients.get(p.CACerts)
	}
	if err != nil {
		return attemptResult{err: err}, 1, nil
	}
	return s.retry(ctx, p, t, func(ctx context.Context, n int) attemptResult {
		return s.attempt(ctx, cl, fc, m, u, url, p.Timeout, t, n, reply)
	})
}

// retry runs do (n = p.Attempted first, then up to p.Retry) with backoff
// between attempts; see deliver. A subscriber delivery whose next wait is
// p.ParkAfter or longer stops there, its last attempt's parkUntil set.
func (s *Sender) retry(ctx context.Context, p Policy, t target, do func(ctx context.Context, n int) attemptResult) (attemptResult, int, error) {
	for n := p.Attempted; ; n++ {
		if n > 0 && n == p.Attempted {
			s.inst.retries.Add(ctx, 1, targetAttrs(t)) // a resumed delivery's first attempt
		}
		a := do(ctx, n)
		switch {
		case a.err == nil:
			return a, n + 1, nil
		case ctx.Err() != nil:
			return a, n + 1, ctx.Err()
		case !a.retryable || n >= p.Retry:
			return a, n + 1, nil
		}
		now := time.Now()
		wait := p.retryWait(n+1, &a, s.jitter(), now)
		if t == targetSubscriber && p.ParkAfter > 0 && wait >= p.ParkAfter {
			a.parkUntil = now.Add(wait)
			return a, n + 1, nil
		}
		s.inst.retries.Add(ctx, 1, targetAttrs(t))
		s.logger.Debug("delivery attempt failed; retrying", "target", string(t), "attempt", n+1,
			"status", a.status, "retry_in", wait, "err", a.err)
		if err := Wait(ctx, wait, nil); err != nil {
			return a, n + 1, err
		}
	}
}

// ErrWaitStopped ends a Wait whose stop channel was closed.
var ErrWaitStopped = errors.New("wait stopped")

// Wait waits d before a retry. It returns ctx's error when ctx ends first,
// and ErrWaitStopped when stop (nil: never) is closed first.
func Wait(ctx context.Context, d time.Duration, stop <-chan struct{}) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return ErrWaitStopped
	case <-tm.C:
		return nil
	}
}

// clientSpan is the attempt span's start option, built once (an option
// built per call is an allocation per delivery).
var clientSpan = trace.WithSpanKind(trace.SpanKindClient)

// attempt makes attempt n (0-based) of m to u (url) through fc (the fast
// path) or else cl, bounded by timeout.
func (s *Sender) attempt(ctx context.Context, cl *http.Client, fc *fastClient, m *Message, u *neturl.URL, url string, timeout time.Duration, t target, n int, reply ReplyFunc) (a attemptResult) {
	start := time.Now()
	ctx, span := s.tracer.Start(ctx, "weft.delivery.attempt", clientSpan)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("http.request.method", http.MethodPost),
			attribute.String("url.full", url),
			attribute.String("weft.delivery.target", string(t)),
			attribute.Int("weft.delivery.attempt", n+1),
		)
	}
	defer func() {
		s.inst.countAttempt(ctx, t, &a, time.Since(start).Seconds())
		if span.IsRecording() {
			if a.status != 0 {
				span.SetAttributes(attribute.Int("http.response.status_code", a.status))
			}
			if a.err != nil {
				span.SetStatus(codes.Error, a.err.Error())
			}
		}
		span.End()
	}()

	var (
		resp *http.Response
		err  error
		// actx bounds the attempt: on the fast path, ctx with the
		// attempt's deadline enforced by post itself.
		actx   = ctx
		cancel = func() {}
	)
	if fc != nil {
		// resp is nil for a 2xx that needs no more reading.
		a.status, resp, err = fc.post(ctx, start.Add(timeout), s.propagator, m, u, reply != nil)
	} else {
		actx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
		req := attemptRequest(actx, m, u)
		s.propagator.Inject(actx, &injected{req: req})
		if resp, err = cl.Do(req); err == nil {
			a.status = resp.StatusCode
		}
	}
	if err != nil {
		a.err, a.retryable = err, true
		return a
	}
	if a.status < 200 || a.status > 299 {
		a.retryAfter = resp.Header.Get("Retry-After")
		a.body = readFailure(resp)
		a.err, a.retryable = &StatusError{Code: a.status}, retryable(a.status)
		return a
	}
	if resp == nil {
		return a // no reply (fast path)
	}
	if reply == nil {
		drainClose(resp.Body)
		return a
	}
	ev, body, err := readReply(actx, resp)
	cancel() // the response is read; storing the reply has its own deadline
	if err != nil {
		a.err, a.body, a.retryable = err, body, true
		return a
	}
	if ev != nil {
		if err := reply(ctx, ev); err != nil {
			a.err, a.retryable = fmt.Errorf("%w: %w", ErrReplyFailed, err), true
			var re *ReplyError
			if errors.As(err, &re) {
				a.replyURL, a.replyLast = re.URL, &re.last
			}
		}
	}
	return a
}

// ReplyTo is a ReplyFunc that POSTs each reply to url (binary mode, no
// "Prefer: reply": whatever url answers is discarded) with policy p's
// retries, backoff and timeouts, but neither its dead-letter sink nor its
// parking: a reply that is not delivered returns a *ReplyError, which fails
// the attempt that produced it, so the event is delivered again and, after
// its last retry, dead-lettered with knativeerrordest = url and the reply's
// last status and body. The reply is sent as it is; ctx ending returns its
// error.
func (s *Sender) ReplyTo(url string, p Policy) ReplyFunc {
	p.DeadLetterURL, p.ParkAfter, p.Attempted, p.DropRejected = "", 0, 0, false
	p = p.normalize()
	return func(ctx context.Context, reply *event.Event) error {
		m := newMessage(reply, false)
		last, attempts, err := s.deliver(ctx, m, url, p, targetReply, nil)
		if err != nil {
			return fmt.Errorf("deliver reply %q to %s: %w", reply.ID(), url, err)
		}
		if last.err == nil {
			s.inst.delivered[targetReply].Add(1)
			return nil
		}
		s.inst.dropped.Add(ctx, 1, replyAttrs)
		return &ReplyError{URL: url, StatusCode: last.status, Attempts: attempts, Err: last.err, last: last}
	}
}

// ReplyError is the error of a ReplyFunc made by Sender.ReplyTo: the reply
// was not delivered to URL after Attempts attempts.
type ReplyError struct {
	URL string
	// StatusCode is the last HTTP status (0: no response).
	StatusCode int
	Attempts   int
	// Err is the last attempt's error.
	Err  error
	last attemptResult
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("reply not delivered to %s after %d attempts: %v", e.URL, e.Attempts, e.Err)
}

func (e *ReplyError) Unwrap() error { return e.Err }
