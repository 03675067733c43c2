// Package wire owns the names every Weft process shares on the wire: Kafka
// topic and consumer-group naming, the ingress paths, the CloudEvents
// extensions Knative defines and Weft sets, the data-plane roles, and how a
// bearer token travels and is read. It is a leaf: it imports nothing of Weft's,
// so the control plane and the data plane agree on each name by construction.
package wire

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Kafka names.
const (
	// BrokerTopicPrefix starts the name of every broker's topic.
	BrokerTopicPrefix = "weft.broker."
	// TriggerGroupPrefix starts the consumer group of every trigger: the
	// group holds the trigger's committed progress, so lag per trigger is
	// visible with any Kafka tool.
	TriggerGroupPrefix = "weft.trigger."
	// DispatcherGroupPrefix starts the consumer group the dispatcher fleet
	// shares for one broker: it divides the broker topic's partitions among
	// the dispatcher processes, each of which reads its partitions once for
	// all the broker's triggers.
	DispatcherGroupPrefix = "weft.dispatcher."
	// RetryTopicPrefix starts the name of every broker's retry topic: an
	// event whose next delivery attempt is far off waits there, so the
	// broker topic's partition commits past it.
	RetryTopicPrefix = "weft.retry."
	// RetryGroupPrefix starts the consumer group the dispatcher fleet shares
	// to divide a retry topic's partitions.
	RetryGroupPrefix = "weft.dispatcher-retry."
)

// Record headers of an event waiting in a retry topic (not ce_ headers: not
// CloudEvents attributes, never delivered).
const (
	// HeaderRetryTrigger is the key (uid) of the trigger the event is for.
	HeaderRetryTrigger = "weft-retry-trigger"
	// HeaderRetryAttempts is how many attempts were made, in decimal.
	HeaderRetryAttempts = "weft-retry-attempts"
	// HeaderRetryAt is when the next attempt is due, RFC 3339 (UTC,
	// nanoseconds).
	HeaderRetryAt = "weft-retry-at"
)

// BrokerTopic is the Kafka topic backing a broker.
func BrokerTopic(namespace, name string) string { return BrokerTopicPrefix + namespace + "." + name }

// TriggerGroup is the Kafka consumer group of a trigger.
func TriggerGroup(namespace, name string) string { return TriggerGroupPrefix + namespace + "." + name }

// DispatcherGroup is the consumer group of the dispatcher fleet for a broker.
func DispatcherGroup(namespace, broker string) string {
	return DispatcherGroupPrefix + namespace + "." + broker
}

// RetryTopic is the retry topic of a broker.
func RetryTopic(namespace, broker string) string {
	return RetryTopicPrefix + namespace + "." + broker
}

// RetryGroup is the consumer group of the dispatcher fleet for a broker's
// retry topic.
func RetryGroup(namespace, broker string) string {
	return RetryGroupPrefix + namespace + "." + broker
}

// BrokerPath is the HTTP path the ingress serves a broker at.
func BrokerPath(namespace, name string) string { return "/" + namespace + "/" + name }

// Messaging and flows names. A Channel is one topic; a Sequence has one
// topic per step (the step's input: step 0's is the Sequence's address, step
// i+1's holds step i's replies); a Parallel has an ingress topic and, for
// each branch with a filter, a branch topic holding the filter's replies.
// Each egress (Subscription, step, branch filter, branch subscriber) has its
// own consumer group. A name's last dot-separated part is always the step or
// branch index (or "in", "filter"), so no two resources share a topic or a
// group.
const (
	ChannelTopicPrefix      = "weft.channel."
	SubscriptionGroupPrefix = "weft.subscription."
	SequencePrefix          = "weft.sequence."
	ParallelPrefix          = "weft.parallel."
)

// ChannelTopic is the Kafka topic backing a channel.
func ChannelTopic(namespace, name string) string {
	return ChannelTopicPrefix + namespace + "." + name
}

// SubscriptionGroup is the Kafka consumer group of a Subscription.
func SubscriptionGroup(namespace, name string) string {
	return SubscriptionGroupPrefix + namespace + "." + name
}

// SequenceTopic is the input topic of step (0-based) of a Sequence.
func SequenceTopic(namespace, name string, step int) string {
	return SequencePrefix + namespace + "." + name + "." + strconv.Itoa(step)
}

// SequenceGroup is the consumer group of step (0-based) of a Sequence.
func SequenceGroup(namespace, name string, step int) string {
	return SequenceTopic(namespace, name, step)
}

// ParallelTopic is the ingress topic of a Parallel.
func ParallelTopic(namespace, name string) string {
	return ParallelPrefix + namespace + "." + name + ".in"
}

