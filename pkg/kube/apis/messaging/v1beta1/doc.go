// Package v1beta1 holds the Kubernetes custom resource Weft serves in the
// group messaging.knative.dev, version v1beta1 — KafkaChannel, with the
// Knative Kafka extension's group, version, kind and field names — from which
// its CRD in deploy/kubernetes is generated (controller-gen). Its spec and
// status are Weft's apis.Channel's.
//
// +kubebuilder:object:generate=false
// +groupName=messaging.knative.dev
package v1beta1
