package delivery

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func TestPolicyFromContract(t *testing.T) {
	tests := map[string]struct {
		in   *weftv1.Delivery
		want Policy
	}{
		"nil":  {nil, Policy{Backoff: BackoffExponential, Timeout: DefaultTimeout, RetryAfterMax: DefaultRetryAfterMax}},
		"zero": {&weftv1.Delivery{}, Policy{Backoff: BackoffExponential, Timeout: DefaultTimeout, RetryAfterMax: DefaultRetryAfterMax}},
		"full linear": {
			&weftv1.Delivery{Retry: 5, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_LINEAR, BackoffDelayMs: 200,
				TimeoutMs: 1500, DeadLetterUrl: "http://dls/", RetryAfterMaxMs: 10_000},
			Policy{Retry: 5, Backoff: BackoffLinear, Delay: 200 * time.Millisecond, Timeout: 1500 * time.Millisecond,
				DeadLetterURL: "http://dls/", RetryAfterMax: 10 * time.Second},
		},
		"exponential": {
			&weftv1.Delivery{Retry: 3, BackoffPolicy: weftv1.BackoffPolicy_BACKOFF_POLICY_EXPONENTIAL, BackoffDelayMs: 50},
			Policy{Retry: 3, Backoff: BackoffExponential, Delay: 50 * time.Millisecond, Timeout: DefaultTimeout, RetryAfterMax: DefaultRetryAfterMax},
		},
		"negative values": {
			&weftv1.Delivery{Retry: -2, BackoffDelayMs: -5, TimeoutMs: -1, RetryAfterMaxMs: -1},
			Policy{Backoff: BackoffExponential, Timeout: DefaultTimeout, RetryAfterMax: DefaultRetryAfterMax, IgnoreRetryAfter: true},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := PolicyFromContract(tt.in); got != tt.want {
				t.Errorf("PolicyFromContract() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	const d = 100 * time.Millisecond
	tests := map[string]struct {
		p    Policy
		want []time.Duration // retries 1, 2, 3, 4
	}{
		"exponential is delay×2^n": {Policy{Backoff: BackoffExponential, Delay: d}, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}},
		"linear is delay×n":        {Policy{Backoff: BackoffLinear, Delay: d}, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond}},
		"no delay":                 {Policy{Backoff: BackoffExponential}, []time.Duration{0, 0, 0, 0}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			for i, want := range tt.want {
				if got := tt.p.backoff(i + 1); got != want {
					t.Errorf("backoff(%d) = %v, want %v", i+1, got, want)
				}
			}
		})
	}
	t.Run("saturates", func(t *testing.T) {
		for _, p := range []Policy{
			{Backoff: BackoffExponential, Delay: time.Second, Retry: 100},
			{Backoff: BackoffLinear, Delay: math.MaxInt64 / 2, Retry: 100},
		} {
			for _, n := range []int{40, 62, 63, 64, 1000} {
				if got := p.backoff(n); got <= 0 {
					t.Errorf("%v backoff(%d) = %v, want positive (saturated)", p.Backoff, n, got)
				}
			}
		}
		if got := (Policy{Delay: time.Second}).backoff(80); got != math.MaxInt64 {
			t.Errorf("backoff(80) = %v, want max duration", got)
		}
	})
}

func TestWithJitter(t *testing.T) {
	const d = time.Second
	for _, u := range []float64{0, 0.25, 0.5, 0.999999} {
		got := withJitter(d, u)
		if got < d || got >= d+time.Duration(JitterFraction*float64(d)) {
			t.Errorf("withJitter(%v, %v) = %v, want in [%v, %v)", d, u, got, d, d+time.Duration(JitterFraction*float64(d)))
		}
	}
	if got := withJitter(0, 0.9); got != 0 {
		t.Errorf("withJitter(0) = %v, want 0", got)
	}
	if got := withJitter(math.MaxInt64-1, 0.9); got != math.MaxInt64 {
		t.Errorf("withJitter(max) = %v, want saturated", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now() // the bubble's fixed clock
		tests := map[string]struct {
			in     string
			want   time.Duration
			wantOK bool
		}{
			"seconds":     {"120", 2 * time.Minute, true},
			"zero":        {"0", 0, true},
			"spaces":      {" 7 ", 7 * time.Second, true},
			"http date":   {now.Add(30 * time.Second).UTC().Format(http.TimeFormat), 30 * time.Second, true},
			"past date":   {now.Add(-time.Hour).UTC().Format(http.TimeFormat), 0, true},
			"negative":    {"-3", 0, false},
			"fraction":    {"1.5", 0, false},
			"garbage":     {"soon", 0, false},
			"empty":       {"", 0, false},
			"huge number": {"99999999999999999", math.MaxInt64, true},
		}
		for name, tt := range tests {
			got, ok := parseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("%s: parseRetryAfter(%q) = %v, %v; want %v, %v", name, tt.in, got, ok, tt.want, tt.wantOK)
			}
		}
	})
}

// fakeAttempts returns a do function for (*Sender).retry that records the
// (fake) time of each attempt and answers results[n] (the last one repeats).
func fakeAttempts(at *[]time.Time, results ...attemptResult) func(context.Context, int) attemptResult {
	return func(_ context.Context, n int) attemptResult {
		*at = append(*at, time.Now())
		return results[min(n, len(results)-1)]
	}
}

func failed(code int, retryAfter string) attemptResult {
	return attemptResult{status: code, retryAfter: retryAfter, err: &StatusError{Code: code}, retryable: retryable(code)}
}

