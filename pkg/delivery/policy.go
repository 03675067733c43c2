package delivery

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

const (
	// DefaultTimeout bounds one attempt when the policy sets no timeout.
	DefaultTimeout = 30 * time.Second
	// DefaultRetryAfterMax caps a Retry-After header when the policy sets no
	// cap.
	DefaultRetryAfterMax = 60 * time.Second
	// JitterFraction bounds the random extra added to every computed backoff:
	// the wait before a retry is d + U·JitterFraction·d with U uniform in
	// [0, 1). Jitter only lengthens a wait, so the configured backoff is a
	// floor, never undercut.
	JitterFraction = 0.2
)

// BackoffPolicy is how the wait grows between retries.
type BackoffPolicy int

const (
	// BackoffExponential waits Delay×2^n before retry n (n = 1, 2, ...).
	BackoffExponential BackoffPolicy = iota
	// BackoffLinear waits Delay×n before retry n (n = 1, 2, ...).
	BackoffLinear
)

func (b BackoffPolicy) String() string {
	switch b {
	case BackoffExponential:
		return "exponential"
	case BackoffLinear:
		return "linear"
	}
	return "BackoffPolicy(" + strconv.Itoa(int(b)) + ")"
}

// Policy is the delivery policy of one egress: a compiled Knative
// DeliverySpec. The zero Policy is usable: one attempt, no dead-letter sink,
// DefaultTimeout, DefaultRetryAfterMax.
type Policy struct {
	// Retry is the number of retries after the first attempt (< 0 means 0).
	Retry int
	// Backoff selects how the wait before each retry grows.
	Backoff BackoffPolicy
	// Delay is the backoff base. Zero retries at once, as Knative does when
	// backoffDelay is unset.
	Delay time.Duration
	// Timeout bounds each attempt, response body included (<= 0:
	// DefaultTimeout).
	Timeout time.Duration
	// DeadLetterURL receives the event, with the knativeerror* extensions,
	// when the last attempt failed ("" : the event is dropped).
	DeadLetterURL string
	// RetryAfterMax caps how long a Retry-After header on a 429 or 503 may
	// delay a retry (0: DefaultRetryAfterMax).
	RetryAfterMax time.Duration
	// IgnoreRetryAfter turns Retry-After off (Knative's retryAfterMax: PT0S).
	IgnoreRetryAfter bool
	// DropRejected makes a final non-retryable 4xx answer (any 4xx but 404,
	// 408, 409 and 429) a decision rather than a failure: the event ends
	// OutcomeRejected, without going to the dead-letter sink. A Parallel
	// branch's filter answers "no" this way. Retryable failures are
	// retried and dead-lettered as always.
	DropRejected bool
	// CACerts (PEM) are trusted, besides the Sender's roots, when
	// delivering to an https URL: the subscriber's, and its reply and
	// dead-letter sinks' (Knative's Destination.CACerts; "" : the Sender's
	// roots only). Data that holds no certificate fails the delivery with
	// ErrBadCACerts.
	CACerts string

	// The fields below are not part of a trigger's delivery spec: the
	// dispatcher sets them per delivery.

	// ParkAfter, when positive, ends a delivery whose next retry is due
	// ParkAfter or later from now with OutcomeParked instead of waiting:
	// the caller stores the event and resumes it when due (Attempted).
	ParkAfter time.Duration
	// Attempted is how many attempts a resumed delivery already made: the
	// first attempt of this one is number Attempted+1, and its retries and
	// backoff continue from there.
	Attempted int
}

// PolicyFromContract converts the contract's Delivery (nil: all defaults).
func PolicyFromContract(d *weftv1.Delivery) Policy {
	p := Policy{
		Retry:         int(d.GetRetry()),
		Delay:         time.Duration(d.GetBackoffDelayMs()) * time.Millisecond,
		Timeout:       time.Duration(d.GetTimeoutMs()) * time.Millisecond,
		DeadLetterURL: d.GetDeadLetterUrl(),
		RetryAfterMax: time.Duration(d.GetRetryAfterMaxMs()) * time.Millisecond,
		// A negative cap in the contract is an explicit PT0S: no Retry-After.
		IgnoreRetryAfter: d.GetRetryAfterMaxMs() < 0,
	}
	if d.GetBackoffPolicy() == weftv1.BackoffPolicy_BACKOFF_POLICY_LINEAR {
		p.Backoff = BackoffLinear
	}
	return p.normalize()
}

