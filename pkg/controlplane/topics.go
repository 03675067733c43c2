package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// topicSpec is how the control plane creates a topic.
type topicSpec struct {
	partitions int32
	rf         int16
	configs    map[string]*string
}

// defaultTopicSpec is the configured size of a broker's (or channel's)
// topic.
func (s *Server) defaultTopicSpec() topicSpec {
	sp := topicSpec{partitions: int32(s.cfg.BrokerPartitions), rf: int16(s.cfg.BrokerReplicationFactor), configs: map[string]*string{}}
	if s.cfg.BrokerMaxMessageBytes > 0 {
		sp.configs["max.message.bytes"] = kadm.StringPtr(strconv.Itoa(s.cfg.BrokerMaxMessageBytes))
	}
	return sp
}

// sized applies a channel's (or channel template's) numPartitions,
// replicationFactor and retentionDuration (validated already) to sp.
func (sp topicSpec) sized(parts *int32, rf *int16, retention *string) topicSpec {
	if parts != nil {
		sp.partitions = *parts
	}
	if rf != nil {
		sp.rf = *rf
	}
	if retention != nil {
		if d, err := apis.ParseDuration(*retention); err == nil {
			c := make(map[string]*string, len(sp.configs)+1)
			for k, v := range sp.configs {
				c[k] = v
			}
			c["retention.ms"] = kadm.StringPtr(strconv.FormatInt(d.Milliseconds(), 10))
			sp.configs = c
		}
	}
	return sp
}

// templateSized sizes sp by a channel template's spec (nil: unchanged).
func (sp topicSpec) templateSized(t *apis.ChannelTemplateSpec) topicSpec {
	if t == nil || t.Spec == nil {
		return sp
	}
	return sp.sized(t.Spec.NumPartitions, t.Spec.ReplicationFactor, t.Spec.RetentionDuration)
}

// withRetry lists each topic followed by its retry topic.
func withRetry(topics ...string) []string {
	out := make([]string, 0, 2*len(topics))
	for _, t := range topics {
		out = append(out, t, wire.RetryTopicOf(t))
	}
	return out
}

// topicsOf returns the topics o needs (each with its retry topic, but a
// KafkaSink's topic, which no dispatcher reads) and how to create them; none
// for kinds without topics of their own. clusterOf says on which cluster.
func (s *Server) topicsOf(o apis.Object) (topicSpec, []string) {
	sp := s.defaultTopicSpec()
	switch t := o.(type) {
	case *apis.Broker:
		ns, name := t.ObjectMeta.Namespace, t.ObjectMeta.Name
		if v, ok := t.ObjectMeta.Annotations[apis.AnnotationPartitions]; ok {
			n, _ := strconv.Atoi(v) // validated already
			sp.partitions = int32(n)
		}
		if v, ok := t.ObjectMeta.Annotations[apis.AnnotationReplicationFactor]; ok {
			n, _ := strconv.Atoi(v)
			sp.rf = int16(n)
		}
		return sp, []string{wire.BrokerTopic(ns, name), wire.RetryTopic(ns, name)}
	case *apis.Channel:
		sp = sp.templateSized(t.Spec.ChannelTemplate).sized(t.Spec.NumPartitions, t.Spec.ReplicationFactor, t.Spec.RetentionDuration)
		return sp, withRetry(wire.ChannelTopic(t.ObjectMeta.Namespace, t.ObjectMeta.Name))
	case *apis.Sequence, *apis.Parallel:
		topics, _ := flowNames(o)
		return sp.templateSized(flowTemplate(o)), withRetry(topics...)
	case *apis.KafkaSink:
		return sp.sized(t.Spec.NumPartitions, t.Spec.ReplicationFactor, nil), []string{t.Spec.Topic}
	case *apis.PingSource:
		// One partition: one owner in the fleet produces the ticks, in
		// order, and reads the last one back when it takes over.
		sp.partitions = 1
		return sp, withRetry(wire.PingSourceTopic(t.ObjectMeta.Namespace, t.ObjectMeta.Name))
	case *apis.HTTPPollerSource:
		// One partition, as a PingSource's: one owner polls, in order,
		// and reads the last poll back when it takes over.
		sp.partitions = 1
		return sp, withRetry(wire.SourceTopic(apis.KindHTTPPollerSource, t.ObjectMeta.Namespace, t.ObjectMeta.Name))
	case *apis.WebhookSource, *apis.GitLabSource, *apis.GitHubSource:
		// One partition: the source's events are delivered in the order
		// the ingress stored them.
		m := o.GetObjectMeta()
		sp.partitions = 1
		return sp, withRetry(wire.SourceTopic(apis.KindOf(o), m.Namespace, m.Name))
	case *apis.KafkaSource:
		// Only its retry topic, on Weft's cluster: spec.topics are the
		// user's, on the source's cluster, and are never created here.
		return sp, []string{wire.KafkaSourceRetryTopic(t.ObjectMeta.Namespace, t.ObjectMeta.Name)}
	}
	return sp, nil
}

