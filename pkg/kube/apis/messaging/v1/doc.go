// Package v1 holds the Kubernetes custom resources Weft serves in the group
// messaging.knative.dev, version v1 — Channel, InMemoryChannel and
// Subscription with Knative's group, version, kind and field names — from
// which the CRDs in deploy/kubernetes are generated (controller-gen). Their
// spec and status are Weft's own resource types (pkg/apis): a Channel and an
// InMemoryChannel are both apis.Channel, a durable Kafka topic.
//
// +kubebuilder:object:generate=false
// +groupName=messaging.knative.dev
package v1
