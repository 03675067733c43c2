package controlplane

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

const eventTypeManifest = `apiVersion: eventing.knative.dev/v1beta2
kind: EventType
metadata:
  name: greeting
  namespace: event-example
spec:
  type: greeting
  source: not-sendoff
  reference:
    apiVersion: eventing.knative.dev/v1
    kind: Broker
    name: default
`

// TestEventTypeStatus: an EventType is Ready once the Broker its reference
// names exists, Ready False with BrokerDoesNotExist before and after; one
// without a reference is Ready (ReferenceNotSet); its spec is immutable.
func TestEventTypeStatus(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e)
	ctx := testCtx(t)
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, eventTypeManifest+"---\n"+`apiVersion: eventing.knative.dev/v1beta3
kind: EventType
metadata:
  name: loose
  namespace: event-example
spec:
  attributes:
  - {name: type, value: loose, required: true}
`)}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	ready := func(name string) apis.Condition {
		t.Helper()
		po, err := r.client.Get(ctx, &weftv1.GetRequest{Kind: "eventtypes", Namespace: "event-example", Name: name})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		et := decode[*apis.EventType](t, po)
		if po.GetApiVersion() != apis.EventingV1beta2 || len(et.Status.Conditions) != 2 || et.Status.Conditions[1].Type != "ReferenceExists" {
			t.Fatalf("%s: apiVersion %s, conditions %+v", name, po.GetApiVersion(), et.Status.Conditions)
		}
		c := et.Status.Conditions[0]
		if c.Reason == "" {
			c.Reason = et.Status.Conditions[1].Reason
		}
		return c
	}
	if c := ready("greeting"); c.Status != apis.ConditionFalse || c.Reason != "BrokerDoesNotExist" || c.Message != `Broker "default" in spec.reference does not exist in namespace "event-example"` {
		t.Errorf("without its broker: %+v", c)
	}
	if c := ready("loose"); c.Status != apis.ConditionTrue || c.Reason != "ReferenceNotSet" {
		t.Errorf("without a reference: %+v", c)
	}
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, walkthrough)}); err != nil {
		t.Fatalf("apply walkthrough: %v", err)
	}
	if c := ready("greeting"); c.Status != apis.ConditionTrue {
		t.Errorf("with its broker: %+v", c)
	}
	changed := objectsFromYAML(t, eventTypeManifest+"  description: changed\n")
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: changed}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("changing the spec: %v, want FailedPrecondition (immutable)", err)
	}
	if _, err := r.client.Delete(ctx, &weftv1.DeleteRequest{Kind: "broker", Namespace: "event-example", Name: "default"}); err != nil {
		t.Fatal(err)
	}
	if c := ready("greeting"); c.Status != apis.ConditionFalse || c.Reason != "BrokerDoesNotExist" {
		t.Errorf("after its broker was deleted: %+v", c)
	}
}

