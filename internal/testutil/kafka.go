package testutil

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/pkg/kafka"
)

// StartKafka starts an in-memory Kafka-protocol server on a loopback port
// the kernel picks, and stops it when the test ends.
func StartKafka(t testing.TB, extra ...kfake.Opt) *devkafka.Server {
	t.Helper()
	return StartKafkaConfig(t, devkafka.Config{Addr: "127.0.0.1:0"}, extra...)
}

// StartKafkaConfig starts a server with cfg (for example a DataDir, to
// restart it on the same state) and stops it when the test ends.
func StartKafkaConfig(t testing.TB, cfg devkafka.Config, extra ...kfake.Opt) *devkafka.Server {
	t.Helper()
	s, err := devkafka.Start(cfg, extra...)
	if err != nil {
		t.Fatalf("start kafka: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// KafkaConfig returns a client Config that reaches s.
func KafkaConfig(s *devkafka.Server) kafka.Config {
	return kafka.Config{BootstrapServers: []string{s.Addr()}, ClientID: "weft-test"}
}
