package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/wire"
)

// ensureBrokerTopic creates the broker's topic and its retry topic (the
// same partitions and replication) when they do not exist.
func (s *Server) ensureBrokerTopic(ctx context.Context, b *apis.Broker) error {
	parts, rf := int32(s.cfg.BrokerPartitions), int16(s.cfg.BrokerReplicationFactor)
	if v, ok := b.ObjectMeta.Annotations[apis.AnnotationPartitions]; ok {
		n, _ := strconv.Atoi(v) // validated already
		parts = int32(n)
	}
	if v, ok := b.ObjectMeta.Annotations[apis.AnnotationReplicationFactor]; ok {
		n, _ := strconv.Atoi(v)
		rf = int16(n)
	}
	var configs map[string]*string
	if s.cfg.BrokerMaxMessageBytes > 0 {
		configs = map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(s.cfg.BrokerMaxMessageBytes))}
	}
	ns, name := b.ObjectMeta.Namespace, b.ObjectMeta.Name
	for _, topic := range []string{wire.BrokerTopic(ns, name), wire.RetryTopic(ns, name)} {
		resp, err := s.adm.CreateTopic(ctx, parts, rf, configs, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("%w: create topic %s: %w", ErrUnavailable, topic, err)
		}
	}
	return nil
}

// deleteBrokerTopic deletes the broker's topic and its retry topic (missing
// is fine).
func (s *Server) deleteBrokerTopic(ctx context.Context, namespace, name string) error {
	for _, topic := range []string{wire.BrokerTopic(namespace, name), wire.RetryTopic(namespace, name)} {
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

// fixStartOffsets commits a new trigger's consumer-group offsets at the
// broker topic's end (latest) or start (earliest), so the starting point is
// fixed durably at creation however late a dispatcher joins. Without a topic
// (no broker yet) nothing is committed: the dispatcher then starts at the
// beginning of the topic once it exists, so nothing is skipped.
func (s *Server) fixStartOffsets(ctx context.Context, t *apis.Trigger, brokerExists bool) error {
	if !brokerExists {
		return nil
	}
	topic := wire.BrokerTopic(t.ObjectMeta.Namespace, t.Spec.Broker)
	var offs kadm.ListedOffsets
	var err error
	if t.ObjectMeta.Annotations[apis.AnnotationInitialOffset] == "earliest" {
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
	group := wire.TriggerGroup(t.ObjectMeta.Namespace, t.ObjectMeta.Name)
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

// deleteGroupWhenDispatched removes a deleted trigger's consumer group, in
// the background, once every dispatcher acknowledged the contract without
// the trigger (state version): a dispatcher commits a removed trigger's last
// offsets before it acknowledges, and would make the group again. It is best
// effort: a later trigger of the same name overwrites the offsets at
// creation anyway.
func (s *Server) deleteGroupWhenDispatched(k Key, version uint64) {
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
		if err := s.DeleteKafkaResources(ctx, k); err != nil {
			s.logger.Debug("delete a deleted trigger's consumer group (it is overwritten on re-creation)", "trigger", k.String(), "err", err)
		}
	})
}
