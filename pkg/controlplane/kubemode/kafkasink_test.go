package kubemode_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
	"github.com/weft-dev/weft/pkg/controlplane/kubemode"
	eventingv1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1"
	eventingv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1alpha1"
)

// A KafkaSink applied as a custom resource is admitted, mirrored (its topic
// created on the Kafka cluster) and addressed at /sinks/{ns}/{name}; a
// Trigger whose subscriber refs it resolves to that address; deleting it
// unmirrors it and keeps its topic (it holds the user's data).
func TestKafkaSinkMirrored(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ctx := context.Background()
	const topic = "orders.out"
	sink := &eventingv1alpha1.KafkaSink{ObjectMeta: metav1.ObjectMeta{Name: "sink", Namespace: p.ns},
		Spec: apis.KafkaSinkSpec{Topic: topic, NumPartitions: ptr[int32](2)}}
	if err := cl.Create(ctx, sink); err != nil {
		t.Fatal(err)
	}
	key := controlplane.Key{Kind: apis.KindKafkaSink, Namespace: p.ns, Name: "sink"}
	suffix := "/sinks/" + p.ns + "/sink"
	var url string
	testutil.Eventually(t, 30*time.Second, "the KafkaSink mirrored, admitted and addressed", func() (bool, string) {
		var got eventingv1alpha1.KafkaSink
		if err := cl.Get(ctx, client.ObjectKeyFromObject(sink), &got); err != nil {
			return false, err.Error()
		}
		if got.Status.Address != nil {
			url = got.Status.Address.URL
		}
		return p.srv.Stored(key) != nil && strings.HasSuffix(url, suffix) &&
			got.Status.ObservedGeneration == got.Generation &&
			len(got.Finalizers) == 1 && got.Finalizers[0] == kubemode.Finalizer, testutil.JSON(got)
	})
	if !p.topicExists(t, topic) {
		t.Fatalf("topic %s was not created", topic)
	}

	// A Trigger's subscriber refs the sink: it resolves to the sink's URL.
	tr := p.trigger("to-sink", "default", func(tr *eventingv1.Trigger) {
		tr.Spec.Subscriber = apis.Destination{Ref: &apis.KReference{APIVersion: apis.EventingV1alpha1, Kind: apis.KindKafkaSink, Name: "sink"}}
	})
	p.create(t, p.broker("default", weftClass), tr)
	trKey := controlplane.Key{Kind: apis.KindTrigger, Namespace: p.ns, Name: "to-sink"}
	testutil.Eventually(t, 30*time.Second, "the Trigger's subscriber resolved to the KafkaSink's address", func() (bool, string) {
		var got eventingv1.Trigger
		if err := cl.Get(ctx, client.ObjectKeyFromObject(tr), &got); err != nil {
			return false, err.Error()
		}
		refs := resolvedRefs(p.srv, trKey)
		return refs["spec.subscriber"].URI == url && got.Status.SubscriberURI == url, testutil.JSON(refs) + " " + testutil.JSON(got.Status)
	})

	if err := cl.Delete(ctx, sink); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the KafkaSink and its mirror gone", func() (bool, string) {
		err := cl.Get(ctx, client.ObjectKeyFromObject(sink), &eventingv1alpha1.KafkaSink{})
		return apierrors.IsNotFound(err) && p.srv.Stored(key) == nil, "still there"
	})
	if !p.topicExists(t, topic) {
		t.Errorf("deleting the KafkaSink deleted its topic %s", topic)
	}
}

// The KafkaSink CRD's schema refuses what it can see: no topic, a topic
// Kafka would refuse, an unknown content mode, no partitions, and a change
// of spec.topic or spec.bootstrapServers.
func TestKafkaSinkValidation(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		spec map[string]any
		want string
	}{
		"without topic":           {map[string]any{}, "spec.topic: Required value"},
		"empty topic":             {map[string]any{"topic": ""}, "spec.topic"},
		"topic with a slash":      {map[string]any{"topic": "a/b"}, "spec.topic"},
		"topic ..":                {map[string]any{"topic": ".."}, `must not be "." or ".."`},
		"topic too long":          {map[string]any{"topic": strings.Repeat("t", 250)}, "spec.topic"},
		"unknown content mode":    {map[string]any{"topic": "t", "contentMode": "json"}, "spec.contentMode"},
		"no partitions":           {map[string]any{"topic": "t", "numPartitions": 0}, "spec.numPartitions"},
		"replication factor zero": {map[string]any{"topic": "t", "replicationFactor": 0}, "spec.replicationFactor"},
		"too many partitions":     {map[string]any{"topic": "t", "numPartitions": 10001}, "spec.numPartitions"},
		"secret ref without name": {map[string]any{"topic": "t", "auth": map[string]any{"secret": map[string]any{"ref": map[string]any{}}}}, "spec.auth.secret.ref.name"},
	} {
		t.Run(name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": apis.EventingV1alpha1, "kind": apis.KindKafkaSink,
				"metadata": map[string]any{"name": "bad", "namespace": p.ns},
				"spec":     tc.spec,
			}}
			err := cl.Create(ctx, u)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create: got %v, want Invalid naming %q", err, tc.want)
			}
		})
	}

	sink := &eventingv1alpha1.KafkaSink{ObjectMeta: metav1.ObjectMeta{Name: "sink", Namespace: p.ns},
		Spec: apis.KafkaSinkSpec{Topic: "first"}}
	if err := cl.Create(ctx, sink); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*eventingv1alpha1.KafkaSink){
		"spec.topic":            func(k *eventingv1alpha1.KafkaSink) { k.Spec.Topic = "second" },
		"spec.bootstrapServers": func(k *eventingv1alpha1.KafkaSink) { k.Spec.BootstrapServers = []string{"other.example:9092"} },
	} {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var got eventingv1alpha1.KafkaSink
			if err := cl.Get(ctx, client.ObjectKeyFromObject(sink), &got); err != nil {
				return err
			}
			change(&got)
			return cl.Update(ctx, &got)
		})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "immutable") {
			t.Errorf("changing %s: got %v, want Invalid (immutable)", name, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
