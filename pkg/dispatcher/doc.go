// Package dispatcher owns the delivery side of a broker: one Kafka consumer
// group per egress (compiled Trigger), per-partition lanes that deliver
// ordered or with bounded concurrency, offset tracking that commits only the
// contiguous prefix of finished records, and replies produced back into the
// broker. A record is finished when it was delivered, filtered out, stored in
// the dead-letter sink, or dropped by the trigger's own policy; nothing else
// is ever committed.
package dispatcher