// ParallelBranchTopic holds the events branch (0-based) of a Parallel's
// filter passed.
func ParallelBranchTopic(namespace, name string, branch int) string {
	return ParallelPrefix + namespace + "." + name + "." + strconv.Itoa(branch)
}

// ParallelFilterGroup is the consumer group of a Parallel branch's filter.
func ParallelFilterGroup(namespace, name string, branch int) string {
	return ParallelBranchTopic(namespace, name, branch) + ".filter"
}

// ParallelSubscriberGroup is the consumer group of a Parallel branch's
// subscriber.
func ParallelSubscriberGroup(namespace, name string, branch int) string {
	return ParallelBranchTopic(namespace, name, branch)
}

// ChannelPath, SequencePath and ParallelPath are the HTTP paths the ingress
// serves those resources at; BrokerPath's two segments never clash with
// their three.
func ChannelPath(namespace, name string) string  { return "/channels/" + namespace + "/" + name }
func SequencePath(namespace, name string) string { return "/sequences/" + namespace + "/" + name }
func ParallelPath(namespace, name string) string { return "/parallels/" + namespace + "/" + name }

// KafkaSinkPath is the HTTP path the ingress serves a KafkaSink at.
func KafkaSinkPath(namespace, name string) string { return "/sinks/" + namespace + "/" + name }

// PingSourceTopicPrefix starts the internal topic of every PingSource: one
// partition holding one record per tick; the fleet's owner of partition 0
// (FleetGroupOf the topic) produces the ticks, and the source's egress
// (PingSourceGroup) delivers them.
const PingSourceTopicPrefix = "weft.ping."

// PingSourceTopic is the internal topic of a PingSource.
func PingSourceTopic(namespace, name string) string {
	return PingSourceTopicPrefix + namespace + "." + name
}

// PingSourceGroup is the consumer group of a PingSource's delivery to its sink.
func PingSourceGroup(namespace, name string) string {
	return PingSourceTopicPrefix + namespace + "." + name
}

// IsPingSourceTopic says whether topic is a PingSource's internal topic.
func IsPingSourceTopic(topic string) bool { return strings.HasPrefix(topic, PingSourceTopicPrefix) }

// HeaderPingTick is the record header of a PingSource tick: the scheduled
// time of the tick, RFC 3339 (UTC, nanoseconds). The dispatcher that takes
// over a PingSource reads it from the topic's last record to continue after
// it.
const HeaderPingTick = "weft-ping-tick"

// HeaderPollTime is the record header of an HTTPPollerSource's poll: when
// the request was sent, RFC 3339 (UTC, nanoseconds). The dispatcher that
// takes over the source reads it from the topic's last record and polls
// again one interval after it.
const HeaderPollTime = "weft-poll-time"

// SourceTopicPrefix starts the internal topic of every webhook source
// (WebhookSource, GitLabSource, GitHubSource) and HTTPPollerSource: the
// ingress (webhooks) or the fleet's owner of partition 0 (poller) appends
// one record per event, and the source's egress (SourceGroup) delivers them
// to its sink.
const SourceTopicPrefix = "weft.source."

// SourceTopic is the internal topic of a source of kind: "weft.source.",
// the kind in lower case, the namespace and the name, dot-separated.
func SourceTopic(kind, namespace, name string) string {
	return SourceTopicPrefix + strings.ToLower(kind) + "." + namespace + "." + name
}

// SourceGroup is the consumer group of a source's delivery to its sink.
func SourceGroup(kind, namespace, name string) string { return SourceTopic(kind, namespace, name) }

// SourcePath is the HTTP path the ingress serves a webhook source of kind
// at: "/sources/{kind, lower case}/{namespace}/{name}".
func SourcePath(kind, namespace, name string) string {
	return "/sources/" + strings.ToLower(kind) + "/" + namespace + "/" + name
}

// KafkaSourcePrefix starts the names Weft gives a KafkaSource's parts: the
// fleet's group on the source's cluster (KafkaSourceFleetGroup) and, through
// RetryTopicOf, its retry topic on Weft's cluster.
const KafkaSourcePrefix = "weft.kafkasource."

// KafkaSourceFleetGroup is the group, on a KafkaSource's cluster, through
// which the dispatcher replicas divide its topics' partitions.
func KafkaSourceFleetGroup(namespace, name string) string {
	return KafkaSourcePrefix + namespace + "." + name
}

// KafkaSourceRetryTopic is a KafkaSource's retry topic on Weft's cluster.
func KafkaSourceRetryTopic(namespace, name string) string {
	return RetryTopicOf(KafkaSourcePrefix + namespace + "." + name)
}

