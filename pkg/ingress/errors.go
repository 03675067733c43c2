package ingress

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Errors a request can end with. statusOf maps them to HTTP in one table.
var (
	// ErrUnknownBroker: no broker of the applied contract is served at the path.
	ErrUnknownBroker = errors.New("no such broker")
	// ErrUnknownSink: no KafkaSink of the applied contract is served at a
	// /sinks/ path.
	ErrUnknownSink = errors.New("no such sink")
	// ErrUnknownSource: no webhook source of the applied contract is served
	// at a /sources/ path (or it is not Ready: a secret or its sink does
	// not resolve).
	ErrUnknownSource = errors.New("no such source")
	// ErrUnauthorized: a webhook source's request without valid
	// credentials (basic authentication, token or signature); nothing is
	// stored.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the sender's token is valid but no EventPolicy (nor
	// the default authorization mode) admits its subject, or the event
	// fails the admitting policy's filters; nothing is stored.
	ErrForbidden = errors.New("forbidden")
	// ErrIssuerUnavailable: the OIDC issuer's discovery document or keys
	// cannot be fetched, so a token cannot be verified: retry.
	ErrIssuerUnavailable = errors.New("OIDC issuer unavailable")
	// ErrUnknownPath: nothing of the applied contract (no channel, sequence
	// or parallel) is served at a path that is not a broker's.
	ErrUnknownPath = errors.New("nothing is served at this path")
	// ErrNoContract: no contract has been applied yet (the process just
	// started), so whether the broker exists is not known: retry.
	ErrNoContract = errors.New("no contract from the control plane yet, retry later")
	// ErrMethodNotAllowed: brokers accept POST (and OPTIONS).
	ErrMethodNotAllowed = errors.New("method not allowed, use POST")
	// ErrTooLarge: the event (or batch) exceeds the configured limit, or
	// Kafka refused the record as too large.
	ErrTooLarge = errors.New("too large")
	// ErrUnsupportedMediaType: neither a binary-mode request nor a supported
	// event format.
	ErrUnsupportedMediaType = errors.New("unsupported content type")
	// ErrInvalidEvent: not a valid CloudEvent (the message says which attribute).
	ErrInvalidEvent = errors.New("not a valid CloudEvent")
	// ErrKafkaUnavailable: Kafka cannot be reached.
	ErrKafkaUnavailable = errors.New("kafka is unreachable")
	// ErrBufferFull: the producer buffer is full (backpressure).
	ErrBufferFull = errors.New("too many events in flight, retry later")
	// ErrProduceTimeout: Kafka did not acknowledge within --produce-timeout.
	ErrProduceTimeout = errors.New("kafka did not acknowledge the event in time")
	// ErrProduceFailed: Kafka answered with an error.
	ErrProduceFailed = errors.New("kafka did not store the event")
	// ErrRateLimited: the broker's rate limit is reached (a
	// *RateLimitError says when to retry).
	ErrRateLimited = errors.New("rate limit reached")
	// ErrDraining: the process is shutting down.
	ErrDraining = errors.New("shutting down, retry on another instance")
)

// errTooManyRequests refuses a request above Config.MaxInFlight.
var errTooManyRequests = fmt.Errorf("%w: more than the limit of requests in flight", ErrBufferFull)

// statusTable maps errors to status codes and Retry-After values, first
// match wins.
var statusTable = []struct {
	err        error
	code       int
	retryAfter []string
}{
	{ErrUnknownBroker, http.StatusNotFound, nil},
	{ErrUnknownSink, http.StatusNotFound, nil},
	{ErrUnknownSource, http.StatusNotFound, nil},
	{ErrUnauthorized, http.StatusUnauthorized, nil},
	{ErrForbidden, http.StatusForbidden, nil},
	{ErrIssuerUnavailable, http.StatusServiceUnavailable, retryAfterLong},
	{ErrUnknownPath, http.StatusNotFound, nil},
	{ErrNoContract, http.StatusServiceUnavailable, retryAfterShort},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, nil},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, nil},
	{ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, nil},
	{ErrInvalidEvent, http.StatusBadRequest, nil},
	{ErrRateLimited, http.StatusTooManyRequests, nil}, // Retry-After: writeError
	{ErrBufferFull, http.StatusServiceUnavailable, retryAfterShort},
	{ErrProduceTimeout, http.StatusServiceUnavailable, retryAfterShort},
	{ErrDraining, http.StatusServiceUnavailable, retryAfterShort},
	{ErrKafkaUnavailable, http.StatusServiceUnavailable, retryAfterLong},
	{ErrProduceFailed, http.StatusServiceUnavailable, retryAfterShort},
}

var (
	retryAfterShort = []string{"1"}
	retryAfterLong  = []string{"5"}
)

// statusOf returns the status code and Retry-After header for err.
// Unknown errors are 500.
func statusOf(err error) (int, []string) {
	for _, s := range statusTable {
		if errors.Is(err, s.err) {
			return s.code, s.retryAfter
		}
	}
	return http.StatusInternalServerError, nil
}

// produceError classifies an error from a produce promise.
func produceError(err error) error {
	switch {
	case errors.Is(err, kgo.ErrMaxBuffered):
		return ErrBufferFull
	case errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kgo.ErrRecordRetries):
		return ErrProduceTimeout
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return fmt.Errorf("%w: kafka refused the record: %v", ErrTooLarge, err)
	case errors.Is(err, kgo.ErrClientClosed):
		return ErrDraining
	default:
		return fmt.Errorf("%w: %v", ErrProduceFailed, err)
	}
}
