package observability_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/observability"
)

// clearOTelEnv unsets, for the test, every OTEL_* variable of the
// environment the tests run in (an empty value counts as unset).
func clearOTelEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
		}
	}
}

func setenv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestTelemetryConfigFromEnv(t *testing.T) {
	const (
		grpc = observability.ProtocolGRPC
		http = observability.ProtocolHTTPProtobuf
	)
	cases := []struct {
		name            string
		env             map[string]string
		traces, metrics string // the protocols wanted
		wantVar         string // the variable an *EnvError names; "" for none
		wantInErr       string
	}{
		{name: "nothing set: nothing exported", env: nil},
		{name: "endpoint: both signals, http/protobuf by default",
			env:    map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			traces: http, metrics: http},
		{name: "traces endpoint only",
			env:    map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector:4318/v1/traces"},
			traces: http},
		{name: "metrics endpoint only",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://collector:4318/v1/metrics"},
			metrics: http},
		{name: "grpc for every signal",
			env:    map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			traces: grpc, metrics: grpc},
		{name: "a signal's protocol wins",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
				"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
			traces: grpc, metrics: http},
		{name: "empty values count as unset",
			env:    map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": " ", "OTEL_TRACES_EXPORTER": ""},
			traces: http, metrics: http},
		{name: "traces exporter none",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"},
			metrics: http},
		{name: "metrics exporter prometheus: /metrics only",
			env:    map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_METRICS_EXPORTER": "prometheus"},
			traces: http},
		{name: "metrics exporter list with otlp",
			env:    map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_METRICS_EXPORTER": "prometheus, OTLP"},
			traces: http, metrics: http},
		{name: "sdk disabled",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "TRUE"}},
		{name: "a bad protocol is not checked when nothing is exported",
			env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}},

		{name: "bad protocol",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
			wantVar: "OTEL_EXPORTER_OTLP_PROTOCOL", wantInErr: `OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon": want grpc or http/protobuf`},
		{name: "http/json is not supported",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
			wantVar: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", wantInErr: "want grpc or http/protobuf"},
		{name: "bad metrics protocol",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc-web"},
			wantVar: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"},
		{name: "endpoint without a scheme",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"},
			wantVar: "OTEL_EXPORTER_OTLP_ENDPOINT", wantInErr: `OTEL_EXPORTER_OTLP_ENDPOINT="collector:4317": want an http:// or https:// URL`},
		{name: "a signal's endpoint is checked",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://collector"},
			wantVar: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{name: "unsupported traces exporter",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "zipkin"},
			wantVar: "OTEL_TRACES_EXPORTER", wantInErr: `OTEL_TRACES_EXPORTER="zipkin": want a comma-separated list of otlp, none`},
		{name: "unsupported metrics exporter",
			env:     map[string]string{"OTEL_METRICS_EXPORTER": "console"},
			wantVar: "OTEL_METRICS_EXPORTER", wantInErr: "otlp, prometheus, none"},
		{name: "bad sdk disabled",
			env:     map[string]string{"OTEL_SDK_DISABLED": "yes"},
			wantVar: "OTEL_SDK_DISABLED", wantInErr: `OTEL_SDK_DISABLED="yes": want true or false`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearOTelEnv(t)
			setenv(t, tc.env)
			cfg, err := observability.TelemetryConfigFromEnv("svc")
			if tc.wantVar != "" {
				var ee *observability.EnvError
				if !errors.As(err, &ee) || ee.Var != tc.wantVar {
					t.Fatalf("error %v, want an *EnvError naming %s", err, tc.wantVar)
				}
				if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tc.wantInErr) ||
					!strings.Contains(msg, tc.wantVar+"=") {
					t.Errorf("error %q: want one line naming %s with %q", msg, tc.wantVar, tc.wantInErr)
				}
				// Start-up fails the same way.
				if _, err := observability.SetupTelemetry(context.Background(), "svc", nil); !errors.As(err, &ee) {
					t.Errorf("SetupTelemetry: %v, want the same error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			want := observability.TelemetryConfig{ServiceName: "svc", TracesProtocol: tc.traces, MetricsProtocol: tc.metrics}
			if cfg != want {
				t.Errorf("config %+v, want %+v", cfg, want)
			}
		})
	}
}

// TestSetupTelemetryOff: with no endpoint there is no exporter, tracing is
// a no-op, /metrics works, and the propagator is W3C's.
func TestSetupTelemetryOff(t *testing.T) {
	clearOTelEnv(t)
	tel, err := observability.SetupTelemetry(context.Background(), "svc", testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tel.TracerProvider.(noop.TracerProvider); !ok {
		t.Errorf("TracerProvider is %T, want the no-op one", tel.TracerProvider)
	}
	if tel.Metrics == nil || tel.Metrics.Handler() == nil {
		t.Fatal("no Metrics")
	}
	for _, p := range []interface{ Fields() []string }{otel.GetTextMapPropagator(), observability.Propagator()} {
		if f := p.Fields(); !slices.Contains(f, "traceparent") || !slices.Contains(f, "baggage") {
			t.Errorf("propagator fields %v, want traceparent and baggage", f)
		}
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestSetupTelemetryExports: spans and metrics reach a collector over each
// protocol, with the service name from the binary or from OTEL_SERVICE_NAME
// and the attributes of OTEL_RESOURCE_ATTRIBUTES; Shutdown flushes them.
func TestSetupTelemetryExports(t *testing.T) {
	cases := []struct {
		name, protocol, serviceEnv, wantService string
	}{
		{name: "http/protobuf by default", wantService: "svc"},
		{name: "grpc", protocol: "grpc", wantService: "svc"},
		{name: "OTEL_SERVICE_NAME wins", protocol: "http/protobuf", serviceEnv: "from-env", wantService: "from-env"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearOTelEnv(t)
			col := testutil.StartOTLPCollector(t, tc.protocol)
			setenv(t, map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT": col.Endpoint,
				"OTEL_EXPORTER_OTLP_PROTOCOL": tc.protocol,
				"OTEL_SERVICE_NAME":           tc.serviceEnv,
				"OTEL_RESOURCE_ATTRIBUTES":    "deployment.environment.name=test",
			})
			tel, err := observability.SetupTelemetry(context.Background(), "svc", testutil.Logger(t))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := tel.TracerProvider.(*sdktrace.TracerProvider); !ok {
				t.Fatalf("TracerProvider is %T, want the SDK's", tel.TracerProvider)
			}
			_, s := tel.TracerProvider.Tracer("test").Start(context.Background(), "hello")
			s.End()
			c, err := tel.Metrics.Meter("test").Int64Counter("test.counter")
			if err != nil {
				t.Fatal(err)
			}
			c.Add(context.Background(), 1)

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := tel.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			spans := col.Spans()
			if len(spans) != 1 || spans[0].Name != "hello" || spans[0].Service != tc.wantService ||
				spans[0].Resource["deployment.environment.name"] != "test" {
				t.Errorf("collector got spans %v, want hello from %s in deployment test", spans, tc.wantService)
			}
			if !slices.Contains(col.Metrics(), testutil.OTLPMetric{Service: tc.wantService, Name: "test.counter"}) {
				t.Errorf("collector got metrics %v, want test.counter", col.Metrics())
			}
		})
	}
}

// TestShutdownBounded: a collector that never answers does not hold
// Shutdown past its context.
func TestShutdownBounded(t *testing.T) {
	clearOTelEnv(t)
	col := testutil.StartOTLPCollector(t, "http/protobuf")
	defer col.Hold()()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.Endpoint)
	tel, err := observability.SetupTelemetry(context.Background(), "svc", testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	_, s := tel.TracerProvider.Tracer("test").Start(context.Background(), "stuck")
	s.End()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := tel.Shutdown(ctx); err == nil {
		t.Error("Shutdown returned nil with a collector that never answered")
	}
	if err := tel.Shutdown(context.Background()); err == nil {
		t.Error("a second Shutdown forgot the first one's error")
	}
}

// TestBadResourceAttributes: start-up fails naming the variable.
func TestBadResourceAttributes(t *testing.T) {
	clearOTelEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "team")
	_, err := observability.SetupTelemetry(context.Background(), "svc", testutil.Logger(t))
	var ee *observability.EnvError
	if !errors.As(err, &ee) || ee.Var != "OTEL_RESOURCE_ATTRIBUTES" || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line naming OTEL_RESOURCE_ATTRIBUTES", err)
	}
}
