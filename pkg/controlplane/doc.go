// Package controlplane owns Weft's desired state: the gRPC resource API
// (Apply/Get/List/Delete/Watch), the state store on a compacted Kafka topic,
// Kafka topic and consumer-group set-up for resources, resource status, and
// the contract stream that feeds every data-plane process.
package controlplane
