package kubemode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
	"github.com/weft-dev/weft/pkg/controlplane/kubemode"
	eventingv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1alpha1"
	eventingv1beta2 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1beta2"
	flowsv1 "github.com/weft-dev/weft/pkg/kube/apis/flows/v1"
	messagingv1 "github.com/weft-dev/weft/pkg/kube/apis/messaging/v1"
	messagingv1beta1 "github.com/weft-dev/weft/pkg/kube/apis/messaging/v1beta1"
	sourcesv1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1"
	sourcesv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1alpha1"
	sourcesv1beta1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1beta1"
	triggermeshv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/triggermesh/v1alpha1"
)

// messagingClient is a client whose scheme knows the messaging and flows
// kinds, KafkaSink, the sources, EventTypes and EventPolicies, and removes every such object of p's namespace when
// the test ends (before the control plane stops: nothing with its finalizer
// is left on the shared API server).
func (p *plane) messagingClient(t *testing.T) client.Client {
	t.Helper()
	s, err := kubemode.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(p.kube.Config, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	lists := func() []client.ObjectList {
		return []client.ObjectList{&messagingv1.SubscriptionList{}, &flowsv1.SequenceList{}, &flowsv1.ParallelList{},
			&messagingv1.ChannelList{}, &messagingv1.InMemoryChannelList{}, &messagingv1beta1.KafkaChannelList{},
			&eventingv1alpha1.KafkaSinkList{}, &sourcesv1beta1.KafkaSourceList{}, &sourcesv1.PingSourceList{},
			&sourcesv1alpha1.GitLabSourceList{}, &sourcesv1alpha1.GitHubSourceList{},
			&triggermeshv1alpha1.HTTPPollerSourceList{}, &triggermeshv1alpha1.WebhookSourceList{},
			&eventingv1beta2.EventTypeList{}, &eventingv1alpha1.EventPolicyList{}}
	}
	// objects lists every messaging and flows object of the namespace.
	objects := func(ctx context.Context) ([]client.Object, error) {
		var out []client.Object
		for _, l := range lists() {
			if err := cl.List(ctx, l, client.InNamespace(p.ns)); err != nil {
				return nil, err
			}
			items, err := apimeta.ExtractList(l)
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				out = append(out, it.(client.Object))
			}
		}
		return out, nil
	}
	t.Cleanup(func() {
		ctx := context.Background()
		objs, err := objects(ctx)
		if err != nil {
			t.Errorf("clean up: %v", err)
			return
		}
		for _, o := range objs {
			if err := cl.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("clean up %s: %v", o.GetName(), err)
			}
		}
		testutil.Eventually(t, 60*time.Second, "clean-up of the messaging and flows objects", func() (bool, string) {
			objs, err := objects(ctx)
			if err != nil {
				return false, err.Error()
			}
			return len(objs) == 0, fmt.Sprint(len(objs), " left")
		})
	})
	return cl
}

// readyOf returns the Ready condition of conds as "Status Reason", "" without one.
func readyOf(conds []apis.Condition) string {
	for _, c := range conds {
		if c.Type == "Ready" {
			return c.Status + " " + c.Reason
		}
	}
	return ""
}

// resolvedRefs returns the resolved-refs annotation of the stored object at k.
func resolvedRefs(srv *controlplane.Server, k controlplane.Key) map[string]apis.ResolvedRef {
	o := srv.Stored(k)
	if o == nil {
		return nil
	}
	var refs map[string]apis.ResolvedRef
	_ = json.Unmarshal([]byte(o.GetObjectMeta().Annotations[apis.AnnotationResolvedRefs]), &refs)
	return refs
}

