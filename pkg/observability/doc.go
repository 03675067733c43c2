// Package observability owns logging, OpenTelemetry traces and metrics, and
// the operations HTTP endpoints (/healthz, /readyz, /metrics) of every Weft
// process.
package observability
