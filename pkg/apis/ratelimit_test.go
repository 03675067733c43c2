package apis

import (
	"testing"
)

func TestRateLimitAnnotations(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        RateLimit
		path        string // of the error; "" when valid
		substr      string
	}{
		{"none", nil, RateLimit{}, "", ""},
		{"rate, burst defaults to it", map[string]string{AnnotationRateLimit: "100"}, RateLimit{100, 100}, "", ""},
		{"fractional rate rounds the burst up", map[string]string{AnnotationRateLimit: "0.5"}, RateLimit{0.5, 1}, "", ""},
		{"rate and burst", map[string]string{AnnotationRateLimit: "10", AnnotationRateLimitBurst: "500"}, RateLimit{10, 500}, "", ""},
		{"zero rate", map[string]string{AnnotationRateLimit: "0"}, RateLimit{}, "metadata.annotations[weft.dev/rate-limit]", "positive number of events per second"},
		{"negative rate", map[string]string{AnnotationRateLimit: "-3"}, RateLimit{}, "metadata.annotations[weft.dev/rate-limit]", "positive number"},
		{"not a number", map[string]string{AnnotationRateLimit: "fast"}, RateLimit{}, "metadata.annotations[weft.dev/rate-limit]", "positive number"},
		{"infinite", map[string]string{AnnotationRateLimit: "Inf"}, RateLimit{}, "metadata.annotations[weft.dev/rate-limit]", "positive number"},
		{"burst without a rate", map[string]string{AnnotationRateLimitBurst: "10"}, RateLimit{}, "metadata.annotations[weft.dev/rate-limit-burst]", "needs weft.dev/rate-limit"},
		{"zero burst", map[string]string{AnnotationRateLimit: "10", AnnotationRateLimitBurst: "0"}, RateLimit{}, "metadata.annotations[weft.dev/rate-limit-burst]", "positive integer no greater than 1000000"},
		{"fractional burst", map[string]string{AnnotationRateLimit: "10", AnnotationRateLimitBurst: "1.5"}, RateLimit{}, "metadata.annotations[weft.dev/rate-limit-burst]", "positive integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := validBroker()
			b.ObjectMeta.Annotations = tc.annotations
			if got := RateLimitOf(&b.ObjectMeta); got != tc.want {
				t.Errorf("RateLimitOf = %+v, want %+v", got, tc.want)
			}
			err := Validate(b)
			if tc.path == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			invalidAt(t, err, tc.path, tc.substr)
		})
	}
}
