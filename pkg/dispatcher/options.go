package dispatcher

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/pkg/delivery"
	"github.com/weft-dev/weft/pkg/observability"
)

// Sender delivers one encoded event to url with policy p, producing replies
// through reply; the same Message goes to every trigger the record matches.
// It must be safe for concurrent use. A nil error means the event is
// finished (Result says how); a non-nil error means it is not (ctx ended, or
// the dead-letter sink failed) and the record must not be committed.
// ReplyTo is the ReplyFunc of an egress whose replies go to a URL: it POSTs
// them with p's retries and no dead-letter sink, and fails (so the attempt
// fails) when a reply is not delivered. *delivery.Sender implements it.
type Sender interface {
	SendMessage(ctx context.Context, m *delivery.Message, url string, p delivery.Policy, reply delivery.ReplyFunc) (delivery.Result, error)
	ReplyTo(url string, p delivery.Policy) delivery.ReplyFunc
}

// Option customizes a Dispatcher.
type Option func(*options)

type options struct {
	logger         *slog.Logger
	metrics        *observability.Metrics
	meterProvider  metric.MeterProvider
	tracerProvider trace.TracerProvider
	health         *observability.Health
	sender         Sender
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMetrics records metrics into m and serves them on the ops server's
// /metrics (default: a fresh registry per Dispatcher).
func WithMetrics(m *observability.Metrics) Option { return func(o *options) { o.metrics = m } }

// WithMeterProvider records metrics through mp instead (they are then not
// served by the ops server unless WithMetrics is given too).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

// WithTracerProvider sets where spans go (default: the global provider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// WithHealth registers the Dispatcher's readiness checks on h (an embedding
// process serving one /readyz for several components).
func WithHealth(h *observability.Health) Option { return func(o *options) { o.health = h } }

// WithSender replaces the HTTP sender (default: delivery.NewSender()).
func WithSender(s Sender) Option { return func(o *options) { o.sender = s } }
