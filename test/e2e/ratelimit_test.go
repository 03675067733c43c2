package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
)

// A Broker's weft.dev/rate-limit annotations reach the ingress of `weft
// dev` through the control plane's contract: the broker accepts its burst
// and answers 429 after it, while a broker without them is not limited; new
// annotations applied to the Broker give it a new bucket.
func TestBrokerRateLimitAnnotationThroughWeftDev(t *testing.T) {
	sub := newSubscriber(t)
	d := startDev(t, sub.srv.URL+"/{name}")
	broker := func(name, burst string) string {
		m := "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: " + name + "\n  namespace: limits\n"
		if burst != "" {
			// A token every 100 s: the bucket does not refill during the test.
			m += "  annotations:\n    weft.dev/rate-limit: \"0.01\"\n    weft.dev/rate-limit-burst: \"" + burst + "\"\n"
		}
		return m
	}
	weftCLI(t, d.grpc, broker("limited", "3")+"---\n"+broker("free", ""), "apply", "-f", "-")
	waitKindReady(t, d.grpc, "brokers", "limits", 2)

	n := 0
	// accepted posts to url until it answers 429 once it served a first
	// event, and returns the 202s: the bucket's burst. 404s (the ingress
	// does not serve the path yet) and 429s before the first 202 (the
	// previous bucket, until the new contract arrives) take no token.
	accepted := func(url string) int {
		t.Helper()
		got := 0
		testutil.Eventually(t, 30*time.Second, "a 429 from "+url+" after its burst", func() (bool, string) {
			n++
			code := post(t, url, fmt.Sprintf("e-%d", n), "t", "/limits", `{}`)
			switch code {
			case http.StatusAccepted:
				got++
			case http.StatusTooManyRequests:
				return got > 0, "429"
			}
			return false, fmt.Sprint(code)
		})
		return got
	}
	if got := accepted(d.url("limits", "limited")); got != 3 {
		t.Errorf("the limited broker accepted %d events before its first 429, want its burst of 3", got)
	}
	for i := range 20 {
		if code := post(t, d.url("limits", "free"), fmt.Sprintf("free-%d", i), "t", "/limits", `{}`); code != http.StatusAccepted {
			t.Fatalf("the broker without a limit, event %d: %d", i, code)
		}
	}
	weftCLI(t, d.grpc, broker("limited", "5"), "apply", "-f", "-")
	if got := accepted(d.url("limits", "limited")); got != 5 {
		t.Errorf("after the burst became 5, the broker accepted %d events before its first 429, want 5", got)
	}
}
