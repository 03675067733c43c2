package kubemode_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane"
	"github.com/weft-dev/weft/pkg/controlplane/kubemode"
	sourcesv1beta1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1beta1"
	"github.com/weft-dev/weft/pkg/wire"
)

// A KafkaSource applied as a custom resource is admitted (finalizer),
// mirrored with its sink resolved in the cluster (a Service) and its retry
// topic created on Weft's cluster, with sinkUri and ceAttributes in its
// status; deleting it removes the mirror and the retry topic.
func TestKafkaSourceMirrored(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ctx := context.Background()
	p.create(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "display", Namespace: p.ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}})
	src := &sourcesv1beta1.KafkaSource{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: p.ns},
		Spec: apis.KafkaSourceSpec{BootstrapServers: []string{"source.example:9092"}, Topics: []string{"orders"},
			Sink: apis.Destination{Ref: &apis.KReference{APIVersion: "v1", Kind: "Service", Name: "display"}}}}
	if err := cl.Create(ctx, src); err != nil {
		t.Fatal(err)
	}
	key := controlplane.Key{Kind: apis.KindKafkaSource, Namespace: p.ns, Name: "orders"}
	testutil.Eventually(t, 30*time.Second, "the KafkaSource mirrored, admitted, its sink resolved", func() (bool, string) {
		var got sourcesv1beta1.KafkaSource
		if err := cl.Get(ctx, client.ObjectKeyFromObject(src), &got); err != nil {
			return false, err.Error()
		}
		sinkOK := false
		for _, c := range got.Status.Conditions {
			sinkOK = sinkOK || (c.Type == "SinkProvided" && c.Status == apis.ConditionTrue)
		}
		return p.srv.Stored(key) != nil && sinkOK && strings.Contains(got.Status.SinkURI, "display") &&
			got.Status.ObservedGeneration == got.Generation && len(got.Status.CloudEventAttributes) == 1 &&
			got.Status.CloudEventAttributes[0].Source == apis.KafkaSourceEventSource(p.ns, "orders", "orders") &&
			len(got.Finalizers) == 1 && got.Finalizers[0] == kubemode.Finalizer, testutil.JSON(got)
	})
	retryTopic := wire.KafkaSourceRetryTopic(p.ns, "orders")
	if !p.topicExists(t, retryTopic) {
		t.Fatalf("retry topic %s was not created", retryTopic)
	}
	if p.topicExists(t, "orders") {
		t.Errorf("the source's topic was created on Weft's cluster")
	}

	if err := cl.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the KafkaSource, its mirror and its retry topic gone", func() (bool, string) {
		err := cl.Get(ctx, client.ObjectKeyFromObject(src), &sourcesv1beta1.KafkaSource{})
		return apierrors.IsNotFound(err) && p.srv.Stored(key) == nil && !p.topicExists(t, retryTopic), "still there"
	})
}

// The KafkaSource CRD's schema refuses what it can see: no topics or
// servers, a topic Kafka would refuse, unknown enums, no consumers, TLS or
// SASL enabled, and a change of spec.consumerGroup (also setting one that
// was unset: the source commits knative-kafka-source-{uid} then).
func TestKafkaSourceValidation(t *testing.T) {
	p := startPlane(t)
	cl := p.messagingClient(t)
	ctx := context.Background()
	ok := func(extra map[string]any) map[string]any {
		s := map[string]any{"bootstrapServers": []any{"k:9092"}, "topics": []any{"t"}, "sink": map[string]any{"uri": "http://a.example/"}}
		for k, v := range extra {
			s[k] = v
		}
		return s
	}
	for name, tc := range map[string]struct {
		spec map[string]any
		want string
	}{
		"without topics":       {map[string]any{"bootstrapServers": []any{"k:9092"}, "sink": map[string]any{"uri": "http://a.example/"}}, "spec.topics: Required value"},
		"without servers":      {map[string]any{"topics": []any{"t"}, "sink": map[string]any{"uri": "http://a.example/"}}, "spec.bootstrapServers: Required value"},
		"empty topics":         {ok(map[string]any{"topics": []any{}}), "spec.topics"},
		"topic with a slash":   {ok(map[string]any{"topics": []any{"a/b"}}), "spec.topics[0]"},
		"initialOffset oldest": {ok(map[string]any{"initialOffset": "oldest"}), "spec.initialOffset"},
		"ordering fifo":        {ok(map[string]any{"ordering": "fifo"}), "spec.ordering"},
		"consumers 0":          {ok(map[string]any{"consumers": 0}), "spec.consumers"},
	} {
		t.Run(name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": apis.SourcesV1beta1, "kind": apis.KindKafkaSource,
				"metadata": map[string]any{"name": "bad", "namespace": p.ns},
				"spec":     tc.spec,
			}}
			err := cl.Create(ctx, u)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create: got %v, want Invalid naming %q", err, tc.want)
			}
		})
	}

	for name, tc := range map[string]struct{ from, to string }{
		"changed": {"g1", "g2"},
		"set":     {"", "g1"},
		"unset":   {"g1", ""},
	} {
		t.Run("consumerGroup "+name, func(t *testing.T) {
			src := &sourcesv1beta1.KafkaSource{ObjectMeta: metav1.ObjectMeta{Name: "group-" + name, Namespace: p.ns},
				Spec: apis.KafkaSourceSpec{BootstrapServers: []string{"k:9092"}, Topics: []string{"t"}, ConsumerGroup: tc.from,
					Sink: apis.Destination{URI: "http://a.example/"}}}
			if err := cl.Create(ctx, src); err != nil {
				t.Fatal(err)
			}
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				var got sourcesv1beta1.KafkaSource
				if err := cl.Get(ctx, client.ObjectKeyFromObject(src), &got); err != nil {
					return err
				}
				got.Spec.ConsumerGroup = tc.to
				return cl.Update(ctx, &got)
			})
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.consumerGroup") || !strings.Contains(err.Error(), "immutable") {
				t.Errorf("consumerGroup %q -> %q: got %v, want Invalid (immutable)", tc.from, tc.to, err)
			}
		})
	}
}