// clusterOf is the bootstrap servers of the cluster holding o's topics:
// nil for Weft's own, a KafkaSink's spec.bootstrapServers when set.
func clusterOf(o apis.Object) []string {
	if k, ok := o.(*apis.KafkaSink); ok {
		return k.Spec.BootstrapServers
	}
	return nil
}

func flowTemplate(o apis.Object) *apis.ChannelTemplateSpec {
	switch t := o.(type) {
	case *apis.Sequence:
		return t.Spec.ChannelTemplate
	case *apis.Parallel:
		return t.Spec.ChannelTemplate
	}
	return nil
}

// flowNames lists the topics (without retry topics) and consumer groups of
// a Sequence (a topic and a group per step) or a Parallel (its ingress
// topic, a topic and a filter group per branch with a filter, a subscriber
// group per branch).
func flowNames(o apis.Object) (topics, groups []string) {
	switch t := o.(type) {
	case *apis.Sequence:
		ns, name := t.ObjectMeta.Namespace, t.ObjectMeta.Name
		for i := range t.Spec.Steps {
			topics = append(topics, wire.SequenceTopic(ns, name, i))
			groups = append(groups, wire.SequenceGroup(ns, name, i))
		}
	case *apis.Parallel:
		ns, name := t.ObjectMeta.Namespace, t.ObjectMeta.Name
		topics = append(topics, wire.ParallelTopic(ns, name))
		for i, b := range t.Spec.Branches {
			if b.Filter != nil {
				topics = append(topics, wire.ParallelBranchTopic(ns, name, i))
				groups = append(groups, wire.ParallelFilterGroup(ns, name, i))
			}
			groups = append(groups, wire.ParallelSubscriberGroup(ns, name, i))
		}
	}
	return topics, groups
}

// flowPrefix starts the name of every topic and group of the Sequence or
// Parallel at k ("" for other kinds). Names are DNS labels, without dots, so
// no other flow's names share it.
func flowPrefix(k Key) string {
	switch k.Kind {
	case apis.KindSequence:
		return wire.SequencePrefix + k.Namespace + "." + k.Name + "."
	case apis.KindParallel:
		return wire.ParallelPrefix + k.Namespace + "." + k.Name + "."
	}
	return ""
}

// ensureTopics creates the topics o needs when they do not exist, on
// Weft's cluster or on the one o names (clusterOf). A topic that exists is
// left as it is.
func (s *Server) ensureTopics(ctx context.Context, o apis.Object) error {
	sp, topics := s.topicsOf(o)
	if len(topics) == 0 {
		return nil
	}
	adm, unavailable := s.adm, ErrUnavailable
	explain := func(err error) error { return err }
	if servers := clusterOf(o); len(servers) > 0 {
		var auth *weftv1.KafkaAuth
		if k, ok := o.(*apis.KafkaSink); ok {
			secrets := []*apis.Secret{}
			for _, so := range s.store.Snapshot().List(apis.KindSecret, k.ObjectMeta.Namespace) {
				if sec, ok := so.(*apis.Secret); ok {
					secrets = append(secrets, sec)
				}
			}
			var err error
			if auth, err = compile.KafkaSinkAuth(k, secrets); err != nil {
				return fmt.Errorf("%w: bootstrap servers %s: %w (create the Secret before the KafkaSink)",
					ErrClusterUnavailable, strings.Join(servers, ","), err)
			}
		}
		cl, err := s.remoteClient(servers, auth)
		if err != nil {
			return err
		}
		defer cl.Close()
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.remoteAdminTimeout)
		defer cancel()
		adm, unavailable = kadm.NewClient(cl), fmt.Errorf("%w: bootstrap servers %s", ErrClusterUnavailable, strings.Join(servers, ","))
		explain = func(err error) error { return kafka.Explain(cl, err) }
	}
	for _, topic := range topics {
		resp, err := adm.CreateTopic(ctx, sp.partitions, sp.rf, sp.configs, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("%w: create topic %s: %w", unavailable, topic, explain(err))
		}
	}
	return nil
}

// remoteClient is a short-lived client of the Kafka cluster at servers
// (Close it), reached with auth (a KafkaSink's spec.auth.secret; nil:
// plaintext). Like the ingress's producer for that cluster, it never uses
// Weft's own TLS and SASL settings: those are credentials for Weft's
// cluster, not to be sent to another.
func (s *Server) remoteClient(servers []string, auth *weftv1.KafkaAuth) (*kgo.Client, error) {
	base := kafka.DefaultConfig()
	cfg := base.ForCluster(servers, auth)
	cl, err := cfg.NewClient(s.logger)
	if err != nil {
		return nil, fmt.Errorf("%w: bootstrap servers %s: %w", ErrClusterUnavailable, strings.Join(servers, ","), err)
	}
	return cl, nil
}

// deleteTopics deletes topics (missing is fine).
func (s *Server) deleteTopics(ctx context.Context, topics ...string) error {
	for _, topic := range topics {
		resp, err := s.adm.DeleteTopic(ctx, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("delete topic %s: %w", topic, err)
		}
	}
	return nil
}