// normalize replaces unset and out-of-range fields with their defaults.
func (p Policy) normalize() Policy {
	if p.Retry < 0 {
		p.Retry = 0
	}
	if p.Delay < 0 {
		p.Delay = 0
	}
	if p.Backoff != BackoffLinear {
		p.Backoff = BackoffExponential
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.RetryAfterMax <= 0 {
		p.RetryAfterMax = DefaultRetryAfterMax
	}
	if p.Attempted < 0 {
		p.Attempted = 0
	}
	return p
}

// backoff is the computed wait before retry n (n >= 1), without jitter.
//
// The exponent is the 1-based retry number, as in Knative's Kafka broker
// dispatcher (eventing-kafka-broker: retry n waits delay×2^n, n = 1, 2, ...)
// and the DeliverySpec docs ("backoffDelay*2^<numberOfRetries>"): exponential
// waits Delay×2, ×4, ×8, ...; linear waits Delay×1, ×2, ×3, .... (Knative's
// core Go dispatcher goes through go-retryablehttp, which numbers the first
// retry 0, so there the first exponential retry waits Delay and the first
// linear retry does not wait at all.) The result saturates at the largest
// Duration instead of overflowing.
func (p Policy) backoff(n int) time.Duration {
	if n < 1 || p.Delay <= 0 {
		return 0
	}
	var m int64
	switch p.Backoff {
	case BackoffLinear:
		m = int64(n)
	default:
		if n >= 63 {
			return math.MaxInt64
		}
		m = 1 << n
	}
	if int64(p.Delay) > math.MaxInt64/m {
		return math.MaxInt64
	}
	return p.Delay * time.Duration(m)
}

// withJitter adds u·JitterFraction·d to d (u in [0, 1)), saturating.
func withJitter(d time.Duration, u float64) time.Duration {
	if d <= 0 {
		return d
	}
	extra := time.Duration(u * JitterFraction * float64(d))
	if extra < 0 {
		return d
	}
	if d > math.MaxInt64-extra {
		return math.MaxInt64
	}
	return d + extra
}

// retryable says whether an attempt that got HTTP status code is retried
// (Knative's SelectiveRetry): 404, 408, 409, 429 and 5xx are; every other
// non-2xx code is not.
func retryable(code int) bool {
	switch {
	case code >= 500:
		return true
	case code == http.StatusNotFound, code == http.StatusRequestTimeout,
		code == http.StatusConflict, code == http.StatusTooManyRequests:
		return true
	}
	return false
}

// rejected says whether a failed attempt is a subscriber's refusal that
// Policy.DropRejected turns into OutcomeRejected: a non-retryable 4xx.
func rejected(a *attemptResult) bool {
	return a.err != nil && !a.retryable && a.status >= 400 && a.status <= 499 && a.replyLast == nil
}

// parseRetryAfter reads a Retry-After header value: delay-seconds or an
// HTTP-date, relative to now. ok is false for a missing or invalid value; a
// date in the past yields 0.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// retryWait is the wait before retry n after a failed attempt: the jittered
// backoff, or the Retry-After of a 429/503 (capped at RetryAfterMax) when
// that is longer. u is the jitter draw in [0, 1).
func (p Policy) retryWait(n int, a *attemptResult, u float64, now time.Time) time.Duration {
	wait := withJitter(p.backoff(n), u)
	if !p.IgnoreRetryAfter && (a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable) {
		if ra, ok := parseRetryAfter(a.retryAfter, now); ok {
			wait = max(wait, min(ra, p.RetryAfterMax))
		}
	}
	return wait
}
