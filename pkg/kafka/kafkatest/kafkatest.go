// Package kafkatest starts a real Kafka-protocol server (kfake) on a loopback
// TCP port for tests, and stops it when the test ends.
package kafkatest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/weft-dev/weft/pkg/kafka"
)

// Start starts an in-memory server on a free loopback port.
func Start(t testing.TB, extra ...kfake.Opt) *kafka.Embedded {
	t.Helper()
	return StartConfig(t, kafka.EmbeddedConfig{Addr: "127.0.0.1:0"}, extra...)
}

// StartConfig starts a server with cfg (for example a DataDir, to restart it on the same state).
func StartConfig(t testing.TB, cfg kafka.EmbeddedConfig, extra ...kfake.Opt) *kafka.Embedded {
	t.Helper()
	e, err := kafka.StartEmbedded(cfg, extra...)
	if err != nil {
		t.Fatalf("start kafka: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// Config returns a client Config that reaches e.
func Config(e *kafka.Embedded) kafka.Config {
	return kafka.Config{BootstrapServers: []string{e.Addr()}, ClientID: "weft-test"}
}
