package apis

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/sosodev/duration"
)

// iso8601DurationRe is the ISO-8601 duration grammar Knative accepts: an
// optional '-', 'P', date components Y M W D in that order, then 'T' and time
// components H M S in that order; numbers may have a fractional part.
var iso8601DurationRe = regexp.MustCompile(
	`^-?P(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$`)

// durationHelp is appended to every ParseDuration error.
const durationHelp = `an ISO-8601 duration looks like "PT0.5S", "PT10S", "PT1M30S", "PT2H" or "P1D"`

// ParseDuration parses an ISO-8601 duration ("PT0.5S", "PT1M", "P1DT2H",
// "-PT5S") as Knative's DeliverySpec uses them. Years and months are
// converted with fixed lengths (365 and 365/12 days). Anything else is an
// error, including Go-style durations such as "5s".
func ParseDuration(s string) (time.Duration, error) {
	d, problem := parseDuration(s)
	if problem != "" {
		return 0, fmt.Errorf("invalid duration %q: %s", s, problem)
	}
	return d, nil
}

// parseDuration returns the duration, or why s is not one (without quoting s).
func parseDuration(s string) (time.Duration, string) {
	if s == "" {
		return 0, "empty; " + durationHelp
	}
	if !iso8601DurationRe.MatchString(s) {
		return 0, "not an ISO-8601 duration; " + durationHelp
	}
	body := strings.TrimPrefix(s, "-")
	if body == "P" || strings.HasSuffix(body, "T") {
		return 0, fmt.Sprintf("no value after %q; %s", body[len(body)-1:], durationHelp)
	}
	d, err := duration.Parse(s)
	if err != nil {
		return 0, fmt.Sprintf("not an ISO-8601 duration (%v); %s", err, durationHelp)
	}
	const (
		day  = 24 * float64(time.Hour)
		year = 365 * day
	)
	ns := d.Years*year + d.Months*year/12 + d.Weeks*7*day + d.Days*day +
		d.Hours*float64(time.Hour) + d.Minutes*float64(time.Minute) + d.Seconds*float64(time.Second)
	if ns >= math.MaxInt64 {
		return 0, "too long: the maximum is about 292 years"
	}
	return d.ToTimeDuration(), ""
}
