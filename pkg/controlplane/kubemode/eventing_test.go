package kubemode_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
	"github.com/weft-dev/weft/pkg/controlplane/kubemode"
	eventingv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1alpha1"
	eventingv1beta2 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1beta2"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// eventTypeState reads the EventType et again: its Ready condition as
// "Status Reason" and the object.
func eventTypeState(cl client.Client, et *eventingv1beta2.EventType) (string, *eventingv1beta2.EventType) {
	got := &eventingv1beta2.EventType{}
	if err := cl.Get(context.Background(), client.ObjectKeyFromObject(et), got); err != nil {
		return "get: " + err.Error(), got
	}
	return readyOf(got.Status.Conditions), got
}

// An EventType applied through the Kubernetes API is admitted and
// mirrored, and shows ReferenceExists as Knative's does: not Ready
// (BrokerDoesNotExist) while its Broker does not exist, Ready once it does.
func TestEventTypeReadyWhenItsBrokerExists(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ctx := context.Background()
	et := &eventingv1beta2.EventType{
		ObjectMeta: metav1.ObjectMeta{Name: "greeting", Namespace: p.ns},
		Spec: apis.EventTypeSpec{Type: "greeting", Source: "not-sendoff", Description: "hello",
			Reference: &apis.KReference{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "later"}},
	}
	if err := cl.Create(ctx, et); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the EventType not Ready: its Broker does not exist", func() (bool, string) {
		r, got := eventTypeState(cl, et)
		return r == "False BrokerDoesNotExist" && got.Status.ObservedGeneration == got.Generation &&
			slices.Contains(got.Finalizers, kubemode.Finalizer), testutil.JSON(got.Status)
	})
	if p.srv.Stored(controlplane.Key{Kind: apis.KindEventType, Namespace: p.ns, Name: "greeting"}) == nil {
		t.Fatal("the EventType is not in the control plane's store")
	}
	p.create(t, p.broker("later", weftClass))
	testutil.Eventually(t, 30*time.Second, "the EventType Ready once its Broker exists", func() (bool, string) {
		r, got := eventTypeState(cl, et)
		return r == "True ", testutil.JSON(got.Status)
	})
}

// An EventPolicy whose spec.to selects a Broker by its labels shows the
// subjects spec.from resolves to in status.from, and is Ready naming the
// Broker it applies to.
func TestEventPolicySelectingABroker(t *testing.T) {
	p := startPlane(t, func(c *controlplane.Config) { c.OIDCAuthentication = true })
	cl := p.messagingClient(t)
	b := p.broker("orders", weftClass)
	b.Labels = map[string]string{"team": "a"}
	p.create(t, b)
	pol := &eventingv1alpha1.EventPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", Namespace: p.ns},
		Spec: apis.EventPolicySpec{
			To: []apis.EventPolicySpecTo{{Selector: &apis.EventPolicySelector{APIVersion: apis.EventingV1, Kind: apis.KindBroker,
				MatchLabels: map[string]string{"team": "a"}}}},
			From: []apis.EventPolicySpecFrom{{Ref: &apis.EventPolicyFromReference{APIVersion: "v1", Kind: "ServiceAccount", Name: "sender"}},
				{Sub: ptr("system:serviceaccount:team-b:*")}},
		},
	}
	if err := cl.Create(context.Background(), pol); err != nil {
		t.Fatal(err)
	}
	want := []string{"system:serviceaccount:" + p.ns + ":sender", "system:serviceaccount:team-b:*"}
	testutil.Eventually(t, 30*time.Second, "the EventPolicy Ready with status.from, applying to the Broker", func() (bool, string) {
		got := &eventingv1alpha1.EventPolicy{}
		if err := cl.Get(context.Background(), client.ObjectKeyFromObject(pol), got); err != nil {
			return false, err.Error()
		}
		var msg string
		for _, c := range got.Status.Conditions {
			if c.Type == "Ready" {
				msg = c.Message
			}
		}
		return readyOf(got.Status.Conditions) == "True " && slices.Equal(got.Status.From, want) &&
			strings.Contains(msg, "broker orders") && got.Status.ObservedGeneration == got.Generation, testutil.JSON(got.Status)
	})
}