// gaps are the waits between consecutive attempts.
func gaps(at []time.Time) []time.Duration {
	var g []time.Duration
	for i := 1; i < len(at); i++ {
		g = append(g, at[i].Sub(at[i-1]))
	}
	return g
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRetrySchedule checks the waits between attempts on a fake clock.
func TestRetrySchedule(t *testing.T) {
	tests := map[string]struct {
		p       Policy
		jitter  float64
		results []attemptResult
		want    []time.Duration
		wantN   int
	}{
		"exponential": {
			p: Policy{Retry: 4, Backoff: BackoffExponential, Delay: time.Second}, results: []attemptResult{failed(503, "")},
			want: []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}, wantN: 5,
		},
		"linear": {
			p: Policy{Retry: 3, Backoff: BackoffLinear, Delay: time.Second}, results: []attemptResult{failed(500, "")},
			want: []time.Duration{1 * time.Second, 2 * time.Second, 3 * time.Second}, wantN: 4,
		},
		"jitter lengthens by at most a fifth": {
			p: Policy{Retry: 2, Backoff: BackoffExponential, Delay: time.Second}, jitter: 0.5, results: []attemptResult{failed(500, "")},
			want: []time.Duration{2200 * time.Millisecond, 4400 * time.Millisecond}, wantN: 3,
		},
		"stops at success": {
			p: Policy{Retry: 5, Backoff: BackoffExponential, Delay: time.Second}, results: []attemptResult{failed(500, ""), failed(429, ""), {status: 200}},
			want: []time.Duration{2 * time.Second, 4 * time.Second}, wantN: 3,
		},
		"not retryable": {
			p: Policy{Retry: 5, Delay: time.Second}, results: []attemptResult{failed(400, "")}, wantN: 1,
		},
		"no delay retries at once": {
			p: Policy{Retry: 2}, results: []attemptResult{failed(500, "")}, want: []time.Duration{0, 0}, wantN: 3,
		},
		"retry-after longer than backoff is honoured": {
			p: Policy{Retry: 1, Delay: time.Second}, results: []attemptResult{failed(503, "10")},
			want: []time.Duration{10 * time.Second}, wantN: 2,
		},
		"retry-after is capped": {
			p: Policy{Retry: 2, Delay: time.Second, RetryAfterMax: 5 * time.Second}, results: []attemptResult{failed(429, "3600")},
			want: []time.Duration{5 * time.Second, 5 * time.Second}, wantN: 3,
		},
		"cap below backoff keeps the backoff": {
			p: Policy{Retry: 1, Delay: 10 * time.Second, RetryAfterMax: 5 * time.Second}, results: []attemptResult{failed(429, "3600")},
			want: []time.Duration{20 * time.Second}, wantN: 2,
		},
		"retry-after shorter than backoff is ignored": {
			p: Policy{Retry: 1, Delay: 5 * time.Second}, results: []attemptResult{failed(503, "1")},
			want: []time.Duration{10 * time.Second}, wantN: 2,
		},
		"retry-after only on 429 and 503": {
			p: Policy{Retry: 1, Delay: time.Second}, results: []attemptResult{failed(500, "30")},
			want: []time.Duration{2 * time.Second}, wantN: 2,
		},
		"retry-after as http date": {
			p: Policy{Retry: 1, Delay: time.Second}, results: []attemptResult{failed(503, "DATE+45s")},
			want: []time.Duration{45 * time.Second}, wantN: 2,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newTestSender(t)
				s.jitter = func() float64 { return tt.jitter }
				for i, r := range tt.results {
					if r.retryAfter == "DATE+45s" {
						tt.results[i].retryAfter = time.Now().Add(45 * time.Second).UTC().Format(http.TimeFormat)
					}
				}
				var at []time.Time
				last, n, err := s.retry(t.Context(), tt.p.normalize(), targetSubscriber, fakeAttempts(&at, tt.results...))
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if n != tt.wantN || len(at) != tt.wantN {
					t.Errorf("attempts = %d (made %d), want %d", n, len(at), tt.wantN)
				}
				if got := gaps(at); !equalDurations(got, tt.want) {
					t.Errorf("waits = %v, want %v", got, tt.want)
				}
				if last.status != tt.results[min(n-1, len(tt.results)-1)].status {
					t.Errorf("last status = %d", last.status)
				}
			})
		})
	}
}

// TestRetryCancelDuringWait: cancelling ctx ends a long backoff at once.
func TestRetryCancelDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestSender(t)
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		time.AfterFunc(5*time.Second, cancel)
		var at []time.Time
		_, n, err := s.retry(ctx, Policy{Retry: 3, Delay: time.Hour}.normalize(), targetSubscriber, fakeAttempts(&at, failed(500, "")))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n != 1 {
			t.Errorf("attempts = %d, want 1", n)
		}
		if el := time.Since(start); el != 5*time.Second {
			t.Errorf("returned after %v, want 5s", el)
		}
	})
}

// retryAfterMax: PT0S (a negative cap in the contract) turns Retry-After off.
func TestIgnoreRetryAfter(t *testing.T) {
	now := time.Now()
	a := &attemptResult{status: http.StatusServiceUnavailable, retryAfter: "30"}
	honour := PolicyFromContract(&weftv1.Delivery{BackoffDelayMs: 10})
	ignore := PolicyFromContract(&weftv1.Delivery{BackoffDelayMs: 10, RetryAfterMaxMs: -1})
	if got := honour.retryWait(1, a, 0, now); got != 30*time.Second {
		t.Errorf("honoured wait = %v, want 30s", got)
	}
	if got := ignore.retryWait(1, a, 0, now); got != 20*time.Millisecond {
		t.Errorf("ignored wait = %v, want the plain backoff 20ms", got)
	}
}
