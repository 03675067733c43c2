package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// mesh talks to the control plane of the Weft under test.
type mesh struct {
	conn *grpc.ClientConn
	cp   weftv1.ControlPlaneClient
}

func dialMesh(addr string) (*mesh, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connect to control plane %s: %w", addr, err)
	}
	return &mesh{conn: conn, cp: weftv1.NewControlPlaneClient(conn)}, nil
}

func (m *mesh) close() { m.conn.Close() }

func object(kind, ns, name string, spec map[string]any) (*weftv1.Object, error) {
	apiVersion := apis.DefaultAPIVersion(kind)
	doc := map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": ns},
	}
	if spec != nil {
		doc["spec"] = spec
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return &weftv1.Object{ApiVersion: apiVersion, Kind: kind, Namespace: ns, Name: name, Json: b}, nil
}

// setup creates brokers b0..b{brokers-1} in ns, each (when all) with a
// trigger "all" to subscriber/all, and on broker b0 `triggers` more triggers
// each matching one of 100 event types (1% of the events when the load uses
// 100 types), and with slow one more trigger on b0 matching every event,
// whose subscriber (path /slow) answers each in 200 ms.
func (m *mesh) setup(ctx context.Context, ns string, brokers, triggers int, all, slow bool, subscriber string) error {
	var objs []*weftv1.Object
	add := func(o *weftv1.Object, err error) error {
		if err != nil {
			return err
		}
		objs = append(objs, o)
		return nil
	}
	for b := 0; b < brokers; b++ {
		if err := add(object("Broker", ns, fmt.Sprintf("b%d", b), map[string]any{})); err != nil {
			return err
		}
		if !all {
			continue
		}
		if err := add(object("Trigger", ns, fmt.Sprintf("all-b%d", b), map[string]any{
			"broker": fmt.Sprintf("b%d", b), "subscriber": map[string]any{"uri": "http://" + subscriber + "/all"},
			// Retries, as a real subscriber would have: an attempt that times
			// out under a saturated CPU is retried, not dropped.
			"delivery": map[string]any{"retry": 10, "backoffPolicy": "exponential", "backoffDelay": "PT0.1S"},
		})); err != nil {
			return err
		}
	}
	for i := 0; i < triggers; i++ {
		if err := add(object("Trigger", ns, fmt.Sprintf("one-percent-%d", i), map[string]any{
			"broker":     "b0",
			"filter":     map[string]any{"attributes": map[string]any{"type": fmt.Sprintf("type-%02d", i%100)}},
			"subscriber": map[string]any{"uri": fmt.Sprintf("http://%s/t%d", subscriber, i)},
		})); err != nil {
			return err
		}
	}
	if slow {
		if err := add(object("Trigger", ns, "slow", map[string]any{
			"broker": "b0", "subscriber": map[string]any{"uri": "http://" + subscriber + "/slow"},
		})); err != nil {
			return err
		}
		triggers++
	}
	for len(objs) > 0 { // in chunks: one Apply is one Kafka transaction
		n := min(len(objs), 200)
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		_, err := m.cp.Apply(cctx, &weftv1.ApplyRequest{Objects: objs[:n]})
		cancel()
		if err != nil {
			return fmt.Errorf("apply %d objects in %s: %w", n, ns, err)
		}
		objs = objs[n:]
	}
	n := triggers
	if all {
		n += brokers
	}
	return m.waitReady(ctx, ns, n)
}

// setupSequence creates in ns the Sequence "seq" of steps steps, each
// subscriber/echo (which replies with the event it got), replying to
// subscriber/all, with the all-matching trigger's retries.
func (m *mesh) setupSequence(ctx context.Context, ns string, steps int, subscriber string) error {
	delivery := map[string]any{"retry": 10, "backoffPolicy": "exponential", "backoffDelay": "PT0.1S"}
	var ss []any
	for i := 0; i < steps; i++ {
		ss = append(ss, map[string]any{"uri": "http://" + subscriber + "/echo", "delivery": delivery})
	}
	o, err := object(apis.KindSequence, ns, "seq", map[string]any{"steps": ss, "reply": map[string]any{"uri": "http://" + subscriber + "/all"}})
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := m.cp.Apply(cctx, &weftv1.ApplyRequest{Objects: []*weftv1.Object{o}}); err != nil {
		return fmt.Errorf("apply the sequence in %s: %w", ns, err)
	}
	return m.waitKindReady(ctx, apis.KindSequence, ns, 1)
}

// waitReady waits until n triggers of ns are Ready (the data plane runs them).
func (m *mesh) waitReady(ctx context.Context, ns string, n int) error {
	return m.waitKindReady(ctx, apis.KindTrigger, ns, n)
}

// waitKindReady waits until n objects of kind in ns are Ready.
func (m *mesh) waitKindReady(ctx context.Context, kind, ns string, n int) error {
	deadline := time.Now().Add(5 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		resp, err := m.cp.List(ctx, &weftv1.ListRequest{Kind: kind, Namespace: ns})
		if err != nil {
			return err
		}
		ready := 0
		for _, o := range resp.GetObjects() {
			var t struct {
				Status struct {
					Conditions []struct{ Type, Status, Reason string } `json:"conditions"`
				} `json:"status"`
			}
			if json.Unmarshal(o.GetJson(), &t) == nil {
				for _, c := range t.Status.Conditions {
					if c.Type == "Ready" && c.Status == "True" {
						ready++
					} else if c.Type == "Ready" {
						last = o.GetName() + ": " + c.Reason
					}
				}
			}
		}
		if ready >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%ss in %s not Ready within 5m (last: %s)", kind, ns, last)
}

// teardown deletes the sequences, brokers (and so their topics) and
// triggers of ns.
func (m *mesh) teardown(ctx context.Context, ns string) error {
	for _, kind := range []string{"Trigger", "Broker", "Sequence"} {
		resp, err := m.cp.List(ctx, &weftv1.ListRequest{Kind: kind, Namespace: ns})
		if err != nil {
			return err
		}
		for _, o := range resp.GetObjects() {
			if _, err := m.cp.Delete(ctx, &weftv1.DeleteRequest{Kind: kind, Namespace: ns, Name: o.GetName()}); err != nil {
				return fmt.Errorf("delete %s %s/%s: %w", kind, ns, o.GetName(), err)
			}
		}
	}
	return nil
}
