// Package v1alpha1 holds the Kubernetes custom resources Weft serves in the
// group sources.knative.dev, version v1alpha1 — GitLabSource and
// GitHubSource, with Knative's group, version, kind and field names — from
// which their CRDs in deploy/kubernetes are generated (controller-gen). Their
// spec and status are Weft's own resource types (pkg/apis).
//
// +kubebuilder:object:generate=false
// +groupName=sources.knative.dev
package v1alpha1
