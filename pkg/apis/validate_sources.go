package apis

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Validation of the sources and sinks kinds, as Knative's webhooks for
// eventing-kafka-broker check them, with Kafka's own rules for topic names
// and addresses.

// maxTopicNameLength is Kafka's limit on a topic name.
const maxTopicNameLength = 249

// topicNameRe is Kafka's legal topic name characters.
var topicNameRe = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// topicNameProblem returns why s is not a legal Kafka topic name, or "".
func topicNameProblem(s string) string {
	switch {
	case s == "":
		return "required"
	case len(s) > maxTopicNameLength:
		return fmt.Sprintf("must be no more than %d characters (got %d)", maxTopicNameLength, len(s))
	case s == "." || s == "..":
		return "must not be \".\" or \"..\""
	case !topicNameRe.MatchString(s):
		return "must be a Kafka topic name: letters, digits, '.', '_' and '-' (e.g. \"orders.v1\")"
	}
	return ""
}

// hostPortProblem returns why s is not host:port with a port 1..65535, or "".
func hostPortProblem(s string) string {
	const want = "must be host:port (e.g. \"kafka.example.com:9092\")"
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return want
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return want + " with a port between 1 and 65535"
	}
	return ""
}

func validateKafkaSink(errs *errorList, k *KafkaSink) {
	s := &k.Spec
	if p := topicNameProblem(s.Topic); p == "required" {
		errs.add("spec.topic", "", "required: the Kafka topic events are written to")
	} else if p != "" {
		errs.add("spec.topic", s.Topic, "%s", p)
	}
	validateTopicSpec(errs, "spec", s.NumPartitions, s.ReplicationFactor, nil)
	for i, hp := range s.BootstrapServers {
		if p := hostPortProblem(hp); p != "" {
			errs.add(fmt.Sprintf("spec.bootstrapServers[%d]", i), hp, "%s", p)
		}
	}
	if m := s.ContentMode; m != nil && *m != ContentModeBinary && *m != ContentModeStructured {
		errs.add("spec.contentMode", *m, "must be %s or %s", ContentModeBinary, ContentModeStructured)
	}
	if a := s.Auth; a != nil && a.Secret != nil && a.Secret.Ref != nil {
		if p := dns1123Subdomain(a.Secret.Ref.Name); p != "" {
			errs.add("spec.auth.secret.ref.name", a.Secret.Ref.Name, "%s", p)
		}
	}
}

// validateKafkaSinkUpdate refuses what would silently split a sink's data
// between two topics: a new spec.topic (immutable in Knative's KafkaSink
// webhook) or new spec.bootstrapServers (another cluster).
func validateKafkaSinkUpdate(errs *errorList, old, new *KafkaSink) {
	const what = "a KafkaSink keeps writing where it started; delete it and create another to write elsewhere"
	if old.Spec.Topic != new.Spec.Topic {
		errs.addReason(reasonImmutable, "spec.topic", "", "immutable: cannot change from %q to %q; %s", old.Spec.Topic, new.Spec.Topic, what)
	}
	if !slices.Equal(old.Spec.BootstrapServers, new.Spec.BootstrapServers) {
		errs.addReason(reasonImmutable, "spec.bootstrapServers", "", "immutable: cannot change from %q to %q; %s",
			strings.Join(old.Spec.BootstrapServers, ","), strings.Join(new.Spec.BootstrapServers, ","), what)
	}
}
