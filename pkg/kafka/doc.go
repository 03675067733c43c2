// Package kafka owns how Weft talks to Kafka: client construction from a
// Config (bootstrap servers, TLS, SASL), topic administration, and the
// embedded Kafka-protocol server used by `weft dev` and `weft kafka`.
package kafka
