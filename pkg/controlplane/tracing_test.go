package controlplane

import (
	"fmt"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/testutil"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestTracing: with a TracerProvider, a resource API call is a server span
// continuing the caller's W3C trace context.
func TestTracing(t *testing.T) {
	e := testutil.StartKafka(t)
	cfg := DefaultConfig()
	cfg.Kafka = testutil.KafkaConfig(e)
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.OpsAddr = ""
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	srv, err := New(testCtx(t), cfg, WithLogger(testutil.Logger(t)), WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, "Run", srv.Run)
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	cctx := metadata.AppendToOutgoingContext(testCtx(t), "traceparent", "00-"+traceID+"-"+parentID+"-01")
	_, err = weftv1.NewControlPlaneClient(conn).Get(cctx, &weftv1.GetRequest{Kind: "broker", Namespace: "default", Name: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("get missing: %v", err)
	}
	// The server ends its span once the answer is on its way: wait for it.
	testutil.Eventually(t, 10*time.Second, "a server span weft.v1.ControlPlane/Get under "+parentID, func() (bool, string) {
		var got []string
		for _, s := range spans.Ended() {
			got = append(got, s.Name())
			if s.Name() == "weft.v1.ControlPlane/Get" && s.SpanKind() == trace.SpanKindServer &&
				s.SpanContext().TraceID().String() == traceID && s.Parent().SpanID().String() == parentID {
				return true, ""
			}
		}
		return false, fmt.Sprintf("spans ended: %v", got)
	})
}
