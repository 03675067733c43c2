package apis

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	valid := []struct {
		in   string
		want time.Duration
	}{
		{"PT0.5S", 500 * time.Millisecond},
		{"PT0.001S", time.Millisecond},
		{"PT10S", 10 * time.Second},
		{"PT1M", time.Minute},
		{"PT1M30S", 90 * time.Second},
		{"PT1.5M", 90 * time.Second},
		{"PT2H", 2 * time.Hour},
		{"P1D", day},
		{"P1DT2H", day + 2*time.Hour},
		{"P1W", 7 * day},
		{"P1Y", 365 * day},
		{"P1M", 365 * day / 12},
		{"PT0S", 0},
		{"P0D", 0},
		{"-PT5S", -5 * time.Second},
	}
	for _, tc := range valid {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
	invalid := []struct{ in, substr string }{
		{"", "empty"},
		{"5s", "not an ISO-8601 duration"},
		{"1S", "not an ISO-8601 duration"},
		{"PTX", "not an ISO-8601 duration"},
		{"pt1s", "not an ISO-8601 duration"},
		{"P1H", "not an ISO-8601 duration"},     // hours need T
		{"PT1D", "not an ISO-8601 duration"},    // days cannot follow T
		{"PT1S1M", "not an ISO-8601 duration"},  // out of order
		{"P1.5.5D", "not an ISO-8601 duration"}, // two decimal points
		{"PT 1S", "not an ISO-8601 duration"},   // space
		{"P", `no value after "P"`},
		{"-P", `no value after "P"`},
		{"P1DT", `no value after "T"`},
		{"P300Y", "too long"},
	}
	for _, tc := range invalid {
		t.Run("invalid "+tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %v, want an error", tc.in, got)
			}
			if !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("error %q does not contain %q", err, tc.substr)
			}
			if tc.substr != "too long" && !strings.Contains(err.Error(), `"PT0.5S"`) {
				t.Errorf("error %q shows no example of a valid duration", err)
			}
		})
	}
}