// A Channel, a Subscription and a Sequence applied as custom resources are
// admitted (finalizer), mirrored into the state with their references
// resolved in the cluster — a Weft Sequence by its address, a Service once it
// exists — and get their status written back with an address; deleting them
// takes them out of the state.
func TestChannelSubscriptionSequenceMirrored(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ctx := context.Background()
	ch := &messagingv1.Channel{ObjectMeta: metav1.ObjectMeta{Name: "ch", Namespace: p.ns}}
	seq := &flowsv1.Sequence{ObjectMeta: metav1.ObjectMeta{Name: "seq", Namespace: p.ns}, Spec: apis.SequenceSpec{
		Steps: []apis.SequenceStep{
			{Destination: apis.Destination{URI: "http://step0.example/"}},
			{Destination: apis.Destination{Ref: &apis.KReference{APIVersion: "v1", Kind: "Service", Name: "step1"}}},
		},
	}}
	sub := &messagingv1.Subscription{ObjectMeta: metav1.ObjectMeta{Name: "sub", Namespace: p.ns}, Spec: apis.SubscriptionSpec{
		Channel:    apis.ChannelReference{APIVersion: apis.MessagingV1, Kind: apis.KindChannel, Name: "ch"},
		Subscriber: &apis.Destination{URI: "http://sub.example/"},
		Reply:      &apis.Destination{Ref: &apis.KReference{APIVersion: apis.FlowsV1, Kind: apis.KindSequence, Name: "seq"}},
	}}
	for _, o := range []client.Object{ch, seq, sub} {
		if err := cl.Create(ctx, o); err != nil {
			t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}
	chKey := controlplane.Key{Kind: apis.KindChannel, Namespace: p.ns, Name: "ch"}
	subKey := controlplane.Key{Kind: apis.KindSubscription, Namespace: p.ns, Name: "sub"}
	seqKey := controlplane.Key{Kind: apis.KindSequence, Namespace: p.ns, Name: "seq"}
	chURL := "http://127.0.0.1:8080/channels/" + p.ns + "/ch"
	seqURL := "http://127.0.0.1:8080/sequences/" + p.ns + "/seq"

	testutil.Eventually(t, 30*time.Second, "the Channel mirrored, admitted and addressed", func() (bool, string) {
		var got messagingv1.Channel
		if err := cl.Get(ctx, client.ObjectKeyFromObject(ch), &got); err != nil {
			return false, err.Error()
		}
		stored := p.srv.Stored(chKey)
		return stored != nil && stored.GetTypeMeta().Kind == apis.KindChannel &&
			got.Status.Address != nil && got.Status.Address.URL == chURL &&
			len(got.Finalizers) == 1 && got.Finalizers[0] == kubemode.Finalizer, testutil.JSON(got)
	})
	testutil.Eventually(t, 30*time.Second, "the Sequence mirrored and addressed, its missing Service recorded", func() (bool, string) {
		var got flowsv1.Sequence
		if err := cl.Get(ctx, client.ObjectKeyFromObject(seq), &got); err != nil {
			return false, err.Error()
		}
		refs := resolvedRefs(p.srv, seqKey)
		return got.Status.Address != nil && got.Status.Address.URL == seqURL && len(got.Finalizers) == 1 &&
			strings.Contains(refs["spec.steps[1]"].Error, `Service "step1" not found`), testutil.JSON(got) + " " + testutil.JSON(refs)
	})
	testutil.Eventually(t, 30*time.Second, "the Subscription mirrored, its reply resolved to the Sequence's address", func() (bool, string) {
		var got messagingv1.Subscription
		if err := cl.Get(ctx, client.ObjectKeyFromObject(sub), &got); err != nil {
			return false, err.Error()
		}
		refs := resolvedRefs(p.srv, subKey)
		return len(got.Finalizers) == 1 && refs["spec.reply"].URI == seqURL, testutil.JSON(refs)
	})

	// The Service appears: the Sequence's step resolves.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "step1", Namespace: p.ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	if err := cl.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the Sequence's step 1 resolved", func() (bool, string) {
		refs := resolvedRefs(p.srv, seqKey)
		return refs["spec.steps[1]"].URI == "http://step1."+p.ns+".svc.cluster.local", testutil.JSON(refs)
	})

	for _, o := range []client.Object{sub, seq, ch} {
		if err := cl.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 30*time.Second, "the objects and their mirrors gone", func() (bool, string) {
		for _, o := range []client.Object{sub, seq, ch} {
			if err := cl.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopyObject().(client.Object)); !apierrors.IsNotFound(err) {
				return false, o.GetName() + " still there"
			}
		}
		return p.srv.Stored(chKey) == nil && p.srv.Stored(subKey) == nil && p.srv.Stored(seqKey) == nil, "still mirrored"
	})
}