// KafkaSourceRetryGroup is the fleet's group of KafkaSourceRetryTopic.
func KafkaSourceRetryGroup(namespace, name string) string {
	return RetryGroupOf(KafkaSourcePrefix + namespace + "." + name)
}

// FleetGroupOf is the consumer group the dispatcher fleet shares to divide
// topic's partitions: DispatcherGroup for a broker topic, else
// "weft.dispatcher-" and the topic without its "weft." prefix.
func FleetGroupOf(topic string) string {
	if rest, ok := strings.CutPrefix(topic, BrokerTopicPrefix); ok {
		return DispatcherGroupPrefix + rest
	}
	return "weft.dispatcher-" + strings.TrimPrefix(topic, "weft.")
}

// RetryTopicOf is the retry topic of topic: RetryTopic for a broker topic,
// else "weft.retry-" and the topic without its "weft." prefix.
func RetryTopicOf(topic string) string {
	if rest, ok := strings.CutPrefix(topic, BrokerTopicPrefix); ok {
		return RetryTopicPrefix + rest
	}
	return "weft.retry-" + strings.TrimPrefix(topic, "weft.")
}

// RetryGroupOf is the fleet's consumer group of RetryTopicOf(topic).
func RetryGroupOf(topic string) string {
	if rest, ok := strings.CutPrefix(topic, BrokerTopicPrefix); ok {
		return RetryGroupPrefix + rest
	}
	return "weft.dispatcher-retry-" + strings.TrimPrefix(topic, "weft.")
}

// CloudEvents extensions (Knative's names).
const (
	// ExtArrivalTime is set by the ingress on every event it stores: when
	// it arrived (RFC 3339, UTC).
	ExtArrivalTime = "knativearrivaltime"
	// ArrivalTimeLayout is how the ingress writes ExtArrivalTime: RFC 3339
	// in UTC with millisecond precision.
	ArrivalTimeLayout = "2006-01-02T15:04:05.000Z07:00"
	// ExtBrokerTTL is the hop count of an event inside a broker: the
	// ingress sets DefaultTTL on events without one, a reply gets the
	// delivered event's count minus one and is dropped at zero. Subscribers
	// never see it.
	ExtBrokerTTL = "knativebrokerttl"
	// ExtErrorDest is the URL of the subscriber a dead-lettered event failed at.
	ExtErrorDest = "knativeerrordest"
	// ExtErrorCode is the last HTTP status code of a dead-lettered event, as
	// a decimal string; absent when the last attempt got no response.
	ExtErrorCode = "knativeerrorcode"
	// ExtErrorData is the base64 (standard, padded) of the start of the last
	// response body of a dead-lettered event, or of the error message when
	// there was no body.
	ExtErrorData = "knativeerrordata"
)

// DefaultTTL is the ExtBrokerTTL of an event that carries none.
const DefaultTTL int32 = 255

// Role is what a data-plane process does; it says so when it opens the
// contract stream, and a resource's readiness waits for the processes of the
// role that serve it.
type Role string

// The data-plane roles.
const (
	RoleIngress    Role = "ingress"
	RoleDispatcher Role = "dispatcher"
)

// ParseRole returns the Role named s.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleIngress, RoleDispatcher:
		return r, nil
	}
	return "", fmt.Errorf("role %q is not %q or %q", s, RoleIngress, RoleDispatcher)
}

// AuthorizationHeader carries the bearer token ("Bearer <token>"), in gRPC
// metadata as in HTTP.
const AuthorizationHeader = "authorization"

// BearerToken is gRPC per-RPC credentials carrying "authorization: Bearer
// <token>" (it implements credentials.PerRPCCredentials).
type BearerToken string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t BearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{AuthorizationHeader: "Bearer " + string(t)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials; Weft
// allows plaintext inside a cluster network.
func (BearerToken) RequireTransportSecurity() bool { return false }

// Errors of bearer-token checks.
var (
	ErrNoToken  = errors.New("missing bearer token")
	ErrBadToken = errors.New("invalid bearer token")
)

// CheckBearer checks an authorization header value against want in constant
// time: ErrNoToken when the header is empty, ErrBadToken when it is not
// "Bearer want".
func CheckBearer(header string, want string) error {
	if header == "" {
		return ErrNoToken
	}
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(want)) != 1 {
		return ErrBadToken
	}
	return nil
}

// ReadTokenFile reads a bearer token from path: the file's content without
// surrounding white space. An empty path means no token (""); a file that
// cannot be read, or holds only white space, is an error, so a process never
// runs without the authentication it was configured with.
func ReadTokenFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return tok, nil
}
