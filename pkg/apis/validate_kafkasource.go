package apis

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Validation of KafkaSource, as Knative's webhook checks it (topics and
// bootstrapServers required, initialOffset and ordering enums, sink,
// delivery, spec.consumerGroup immutable), plus Kafka's own rules for topic
// names and addresses. spec.net's TLS and SASL settings are resolved from
// their Secrets when the source compiles.

// maxConsumerGroupLength bounds spec.consumerGroup (Kafka sets no limit;
// Weft keeps group ids to what every tool displays).
const maxConsumerGroupLength = 255

// reservedGroupPrefix starts Weft's own groups; a source may not commit
// into them.
const reservedGroupPrefix = "weft."

// consumerGroupProblem returns why s is not a consumer group Weft accepts,
// or "".
func consumerGroupProblem(s string) string {
	switch {
	case len(s) > maxConsumerGroupLength:
		return fmt.Sprintf("must be no more than %d characters (got %d)", maxConsumerGroupLength, len(s))
	case strings.HasPrefix(s, reservedGroupPrefix):
		return fmt.Sprintf("must not start with %q: Weft's own consumer groups do", reservedGroupPrefix)
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return "must be printable ASCII without spaces (e.g. \"orders-to-billing\")"
		}
	}
	return ""
}

func validateKafkaSource(errs *errorList, k *KafkaSource) {
	s := &k.Spec
	ns := k.ObjectMeta.Namespace
	if len(s.BootstrapServers) == 0 {
		errs.add("spec.bootstrapServers", "", "required: at least one host:port of the Kafka cluster holding the topics (e.g. [\"kafka.example.com:9092\"])")
	}
	seen := map[string]int{}
	for i, hp := range s.BootstrapServers {
		path := fmt.Sprintf("spec.bootstrapServers[%d]", i)
		if p := hostPortProblem(hp); p != "" {
			errs.add(path, hp, "%s", p)
		} else if j, dup := seen[hp]; dup {
			errs.add(path, hp, "duplicate of spec.bootstrapServers[%d]", j)
		} else {
			seen[hp] = i
		}
	}
	if len(s.Topics) == 0 {
		errs.add("spec.topics", "", "required: at least one Kafka topic to read (e.g. [\"orders\"])")
	}
	seen = map[string]int{}
	for i, t := range s.Topics {
		path := fmt.Sprintf("spec.topics[%d]", i)
		if p := topicNameProblem(t); p != "" {
			errs.add(path, t, "%s", p)
		} else if j, dup := seen[t]; dup {
			errs.add(path, t, "duplicate of spec.topics[%d]; list each topic once", j)
		} else {
			seen[t] = i
		}
	}
	if s.ConsumerGroup != "" {
		if p := consumerGroupProblem(s.ConsumerGroup); p != "" {
			errs.add("spec.consumerGroup", s.ConsumerGroup, "%s", p)
		}
	}
	if c := s.Consumers; c != nil && *c < 1 {
		errs.add("spec.consumers", strconv.Itoa(int(*c)), "must be at least 1")
	}
	switch s.InitialOffset {
	case "", KafkaOffsetEarliest, KafkaOffsetLatest:
	default:
		errs.add("spec.initialOffset", s.InitialOffset, "must be %s or %s", KafkaOffsetEarliest, KafkaOffsetLatest)
	}
	if o := s.Ordering; o != nil && *o != KafkaOrdered && *o != KafkaUnordered {
		errs.add("spec.ordering", *o, "must be %s or %s", KafkaOrdered, KafkaUnordered)
	}
	validateDestination(errs, "spec.sink", &s.Sink, ns, false)
	validateDelivery(errs, "spec.delivery", s.Delivery, ns, false)
	validateCEOverrides(errs, "spec.ceOverrides", s.CloudEventOverrides)
	validateKafkaNet(errs, "spec.net", s.Net)
	if v, ok := k.ObjectMeta.Labels[LabelKafkaKeyType]; ok && !slices.Contains(KafkaKeyTypes, v) {
		errs.add("metadata.labels["+LabelKafkaKeyType+"]", v, "must be %s", strings.Join(KafkaKeyTypes, ", "))
	}
}

// validateKafkaNet checks spec.net: its secret references are well formed
// (what they hold is read when the source compiles).
func validateKafkaNet(errs *errorList, path string, n *KafkaNetSpec) {
	if n == nil {
		return
	}
	if s := n.SASL; s != nil {
		validateSecretValue(errs, path+".sasl.user", s.User, false, "")
		validateSecretValue(errs, path+".sasl.password", s.Password, false, "")
		validateSecretValue(errs, path+".sasl.type", s.Type, false, "")
	}
	if t := n.TLS; t != nil {
		validateSecretValue(errs, path+".tls.cert", t.Cert, false, "")
		validateSecretValue(errs, path+".tls.key", t.Key, false, "")
		validateSecretValue(errs, path+".tls.caCert", t.CACert, false, "")
	}
}

// validateKafkaSourceUpdate refuses a new spec.consumerGroup, as Knative's
// webhook does: the committed offsets live in the group, so another group
// would re-read or skip records. Topics and bootstrapServers may change (as
// in Knative): the group then starts on the new topics (or cluster) from
// spec.initialOffset.
func validateKafkaSourceUpdate(errs *errorList, old, new *KafkaSource) {
	if old.Spec.ConsumerGroup != new.Spec.ConsumerGroup {
		errs.addReason(reasonImmutable, "spec.consumerGroup", "", "immutable: cannot change from %q to %q; the source's committed offsets are in its consumer group; delete the KafkaSource and create another to use another group",
			old.Spec.ConsumerGroup, new.Spec.ConsumerGroup)
	}
}
