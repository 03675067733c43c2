// Package kafka owns how Weft's services reach a Kafka cluster: the Config
// every binary shares (bootstrap servers, TLS, SASL), its flags and
// validation, and franz-go client construction from it. Only standard Kafka
// APIs are used, so any real cluster works; the development server that
// `weft dev` embeds lives in internal/devkafka, which no service imports.
package kafka