// deleteGroups deletes consumer groups (missing is fine).
func (s *Server) deleteGroups(ctx context.Context, groups ...string) error {
	for _, group := range groups {
		resp, err := s.adm.DeleteGroup(ctx, group)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return fmt.Errorf("delete consumer group %s: %w", group, err)
		}
	}
	return nil
}

// deleteFlowResources deletes every topic (with its retry topic) and group
// named after the Sequence or Parallel at k, however many steps or branches
// it had.
func (s *Server) deleteFlowResources(ctx context.Context, k Key) error {
	prefix := flowPrefix(k)
	retryPrefix := wire.RetryTopicOf(prefix)
	topics, err := s.adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var del []string
	for _, t := range topics.Names() {
		if strings.HasPrefix(t, prefix) || strings.HasPrefix(t, retryPrefix) {
			del = append(del, t)
		}
	}
	if err := s.deleteTopics(ctx, del...); err != nil {
		return err
	}
	groups, err := s.adm.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("list consumer groups: %w", err)
	}
	var gs []string
	for _, g := range groups.Groups() {
		if strings.HasPrefix(g, prefix) {
			gs = append(gs, g)
		}
	}
	return s.deleteGroups(ctx, gs...)
}

// startOf says where a new Trigger or Subscription starts: the topic it
// consumes, its consumer group, whether it starts at the earliest offset
// (annotation weft.dev/initial-offset: earliest) rather than the end, and
// the object its topic belongs to (ok is false for other kinds).
func startOf(o apis.Object) (topic, group string, earliest bool, owner Key, ok bool) {
	switch t := o.(type) {
	case *apis.Trigger:
		m := &t.ObjectMeta
		return wire.BrokerTopic(m.Namespace, t.Spec.Broker), wire.TriggerGroup(m.Namespace, m.Name),
			m.Annotations[apis.AnnotationInitialOffset] == "earliest", Key{apis.KindBroker, m.Namespace, t.Spec.Broker}, true
	case *apis.Subscription:
		m := &t.ObjectMeta
		return wire.ChannelTopic(m.Namespace, t.Spec.Channel.Name), wire.SubscriptionGroup(m.Namespace, m.Name),
			m.Annotations[apis.AnnotationInitialOffset] == "earliest", Key{apis.KindChannel, m.Namespace, t.Spec.Channel.Name}, true
	}
	return "", "", false, Key{}, false
}

// fixStartOffsets commits a new trigger's or subscription's consumer-group
// offsets at its topic's end (latest) or start (earliest), so the starting
// point is fixed durably at creation however late a dispatcher joins.
// Without a topic (no broker or channel yet) nothing is committed: the
// dispatcher then starts at the beginning of the topic once it exists, so
// nothing is skipped.
func (s *Server) fixStartOffsets(ctx context.Context, o apis.Object, topicExists bool) error {
	topic, group, earliest, _, ok := startOf(o)
	if !ok || !topicExists {
		return nil
	}
	var offs kadm.ListedOffsets
	var err error
	if earliest {
		offs, err = s.adm.ListStartOffsets(ctx, topic)
	} else {
		offs, err = s.adm.ListEndOffsets(ctx, topic)
	}
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return fmt.Errorf("%w: list offsets of %s: %w", ErrUnavailable, topic, err)
	}
	resp, err := s.adm.CommitOffsets(ctx, group, offs.Offsets())
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("%w: commit start offsets of %s: %w", ErrUnavailable, group, err)
	}
	return nil
}

// groupDeleteWait bounds how long a deleted trigger's consumer group waits
// for the dispatchers to stop running the trigger before it is deleted.
const groupDeleteWait = time.Minute

// whenDispatched runs del in the background once every dispatcher
// acknowledged the contract of state version (or after groupDeleteWait): a
// dispatcher commits a removed egress's last offsets before it
// acknowledges, and would make its group again. It is best effort: a later
// resource of the same name overwrites the offsets at creation anyway.
func (s *Server) whenDispatched(what string, version uint64, del func(context.Context) error) {
	s.bg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		deadline := time.Now().Add(groupDeleteWait)
		for !s.DataPlaneApplied(wire.RoleDispatcher, version) && time.Now().Before(deadline) {
			select {
			case <-s.bgCtx.Done():
				return
			case <-t.C:
			}
		}
		ctx, cancel := context.WithTimeout(s.bgCtx, 10*time.Second)
		defer cancel()
		if err := del(ctx); err != nil {
			s.logger.Debug("delete the Kafka resources of a deleted resource (best effort)", "resource", what, "err", err)
		}
	})
}

// deleteGroupWhenDispatched removes a deleted trigger's, subscription's or
// flow's Kafka resources once the dispatchers stopped running it.
func (s *Server) deleteGroupWhenDispatched(k Key, version uint64) {
	s.whenDispatched(k.String(), version, func(ctx context.Context) error { return s.DeleteKafkaResources(ctx, k) })
}