// The CRD schemas refuse what they can see (a Subscription without
// spec.channel, a Sequence without steps, a Parallel without branches, a
// change of a Subscription's channel); what only Weft's validation sees is
// reported in status with the field path, and nothing is mirrored.
func TestMessagingValidation(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		apiVersion, kind string
		spec             map[string]any
		want             string
	}{
		"subscription without channel": {apis.MessagingV1, apis.KindSubscription,
			map[string]any{"subscriber": map[string]any{"uri": "http://x.example/"}}, "spec.channel: Required value"},
		"subscription with an empty channel name": {apis.MessagingV1, apis.KindSubscription,
			map[string]any{"channel": map[string]any{"apiVersion": apis.MessagingV1, "kind": "Channel", "name": ""}}, "spec.channel.name"},
		"sequence without steps":    {apis.FlowsV1, apis.KindSequence, map[string]any{}, "spec.steps: Required value"},
		"sequence with no steps":    {apis.FlowsV1, apis.KindSequence, map[string]any{"steps": []any{}}, "spec.steps"},
		"parallel without branches": {apis.FlowsV1, apis.KindParallel, map[string]any{}, "spec.branches: Required value"},
	} {
		t.Run(name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": tc.apiVersion, "kind": tc.kind,
				"metadata": map[string]any{"name": "bad", "namespace": p.ns},
				"spec":     tc.spec,
			}}
			err := cl.Create(ctx, u)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create: got %v, want Invalid naming %q", err, tc.want)
			}
		})
	}

	// Neither subscriber nor reply: the schema allows it, Weft does not.
	sub := &messagingv1.Subscription{ObjectMeta: metav1.ObjectMeta{Name: "empty", Namespace: p.ns}, Spec: apis.SubscriptionSpec{
		Channel: apis.ChannelReference{APIVersion: apis.MessagingV1, Kind: apis.KindInMemoryChannel, Name: "c"},
	}}
	if err := cl.Create(ctx, sub); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "InvalidSpec naming spec.subscriber", func() (bool, string) {
		var got messagingv1.Subscription
		if err := cl.Get(ctx, client.ObjectKeyFromObject(sub), &got); err != nil {
			return false, err.Error()
		}
		for _, c := range got.Status.Conditions {
			if c.Type == "Ready" && c.Reason == kubemode.ReasonInvalidSpec && strings.Contains(c.Message, "spec.subscriber") &&
				got.Status.ObservedGeneration == got.Generation {
				return true, ""
			}
		}
		return false, testutil.JSON(got.Status)
	})
	if p.srv.Stored(controlplane.Key{Kind: apis.KindSubscription, Namespace: p.ns, Name: "empty"}) != nil {
		t.Error("an invalid Subscription was mirrored")
	}
	var got messagingv1.Subscription
	if err := cl.Get(ctx, client.ObjectKeyFromObject(sub), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Finalizers) != 0 {
		t.Errorf("an invalid Subscription was admitted: finalizers %v", got.Finalizers)
	}
	got.Spec.Channel.Name = "other"
	if err := cl.Update(ctx, &got); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("changing spec.channel: got %v, want Invalid (immutable)", err)
	}
}

