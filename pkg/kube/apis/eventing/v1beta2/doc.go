// Package v1beta2 holds the Kubernetes custom resource Weft serves in the
// group eventing.knative.dev, version v1beta2 — EventType, with Knative's
// group, version, kind and field names — from which its CRD in
// deploy/kubernetes is generated (controller-gen). Its spec and status are
// Weft's own resource types (pkg/apis).
//
// +kubebuilder:object:generate=false
// +groupName=eventing.knative.dev
package v1beta2
