// Package apis owns Weft's resource API: the Knative-shaped resource types
// (Broker, Trigger and their shared Destination and DeliverySpec), their
// defaults, their validation and the decoding of YAML/JSON manifests.
package apis
