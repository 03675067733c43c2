package cekafka

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
)

// HeaderCarrier adapts a record's headers to OpenTelemetry propagation, so
// trace context travels with an event through Kafka. Get matches header
// names in any case and falls back to the CloudEvents distributed-tracing
// extension (ce_traceparent, ce_tracestate) that other producers may write.
type HeaderCarrier struct{ R *kgo.Record }

var _ propagation.TextMapCarrier = HeaderCarrier{}

// Get implements propagation.TextMapCarrier.
func (c HeaderCarrier) Get(key string) string {
	var fallback string
	for _, h := range c.R.Headers {
		switch {
		case strings.EqualFold(h.Key, key):
			return string(h.Value)
		case fallback == "" && strings.EqualFold(h.Key, HeaderPrefix+key):
			fallback = string(h.Value)
		}
	}
	return fallback
}

// Set implements propagation.TextMapCarrier, replacing an existing header.
func (c HeaderCarrier) Set(key, value string) {
	for i, h := range c.R.Headers {
		if strings.EqualFold(h.Key, key) {
			c.R.Headers[i].Value = []byte(value)
			return
		}
	}
	c.R.Headers = append(c.R.Headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
}

// Keys implements propagation.TextMapCarrier.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, len(c.R.Headers))
	for i, h := range c.R.Headers {
		keys[i] = h.Key
	}
	return keys
}
