package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/testutil"
)

// The HTTP-facing and polling sources through `weft dev` and the real CLI: a
// Secret, a GitHubSource checking signatures with it, a WebhookSource behind
// basic authentication and an HTTPPollerSource, each with an HTTP sink.
// Requests with a bad signature or bad credentials get 401 and store
// nothing (the sources' topics hold only what was accepted); accepted ones
// arrive with the configured or derived type and source.
func TestSourcesThroughWeftDev(t *testing.T) {
	sub := newSubscriber(t)
	var polls atomic.Int64
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := polls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"poll":%d,"accept":%q}`, n, r.Header.Get("Accept"))
	}))
	t.Cleanup(endpoint.Close)
	d := startDev(t, "http://{name}.{namespace}.invalid")
	const ns = "src"
	weftCLI(t, d.grpc, "", "secret", "create", "gh", "-n", ns, "--from-literal", "secret=s3cr3t")
	weftCLI(t, d.grpc, "", "source", "create", "github", "repo", "-n", ns, "--owner-and-repository", "acme/app",
		"--event-types", "push", "--secret-token-secret", "gh:secret", "--sink", sub.srv.URL+"/github")
	weftCLI(t, d.grpc, "", "source", "create", "webhook", "hook", "-n", ns, "--event-type", "com.example.hook",
		"--basic-auth-username", "shop", "--basic-auth-password", "p4ss", "--sink", sub.srv.URL+"/hook")
	weftCLI(t, d.grpc, "", "source", "create", "httppoller", "poll", "-n", ns, "--endpoint", endpoint.URL, "--interval", "1s",
		"--event-type", "com.example.poll", "--header", "Accept=application/json", "--sink", sub.srv.URL+"/poll")
	testutil.Eventually(t, 60*time.Second, "three sources Ready", func() (bool, string) {
		out := weftCLI(t, d.grpc, "", "source", "list", "-n", ns)
		return strings.Count(out, " True ") == 3, out
	})

	base := "http://" + d.http + "/sources/"
	push := `{"ref":"refs/heads/main","compare":"https://github.com/acme/app/compare/a...b"}`
	sign := func(key, body string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	send := func(url, body string, header ...string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	gh := base + "githubsource/" + ns + "/repo"
	for _, tc := range []struct {
		what   string
		code   int
		header []string
	}{
		{"no signature", http.StatusUnauthorized, []string{"X-GitHub-Event", "push", "X-GitHub-Delivery", "d-0"}},
		{"wrong key", http.StatusUnauthorized, []string{"X-GitHub-Event", "push", "X-GitHub-Delivery", "d-1", "X-Hub-Signature-256", sign("guess", push)}},
		{"valid", http.StatusAccepted, []string{"X-GitHub-Event", "push", "X-GitHub-Delivery", "d-2", "X-Hub-Signature-256", sign("s3cr3t", push)}},
	} {
		if code := send(gh, push, tc.header...); code != tc.code {
			t.Errorf("github %s: %d, want %d", tc.what, code, tc.code)
		}
	}
	hook := base + "webhooksource/" + ns + "/hook"
	if code := send(hook, `{"order":1}`); code != http.StatusUnauthorized {
		t.Errorf("webhook without credentials: %d", code)
	}
	if code := send(hook, `{"order":2}`, "Authorization", "Basic c2hvcDp3cm9uZw=="); code != http.StatusUnauthorized { // shop:wrong
		t.Errorf("webhook with a wrong password: %d", code)
	}
	if code := send(hook, `{"order":3}`, "Authorization", "Basic c2hvcDpwNHNz"); code != http.StatusAccepted { // shop:p4ss
		t.Errorf("webhook with its credentials: %d", code)
	}

	testutil.Eventually(t, 30*time.Second, "the accepted webhooks and three polls delivered", func() (bool, string) {
		_, g, _ := sub.count("/github")
		_, h, _ := sub.count("/hook")
		_, p, _ := sub.count("/poll")
		return g == 1 && h == 1 && p >= 3, fmt.Sprintf("github %d, webhook %d, polls %d", g, h, p)
	})
	if r := sub.list("/github")[0]; r.ID != "d-2" || r.Type != "dev.knative.source.github.push" || r.Source != "https://github.com/acme/app" {
		t.Errorf("github event: id %q type %q source %q", r.ID, r.Type, r.Source)
	}
	if r := sub.list("/hook")[0]; r.Type != "com.example.hook" || r.Source != "src.hook" || string(r.Data) != `{"order":3}` {
		t.Errorf("webhook event: type %q source %q data %s", r.Type, r.Source, r.Data)
	}
	for _, r := range sub.list("/poll") {
		if r.Type != "com.example.poll" || r.Source != "src.poll" || !strings.Contains(string(r.Data), `"accept":"application/json"`) {
			t.Errorf("poll event: type %q source %q data %s", r.Type, r.Source, r.Data)
		}
	}

	// Nothing refused was stored: each webhook source's topic holds the
	// one accepted request.
	cl, err := kgo.NewClient(kgo.SeedBrokers(d.kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "weft.source.githubsource.src.repo", "weft.source.webhooksource.src.hook")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset != 1 {
			t.Errorf("%s[%d]: end offset %d (%v), want 1: a refused request was stored", o.Topic, o.Partition, o.Offset, o.Err)
		}
	})
	t.Logf("github: 2 refused, 1 delivered; webhook: 2 refused, 1 delivered; %d polls, %d delivered", polls.Load(), len(sub.list("/poll")))
}
