package apis

import (
	"fmt"
	"reflect"
	"strconv"
)

// Validation of the messaging and flows kinds, as Knative's webhooks check
// them (knative.dev/eventing pkg/apis/messaging/v1 and flows/v1, and the
// KafkaChannel webhook of eventing-kafka-broker), with Weft's limits: every
// channel is a Kafka topic, so a channelTemplate names InMemoryChannel or
// KafkaChannel, and a Subscription's channel is in its own namespace.
//
// Unlike Knative, a Channel's and a flow's spec.channelTemplate are optional
// (Knative's defaulting webhook fills them in; Weft needs none). Destinations
// of Subscriptions, Sequences and Parallels may name objects in other
// namespaces, as Knative's webhooks allow.

// channelTemplateKinds says which channel templates Weft accepts.
var channelTemplateKinds = fmt.Sprintf("Weft channels are Kafka topics: a channelTemplate names %s (%s) or %s (%s)",
	KindInMemoryChannel, MessagingV1, KindKafkaChannel, MessagingV1beta1)

// article is "a" or "an" for a kind name in messages.
func article(kind string) string {
	switch kind {
	case KindInMemoryChannel:
		return "an " + kind
	}
	return "a " + kind
}

// channelKind is the kind a Channel object was written as (Channel when unset).
func channelKind(c *Channel) string {
	if c.TypeMeta.Kind == "" {
		return KindChannel
	}
	return c.TypeMeta.Kind
}

func validateChannel(errs *errorList, c *Channel) {
	ns := c.ObjectMeta.Namespace
	kind := channelKind(c)
	s := &c.Spec
	if t := s.ChannelTemplate; t != nil {
		if kind == KindChannel {
			validateChannelTemplate(errs, "spec.channelTemplate", t, ns)
		} else {
			errs.add("spec.channelTemplate", "", "not allowed on %s: only a Channel names the kind of channel backing it (to size the topic, write a KafkaChannel with numPartitions, replicationFactor and retentionDuration in its spec)", article(kind))
		}
	}
	if kind == KindKafkaChannel {
		validateTopicSpec(errs, "spec", s.NumPartitions, s.ReplicationFactor, s.RetentionDuration)
	} else {
		hint := ""
		if kind == KindChannel {
			hint = fmt.Sprintf("; on a Channel, set it in spec.channelTemplate.spec with channelTemplate kind %s (apiVersion %s)", KindKafkaChannel, MessagingV1beta1)
		}
		for _, f := range topicFields(s.NumPartitions, s.ReplicationFactor, s.RetentionDuration) {
			errs.add("spec."+f.name, f.value, "only on a KafkaChannel (%s), not on %s%s", MessagingV1beta1, article(kind), hint)
		}
	}
	// Knative lets a channel's dead-letter sink live in another namespace, as a Broker's.
	validateDelivery(errs, "spec.delivery", s.Delivery, ns, false)
}

// topicField is one topic-sizing field that is set, for "only on" messages.
type topicField struct{ name, value string }

// topicFields lists the topic-sizing fields that are set.
func topicFields(partitions *int32, rf *int16, retention *string) []topicField {
	var out []topicField
	if partitions != nil {
		out = append(out, topicField{"numPartitions", strconv.Itoa(int(*partitions))})
	}
	if rf != nil {
		out = append(out, topicField{"replicationFactor", strconv.Itoa(int(*rf))})
	}
	if retention != nil {
		out = append(out, topicField{"retentionDuration", *retention})
	}
	return out
}

// validateTopicSpec checks the topic sizing under path of a KafkaChannel
// (or KafkaChannel template, or KafkaSink: retention nil): numPartitions 1..MaxPartitions, replicationFactor
// 1..MaxReplicationFactor, retentionDuration an ISO-8601 duration > 0.
func validateTopicSpec(errs *errorList, path string, partitions *int32, rf *int16, retention *string) {
	if p := partitions; p != nil && (*p < 1 || *p > MaxPartitions) {
		errs.add(path+".numPartitions", strconv.Itoa(int(*p)), "must be between 1 and %d (the number of partitions of the topic)", MaxPartitions)
	}
	if r := rf; r != nil && (*r < 1 || int64(*r) > MaxReplicationFactor) {
		errs.add(path+".replicationFactor", strconv.Itoa(int(*r)), "must be between 1 and %d", MaxReplicationFactor)
	}
	validateDuration(errs, path+".retentionDuration", retention, false)
}