// TestReportEventTypes: reports for a broker with auto-creation on create
// one EventType per (type, source), named and owned as Knative's
// auto-created ones, once, however often and to whichever replica they are
// reported; reports for a broker without it, a stale uid or an unknown
// broker create nothing; the contract marks the auto-creating entries.
func TestReportEventTypes(t *testing.T) {
	e := testutil.StartKafka(t)
	r1 := startReplica(t, e)
	r2 := startReplica(t, e)
	ctx := testCtx(t)
	brokers := `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: event-example
  annotations:
    weft.dev/eventtype-auto-create: "true"
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: quiet
  namespace: event-example
`
	resp, err := r1.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, brokers)})
	if err != nil {
		t.Fatal(err)
	}
	uid := func(i int) string { return decode[*apis.Broker](t, resp.Results[i].Object).ObjectMeta.UID }
	contract := func(r *replica) weftv1.ContractServiceClient {
		conn, err := grpc.NewClient(r.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return weftv1.NewContractServiceClient(conn)
	}
	c1, c2 := contract(r1), contract(r2)
	ob := func(uid, name, typ, source string) *weftv1.ObservedEventType {
		return &weftv1.ObservedEventType{IngressUid: uid, Kind: apis.KindBroker, Namespace: "event-example", Name: name, Type: typ, Source: source}
	}
	report := []*weftv1.ObservedEventType{
		ob(uid(0), "default", "greeting", "not-sendoff"),
		ob(uid(0), "default", "greeting", "not-sendoff"), // twice in one report
		ob(uid(0), "default", "not-greeting", "sendoff"),
		ob(uid(1), "quiet", "greeting", "not-sendoff"),   // auto-creation off
		ob("stale-uid", "default", "stale", "s"),         // another broker of that name
		ob(uid(0), "missing", "greeting", "not-sendoff"), // no such broker
		{IngressUid: uid(0), Kind: "KafkaSink", Namespace: "event-example", Name: "default", Type: "t"},
	}
	got, err := c1.ReportEventTypes(ctx, &weftv1.ReportEventTypesRequest{ProcessId: "ingress-1", EventTypes: report})
	if err != nil || got.GetCreated() != 2 {
		t.Fatalf("ReportEventTypes = %v, %v; want 2 created", got, err)
	}
	// Again, to both replicas at once (as two ingresses would after a
	// restart): nothing new.
	errs := make(chan error, 2)
	for _, c := range []weftv1.ContractServiceClient{c1, c2} {
		go func() {
			got, err := c.ReportEventTypes(ctx, &weftv1.ReportEventTypesRequest{ProcessId: "ingress-2", EventTypes: report})
			if err == nil && got.GetCreated() != 0 {
				err = fmt.Errorf("created %d again", got.GetCreated())
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("report again: %v", err)
		}
	}
	list, err := r2.client.List(ctx, &weftv1.ListRequest{Kind: "eventtypes", Namespace: "event-example"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		apis.AutoEventTypeName("default", "event-example", "greeting", "not-sendoff"): "greeting not-sendoff",
		apis.AutoEventTypeName("default", "event-example", "not-greeting", "sendoff"): "not-greeting sendoff",
	}
	if len(list.Objects) != len(want) {
		t.Fatalf("%d EventTypes, want %d: %v", len(list.Objects), len(want), list.Objects)
	}
	for _, po := range list.Objects {
		et := decode[*apis.EventType](t, po)
		m := &et.ObjectMeta
		if want[m.Name] != et.Spec.Type+" "+et.Spec.Source {
			t.Errorf("EventType %s is %s %s", m.Name, et.Spec.Type, et.Spec.Source)
		}
		var owner apis.OwnerReference
		_ = json.Unmarshal([]byte(m.Annotations[apis.AnnotationOwnerReference]), &owner)
		if owner != (apis.OwnerReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "default", UID: uid(0)}) || m.Labels[apis.LabelEventTypeAutoCreated] != "true" {
			t.Errorf("EventType %s owner %+v labels %v", m.Name, owner, m.Labels)
		}
		if ref := et.Spec.Reference; ref == nil || *ref != (apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "default", Namespace: "event-example"}) {
			t.Errorf("EventType %s reference %+v", m.Name, ref)
		}
		if et.Spec.Description != apis.AutoEventTypeDescription || len(et.Spec.Attributes) != 5 {
			t.Errorf("EventType %s spec %+v", m.Name, et.Spec)
		}
		if c := et.Status.Conditions; len(c) == 0 || c[0].Status != apis.ConditionTrue {
			t.Errorf("EventType %s not Ready: %+v", m.Name, c)
		}
	}

	// The contract tells the ingress which entries auto-create.
	testutil.Eventually(t, 10*time.Second, "the contract marks default, not quiet", func() (bool, string) {
		c, _ := r1.srv.pub.current()
		auto := map[string]bool{}
		for _, in := range c.Contract.GetIngresses() {
			auto[in.GetName()] = in.GetEventtypeAutoCreate()
		}
		return auto["default"] && !auto["quiet"] && len(auto) == 2, fmt.Sprint(auto)
	})
}

// TestEventTypeAutoCreateFlag: --eventtype-auto-create turns auto-creation
// on for brokers without the annotation; "false" turns it off for one.
func TestEventTypeAutoCreateFlag(t *testing.T) {
	e := testutil.StartKafka(t)
	r := startReplica(t, e, func(c *Config) { c.EventTypeAutoCreate = true })
	ctx := testCtx(t)
	if _, err := r.client.Apply(ctx, &weftv1.ApplyRequest{Objects: objectsFromYAML(t, `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: auto
  namespace: ns
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: manual
  namespace: ns
  annotations:
    weft.dev/eventtype-auto-create: "false"
`)}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "broker on auto-creates, channel off does not", func() (bool, string) {
		c, _ := r.srv.pub.current()
		auto := map[string]bool{}
		for _, in := range c.Contract.GetIngresses() {
			auto[in.GetKind()+"/"+in.GetName()] = in.GetEventtypeAutoCreate()
		}
		return auto["Broker/auto"] && !auto["Channel/manual"] && len(auto) == 2, fmt.Sprint(auto)
	})
}