// With auto-registration on for a Broker, an ingress's report of the event
// types it saw (ReportEventTypes, driven here directly over the control
// plane's gRPC port) creates EventType custom resources through the
// Kubernetes API: Knative's deterministic name, Weft's label and owner
// annotation, and an ownerReference to the Broker; once each. They are
// then reconciled like any EventType (Ready: the Broker exists).
func TestEventTypeAutoRegistrationCreatesCustomResources(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	b := p.broker("auto", map[string]string{apis.AnnotationBrokerClass: "Weft", apis.AnnotationEventTypeAutoCreate: "true"})
	p.create(t, b)
	key := controlplane.Key{Kind: apis.KindBroker, Namespace: p.ns, Name: "auto"}
	testutil.Eventually(t, 30*time.Second, "the Broker mirrored", func() (bool, string) { return p.srv.Stored(key) != nil, "" })
	uid := p.srv.Stored(key).GetObjectMeta().UID

	conn, err := grpc.NewClient(p.srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cs := weftv1.NewContractServiceClient(conn)
	ob := func(typ, source string) *weftv1.ObservedEventType {
		return &weftv1.ObservedEventType{IngressUid: uid, Kind: apis.KindBroker, Namespace: p.ns, Name: "auto", Type: typ, Source: source}
	}
	report := &weftv1.ReportEventTypesRequest{ProcessId: "ingress-1", EventTypes: []*weftv1.ObservedEventType{
		ob("greeting", "not-sendoff"), ob("greeting", "not-sendoff"), ob("not-greeting", "sendoff"),
		{IngressUid: "another-uid", Kind: apis.KindBroker, Namespace: p.ns, Name: "auto", Type: "stale", Source: "s"},
	}}
	ctx := context.Background()
	got, err := cs.ReportEventTypes(ctx, report)
	if err != nil || got.GetCreated() != 2 {
		t.Fatalf("ReportEventTypes = %v, %v; want 2 created", got, err)
	}
	// At once again (the custom resources may not be mirrored yet: the API
	// server answers AlreadyExists), then once they are: nothing new.
	if got, err := cs.ReportEventTypes(ctx, report); err != nil || got.GetCreated() != 0 {
		t.Fatalf("ReportEventTypes again = %v, %v; want 0 created", got, err)
	}

	for _, tc := range []struct{ typ, source string }{{"greeting", "not-sendoff"}, {"not-greeting", "sendoff"}} {
		name := apis.AutoEventTypeName("auto", p.ns, tc.typ, tc.source)
		et := &eventingv1beta2.EventType{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.ns}}
		testutil.Eventually(t, 30*time.Second, "EventType "+name+" Ready", func() (bool, string) {
			r, got := eventTypeState(cl, et)
			return r == "True ", r + " " + testutil.JSON(got.Status)
		})
		_, e := eventTypeState(cl, et)
		if e.Spec.Type != tc.typ || e.Spec.Source != tc.source || e.Spec.Description != apis.AutoEventTypeDescription ||
			e.Spec.Reference == nil || e.Spec.Reference.Kind != apis.KindBroker || e.Spec.Reference.Name != "auto" {
			t.Errorf("EventType %s spec: %s", name, testutil.JSON(e.Spec))
		}
		if e.Labels[apis.LabelEventTypeAutoCreated] != "true" || !strings.Contains(e.Annotations[apis.AnnotationOwnerReference], uid) {
			t.Errorf("EventType %s labels %v, annotations %v", name, e.Labels, e.Annotations)
		}
		want := []metav1.OwnerReference{{APIVersion: apis.EventingV1, Kind: apis.KindBroker, Name: "auto", UID: b.UID}}
		if !slices.Equal(e.OwnerReferences, want) {
			t.Errorf("EventType %s ownerReferences %s, want %s", name, testutil.JSON(e.OwnerReferences), testutil.JSON(want))
		}
		if p.srv.Stored(controlplane.Key{Kind: apis.KindEventType, Namespace: p.ns, Name: name}) == nil {
			t.Errorf("EventType %s is not mirrored into the store", name)
		}
	}
	if got, err := cs.ReportEventTypes(ctx, report); err != nil || got.GetCreated() != 0 {
		t.Fatalf("ReportEventTypes once mirrored = %v, %v; want 0 created", got, err)
	}
	var list eventingv1beta2.EventTypeList
	if err := cl.List(ctx, &list, client.InNamespace(p.ns)); err != nil || len(list.Items) != 2 {
		t.Fatalf("EventTypes in the namespace: %d (%v), want 2", len(list.Items), err)
	}
}