// validateChannelTemplate checks a Channel's or a flow's spec.channelTemplate.
func validateChannelTemplate(errs *errorList, path string, t *ChannelTemplateSpec, ns string) {
	switch t.Kind {
	case "":
		errs.add(path+".kind", "", "required; %s", channelTemplateKinds)
	case KindInMemoryChannel, KindKafkaChannel:
		want := DefaultAPIVersion(t.Kind)
		switch t.APIVersion {
		case want:
		case "":
			errs.add(path+".apiVersion", "", "required: %s for %s", want, article(t.Kind))
		default:
			errs.add(path+".apiVersion", t.APIVersion, "must be %s for %s template", want, article(t.Kind))
		}
	default:
		errs.add(path+".kind", t.Kind, "unsupported channel kind; %s", channelTemplateKinds)
		if t.APIVersion == "" {
			errs.add(path+".apiVersion", "", "required (%s or %s)", MessagingV1, MessagingV1beta1)
		}
	}
	p := t.Spec
	if p == nil {
		return
	}
	switch t.Kind {
	case KindKafkaChannel:
		validateTopicSpec(errs, path+".spec", p.NumPartitions, p.ReplicationFactor, p.RetentionDuration)
	case KindInMemoryChannel:
		for _, f := range topicFields(p.NumPartitions, p.ReplicationFactor, p.RetentionDuration) {
			errs.add(path+".spec."+f.name, f.value, "only in a KafkaChannel template: set the template's kind to %s and apiVersion to %s to size the topic", KindKafkaChannel, MessagingV1beta1)
		}
	}
	validateDelivery(errs, path+".spec.delivery", p.Delivery, ns, false)
}

// isEmptyDestination reports whether d is unset or {} (Knative's
// isDestinationNilOrEmpty).
func isEmptyDestination(d *Destination) bool {
	return d == nil || reflect.DeepEqual(*d, Destination{})
}

func validateSubscription(errs *errorList, s *Subscription) {
	ns := s.ObjectMeta.Namespace
	validateConsumerAnnotations(errs, s.ObjectMeta.Annotations)
	validateChannelReference(errs, "spec.channel", &s.Spec.Channel, ns)
	hasSubscriber, hasReply := !isEmptyDestination(s.Spec.Subscriber), !isEmptyDestination(s.Spec.Reply)
	if !hasSubscriber && !hasReply {
		errs.add("spec.subscriber", "", "expected at least one of spec.subscriber and spec.reply, got none: the subscriber receives the channel's events, reply receives the subscriber's replies (or, alone, the events themselves)")
	}
	if hasSubscriber {
		validateDestination(errs, "spec.subscriber", s.Spec.Subscriber, ns, false)
	}
	if hasReply {
		validateDestination(errs, "spec.reply", s.Spec.Reply, ns, false)
	}
	validateDelivery(errs, "spec.delivery", s.Spec.Delivery, ns, false)
}

// validateChannelReference checks a Subscription's spec.channel: a Channel,
// InMemoryChannel or KafkaChannel, by name, in the Subscription's namespace.
func validateChannelReference(errs *errorList, path string, r *ChannelReference, ns string) {
	if *r == (ChannelReference{}) {
		errs.add(path, "", "required: the channel whose events the Subscription receives (apiVersion, kind and name, e.g. {apiVersion: %s, kind: %s, name: my-channel})", MessagingV1, KindChannel)
		return
	}
	if p := dns1123Label(r.Name); p != "" {
		errs.add(path+".name", r.Name, "%s", p)
	}
	switch r.Kind {
	case "":
		errs.add(path+".kind", "", "required: %s, %s or %s", KindChannel, KindInMemoryChannel, KindKafkaChannel)
	case KindChannel, KindInMemoryChannel, KindKafkaChannel:
		want := DefaultAPIVersion(r.Kind)
		switch r.APIVersion {
		case want:
		case "":
			errs.add(path+".apiVersion", "", "required: %s for %s", want, article(r.Kind))
		default:
			errs.add(path+".apiVersion", r.APIVersion, "must be %s for %s", want, article(r.Kind))
		}
	default:
		errs.add(path+".kind", r.Kind, "must be %s, %s or %s: a Subscription receives the events of a Weft channel", KindChannel, KindInMemoryChannel, KindKafkaChannel)
		if r.APIVersion == "" {
			errs.add(path+".apiVersion", "", "required (%s, or %s for a KafkaChannel)", MessagingV1, MessagingV1beta1)
		}
	}
	if r.Namespace != "" && r.Namespace != ns {
		errs.add(path+".namespace", r.Namespace, "must be empty or the Subscription's namespace %q: channels in other namespaces are not supported", ns)
	}
}

// effectiveChannel is r with its namespace defaulted to ns, for comparisons.
func effectiveChannel(r ChannelReference, ns string) ChannelReference {
	if r.Namespace == "" {
		r.Namespace = ns
	}
	return r
}

func channelRefString(r ChannelReference) string {
	return fmt.Sprintf("%s %s/%s (%s)", r.Kind, r.Namespace, r.Name, r.APIVersion)
}

