package delivery

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseRetryAfter parses fuzzed Retry-After values (delay-seconds or an
// HTTP-date) at a fuzzed time. Properties: never panics; the delay is never
// negative, 0 when the value is refused, and a retry's wait with it stays
// within the policy's cap; delay-seconds and HTTP-dates written by their
// formatters (strconv, http.TimeFormat) parse back to the delay they say.
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	for _, s := range []string{
		"120", "0", " 7 ", "-3", "1.5", "soon", "", "99999999999999999", "+5", "0x10", "１",
		now.Add(30 * time.Second).Format(http.TimeFormat),
		now.Add(-time.Hour).Format(http.TimeFormat),
		"Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Mon, 01 Jan 0001 00:00:00 GMT",
		"Fri, 31 Dec 9999 23:59:59 GMT",
	} {
		f.Add(s, now.Unix(), uint32(30), int64(0))
	}
	f.Add("5", int64(0), uint32(math.MaxUint32), int64(-1))
	f.Add("9223372036", int64(253402300000), uint32(1), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, v string, nowUnix int64, secs uint32, capNs int64) {
		// A time HTTP-dates can show: years 1 to 9999, whole seconds.
		const maxUnix = 253402300799 - math.MaxUint32
		nowUnix = min(max(nowUnix, -62135596800), maxUnix)
		now := time.Unix(nowUnix, 0).UTC()

		d, ok := parseRetryAfter(v, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", v, d, ok)
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
			want := time.Duration(math.MaxInt64)
			if n <= math.MaxInt64/int64(time.Second) {
				want = time.Duration(n) * time.Second
			}
			if !ok || d != want {
				t.Fatalf("parseRetryAfter(%q) = %v, %v; want %v", v, d, ok, want)
			}
		}

		p := Policy{Retry: 3, Delay: 10 * time.Millisecond, RetryAfterMax: time.Duration(capNs)}.normalize()
		for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusInternalServerError} {
			a := &attemptResult{status: code, retryAfter: v}
			w := p.retryWait(1, a, 0.5, now)
			if limit := max(withJitter(p.backoff(1), 0.5), p.RetryAfterMax); w < 0 || w > limit {
				t.Fatalf("retryWait with Retry-After %q (status %d, cap %v) = %v, want 0..%v", v, code, p.RetryAfterMax, w, limit)
			}
		}

		want := time.Duration(secs) * time.Second
		if got, ok := parseRetryAfter(strconv.FormatUint(uint64(secs), 10), now); !ok || got != want {
			t.Fatalf("parseRetryAfter(%d) = %v, %v", secs, got, ok)
		}
		date := now.Add(want).Format(http.TimeFormat)
		if got, ok := parseRetryAfter(date, now); !ok || got != want {
			t.Fatalf("parseRetryAfter(%q) at %v = %v, %v; want %v", date, now, got, ok, want)
		}
	})
}
