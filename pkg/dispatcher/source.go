package dispatcher

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// A KafkaSource's topics live on another Kafka cluster (its
// bootstrap_servers). Its one egress becomes one spec per topic, keyed
// "{uid}#{topic}" so a record in the retry topic names the topic's spec,
// and each topic gets a reader of its own (never shared with a Weft topic,
// another source, or the same topic name on another cluster: readerPlan.key)
// whose Kafka clients — the fleet group's member, the admin client, each
// lane's catch-up client — reach the source's cluster:
//
//   - the fleet's group (kafka_source.fleet_group) divides the topics'
//     partitions among the dispatchers on the source's cluster;
//   - the egress's consumer group (spec.consumerGroup) holds the delivered
//     prefix of each partition, committed there (a group without members,
//     like a trigger's), only once a record is delivered, dead-lettered or
//     parked in the retry topic;
//   - a partition its group has no offset for starts at its end (initial
//     offset latest, the default) or its log start (earliest); a latest
//     start is committed at once, so records produced after it are never
//     skipped by a restart;
//   - a record that is a CloudEvent is delivered as it is; any other becomes
//     Knative's dev.knative.kafka.event (cekafka.KafkaSourceEvent); the
//     source's extensions (ceOverrides) are set on every event;
//   - an event waiting for a far retry goes, encoded as a CloudEvent, to the
//     source's retry topic on Weft's cluster (kafka_source.retry_topic, read
//     through wire.KafkaSourceRetryGroup), whose reader resumes it; the
//     egress's progress on that topic is committed in a group of the same
//     name on Weft's cluster.

// KindKafkaSource is the contract kind of a KafkaSource.
const KindKafkaSource = "KafkaSource"

// sourcePlan is a compiled KafkaSource: where its topics are and how their
// records become events. Immutable.
type sourcePlan struct {
	id      string            // the source's uid (namespace/name without one)
	cluster []string          // bootstrap servers, sorted, without duplicates
	auth    *weftv1.KafkaAuth // how to reach them (nil: plaintext)
	// clusterKey names the servers and the auth (a digest: a source whose
	// credentials change gets new readers).
	clusterKey string
	topics     []string // in the contract's order, without duplicates
	fleetGroup string
	retryTopic string
	retryGroup string
	// event names the source in the events it makes, with its key type.
	event cekafka.KafkaSource
	// extensions are set on every event (names sdk-go refuses are left out).
	extensions map[string]string
}

