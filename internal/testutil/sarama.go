package testutil

import (
	"context"
	"testing"

	"github.com/IBM/sarama"
)

// SaramaRead reads n messages of topic (partitions 0..partitions-1) from
// the Kafka-protocol server at addr with a sarama consumer — an independent
// Kafka client, for cross-checking what Weft writes — failing t when ctx
// ends first.
func SaramaRead(ctx context.Context, t *testing.T, addr, topic string, partitions int32, n int) []*sarama.ConsumerMessage {
	t.Helper()
	scfg := sarama.NewConfig()
	scfg.Version = sarama.V2_1_0_0
	scfg.Consumer.Return.Errors = true
	consumer, err := sarama.NewConsumer([]string{addr}, scfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer consumer.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan *sarama.ConsumerMessage)
	for p := range partitions {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("sarama: consume partition %d of %s: %v", p, topic, err)
		}
		defer pc.AsyncClose()
		go func() {
			for m := range pc.Messages() {
				select {
				case msgs <- m:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	var out []*sarama.ConsumerMessage
	for len(out) < n {
		select {
		case m := <-msgs:
			out = append(out, m)
		case <-ctx.Done():
			t.Fatalf("read %d of %d messages of %s with sarama before the deadline", len(out), n, topic)
		}
	}
	return out
}
