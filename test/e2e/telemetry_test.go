package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/weft-dev/weft/internal/testutil"
)

// TestTelemetryFromBinaries: with OTEL_EXPORTER_OTLP_ENDPOINT set, the real
// binaries export the spans of an event's path as one trace, and push their
// metrics, to a collector on loopback; as separate processes (each its own
// service) and as `weft dev` (one service, weft-dev).
func TestTelemetryFromBinaries(t *testing.T) {
	cases := []struct {
		name     string
		protocol string
		// services names the service.name of the control plane, the
		// ingress and the dispatcher.
		controlplane, ingress, dispatcher string
		// start runs the mesh and returns the control plane's and the
		// ingress's addresses.
		start func(t *testing.T) (grpc, http string)
	}{
		{
			name: "separate processes", protocol: "grpc",
			controlplane: "controlplane", ingress: "ingress", dispatcher: "dispatcher",
			start: func(t *testing.T) (string, string) {
				c := startCluster(t)
				c.startDispatcher(t, "dispatcher-1")
				return c.grpc, c.http
			},
		},
		{
			name: "weft dev", protocol: "http/protobuf",
			controlplane: "weft-dev", ingress: "weft-dev", dispatcher: "weft-dev",
			start: func(t *testing.T) (string, string) {
				d := startDev(t, "http://unused.invalid/{name}")
				return d.grpc, d.http
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			col := testutil.StartOTLPCollector(t, tc.protocol)
			// The processes inherit the environment.
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.Endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tc.protocol)
			t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
			t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
			sub := newSubscriber(t)
			grpc, httpAddr := tc.start(t)
			weftCLI(t, grpc, fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: otel}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: all, namespace: otel}
spec:
  broker: default
  filter: {attributes: {type: traced}}
  subscriber: {uri: "%s/otel"}
`, sub.srv.URL), "apply", "-f", "-")
			waitReady(t, grpc, "otel", 1)
			url := "http://" + httpAddr + "/otel/default"
			testutil.Eventually(t, 30*time.Second, "the ingress to serve the broker", func() (bool, string) {
				code := post(t, url, "warmup", "warmup", "e2e", `{}`)
				return code == http.StatusAccepted, fmt.Sprint(code)
			})

			const traceID, clientSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
			if code := post(t, url, "traced", "traced", "e2e", `{}`, "traceparent", "00-"+traceID+"-"+clientSpan+"-01"); code != http.StatusAccepted {
				t.Fatalf("post: %d", code)
			}
			testutil.Eventually(t, 30*time.Second, "the delivery", func() (bool, string) { return sub.ids("/otel") == "traced", sub.ids("/otel") })

			// The path, each span under the one before, from the right service.
			var server, send, dispatch, attempt testutil.OTLPSpan
			testutil.Eventually(t, 30*time.Second, "the event's spans", func() (bool, string) {
				var in []string
				server, send, dispatch, attempt = testutil.OTLPSpan{}, testutil.OTLPSpan{}, testutil.OTLPSpan{}, testutil.OTLPSpan{}
				spans := col.Spans()
				for _, s := range spans {
					if s.TraceID == traceID {
						in = append(in, s.String())
					}
				}
				pick := func(dst *testutil.OTLPSpan, service, parent, name string, kind tracepb.Span_SpanKind) {
					for _, s := range spans {
						if s.TraceID == traceID && s.Service == service && s.ParentID == parent && s.Name == name && s.Kind == kind {
							*dst = s
						}
					}
				}
				pick(&server, tc.ingress, clientSpan, "POST /otel/default", tracepb.Span_SPAN_KIND_SERVER)
				pick(&send, tc.ingress, server.SpanID, "send weft.broker.otel.default", tracepb.Span_SPAN_KIND_PRODUCER)
				pick(&dispatch, tc.dispatcher, send.SpanID, "weft.dispatch", tracepb.Span_SPAN_KIND_CONSUMER)
				pick(&attempt, tc.dispatcher, dispatch.SpanID, "weft.delivery.attempt", tracepb.Span_SPAN_KIND_CLIENT)
				return attempt.SpanID != "", fmt.Sprintf("spans in trace %s:\n%s", traceID, strings.Join(in, "\n"))
			})
			if got, want := sub.list("/otel")[0].Traceparent, "00-"+traceID+"-"+attempt.SpanID+"-01"; got != want {
				t.Errorf("the subscriber got traceparent %q, want %q (the delivery attempt)", got, want)
			}

			// The control plane traced the CLI's apply; every process pushed metrics.
			testutil.Eventually(t, 30*time.Second, "the control plane's span and everyone's metrics", func() (bool, string) {
				var apply bool
				for _, s := range col.Spans() {
					apply = apply || (s.Service == tc.controlplane && s.Name == "weft.v1.ControlPlane/Apply" && s.Kind == tracepb.Span_SPAN_KIND_SERVER)
				}
				metrics := col.Metrics()
				want := []testutil.OTLPMetric{
					{Service: tc.ingress, Name: "weft.ingress.requests"},
					{Service: tc.dispatcher, Name: "weft.dispatcher.events.delivered"},
					{Service: tc.controlplane, Name: "weft_contract_version"},
				}
				var missing []testutil.OTLPMetric
				for _, m := range want {
					if !slices.Contains(metrics, m) {
						missing = append(missing, m)
					}
				}
				return apply && len(missing) == 0, fmt.Sprintf("Apply span: %v; metrics missing: %v", apply, missing)
			})
		})
	}
}