// A channel name belongs to one channel of any kind in a namespace: a
// second kind's object of the same name shows NameTaken and takes the name
// once the first is deleted. An InMemoryChannel owned by a Channel (the
// backing object Knative's controller would create) is left alone.
func TestChannelNameTaken(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ctx := context.Background()
	key := controlplane.Key{Kind: apis.KindChannel, Namespace: p.ns, Name: "x"}
	ch := &messagingv1.Channel{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: p.ns}}
	if err := cl.Create(ctx, ch); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the Channel mirrored", func() (bool, string) {
		s := p.srv.Stored(key)
		return s != nil && s.GetTypeMeta().Kind == apis.KindChannel, ""
	})
	imc := &messagingv1.InMemoryChannel{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: p.ns}}
	kc := &messagingv1beta1.KafkaChannel{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: p.ns}}
	for _, o := range []client.Object{imc, kc} {
		if err := cl.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 30*time.Second, "NameTaken on the InMemoryChannel and the KafkaChannel", func() (bool, string) {
		var gi messagingv1.InMemoryChannel
		var gk messagingv1beta1.KafkaChannel
		if err := cl.Get(ctx, client.ObjectKeyFromObject(imc), &gi); err != nil {
			return false, err.Error()
		}
		if err := cl.Get(ctx, client.ObjectKeyFromObject(kc), &gk); err != nil {
			return false, err.Error()
		}
		ri, rk := readyOf(gi.Status.Conditions), readyOf(gk.Status.Conditions)
		return ri == "False "+kubemode.ReasonNameTaken && rk == ri && len(gi.Finalizers) == 0 && len(gk.Finalizers) == 0, ri + " / " + rk
	})
	if s := p.srv.Stored(key); s == nil || s.GetTypeMeta().Kind != apis.KindChannel {
		t.Fatalf("the store holds %v, want the Channel", s)
	}

	// A backing InMemoryChannel of another Channel is not Weft's business.
	owner := &messagingv1.Channel{ObjectMeta: metav1.ObjectMeta{Name: "y", Namespace: p.ns}}
	if err := cl.Create(ctx, owner); err != nil {
		t.Fatal(err)
	}
	backing := &messagingv1.InMemoryChannel{ObjectMeta: metav1.ObjectMeta{Name: "y", Namespace: p.ns, OwnerReferences: []metav1.OwnerReference{{
		APIVersion: apis.MessagingV1, Kind: apis.KindChannel, Name: "y", UID: "00000000-0000-0000-0000-000000000001",
	}}}}
	if err := cl.Create(ctx, backing); err != nil {
		t.Fatal(err)
	}

	// The Channel goes: the oldest of the others, the InMemoryChannel (or
	// the KafkaChannel, created in the same second: kinds break the tie),
	// takes the name.
	if err := cl.Delete(ctx, ch); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the InMemoryChannel takes the name", func() (bool, string) {
		var gi messagingv1.InMemoryChannel
		if err := cl.Get(ctx, client.ObjectKeyFromObject(imc), &gi); err != nil {
			return false, err.Error()
		}
		s := p.srv.Stored(key)
		return s != nil && s.GetTypeMeta().Kind == apis.KindInMemoryChannel && s.GetObjectMeta().UID == string(gi.UID) &&
			len(gi.Finalizers) == 1 && gi.Status.Address != nil, testutil.JSON(gi.Status)
	})
	var gb messagingv1.InMemoryChannel
	if err := cl.Get(ctx, client.ObjectKeyFromObject(backing), &gb); err != nil {
		t.Fatal(err)
	}
	if len(gb.Finalizers) != 0 || len(gb.Status.Conditions) != 0 {
		t.Errorf("the backing InMemoryChannel was touched: finalizers %v, status %s", gb.Finalizers, testutil.JSON(gb.Status))
	}
	if s := p.srv.Stored(controlplane.Key{Kind: apis.KindChannel, Namespace: p.ns, Name: "y"}); s == nil || s.GetTypeMeta().Kind != apis.KindChannel {
		t.Errorf("the store holds %v for y, want the Channel", s)
	}
}
