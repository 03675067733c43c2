package controlplane

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"sigs.k8s.io/yaml"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/observability"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// testCtx is a context bounded well under the test timeout.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type replica struct {
	srv    *Server
	client weftv1.ControlPlaneClient
	conn   *grpc.ClientConn
	stop   func()
}

// startReplica runs a control plane on a loopback port against e.
func startReplica(t *testing.T, e *devkafka.Server, mutate ...func(*Config)) *replica {
	t.Helper()
	return startReplicaWith(t, e, nil, mutate...)
}

// startReplicaWith is startReplica with server options.
func startReplicaWith(t *testing.T, e *devkafka.Server, opts []Option, mutate ...func(*Config)) *replica {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Kafka = testutil.KafkaConfig(e)
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.OpsAddr = ""
	cfg.IngressURL = "http://ingress.test:8080"
	for _, m := range mutate {
		m(&cfg)
	}
	ctx := testCtx(t)
	srv, err := New(ctx, cfg, append([]Option{WithLogger(observability.DiscardLogger())}, opts...)...)
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(rctx) }()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{srv: srv, client: weftv1.NewControlPlaneClient(conn), conn: conn}
	var stopped bool
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("control plane Run: %v", err)
		}
	}
	t.Cleanup(r.stop)
	return r
}

// objectsFromYAML turns a multi-document manifest into request objects
// without client-side validation (the server must do it).
func objectsFromYAML(t *testing.T, manifest string) []*weftv1.Object {
	t.Helper()
	return objectsFromYAMLB(t, manifest)
}

func objectsFromYAMLB(t testing.TB, manifest string) []*weftv1.Object {
	t.Helper()
	var out []*weftv1.Object
	for _, doc := range splitDocs(manifest) {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("test manifest is not YAML: %v", err)
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name, Namespace string
			} `json:"metadata"`
		}
		_ = json.Unmarshal(j, &meta)
		out = append(out, &weftv1.Object{ApiVersion: meta.APIVersion, Kind: meta.Kind, Name: meta.Metadata.Name, Namespace: meta.Metadata.Namespace, Json: j})
	}
	return out
}

func splitDocs(s string) []string {
	var docs []string
	cur := ""
	for _, line := range splitLines(s) {
		if line == "---" {
			if cur != "" {
				docs = append(docs, cur)
			}
			cur = ""
			continue
		}
		cur += line + "\n"
	}
	if cur != "" {
		docs = append(docs, cur)
	}
	return docs
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func decode[T apis.Object](t *testing.T, po *weftv1.Object) T {
	t.Helper()
	o, err := apis.DecodeObject(po.GetJson())
	if err != nil {
		t.Fatalf("decode %s: %v", po.GetJson(), err)
	}
	v, ok := o.(T)
	if !ok {
		t.Fatalf("object is a %T", o)
	}
	return v
}

func dialForBench(t testing.TB, addr string) (weftv1.ControlPlaneClient, func()) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return weftv1.NewControlPlaneClient(conn), func() { conn.Close() }
}

const walkthrough = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: event-example
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: hello-display
  namespace: event-example
spec:
  broker: default
  filter:
    attributes:
      type: greeting
  subscriber:
    ref:
      apiVersion: v1
      kind: Service
      name: hello-display
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: goodbye-display
  namespace: event-example
spec:
  broker: default
  filter:
    attributes:
      source: sendoff
  subscriber:
    ref:
      apiVersion: v1
      kind: Service
      name: goodbye-display
`
