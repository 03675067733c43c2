// Package ingress owns the HTTP receiver through which every event enters
// Weft: it serves each broker of the data-plane contract at /{namespace}/{name},
// accepts CloudEvents in binary, structured and batch mode, and answers 202
// only once Kafka has acknowledged the record (acks=all, idempotent producer).
// It also serves KafkaSinks (/sinks/...) and the webhook sources
// (/sources/{webhooksource,gitlabsource,githubsource}/...: webhooks.go),
// whose requests it authenticates and wraps into events.
package ingress
