// Package v1 holds the Kubernetes custom resources Weft serves in the group
// eventing.knative.dev, version v1 — Broker and Trigger with Knative's
// group, version, kind and field names — from which the CRDs in
// deploy/kubernetes are generated (controller-gen). Their spec and status are
// Weft's own resource types (pkg/apis), so the schema, the gRPC resource API
// and the control plane's compiler share one definition of every field.
//
// +kubebuilder:object:generate=false
// +groupName=eventing.knative.dev
package v1
