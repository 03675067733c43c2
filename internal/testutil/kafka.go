package testutil

import (
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

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

// HoldFirstProduce makes c hold the first produce request it receives (a
// stalled broker) until release is closed; held is closed once it is held.
// Every other request is served as usual.
func HoldFirstProduce(c *kfake.Cluster) (held, release chan struct{}) {
	held, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		first := false
		once.Do(func() { first = true })
		if first {
			close(held)
			c.SleepControl(func() { <-release })
		}
		c.DropControl()
		return nil, nil, false
	})
	return held, release
}