func validateSubscriptionUpdate(errs *errorList, old, new *Subscription) {
	oc := effectiveChannel(old.Spec.Channel, old.ObjectMeta.Namespace)
	nc := effectiveChannel(new.Spec.Channel, new.ObjectMeta.Namespace)
	if oc != nc {
		errs.addReason(reasonImmutable, "spec.channel", "", "immutable: cannot change from %q to %q; delete the Subscription and create it again to move it to another channel",
			channelRefString(oc), channelRefString(nc))
	}
}

// validateChannelUpdate refuses what Knative's webhooks refuse and Weft
// cannot apply to an existing topic: changing the kind (an InMemoryChannel
// and a KafkaChannel are different Knative resources), the channelTemplate
// (immutable by the Knative spec) and a KafkaChannel's topic sizing
// (immutable in Knative's KafkaChannel webhook). spec.delivery may change.
func validateChannelUpdate(errs *errorList, old, new *Channel) {
	immutable := func(path, from, to, what string) {
		errs.addReason(reasonImmutable, path, "", "immutable: cannot change from %q to %q; %s", from, to, what)
	}
	ok, nk := channelKind(old), channelKind(new)
	if ok != nk {
		immutable("kind", ok, nk, fmt.Sprintf("delete the %s and create the %s", ok, nk))
	}
	if !reflect.DeepEqual(old.Spec.ChannelTemplate, new.Spec.ChannelTemplate) {
		immutable("spec.channelTemplate", templateString(old.Spec.ChannelTemplate), templateString(new.Spec.ChannelTemplate),
			"a Channel's channelTemplate cannot change; delete the Channel and create it again")
	}
	for _, f := range []struct {
		name     string
		old, new string
	}{
		{"numPartitions", optString(old.Spec.NumPartitions), optString(new.Spec.NumPartitions)},
		{"replicationFactor", optString(old.Spec.ReplicationFactor), optString(new.Spec.ReplicationFactor)},
		{"retentionDuration", optString(old.Spec.RetentionDuration), optString(new.Spec.RetentionDuration)},
	} {
		if f.old != f.new {
			immutable("spec."+f.name, f.old, f.new, "the topic of a KafkaChannel keeps the size it was created with; delete the channel and create it again")
		}
	}
}

// optString renders an optional scalar for messages ("<unset>" when nil).
func optString[T int32 | int16 | string](p *T) string {
	if p == nil {
		return "<unset>"
	}
	return fmt.Sprint(*p)
}

func templateString(t *ChannelTemplateSpec) string {
	if t == nil {
		return "<none>"
	}
	s := fmt.Sprintf("%s (%s)", t.Kind, t.APIVersion)
	if p := t.Spec; p != nil {
		s += fmt.Sprintf(" numPartitions %s, replicationFactor %s, retentionDuration %s",
			optString(p.NumPartitions), optString(p.ReplicationFactor), optString(p.RetentionDuration))
	}
	return s
}

func validateSequence(errs *errorList, s *Sequence) {
	ns := s.ObjectMeta.Namespace
	if len(s.Spec.Steps) == 0 {
		errs.add("spec.steps", "", "required: at least one step (a destination with a ref, a uri, or both), called in order")
	}
	for i := range s.Spec.Steps {
		st := &s.Spec.Steps[i]
		path := fmt.Sprintf("spec.steps[%d]", i)
		validateDestination(errs, path, &st.Destination, ns, false)
		validateDelivery(errs, path+".delivery", st.Delivery, ns, false)
	}
	if s.Spec.ChannelTemplate != nil {
		validateChannelTemplate(errs, "spec.channelTemplate", s.Spec.ChannelTemplate, ns)
	}
	if s.Spec.Reply != nil {
		validateDestination(errs, "spec.reply", s.Spec.Reply, ns, false)
	}
}

func validateParallel(errs *errorList, p *Parallel) {
	ns := p.ObjectMeta.Namespace
	if len(p.Spec.Branches) == 0 {
		errs.add("spec.branches", "", "required: at least one branch (each with a subscriber, and optionally a filter and a reply)")
	}
	for i := range p.Spec.Branches {
		b := &p.Spec.Branches[i]
		path := fmt.Sprintf("spec.branches[%d]", i)
		if b.Filter != nil {
			validateDestination(errs, path+".filter", b.Filter, ns, false)
		}
		if isEmptyDestination(&b.Subscriber) {
			errs.add(path+".subscriber", "", "required: the destination (ref, uri, or both) that receives the events of the branch")
		} else {
			validateDestination(errs, path+".subscriber", &b.Subscriber, ns, false)
		}
		if b.Reply != nil {
			validateDestination(errs, path+".reply", b.Reply, ns, false)
		}
		validateDelivery(errs, path+".delivery", b.Delivery, ns, false)
	}
	if p.Spec.ChannelTemplate != nil {
		validateChannelTemplate(errs, "spec.channelTemplate", p.Spec.ChannelTemplate, ns)
	}
	if p.Spec.Reply != nil {
		validateDestination(errs, "spec.reply", p.Spec.Reply, ns, false)
	}
}
