package observability_test

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

// collector is an OTLP receiver on a real loopback port (OTLP/HTTP with
// protobuf bodies, or OTLP/gRPC) keeping what it is sent.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer

	// Endpoint is the value for OTEL_EXPORTER_OTLP_ENDPOINT.
	Endpoint string
	// hold, when non-nil, makes every export wait for it to close (a
	// collector that does not answer).
	hold chan struct{}

	mu      sync.Mutex
	spans   []span
	metrics []string // metric names, in arrival order
}

// span is a received span with its ids in hex.
type span struct {
	Service  string // the resource's service.name
	Resource map[string]string
	TraceID  string
	SpanID   string
	ParentID string
	Name     string
	Kind     tracepb.Span_SpanKind
	Attrs    map[string]string
}

func (s span) String() string {
	return fmt.Sprintf("%s %q (%s) trace %s span %s parent %s %v", s.Service, s.Name, s.Kind, s.TraceID, s.SpanID, s.ParentID, s.Attrs)
}

// startHTTPCollector serves /v1/traces and /v1/metrics until the test ends.
func startHTTPCollector(t *testing.T, hold chan struct{}) *collector {
	t.Helper()
	c := &collector{hold: hold}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		req := &coltracepb.ExportTraceServiceRequest{}
		if !c.decode(w, r, req) {
			return
		}
		c.addSpans(req)
		c.reply(w, &coltracepb.ExportTraceServiceResponse{})
	})
	mux.HandleFunc("POST /v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		req := &colmetricpb.ExportMetricsServiceRequest{}
		if !c.decode(w, r, req) {
			return
		}
		c.addMetrics(req)
		c.reply(w, &colmetricpb.ExportMetricsServiceResponse{})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c.Endpoint = srv.URL
	return c
}

// startGRPCCollector serves the OTLP TraceService and MetricsService until
// the test ends.
func startGRPCCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, c)
	colmetricpb.RegisterMetricsServiceServer(gs, metricsService{c: c})
	done := make(chan struct{})
	go func() { defer close(done); gs.Serve(ln) }()
	t.Cleanup(func() { gs.Stop(); <-done })
	c.Endpoint = "http://" + ln.Addr().String()
	return c
}

// Export implements the gRPC TraceService.
func (c *collector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.addSpans(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// metricsService adapts the gRPC MetricsService, whose method has the same
// name as the TraceService's.
type metricsService struct {
	colmetricpb.UnimplementedMetricsServiceServer
	c *collector
}

func (m metricsService) Export(_ context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	m.c.addMetrics(req)
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

func (c *collector) decode(w http.ResponseWriter, r *http.Request, m proto.Message) bool {
	if c.hold != nil {
		select {
		case <-c.hold:
		case <-r.Context().Done():
			return false
		}
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

func (c *collector) reply(w http.ResponseWriter, m proto.Message) {
	b, err := proto.Marshal(m)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

func (c *collector) addSpans(req *coltracepb.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		res := attrMap(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, span{
					Service:  res["service.name"],
					Resource: res,
					TraceID:  hex.EncodeToString(s.GetTraceId()),
					SpanID:   hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()),
					Name:     s.GetName(),
					Kind:     s.GetKind(),
					Attrs:    attrMap(s.GetAttributes()),
				})
			}
		}
	}
}

func (c *collector) addMetrics(req *colmetricpb.ExportMetricsServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				c.metrics = append(c.metrics, m.GetName())
			}
		}
	}
}

// Spans returns the spans received so far.
func (c *collector) Spans() []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.spans)
}

// Metrics returns the names of the metrics received so far.
func (c *collector) Metrics() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.metrics)
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.GetKey()] = x.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = strconv.FormatInt(x.IntValue, 10)
		case *commonpb.AnyValue_BoolValue:
			m[kv.GetKey()] = strconv.FormatBool(x.BoolValue)
		default:
			m[kv.GetKey()] = v.String()
		}
	}
	return m
}
