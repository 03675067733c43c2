package controlplane

import "errors"

// Sentinel errors of the control plane; the gRPC edge maps them to codes in
// one table (grpcerrors.go).
var (
	// ErrConflict: the state changed between reading and committing; retry.
	ErrConflict = errors.New("state changed concurrently")
	// ErrStaleVersion: the caller's resourceVersion is not the stored one.
	ErrStaleVersion = errors.New("resourceVersion is stale")
	// ErrNotFound: no such resource.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the state store cannot be reached or is not caught up.
	ErrUnavailable = errors.New("state store unavailable")
	// ErrClusterUnavailable: another Kafka cluster a resource names (a
	// KafkaSink's spec.bootstrapServers) cannot be reached.
	ErrClusterUnavailable = errors.New("kafka cluster unavailable")
	// ErrUnknownOutcome: a commit may or may not have happened.
	ErrUnknownOutcome = errors.New("commit outcome unknown")
	// ErrVersionTooOld: the changes after a resourceVersion are no longer
	// kept (Kubernetes' 410 Gone); list again.
	ErrVersionTooOld = errors.New("too old resource version")
	// ErrReadOnly: resources are changed elsewhere (Kubernetes mode).
	ErrReadOnly = errors.New("the resource API is read-only here")
)
