// Package v1alpha1 holds the Kubernetes custom resource Weft serves in the
// group eventing.knative.dev, version v1alpha1 — KafkaSink, with the Knative
// Kafka extension's group, version, kind and field names — from which its
// CRD in deploy/kubernetes is generated (controller-gen). Its spec and status
// are Weft's own resource types (pkg/apis).
//
// +kubebuilder:object:generate=false
// +groupName=eventing.knative.dev
package v1alpha1