// compileSource compiles the kafka_source of a KafkaSource's entry (nil for
// any other kind).
func compileSource(in *weftv1.Ingress) (*sourcePlan, error) {
	if in.GetKind() != KindKafkaSource {
		return nil, nil
	}
	ks := in.GetKafkaSource()
	ref := in.GetNamespace() + "/" + in.GetName()
	bad := func(what string) error {
		return fmt.Errorf("%w: KafkaSource %s: %s", ErrInvalidContract, ref, what)
	}
	switch {
	case ks == nil:
		return nil, bad("no kafka_source")
	case len(ks.GetBootstrapServers()) == 0 || slices.Contains(ks.GetBootstrapServers(), ""):
		return nil, bad("no bootstrap servers")
	case len(ks.GetTopics()) == 0 || slices.Contains(ks.GetTopics(), ""):
		return nil, bad("no topics, or an empty topic name")
	case ks.GetFleetGroup() == "":
		return nil, bad("no fleet group")
	case ks.GetRetryTopic() == "":
		return nil, bad("no retry topic")
	}
	cluster := slices.Clone(ks.GetBootstrapServers())
	slices.Sort(cluster)
	cluster = slices.Compact(cluster)
	var topics []string
	for _, t := range ks.GetTopics() {
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	exts := map[string]string{}
	for k, v := range ks.GetExtensions() {
		if event.IsExtensionNameValid(k) {
			exts[k] = v
		}
	}
	id := in.GetUid()
	if id == "" {
		id = ref
	}
	return &sourcePlan{
		id:         id,
		cluster:    cluster,
		auth:       ks.GetAuth(),
		clusterKey: kafka.ClusterKey(cluster, ks.GetAuth()),
		topics:     topics,
		fleetGroup: ks.GetFleetGroup(),
		retryTopic: ks.GetRetryTopic(),
		retryGroup: wire.KafkaSourceRetryGroup(in.GetNamespace(), in.GetName()),
		event:      cekafka.KafkaSource{Namespace: in.GetNamespace(), Name: in.GetName(), KeyType: ks.GetKeyType()},
		extensions: exts,
	}, nil
}

// apply makes spec (one topic of the source's egress eg) read on the
// source's cluster.
func (p *sourcePlan) apply(spec *egressSpec, eg *weftv1.Egress) {
	spec.fleetGroup = p.fleetGroup
	spec.retryTopic = p.retryTopic
	spec.retryGroup = p.retryGroup
	spec.source = p
	spec.startLatest = eg.GetInitialOffset() != weftv1.InitialOffset_INITIAL_OFFSET_EARLIEST
}

// readerPlan is what one reader reads: a topic, on Weft's cluster or a
// KafkaSource's, through the fleet's group.
type readerPlan struct {
	// key names the reader among the dispatcher's readers: the topic for
	// Weft's topics (retry topics included), else the source, its cluster
	// and the topic.
	key   string
	topic string
	group string
	retry bool
	// source is the KafkaSource whose topic this is (nil: a Weft topic).
	source *sourcePlan
}

// planOf is the plan of the reader of spec's topic, or of its retry topic.
func planOf(spec *egressSpec, retry bool) readerPlan {
	switch {
	case retry:
		return readerPlan{key: spec.retryTopic, topic: spec.retryTopic, group: spec.retryGroup, retry: true}
	case spec.source != nil:
		src := spec.source
		return readerPlan{
			key:   "kafkasource|" + src.id + "|" + src.clusterKey + "|" + spec.topic,
			topic: spec.topic, group: spec.fleetGroup, source: src,
		}
	}
	return readerPlan{key: spec.topic, topic: spec.topic, group: spec.fleetGroup}
}

// decodeSource decodes a record of a KafkaSource's topic: a CloudEvent as it
// is, anything else as Knative's KafkaSource event; the source's extensions
// are set on both.
func decodeSource(src *sourcePlan, rec *kgo.Record) (*event.Event, error) {
	ev, err := cekafka.FromSourceRecord(rec, src.event)
	if err != nil {
		return nil, err
	}
	for k, v := range src.extensions {
		ev.SetExtension(k, v)
	}
	return ev, nil
}

// attributeHeaders is cekafka.AttributeHeaders of a Weft topic's record;
// a KafkaSource's records have no such lookup (their events get the
// source's extensions, which the headers do not show), so filters decide on
// the decoded event.
func (r *reader) attributeHeaders(rec *kgo.Record) (func(string) (string, bool), bool) {
	if r.source.Load() != nil {
		return nil, false
	}
	return cekafka.AttributeHeaders(rec)
}

// sourceRetryRecord is it's record for the retry topic of a KafkaSource's
// spec: the event as a CloudEvent (its record on the source's cluster may
// not be one), the record's key, its trace context, and the retry headers.
func (r *reader) sourceRetryRecord(spec *egressSpec, it *item, attempts int, due time.Time) (*kgo.Record, error) {
	rec, err := cekafka.ToRecord(spec.retryTopic, it.ev)
	if err != nil {
		return nil, fmt.Errorf("encode event %q for the retry topic: %w", it.ev.ID(), err)
	}
	rec.Key = it.rec.Key
	r.d.propagator.Inject(it.traceContext(context.Background()), cekafka.HeaderCarrier{R: rec})
	rec.Headers = append(rec.Headers,
		kgo.RecordHeader{Key: wire.HeaderRetryTrigger, Value: []byte(spec.key)},
		kgo.RecordHeader{Key: wire.HeaderRetryAttempts, Value: []byte(strconv.Itoa(attempts))},
		kgo.RecordHeader{Key: wire.HeaderRetryAt, Value: []byte(due.UTC().Format(time.RFC3339Nano))},
	)
	return rec, nil
}
