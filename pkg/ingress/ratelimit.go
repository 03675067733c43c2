package ingress

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Per-broker rate limits. Each served entry (broker, channel, sequence,
// parallel, sink, webhook source) has its own token bucket of
// Config.RateLimitBurst events refilled at Config.RateLimitPerBroker events
// per second, so one busy broker never slows another. An event takes a
// token, a batch one per event, before anything is stored; when the tokens
// are not there the request is answered 429 with a Retry-After of the
// seconds until they are, and nothing is stored. A batch larger than the
// burst could never pass and is answered 413.
//
// A broker's own limit (its weft.dev/rate-limit annotations, carried by
// the contract's rate_limit) takes the place of the process's for that
// broker. The limit is per process: with N ingress replicas behind a load
// balancer a broker accepts up to N times it.

// newLimiter is the token bucket of an entry whose own limit is own (nil:
// the process's): nil when neither sets one.
func (c *Config) newLimiter(own *weftv1.RateLimit) *rate.Limiter {
	if own != nil {
		return rate.NewLimiter(rate.Limit(own.GetEventsPerSecond()), int(own.GetBurst()))
	}
	if c.RateLimitPerBroker <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(c.RateLimitPerBroker), c.rateLimitBurst())
}

// rateLimitBurst is RateLimitBurst, or the rate rounded up.
func (c *Config) rateLimitBurst() int {
	if c.RateLimitBurst > 0 {
		return c.RateLimitBurst
	}
	return int(min(math.Ceil(c.RateLimitPerBroker), math.MaxInt32))
}

// RateLimitError refuses events over a broker's rate limit (429).
type RateLimitError struct {
	// Events is how many the request carried.
	Events int
	// RetryAfter is when the bucket holds them again.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: %d event(s) over the broker's limit, retry in %s", ErrRateLimited, e.Events, e.RetryAfter.Round(time.Millisecond))
}

func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// retryAfter is the Retry-After value: whole seconds, rounded up, at least 1.
func (e *RateLimitError) retryAfter() []string {
	return []string{strconv.FormatInt(max(1, int64(math.Ceil(e.RetryAfter.Seconds()))), 10)}
}

// admit takes n tokens of b's bucket, or returns why not: a
// *RateLimitError when they are not there yet, ErrTooLarge when n is more
// than the bucket holds.
func (b *broker) admit(n int) error {
	if b.limiter == nil {
		return nil
	}
	now := time.Now()
	r := b.limiter.ReserveN(now, n)
	if !r.OK() {
		return fmt.Errorf("%w: a batch of %d events is more than the broker's rate-limit burst of %d: send smaller batches",
			ErrTooLarge, n, b.limiter.Burst())
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &RateLimitError{Events: n, RetryAfter: d}
	}
	return nil
}
