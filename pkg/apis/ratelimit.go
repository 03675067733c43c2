package apis

import (
	"math"
	"strconv"
)

// Rate-limit annotations of a Broker: how many events per second its
// ingress accepts (429 with Retry-After above).
const (
	// AnnotationRateLimit is the events per second a Broker accepts, a
	// positive number ("100", "0.5").
	AnnotationRateLimit = "weft.dev/rate-limit"
	// AnnotationRateLimitBurst is how many events above the rate a Broker
	// accepts at once, and so the largest batch: a positive integer
	// (default: the rate, rounded up). Only with AnnotationRateLimit.
	AnnotationRateLimitBurst = "weft.dev/rate-limit-burst"
)

// MaxRateLimitBurst bounds AnnotationRateLimitBurst.
const MaxRateLimitBurst = 1_000_000

// RateLimit is a Broker's rate limit (zero: none).
type RateLimit struct {
	// PerSecond is the events per second accepted (0: no limit).
	PerSecond float64
	// Burst is how many events are accepted at once.
	Burst int
}

// RateLimitOf reads the rate-limit annotations of m, as validated (zero
// when absent or invalid).
func RateLimitOf(m *ObjectMeta) RateLimit {
	var errs errorList
	return rateLimitOf(&errs, m)
}

func rateLimitOf(errs *errorList, m *ObjectMeta) RateLimit {
	rv, hasRate := m.Annotations[AnnotationRateLimit]
	bv, hasBurst := m.Annotations[AnnotationRateLimitBurst]
	var rl RateLimit
	n := len(errs.list)
	if hasRate {
		r, err := strconv.ParseFloat(rv, 64)
		if err != nil || math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 {
			errs.add("metadata.annotations["+AnnotationRateLimit+"]", rv, "must be a positive number of events per second, e.g. \"100\" or \"0.5\"")
		} else {
			rl.PerSecond = r
			rl.Burst = int(min(math.Ceil(r), MaxRateLimitBurst))
		}
	}
	if hasBurst {
		b, err := strconv.Atoi(bv)
		switch {
		case !hasRate:
			errs.add("metadata.annotations["+AnnotationRateLimitBurst+"]", bv, "needs %s: the burst is of a rate limit", AnnotationRateLimit)
		case err != nil || b < 1 || b > MaxRateLimitBurst:
			errs.add("metadata.annotations["+AnnotationRateLimitBurst+"]", bv, "must be a positive integer no greater than %d", MaxRateLimitBurst)
		default:
			rl.Burst = b
		}
	}
	if len(errs.list) > n {
		return RateLimit{}
	}
	return rl
}
