package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/wire"
)

// The methods in this file let another source of truth drive the state:
// in Kubernetes mode the Kubernetes API holds the resources, and the
// control plane's leader mirrors every Weft resource into the store, where
// every replica compiles it into the contract with the store's one global
// order of versions (so data-plane acknowledgements mean the same on every
// replica).

// Mirror stores o as its source of truth holds it: uid, generation,
// creation time, labels and annotations are kept as given, not assigned.
// The caller has validated o. The topics of a broker, channel, sequence or
// parallel are created first (as Apply does); a trigger's or subscription's
// start offsets are not fixed here (FixStartOffsets, at its admission). Nothing is written when the stored object
// already equals o.
func (s *Server) Mirror(ctx context.Context, o apis.Object) error {
	o = apis.DeepCopy(o)
	o.GetObjectMeta().ResourceVersion = ""
	apis.ClearStatus(o)
	k := KeyOf(o)
	for attempt := 1; ; attempt++ {
		st := s.store.Snapshot()
		old := st.Get(k)
		if old != nil && sameStored(old, o) {
			return nil
		}
		if err := s.ensureTopics(ctx, o); err != nil {
			return err
		}
		_, err := s.store.Commit(ctx, []Mutation{{Key: k, Object: o, Base: st.VersionOf(k)}})
		if errors.Is(err, ErrConflict) && attempt < maxCommitAttempts {
			continue
		}
		if err != nil {
			return fmt.Errorf("mirror %s: %w", k, err)
		}
		return nil
	}
}

// sameStored reports whether a stored object and a candidate hold the same
// stored content (everything but resourceVersion and status).
func sameStored(stored, o apis.Object) bool {
	a := apis.DeepCopy(stored)
	a.GetObjectMeta().ResourceVersion = ""
	apis.ClearStatus(a)
	ja, errA := apis.Marshal(a)
	jb, errB := apis.Marshal(o)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// Unmirror removes the object at k from the store (nothing when it is not
// there). Its Kafka resources stay: DeleteKafkaResources removes them.
func (s *Server) Unmirror(ctx context.Context, k Key) error {
	for attempt := 1; ; attempt++ {
		st := s.store.Snapshot()
		if st.Get(k) == nil {
			return nil
		}
		_, err := s.store.Commit(ctx, []Mutation{{Key: k, Base: st.VersionOf(k)}})
		if errors.Is(err, ErrConflict) && attempt < maxCommitAttempts {
			continue
		}
		if err != nil {
			return fmt.Errorf("unmirror %s: %w", k, err)
		}
		return nil
	}
}

// DeleteKafkaResources deletes what Kafka holds for a deleted resource: a
// broker's or channel's topics, a trigger's or subscription's consumer
// group, every topic and group of a sequence or parallel, a PingSource's
// internal topic and group, an HTTPPollerSource's or webhook source's, a
// KafkaSource's retry topic and group (never its topics or consumer group on
// the source's cluster). A KafkaSink's
// topic is kept: it holds the user's data (Knative deletes only topics it
// created; Weft cannot tell those apart). What is already
// gone counts as deleted; any other failure is returned, so the caller
// retries rather than leave the resource behind.
func (s *Server) DeleteKafkaResources(ctx context.Context, k Key) error {
	switch k.Kind {
	case apis.KindBroker:
		return s.deleteTopics(ctx, wire.BrokerTopic(k.Namespace, k.Name), wire.RetryTopic(k.Namespace, k.Name))
	case apis.KindChannel:
		return s.deleteTopics(ctx, withRetry(wire.ChannelTopic(k.Namespace, k.Name))...)
	case apis.KindTrigger:
		return s.deleteGroups(ctx, wire.TriggerGroup(k.Namespace, k.Name))
	case apis.KindSubscription:
		return s.deleteGroups(ctx, wire.SubscriptionGroup(k.Namespace, k.Name))
	case apis.KindSequence, apis.KindParallel:
		return s.deleteFlowResources(ctx, k)
	case apis.KindKafkaSink:
		return nil
	case apis.KindPingSource:
		return errors.Join(s.deleteTopics(ctx, withRetry(wire.PingSourceTopic(k.Namespace, k.Name))...),
			s.deleteGroups(ctx, wire.PingSourceGroup(k.Namespace, k.Name)))
	case apis.KindHTTPPollerSource, apis.KindWebhookSource, apis.KindGitLabSource, apis.KindGitHubSource:
		return errors.Join(s.deleteTopics(ctx, withRetry(wire.SourceTopic(k.Kind, k.Namespace, k.Name))...),
			s.deleteGroups(ctx, wire.SourceGroup(k.Kind, k.Namespace, k.Name)))
	case apis.KindKafkaSource:
		// Only what Weft made on its own cluster: the retry topic and its
		// group. The source's topics and spec.consumerGroup are the user's.
		// The fleet group on the source's cluster is left: the key alone
		// does not say where that cluster is, which may be unreachable by
		// now; without members, Kafka drops its offsets after
		// offsets.retention.minutes (7 days by default) and the group with
		// them.
		return errors.Join(s.deleteTopics(ctx, wire.KafkaSourceRetryTopic(k.Namespace, k.Name)),
			s.deleteGroups(ctx, wire.KafkaSourceRetryGroup(k.Namespace, k.Name)))
	}
	return nil
}

// FixStartOffsets commits a new trigger's or subscription's start position
// in its consumer group: the end of its broker's or channel's topic (the
// start with annotation weft.dev/initial-offset: earliest). Without the
// topic nothing is committed, and it starts at the topic's beginning once
// the topic exists. Other kinds are left alone.
func (s *Server) FixStartOffsets(ctx context.Context, o apis.Object) error {
	topic, _, _, _, ok := startOf(o)
	if !ok {
		return nil
	}
	topics, err := s.adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("%w: look up topic %s: %w", ErrUnavailable, topic, err)
	}
	return s.fixStartOffsets(ctx, o, topics.Has(topic))
}

// DataPlaneApplied reports whether every connected data-plane process of
// role runs a contract compiled from the state at version or later; after
// Unmirror, the data plane no longer runs the resource once it is true for
// the store's version then (a dispatcher, for one, has committed a removed
// trigger's last offsets by the time it acknowledges).
func (s *Server) DataPlaneApplied(role wire.Role, version uint64) bool {
	return s.pub.applied(role, version)
}

// Stored returns the stored object at k with its computed status, nil when
// the store does not hold it.
func (s *Server) Stored(k Key) apis.Object {
	o := s.store.Snapshot().Get(k)
	if o == nil {
		return nil
	}
	return s.withStatus(o)
}

// StatusChanged returns a channel closed at the next change of anything a
// status is computed from: the compiled contract, or what a data-plane
// process acknowledged or reported.
func (s *Server) StatusChanged() <-chan struct{} {
	_, ch := s.pub.current()
	return ch
}

// Store returns the state store the server runs on.
func (s *Server) Store() Store { return s.store }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.logger }

// Config returns the configuration the server runs with.
func (s *Server) Config() Config { return s.cfg }
