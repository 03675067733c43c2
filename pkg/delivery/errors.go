package delivery

import (
	"errors"
	"fmt"
)

var (
	// ErrDeadLetterFailed: every attempt to the subscriber failed and the
	// dead-letter sink failed too, after its own retries. The event is stored
	// nowhere and must not be committed.
	ErrDeadLetterFailed = errors.New("dead-letter sink failed")

	// ErrInvalidRequest: the delivery request cannot be built (a bad URL, an
	// event that cannot be encoded). Retrying does not help.
	ErrInvalidRequest = errors.New("invalid delivery request")

	// ErrBadCACerts: Policy.CACerts holds no valid PEM certificate. Retrying
	// does not help.
	ErrBadCACerts = errors.New("invalid CA certificates")

	// ErrMalformedReply: a 2xx response claimed to carry a CloudEvent
	// (a ce-specversion header or an application/cloudevents* content type)
	// but it is not a valid one. The attempt failed and is retried.
	ErrMalformedReply = errors.New("malformed reply event")

	// ErrReplyFailed: the ReplyFunc returned an error. The attempt failed and
	// is retried.
	ErrReplyFailed = errors.New("reply not stored")
)

// StatusError is a failed attempt that got a non-2xx HTTP response.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string { return fmt.Sprintf("unexpected HTTP status %d", e.Code) }
