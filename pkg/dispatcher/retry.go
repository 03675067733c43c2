package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weft-dev/weft/pkg/delivery"
	"github.com/weft-dev/weft/pkg/wire"
)

// The retry topic.
//
// An unordered trigger's event whose next retry is due Config.RetryTopicAfter
// or more ahead does not wait in its lane, where it would hold the
// partition's commit point: the lane produces it to the topic's retry topic
// (wire.RetryTopicOf, for a broker's, a channel's or a flow's topic alike)
// with the egress's key, the attempts made and when the next is due
// (wire.HeaderRetry*), and once Kafka acknowledged that record (acks=all),
// the original is finished. The retry topic has a reader of its own in
// every dispatcher (the fleet's group wire.RetryGroupOf divides its
// partitions), whose lanes take only the records naming their trigger, wait
// until each is due and resume its delivery from the attempts made: a later
// far retry parks it again, the last failure dead-letters it as always, and
// each trigger commits its progress on the retry topic in its own group. If
// the retry topic cannot be written, the event waits in place as before.
// Nothing is finished before it is stored somewhere, so a crash at any
// point redelivers, never loses.

// retryTrigger is the trigger key a retry record names (nil: none).
func retryTrigger(rec *kgo.Record) []byte {
	for _, h := range rec.Headers {
		if h.Key == wire.HeaderRetryTrigger {
			return h.Value
		}
	}
	return nil
}

// retryState reads the attempts made and the due time of a retry record;
// a missing or unreadable one is due now, with no attempt counted.
func retryState(rec *kgo.Record) (attempted int, due time.Time) {
	for _, h := range rec.Headers {
		switch h.Key {
		case wire.HeaderRetryAttempts:
			if n, err := strconv.Atoi(string(h.Value)); err == nil && n > 0 {
				attempted = n
			}
		case wire.HeaderRetryAt:
			if t, err := time.Parse(time.RFC3339Nano, string(h.Value)); err == nil {
				due = t
			}
		}
	}
	return attempted, due
}

// retryRecord is it's record for the retry topic of spec: the same key,
// value and headers (a previous wait's retry headers replaced).
func retryRecord(spec *egressSpec, it *item, attempts int, due time.Time) *kgo.Record {
	src := it.rec
	headers := make([]kgo.RecordHeader, 0, len(src.Headers)+3)
	for _, h := range src.Headers {
		switch h.Key {
		case wire.HeaderRetryTrigger, wire.HeaderRetryAttempts, wire.HeaderRetryAt:
			continue
		}
		headers = append(headers, h)
	}
	headers = append(headers,
		kgo.RecordHeader{Key: wire.HeaderRetryTrigger, Value: []byte(spec.key)},
		kgo.RecordHeader{Key: wire.HeaderRetryAttempts, Value: []byte(strconv.Itoa(attempts))},
		kgo.RecordHeader{Key: wire.HeaderRetryAt, Value: []byte(due.UTC().Format(time.RFC3339Nano))},
	)
	return &kgo.Record{Topic: spec.retryTopic, Key: src.Key, Value: src.Value, Headers: headers}
}

// park stores it in spec's retry topic, due as res says, and reports
// whether Kafka acknowledged it (it is then finished in this lane). A retry
// topic that does not exist yet (a topic made before retry topics, or one
// whose retry topic was never made) is created like the topic it serves.
func (l *lane) park(ctx context.Context, spec *egressSpec, it *item, res delivery.Result) bool {
	r := l.part.r
	record := func() (*kgo.Record, error) {
		if spec.source != nil {
			return r.sourceRetryRecord(spec, it, res.Attempts, res.RetryAt)
		}
		return retryRecord(spec, it, res.Attempts, res.RetryAt), nil
	}
	rec, err := record()
	pctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	if err == nil {
		err = r.d.producer.ProduceSync(pctx, rec).FirstErr()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		if err = r.ensureRetryTopic(pctx, spec); err == nil {
			if rec, err = record(); err == nil {
				err = r.d.producer.ProduceSync(pctx, rec).FirstErr()
			}
		}
	}
	if err != nil {
		r.logger.Warn("retry topic not written; the event waits for its retry in place, holding its partition's commit point",
			"trigger", spec.ref(), "partition", it.rec.Partition, "offset", it.rec.Offset, "retry_at", res.RetryAt, "err", err)
		return false
	}
	r.d.inst.parked.Add(ctx, 1, spec.attrs)
	r.logger.Info("event waits for its retry in the retry topic", "trigger", spec.ref(), "partition", it.rec.Partition,
		"offset", it.rec.Offset, "attempts", res.Attempts, "retry_at", res.RetryAt, "retry_partition", rec.Partition, "retry_offset", rec.Offset)
	return true
}

// ensureRetryTopic creates spec's retry topic with the partitions and
// max.message.bytes of spec's topic (an existing one is fine). A
// KafkaSource's retry topic is on Weft's cluster, its topic on the reader's.
func (r *reader) ensureRetryTopic(ctx context.Context, spec *egressSpec) error {
	weft := r.adm
	if spec.source != nil {
		weft = kadm.NewClient(r.d.producer)
	}
	topics, err := r.adm.ListTopics(ctx, spec.topic)
	if err != nil {
		return fmt.Errorf("describe %s: %w", spec.topic, err)
	}
	td, ok := topics[spec.topic]
	if !ok || td.Err != nil || len(td.Partitions) == 0 {
		return fmt.Errorf("describe %s: %w", spec.topic, kerr.UnknownTopicOrPartition)
	}
	var configs map[string]*string
	if cfgs, err := r.adm.DescribeTopicConfigs(ctx, spec.topic); err == nil {
		if c, err := cfgs.On(spec.topic, nil); err == nil {
			for _, kv := range c.Configs {
				if kv.Key == "max.message.bytes" && kv.Value != nil && kv.Source == kmsg.ConfigSourceDynamicTopicConfig {
					configs = map[string]*string{kv.Key: kv.Value}
				}
			}
		}
	}
	resp, err := weft.CreateTopic(ctx, int32(len(td.Partitions)), -1, configs, spec.retryTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create %s: %w", spec.retryTopic, err)
	}
	r.logger.Info("created the retry topic", "topic", spec.retryTopic, "partitions", len(td.Partitions))
	return nil
}
