package testutil

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// OTLPCollector is an OpenTelemetry collector reduced to a receiver on a
// real loopback port, OTLP/HTTP (protobuf bodies, /v1/traces and
// /v1/metrics) or OTLP/gRPC (TraceService, MetricsService), keeping what it
// is sent.
type OTLPCollector struct {
	// Endpoint is the value for OTEL_EXPORTER_OTLP_ENDPOINT.
	Endpoint string

	mu      sync.Mutex
	hold    chan struct{} // non-nil: exports wait until it is closed
	spans   []OTLPSpan
	metrics []OTLPMetric
}

// OTLPSpan is a span received, its ids in hex.
type OTLPSpan struct {
	Service  string            // the resource's service.name
	Resource map[string]string // the resource's attributes
	TraceID  string
	SpanID   string
	ParentID string // "" for a root span
	Name     string
	Kind     tracepb.Span_SpanKind
	Attrs    map[string]string
}

func (s OTLPSpan) String() string {
	return fmt.Sprintf("[%s] %q %s trace %s span %s parent %s %v", s.Service, s.Name, s.Kind, s.TraceID, s.SpanID, s.ParentID, s.Attrs)
}

// OTLPMetric is a metric received (its name and its resource's service.name).
type OTLPMetric struct {
	Service, Name string
}

// StartOTLPCollector starts a receiver for protocol ("grpc" or
// "http/protobuf") that stops when the test ends.
func StartOTLPCollector(t testing.TB, protocol string) *OTLPCollector {
	t.Helper()
	c := &OTLPCollector{}
	if protocol == "grpc" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gs := grpc.NewServer()
		coltracepb.RegisterTraceServiceServer(gs, otlpTraces{c: c})
		colmetricpb.RegisterMetricsServiceServer(gs, otlpMetrics{c: c})
		done := make(chan struct{})
		go func() { defer close(done); gs.Serve(ln) }()
		t.Cleanup(func() { c.release(); gs.Stop(); <-done })
		c.Endpoint = "http://" + ln.Addr().String()
		return c
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		req := &coltracepb.ExportTraceServiceRequest{}
		if c.decode(w, r, req) {
			c.addSpans(req)
			reply(w, &coltracepb.ExportTraceServiceResponse{})
		}
	})
	mux.HandleFunc("POST /v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		req := &colmetricpb.ExportMetricsServiceRequest{}
		if c.decode(w, r, req) {
			c.addMetrics(req)
			reply(w, &colmetricpb.ExportMetricsServiceResponse{})
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { c.release(); srv.Close() })
	c.Endpoint = srv.URL
	return c
}

// Hold makes exports wait (a collector that does not answer) until the
// returned function is called, or the test ends.
func (c *OTLPCollector) Hold() (release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold == nil {
		c.hold = make(chan struct{})
	}
	return c.release
}

func (c *OTLPCollector) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold != nil {
		close(c.hold)
		c.hold = nil
	}
}

// wait blocks while exports are held, or until ctx ends.
func (c *OTLPCollector) wait(ctx context.Context) error {
	c.mu.Lock()
	hold := c.hold
	c.mu.Unlock()
	if hold == nil {
		return nil
	}
	select {
	case <-hold:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Spans returns the spans received so far, in arrival order.
func (c *OTLPCollector) Spans() []OTLPSpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.spans)
}

// Metrics returns the metrics received so far, in arrival order (a metric
// appears once per export).
func (c *OTLPCollector) Metrics() []OTLPMetric {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.metrics)
}

type otlpTraces struct {
	coltracepb.UnimplementedTraceServiceServer
	c *OTLPCollector
}

func (s otlpTraces) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	if err := s.c.wait(ctx); err != nil {
		return nil, err
	}
	s.c.addSpans(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

type otlpMetrics struct {
	colmetricpb.UnimplementedMetricsServiceServer
	c *OTLPCollector
}

func (s otlpMetrics) Export(ctx context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	if err := s.c.wait(ctx); err != nil {
		return nil, err
	}
	s.c.addMetrics(req)
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

func (c *OTLPCollector) decode(w http.ResponseWriter, r *http.Request, m proto.Message) bool {
	if err := c.wait(r.Context()); err != nil {
		return false
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err == nil {
		err = proto.Unmarshal(b, m)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func reply(w http.ResponseWriter, m proto.Message) {
	b, err := proto.Marshal(m)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

func (c *OTLPCollector) addSpans(req *coltracepb.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		res := otlpAttrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, OTLPSpan{
					Service:  res["service.name"],
					Resource: res,
					TraceID:  hex.EncodeToString(s.GetTraceId()),
					SpanID:   hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()),
					Name:     s.GetName(),
					Kind:     s.GetKind(),
					Attrs:    otlpAttrs(s.GetAttributes()),
				})
			}
		}
	}
}

func (c *OTLPCollector) addMetrics(req *colmetricpb.ExportMetricsServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rm := range req.GetResourceMetrics() {
		service := otlpAttrs(rm.GetResource().GetAttributes())["service.name"]
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				c.metrics = append(c.metrics, OTLPMetric{Service: service, Name: m.GetName()})
			}
		}
	}
}

func otlpAttrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		switch x := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.GetKey()] = x.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = strconv.FormatInt(x.IntValue, 10)
		case *commonpb.AnyValue_BoolValue:
			m[kv.GetKey()] = strconv.FormatBool(x.BoolValue)
		default:
			m[kv.GetKey()] = kv.GetValue().String()
		}
	}
	return m
}
