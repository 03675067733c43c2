package dispatcher

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/ingress"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// TestPercentEncodedSubjectFilter: an event posted to the real ingress with
// "ce-subject: hello%20world" matches a Trigger filtering on the decoded
// subject "hello world", and its subscriber receives the header
// percent-encoded again.
func TestPercentEncodedSubjectFilter(t *testing.T) {
	tests := []struct {
		id, posted, filter, wantWire string
	}{
		{id: "CE-HTTP-50", posted: "hello%20world", filter: "hello world", wantWire: "hello%20world"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			e := newEnv(t)
			e.createTopic(topic, 1)
			wire := make(chan string, 4)
			sub := &subscriber{}
			sub.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				wire <- r.Header.Get("Ce-Subject")
				sub.serve(w, r)
			}))
			t.Cleanup(sub.Close)
			d := start(t, testConfig(e.kcfg))
			eg := egress("subj", sub.URL, topic)
			eg.Filters = []*weftv1.Filter{{Dialect: &weftv1.Filter_Exact{Exact: &weftv1.Attributes{Attributes: map[string]string{"subject": tc.filter}}}}}
			c := contractOf(1, topic, eg)
			d.apply(t, c)

			icfg := ingress.DefaultConfig()
			icfg.Kafka, icfg.HTTPAddr, icfg.OpsAddr, icfg.ControlPlane, icfg.ProcessID = e.kcfg, "127.0.0.1:0", "", "", "test"
			in, err := ingress.New(icfg, ingress.WithLogger(testutil.Logger(t)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(in.Close)
			if err := in.ApplyContract(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(in.Handler())
			t.Cleanup(hs.Close)
			req, _ := http.NewRequest(http.MethodPost, hs.URL+"/ns/default", nil)
			req.Header["Ce-Specversion"] = []string{"1.0"}
			req.Header["Ce-Id"] = []string{"p1"}
			req.Header["Ce-Source"] = []string{"/s"}
			req.Header["Ce-Type"] = []string{"t"}
			req.Header["Ce-Subject"] = []string{tc.posted}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("ingress answered %d", resp.StatusCode)
			}
			select {
			case got := <-wire:
				if got != tc.wantWire {
					t.Errorf("subscriber got ce-subject %q, want %q", got, tc.wantWire)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("the trigger filtering on the decoded subject never delivered")
			}
		})
	}
}
