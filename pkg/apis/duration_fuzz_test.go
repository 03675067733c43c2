package apis

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sosodev/duration"
)

// FuzzParseDuration parses fuzzed ISO-8601 durations. Properties: never
// panics; a valid duration has the sign of its text (a '-' prefix), is the
// sum of its components within float rounding (no overflow), and formats
// (sosodev/duration Format, the library's formatter) to text that parses
// back to the same duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"PT0.5S", "PT0.001S", "PT10S", "PT1M", "PT1M30S", "PT1.5M", "PT2H", "P1D", "P1DT2H", "P1W",
		"P1Y", "P1M", "PT0S", "P0D", "-PT5S", "", "5s", "1S", "PTX", "pt1s", "P1H", "PT1D", "PT1S1M",
		"P1.5.5D", "PT 1S", "P", "-P", "P1DT", "P300Y", "P292Y", "P292.2Y", "P106751D", "PT2562047H",
		"PT9223372036.854775807S", "P1Y1M1W1DT1H1M1.000000001S", "PT0.0000000001S",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseDuration(%q) = %v with error %v", s, d, err)
			}
			return
		}
		neg := strings.HasPrefix(s, "-")
		if (neg && d > 0) || (!neg && d < 0) {
			t.Fatalf("ParseDuration(%q) = %v: wrong sign", s, d)
		}
		p, perr := duration.Parse(s)
		if perr != nil {
			t.Fatalf("ParseDuration(%q) accepted what the library refuses: %v", s, perr)
		}
		const day = 24 * float64(time.Hour)
		ns := p.Years*365*day + p.Months*365*day/12 + p.Weeks*7*day + p.Days*day +
			p.Hours*float64(time.Hour) + p.Minutes*float64(time.Minute) + p.Seconds*float64(time.Second)
		if abs := math.Abs(float64(d)); math.Abs(abs-ns) > 8+ns*1e-12 {
			t.Fatalf("ParseDuration(%q) = %v (%d ns), the components add up to %.0f ns", s, d, int64(d), ns)
		}
		text := duration.Format(d)
		back, err := ParseDuration(text)
		if err != nil {
			t.Fatalf("ParseDuration(%q) = %v, formatted %q, which does not parse: %v", s, d, text, err)
		}
		if back != d {
			t.Fatalf("ParseDuration(%q) = %v, formatted %q, parses to %v", s, d, text, back)
		}
	})
}
