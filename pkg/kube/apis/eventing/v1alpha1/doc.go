// Package v1alpha1 holds the Kubernetes custom resources Weft serves in the
// group eventing.knative.dev, version v1alpha1 — KafkaSink, with the Knative
// Kafka extension's group, version, kind and field names, and EventPolicy,
// with Knative Eventing's — from which their CRDs in deploy/kubernetes are
// generated (controller-gen). Their specs and statuses are Weft's own
// resource types (pkg/apis).
//
// +kubebuilder:object:generate=false
// +groupName=eventing.knative.dev
package v1alpha1
