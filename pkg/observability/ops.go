package observability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Metrics is a MeterProvider whose instruments are served in Prometheus text
// format by Handler. Each process (or test) has its own registry.
type Metrics struct {
	Provider *sdkmetric.MeterProvider
	registry *prometheus.Registry
}

// NewMetrics creates a MeterProvider backed by a fresh Prometheus registry;
// opts add to it (NewTelemetry adds the resource and an OTLP reader).
func NewMetrics(opts ...sdkmetric.Option) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("create prometheus exporter: %w", err)
	}
	opts = append([]sdkmetric.Option{sdkmetric.WithReader(exp)}, opts...)
	return &Metrics{Provider: sdkmetric.NewMeterProvider(opts...), registry: reg}, nil
}

// Meter returns a named meter.
func (m *Metrics) Meter(name string) metric.Meter { return m.Provider.Meter(name) }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Health tracks readiness checks; liveness is "the process answers".
type Health struct {
	mu     sync.Mutex
	checks []namedCheck // in registration order
}

type namedCheck struct {
	name  string
	check func() error
}

// NewHealth returns a Health with no checks (ready).
func NewHealth() *Health { return &Health{} }

// AddCheck registers a named readiness check; an error means not ready. A
// second check of the same name replaces the first.
func (h *Health) AddCheck(name string, check func() error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.checks {
		if h.checks[i].name == name {
			h.checks[i].check = check
			return
		}
	}
	h.checks = append(h.checks, namedCheck{name, check})
}

// Ready runs every check and returns every failure, in registration order,
// as "name: error" lines (nil when all pass).
func (h *Health) Ready() error {
	h.mu.Lock()
	checks := append([]namedCheck(nil), h.checks...)
	h.mu.Unlock()
	var errs []error
	for _, c := range checks {
		if err := c.check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// NotReady is the one-line body of a 503 from /readyz: every failing check.
func NotReady(err error) string {
	return "not ready: " + strings.ReplaceAll(err.Error(), "\n", "; ")
}

// OpsMux serves /healthz, /readyz and /metrics.
func OpsMux(h *Health, m *Metrics) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := h.Ready(); err != nil {
			http.Error(w, NotReady(err), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	if m != nil {
		mux.Handle("GET /metrics", m.Handler())
	}
	return mux
}

// Limits of the servers NewServer makes: the ops endpoints (/healthz,
// /readyz, /metrics) and the other small HTTP servers of Weft's processes.
// A client cannot hold a connection longer than these by sending slowly.
const (
	// ServerReadHeaderTimeout bounds reading a request's headers.
	ServerReadHeaderTimeout = 10 * time.Second
	// ServerReadTimeout bounds reading a whole request, body included.
	ServerReadTimeout = 30 * time.Second
	// ServerWriteTimeout bounds a request from its headers to the end of
	// the answer (a /metrics scrape; a pprof CPU profile must be shorter).
	ServerWriteTimeout = time.Minute
	// ServerIdleTimeout closes idle keep-alive connections.
	ServerIdleTimeout = 2 * time.Minute
	// ServerMaxHeaderBytes bounds a request's headers (431 above).
	ServerMaxHeaderBytes = 64 << 10
)

// NewServer is an http.Server for handler with the Server* limits.
func NewServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ServerReadHeaderTimeout,
		ReadTimeout:       ServerReadTimeout,
		WriteTimeout:      ServerWriteTimeout,
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
	}
}

// ServeHTTP serves handler on addr until ctx ends, then shuts down within drain.
// ready (may be nil) receives the bound address once listening.
func ServeHTTP(ctx context.Context, addr string, handler http.Handler, drain time.Duration, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, handler, drain, ready)
}

// ServeListener is ServeHTTP on an existing listener.
func ServeListener(ctx context.Context, ln net.Listener, handler http.Handler, drain time.Duration, ready func(net.Addr)) error {
	srv := NewServer(handler)
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down http on %s: %w", ln.Addr(), err)
	}
	return nil
}
