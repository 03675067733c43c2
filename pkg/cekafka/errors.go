package cekafka

import "errors"

var (
	// ErrNotCloudEvent means a record carries neither a ce_specversion header
	// (binary mode) nor a structured CloudEvents content type.
	ErrNotCloudEvent = errors.New("record is not a CloudEvent")
	// ErrUnsupportedSpecVersion means the specversion is not one sdk-go knows.
	ErrUnsupportedSpecVersion = errors.New("unsupported CloudEvents specversion")
	// ErrInvalidAttribute means a header could not be decoded into the
	// attribute or extension it names.
	ErrInvalidAttribute = errors.New("invalid CloudEvents attribute")
	// ErrNoContext means the event has no context (a zero event.Event).
	ErrNoContext = errors.New("event has no context")
)
