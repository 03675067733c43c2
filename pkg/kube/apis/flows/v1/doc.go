// Package v1 holds the Kubernetes custom resources Weft serves in the group
// flows.knative.dev, version v1 — Sequence and Parallel with Knative's
// group, version, kind and field names — from which the CRDs in
// deploy/kubernetes are generated (controller-gen). Their spec and status
// are Weft's own resource types (pkg/apis).
//
// +kubebuilder:object:generate=false
// +groupName=flows.knative.dev
package v1
