// Package delivery owns the HTTP delivery of one CloudEvent to one
// subscriber with Knative's delivery semantics: binary-mode POST with
// "Prefer: reply", per-attempt timeout, selective retries with linear or
// exponential backoff (plus jitter and Retry-After), replies handed to the
// caller, and dead-lettering with the knativeerror* extensions.
//
// The dispatcher calls (*Sender).Send once per event and commits the event's
// offset only when Send returns a nil error.
package delivery
