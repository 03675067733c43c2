// Package cekafka owns the CloudEvents Kafka protocol binding as Weft writes
// it: an event becomes a record in binary content mode (one ce_<attribute>
// header per context attribute and extension, the data as the value, the
// datacontenttype in a content-type header, the partitionkey extension as the
// key) or, for a KafkaSink that asks for it, in structured content mode (the
// JSON event format as the value, content-type application/cloudevents+json,
// the same key); and records written in binary or structured mode by any
// CloudEvents Kafka binding become events again.
package cekafka
