package compile

import (
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Defaults of a KafkaSource's delivery, as Knative's KafkaSource reconciler
// sets them: each field spec.delivery leaves unset takes its default.
const (
	kafkaSourceRetry         = 10
	kafkaSourceBackoffPolicy = apis.BackoffPolicyExponential
	kafkaSourceBackoffDelay  = "PT0.3S"
	kafkaSourceTimeout       = "PT600S"
)

// kafkaSourceDelivery is a copy of ds with Knative's KafkaSource defaults
// in the fields it leaves unset (all of them when ds is nil).
func kafkaSourceDelivery(ds *apis.DeliverySpec) *apis.DeliverySpec {
	out := &apis.DeliverySpec{}
	if ds != nil {
		c := *ds
		out = &c
	}
	if out.Retry == nil {
		out.Retry = valuePtr(int32(kafkaSourceRetry))
	}
	if out.BackoffPolicy == nil {
		out.BackoffPolicy = valuePtr(kafkaSourceBackoffPolicy)
	}
	if out.BackoffDelay == nil {
		out.BackoffDelay = valuePtr(kafkaSourceBackoffDelay)
	}
	if out.Timeout == nil {
		out.Timeout = valuePtr(kafkaSourceTimeout)
	}
	return out
}

func valuePtr[T any](v T) *T { return &v }

// KafkaSourceGroup is the consumer group a KafkaSource commits on its
// cluster: spec.consumerGroup, which the control plane sets when it creates
// the source; knative-kafka-source-<uid> for one stored without it (a
// mirrored object), the value the control plane would have set.
func KafkaSourceGroup(k *apis.KafkaSource) string {
	if k.Spec.ConsumerGroup != "" {
		return k.Spec.ConsumerGroup
	}
	return apis.KafkaSourceConsumerGroupPrefix + k.ObjectMeta.UID
}

// compileKafkaSource adds a KafkaSource's entry: no path and no topic of
// its own (the dispatcher fleet reads spec.topics on spec.bootstrapServers,
// dividing their partitions through the fleet group on that cluster, and
// holds retries in a retry topic on Weft's cluster), and its one egress
// delivering to spec.sink while committing spec.consumerGroup on the
// source's cluster, reached with spec.net's TLS and SASL settings. A sink,
// dead-letter sink, delivery or spec.net secret that does not resolve
// leaves the source out of the contract: no record is read that nothing
// would deliver, and no cluster is reached without its credentials.
func (out *Compiled) compileKafkaSource(r resolver, k *apis.KafkaSource) {
	m := &k.ObjectMeta
	ns, name := m.Namespace, m.Name
	er := r.sourceSink(m, &k.Spec.Sink)
	dest := er.SubscriberURI
	del, dlq, reason, msg := r.delivery(m, "spec.delivery", kafkaSourceDelivery(k.Spec.Delivery))
	er.fail(reason, msg)
	auth, err := r.kafkaSourceAuth(k)
	if err != nil {
		er.fail(ReasonSecretResolve, err.Error())
	}
	er.DeadLetterURI = dlq
	out.KafkaSources[nsName(m)] = er
	if er.Reason != "" {
		return
	}
	ext := overrides(k.Spec.CloudEventOverrides)
	order := weftv1.DeliveryOrder_DELIVERY_ORDER_ORDERED
	if o := k.Spec.Ordering; o != nil && *o == apis.KafkaUnordered {
		order = weftv1.DeliveryOrder_DELIVERY_ORDER_UNORDERED
	}
	initial := weftv1.InitialOffset_INITIAL_OFFSET_LATEST
	if k.Spec.InitialOffset == apis.KafkaOffsetEarliest {
		initial = weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST
	}
	out.Contract.Ingresses = append(out.Contract.Ingresses, &weftv1.Ingress{
		Uid: m.UID, Kind: apis.KindKafkaSource, Namespace: ns, Name: name, Generation: m.Generation,
		KafkaSource: &weftv1.KafkaSourceSpec{
			BootstrapServers: k.Spec.BootstrapServers,
			Topics:           k.Spec.Topics,
			FleetGroup:       wire.KafkaSourceFleetGroup(ns, name),
			RetryTopic:       wire.KafkaSourceRetryTopic(ns, name),
			Extensions:       ext,
			KeyType:          m.Labels[apis.LabelKafkaKeyType],
			Auth:             auth,
		},
		Egresses: []*weftv1.Egress{{
			Uid: m.UID, Kind: apis.KindKafkaSource, Namespace: ns, Name: name,
			ConsumerGroup: KafkaSourceGroup(k),
			Destination:   dest,
			CaCerts:       caCertsOf(&k.Spec.Sink, deadLetterSink(kafkaSourceDelivery(k.Spec.Delivery))),
			Delivery:      del,
			Order:         order,
			InitialOffset: initial,
			Generation:    m.Generation,
		}},
	})
}
