package observability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// The standard OpenTelemetry environment variables Weft interprets itself.
// Everything else (headers, timeouts, TLS, compression, the sampler, batch
// and export intervals, resource attributes) is read by the SDK and the
// official OTLP exporters.
const (
	envSDKDisabled     = "OTEL_SDK_DISABLED"
	envTracesExporter  = "OTEL_TRACES_EXPORTER"
	envMetricsExporter = "OTEL_METRICS_EXPORTER"
	envEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint  = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envMetricsEndpoint = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
	envProtocol        = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol  = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envMetricsProtocol = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
	envResourceAttrs   = "OTEL_RESOURCE_ATTRIBUTES"
)

// The OTLP protocols Weft exports with.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// ShutdownTimeout bounds Telemetry.Shutdown when its context has no deadline.
const ShutdownTimeout = 5 * time.Second

// w3c is the one propagator of every Weft process.
var w3c = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Propagator is W3C Trace Context plus W3C Baggage: what Weft reads from and
// writes into HTTP requests and Kafka record headers.
func Propagator() propagation.TextMapPropagator { return w3c }

// TelemetryConfig says what a process exports over OTLP. TelemetryConfigFromEnv
// reads it from the standard OTEL_* environment variables.
type TelemetryConfig struct {
	// ServiceName is the resource's service.name unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES sets one.
	ServiceName string
	// TracesProtocol is the protocol spans are exported with (ProtocolGRPC
	// or ProtocolHTTPProtobuf); "" exports none and traces cost a no-op.
	TracesProtocol string
	// MetricsProtocol is the protocol metrics are pushed with; "" pushes
	// none. /metrics is served either way.
	MetricsProtocol string
}

// TelemetryConfigFromEnv reads what to export from the environment, the way
// the OpenTelemetry specification defines it:
//
//   - traces are exported when OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, unless OTEL_TRACES_EXPORTER
//     is "none"; metrics are pushed when OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set, unless OTEL_METRICS_EXPORTER
//     is "none" (or only "prometheus", which /metrics always is);
//   - the protocol is OTEL_EXPORTER_OTLP_{TRACES,METRICS}_PROTOCOL, else
//     OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf;
//   - OTEL_SDK_DISABLED=true exports nothing.
//
// A value of a variable it acts on that it cannot use is an *EnvError. Empty
// values count as unset.
func TelemetryConfigFromEnv(serviceName string) (TelemetryConfig, error) {
	cfg := TelemetryConfig{ServiceName: serviceName}
	switch v := getenv(envSDKDisabled); strings.ToLower(v) {
	case "", "false":
	case "true":
		return cfg, nil
	default:
		return cfg, &EnvError{Var: envSDKDisabled, Value: v, Want: "want true or false"}
	}
	var err error
	if cfg.TracesProtocol, err = signalConfig(envTracesExporter, []string{"otlp", "none"}, envTracesEndpoint, envTracesProtocol); err != nil {
		return cfg, err
	}
	if cfg.MetricsProtocol, err = signalConfig(envMetricsExporter, []string{"otlp", "prometheus", "none"}, envMetricsEndpoint, envMetricsProtocol); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// signalConfig is the OTLP protocol of one signal, "" when it is not
// exported. Variables are validated only when Weft acts on them.
func signalConfig(exporterVar string, allowed []string, endpointVar, protocolVar string) (string, error) {
	otlp := true // the specification's default exporter
	if v := getenv(exporterVar); v != "" {
		otlp = false
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if !slices.Contains(allowed, name) {
				return "", &EnvError{Var: exporterVar, Value: v, Want: "want a comma-separated list of " + strings.Join(allowed, ", ")}
			}
			otlp = otlp || name == "otlp"
		}
	}
	if !otlp {
		return "", nil
	}
	// The signal's own endpoint wins, as in the exporters.
	ev, ep := endpointVar, getenv(endpointVar)
	if ep == "" {
		ev, ep = envEndpoint, getenv(envEndpoint)
	}
	if ep == "" {
		return "", nil
	}
	if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &EnvError{Var: ev, Value: ep, Want: "want an http:// or https:// URL with a host, such as http://localhost:4318"}
	}
	pv, p := protocolVar, getenv(protocolVar)
	if p == "" {
		pv, p = envProtocol, getenv(envProtocol)
	}
	switch p {
	case "":
		return ProtocolHTTPProtobuf, nil
	case ProtocolGRPC, ProtocolHTTPProtobuf:
		return p, nil
	}
	return "", &EnvError{Var: pv, Value: p, Want: "want grpc or http/protobuf"}
}

func getenv(name string) string { return strings.TrimSpace(os.Getenv(name)) }

