// Package dispatcher owns the delivery side of a broker: one read of each
// broker topic partition shared by every egress (compiled Trigger) of the
// broker, fanned out through a filter index to per-trigger, per-partition
// lanes that deliver ordered or with bounded concurrency, offset tracking
// that commits only the contiguous prefix of finished records to each
// egress's own consumer group, and replies produced back into the broker. A
// record is finished when it was delivered, filtered out, stored in the
// dead-letter sink, or dropped by the trigger's own policy; nothing else is
// ever committed.
package dispatcher
