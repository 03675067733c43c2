// Package v1beta1 holds the Kubernetes custom resource Weft serves in the
// group sources.knative.dev, version v1beta1 — KafkaSource, with the Knative
// Kafka extension's group, version, kind and field names — from which its
// CRD in deploy/kubernetes is generated (controller-gen). Its spec and status
// are Weft's own resource types (pkg/apis).
//
// +kubebuilder:object:generate=false
// +groupName=sources.knative.dev
package v1beta1