// Telemetry is a process's OpenTelemetry set-up: where its spans and metrics
// go. Pass TracerProvider and Metrics to the components as options, and call
// Shutdown once they stopped.
type Telemetry struct {
	Config TelemetryConfig
	// TracerProvider exports spans over OTLP, or is a no-op one
	// (trace/noop) when Config.TracesProtocol is "".
	TracerProvider trace.TracerProvider
	// Metrics is served on /metrics, and pushed over OTLP as well when
	// Config.MetricsProtocol is set.
	Metrics *Metrics

	shutdown []func(context.Context) error
	once     sync.Once
	err      error
}

// SetupTelemetry is what every Weft binary calls at start-up: it reads the
// environment (TelemetryConfigFromEnv) and builds the providers with
// NewTelemetry.
func SetupTelemetry(ctx context.Context, serviceName string, logger *slog.Logger) (*Telemetry, error) {
	cfg, err := TelemetryConfigFromEnv(serviceName)
	if err != nil {
		return nil, err
	}
	return NewTelemetry(ctx, cfg, logger)
}

// NewTelemetry builds the providers cfg asks for. The OTLP exporters read
// their own settings (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _INSECURE,
// _CERTIFICATE, _COMPRESSION...), the SDK reads OTEL_TRACES_SAMPLER, the
// OTEL_BSP_* and OTEL_METRIC_EXPORT_* settings; the resource is service.name
// cfg.ServiceName overridden by OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
// Nothing connects before the first export: a collector that is down does
// not fail start-up.
//
// It installs Propagator as the global propagator, and when anything is
// exported, a global error handler logging the SDK's complaints (a bad
// sampler, failed exports) to logger at warn level.
func NewTelemetry(ctx context.Context, cfg TelemetryConfig, logger *slog.Logger) (*Telemetry, error) {
	if logger == nil {
		logger = DiscardLogger()
	}
	otel.SetTextMapPropagator(Propagator())
	t := &Telemetry{Config: cfg, TracerProvider: noop.NewTracerProvider()}
	if cfg.TracesProtocol == "" && cfg.MetricsProtocol == "" {
		m, err := NewMetrics(noExemplars)
		if err != nil {
			return nil, err
		}
		t.Metrics = m
		return t, nil
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry", "err", err)
	}))
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", cfg.ServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, &EnvError{Var: envResourceAttrs, Value: getenv(envResourceAttrs), Want: "want comma-separated key=value pairs", Err: err}
	}

	if cfg.TracesProtocol != "" {
		exp, err := newSpanExporter(ctx, cfg.TracesProtocol)
		if err != nil {
			return nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		t.TracerProvider = tp
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	if cfg.TracesProtocol == "" {
		mopts = append(mopts, noExemplars)
	}
	if cfg.MetricsProtocol != "" {
		exp, err := newMetricExporter(ctx, cfg.MetricsProtocol)
		if err != nil {
			t.Shutdown(ctx)
			return nil, err
		}
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	}
	if t.Metrics, err = NewMetrics(mopts...); err != nil {
		t.Shutdown(ctx)
		return nil, err
	}
	if cfg.MetricsProtocol != "" {
		t.shutdown = append(t.shutdown, t.Metrics.Provider.Shutdown)
	}
	var service string
	if v, ok := res.Set().Value("service.name"); ok {
		service = v.AsString()
	}
	logger.Info("exporting telemetry over OTLP", "service_name", service,
		"traces", orOff(cfg.TracesProtocol), "metrics", orOff(cfg.MetricsProtocol))
	return t, nil
}

func orOff(protocol string) string {
	if protocol == "" {
		return "off"
	}
	return protocol
}

func newSpanExporter(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	if protocol == ProtocolGRPC {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("create OTLP %s span exporter: %w", protocol, err)
	}
	return exp, nil
}

func newMetricExporter(ctx context.Context, protocol string) (sdkmetric.Exporter, error) {
	var (
		exp sdkmetric.Exporter
		err error
	)
	if protocol == ProtocolGRPC {
		exp, err = otlpmetricgrpc.New(ctx)
	} else {
		exp, err = otlpmetrichttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("create OTLP %s metric exporter: %w", protocol, err)
	}
	return exp, nil
}

// Shutdown flushes what is buffered to the collector and stops exporting,
// within ctx (ShutdownTimeout when ctx has no deadline); what is not sent by
// then is dropped. It is idempotent; with nothing exported it does nothing.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.once.Do(func() {
		if len(t.shutdown) == 0 {
			return
		}
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, ShutdownTimeout)
			defer cancel()
		}
		// Traces and metrics flush side by side, each within ctx.
		errs := make([]error, len(t.shutdown))
		var wg sync.WaitGroup
		for i, f := range t.shutdown {
			wg.Go(func() { errs[i] = f(ctx) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.err = fmt.Errorf("shut down telemetry: %w", err)
		}
	})
	return t.err
}

// noExemplars turns exemplars off where no trace is exported: the SDK's
// default filter would look for a sampled span in every measurement's
// context (there is none without a tracer) — about 1% of a busy
// dispatcher's CPU for nothing.
var noExemplars = sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter)
