// Package v1 holds the Kubernetes custom resource Weft serves in the group
// sources.knative.dev, version v1 — PingSource, with Knative's group,
// version, kind and field names — from which its CRD in deploy/kubernetes is
// generated (controller-gen). Its spec and status are Weft's own resource
// types (pkg/apis).
//
// +kubebuilder:object:generate=false
// +groupName=sources.knative.dev
package v1
