package ingress_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/kafka"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

func webhookEntry(kind, name string, wh *weftv1.Webhook) *weftv1.Ingress {
	return &weftv1.Ingress{
		Uid: "src-" + name, Kind: kind, Namespace: "hooks", Name: name,
		Path: wire.SourcePath(kind, "hooks", name), Topic: wire.SourceTopic(kind, "hooks", name), Webhook: wh,
	}
}

// hookPost is one request to a webhook source.
type hookPost struct {
	method string
	path   string
	header map[string]string
	body   string
	user   *[2]string // basic authentication
}

type hookAnswer struct {
	code   int
	header http.Header
	body   string
}

func (p hookPost) do(t *testing.T, base string) hookAnswer {
	t.Helper()
	method := p.method
	if method == "" {
		method = http.MethodPost
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+p.path, strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.header {
		req.Header.Set(k, v)
	}
	if p.user != nil {
		req.SetBasicAuth(p.user[0], p.user[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return hookAnswer{resp.StatusCode, resp.Header, string(b)}
}

// endOffset is the end offset of partition 0 of topic.
func endOffset(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := ends.Lookup(topic, 0)
	if !ok || o.Err != nil {
		t.Fatalf("end offset of %s: %+v", topic, o)
	}
	return o.Offset
}

func sign(key, body string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhookFixture is an ingress serving one source of each kind: a
// WebhookSource without auth and one with basic auth, a GitLabSource
// accepting push and merge request hooks, a GitHubSource accepting push and
// pull_request; each source's topic has one partition.
type webhookFixture struct {
	kcfg kafka.Config
	adm  *kadm.Client
	base string
}

const (
	gitLabToken = "gl-secret-token"
	gitHubKey   = "gh-hmac-key"
)

func newWebhookFixture(t *testing.T) *webhookFixture {
	t.Helper()
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	entries := []*weftv1.Ingress{
		webhookEntry("WebhookSource", "open", &weftv1.Webhook{Type: "com.example.order", Source: "https://shop.example/orders",
			Extensions: map[string]string{"team": "ops"}, CorsAllowOrigin: "https://app.example"}),
		webhookEntry("WebhookSource", "basic", &weftv1.Webhook{Type: "com.example.alert", Source: "hooks.basic",
			BasicAuthUsername: "bob", BasicAuthPassword: "s3cret"}),
		// A token (the contract allows one; no WebhookSource field sets it yet).
		webhookEntry("WebhookSource", "bearer", &weftv1.Webhook{Type: "t", Source: "s", Token: "tok"}),
		webhookEntry("GitLabSource", "gl", &weftv1.Webhook{Source: "https://gitlab.com/group/project", Token: gitLabToken,
			EventTypes: []string{"Push Hook", "Merge Request Hook"}}),
		webhookEntry("GitHubSource", "gh", &weftv1.Webhook{Source: "https://github.com/knative/eventing", Token: gitHubKey,
			EventTypes: []string{"push", "pull_request"}, Extensions: map[string]string{"env": "prod"}}),
	}
	for _, e := range entries {
		createTopic(t, adm, e.Topic, 1)
	}
	_, hs := serveIngress(t, testConfig(kcfg), contractOf(1, entries...))
	return &webhookFixture{kcfg: kcfg, adm: adm, base: hs.URL}
}

// TestWebhookSourcesAuth: requests without valid credentials (no or wrong
// basic authentication, no or wrong X-Gitlab-Token, no, malformed or wrong
// X-Hub-Signature-256) are answered 401 saying what is wrong, and nothing
// reaches any source's topic (end offsets stay 0); other methods are 405
// with Allow; bodies above the limit are 413; unknown sources 404.
func TestWebhookSourcesAuth(t *testing.T) {
	f := newWebhookFixture(t)
	gl := wire.SourcePath("GitLabSource", "hooks", "gl")
	gh := wire.SourcePath("GitHubSource", "hooks", "gh")
	basic := wire.SourcePath("WebhookSource", "hooks", "basic")
	ghHeaders := func(sig string) map[string]string {
		h := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "Content-Type": "application/json"}
		if sig != "" {
			h["X-Hub-Signature-256"] = sig
		}
		return h
	}
	const body = `{"ref":"refs/heads/main"}`
	for name, tc := range map[string]struct {
		post      hookPost
		code      int
		message   string
		challenge string
	}{
		"basic: none":                {hookPost{path: basic, body: "x"}, 401, "requires HTTP basic authentication", `Basic realm="weft", charset="UTF-8"`},
		"basic: wrong password":      {hookPost{path: basic, body: "x", user: &[2]string{"bob", "guess"}}, 401, "wrong user or password", `Basic realm="weft", charset="UTF-8"`},
		"basic: wrong user":          {hookPost{path: basic, body: "x", user: &[2]string{"eve", "s3cret"}}, 401, "wrong user or password", `Basic realm="weft", charset="UTF-8"`},
		"bearer: none":               {hookPost{path: wire.SourcePath("WebhookSource", "hooks", "bearer"), body: "x"}, 401, "send an Authorization: Bearer header", `Bearer realm="weft"`},
		"bearer: wrong":              {hookPost{path: wire.SourcePath("WebhookSource", "hooks", "bearer"), body: "x", header: map[string]string{"Authorization": "Bearer guess"}}, 401, "wrong token", `Bearer realm="weft"`},
		"gitlab: no token":           {hookPost{path: gl, body: body, header: map[string]string{"X-Gitlab-Event": "Push Hook"}}, 401, "missing X-Gitlab-Token header", ""},
		"gitlab: wrong token":        {hookPost{path: gl, body: body, header: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guess"}}, 401, "X-Gitlab-Token does not match", ""},
		"github: no signature":       {hookPost{path: gh, body: body, header: ghHeaders("")}, 401, "missing X-Hub-Signature-256 header", ""},
		"github: sha1 only":          {hookPost{path: gh, body: body, header: ghHeaders("sha1=" + strings.Repeat("0", 40))}, 401, "malformed X-Hub-Signature-256", ""},
		"github: other key":          {hookPost{path: gh, body: body, header: ghHeaders(sign("other", body))}, 401, "does not match the body", ""},
		"github: body changed":       {hookPost{path: gh, body: body + " ", header: ghHeaders(sign(gitHubKey, body))}, 401, "does not match the body", ""},
		"github: not hex":            {hookPost{path: gh, body: body, header: ghHeaders("sha256=" + strings.Repeat("z", 64))}, 401, "malformed", ""},
		"GET":                        {hookPost{method: http.MethodGet, path: gl}, 405, "use POST", ""},
		"OPTIONS without CORS":       {hookPost{method: http.MethodOptions, path: gh}, 405, "use POST", ""},
		"too large":                  {hookPost{path: wire.SourcePath("WebhookSource", "hooks", "open"), body: strings.Repeat("x", 1<<20+1)}, 413, "too large", ""},
		"unknown source":             {hookPost{path: wire.SourcePath("GitHubSource", "hooks", "nope"), body: body}, 404, "no such source", ""},
		"gitlab: not a hook header":  {hookPost{path: gl, body: body, header: map[string]string{"X-Gitlab-Event": "Push", "X-Gitlab-Token": gitLabToken}}, 400, "is not a GitLab hook", ""},
		"gitlab: body not JSON":      {hookPost{path: gl, body: "push!", header: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": gitLabToken}}, 400, "must be JSON", ""},
		"github: no delivery header": {hookPost{path: gh, body: body, header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(gitHubKey, body)}}, 400, "missing X-GitHub-Delivery", ""},
	} {
		t.Run(name, func(t *testing.T) {
			a := tc.post.do(t, f.base)
			if a.code != tc.code || !strings.Contains(a.body, tc.message) {
				t.Errorf("%d %q; want %d containing %q", a.code, a.body, tc.code, tc.message)
			}
			if got := a.header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if tc.code == 405 && a.header.Get("Allow") != "POST" {
				t.Errorf("Allow %q", a.header.Get("Allow"))
			}
		})
	}
	for _, name := range []string{"open", "basic", "bearer"} {
		if n := endOffset(t, f.adm, wire.SourceTopic("WebhookSource", "hooks", name)); n != 0 {
			t.Errorf("WebhookSource %s: end offset %d, want 0: nothing stored", name, n)
		}
	}
	for _, kind := range []string{"GitLabSource", "GitHubSource"} {
		name := map[string]string{"GitLabSource": "gl", "GitHubSource": "gh"}[kind]
		if n := endOffset(t, f.adm, wire.SourceTopic(kind, "hooks", name)); n != 0 {
			t.Errorf("%s: end offset %d, want 0: nothing stored", kind, n)
		}
	}
}

// TestWebhookSourcesEvents: authenticated requests become events with the
// configured (WebhookSource) or provider-derived (GitLab, GitHub) type and
// source in the source's topic, 202 once stored; a hook whose type the
// source does not list is answered 200 and not stored.
func TestWebhookSourcesEvents(t *testing.T) {
	f := newWebhookFixture(t)
	read := func(kind, name string) *topicReader {
		return newTopicReader(t, f.kcfg, f.adm, wire.SourceTopic(kind, "hooks", name))
	}
	open, basic, gl, gh := read("WebhookSource", "open"), read("WebhookSource", "basic"), read("GitLabSource", "gl"), read("GitHubSource", "gh")
	bearer := read("WebhookSource", "bearer")

	check := func(a hookAnswer, code int, r *topicReader, want map[string]string, data string) {
		t.Helper()
		if a.code != code {
			t.Fatalf("answer %d %q, want %d", a.code, a.body, code)
		}
		recs := r.next()
		if want == nil {
			if len(recs) != 0 {
				t.Fatalf("%d records stored, want none", len(recs))
			}
			return
		}
		if len(recs) != 1 {
			t.Fatalf("%d records, want 1", len(recs))
		}
		e, err := cekafka.FromRecord(recs[0])
		if err != nil {
			t.Fatal(err)
		}
		got := attrsOf(t, e)
		if want["id"] == "<uuid>" {
			if _, err := uuid.Parse(got["id"]); err != nil {
				t.Errorf("id %q is not a UUID", got["id"])
			}
			want["id"] = got["id"]
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q (event %v)", k, got[k], v, got)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected attribute %s = %q", k, got[k])
			}
		}
		if string(e.Data()) != data {
			t.Errorf("data %q, want %q", e.Data(), data)
		}
	}

	t.Run("WebhookSource", func(t *testing.T) {
		a := hookPost{path: wire.SourcePath("WebhookSource", "hooks", "open"), body: "a=1&b=2",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}.do(t, f.base)
		if a.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Errorf("Access-Control-Allow-Origin %q", a.header.Get("Access-Control-Allow-Origin"))
		}
		check(a, 202, open, map[string]string{"specversion": "1.0", "id": "<uuid>", "type": "com.example.order",
			"source": "https://shop.example/orders", "datacontenttype": "application/x-www-form-urlencoded", "team": "ops"}, "a=1&b=2")

		a = hookPost{path: wire.SourcePath("WebhookSource", "hooks", "basic"), body: `{"level":"high"}`, user: &[2]string{"bob", "s3cret"},
			header: map[string]string{"Content-Type": "application/json"}}.do(t, f.base)
		check(a, 202, basic, map[string]string{"specversion": "1.0", "id": "<uuid>", "type": "com.example.alert",
			"source": "hooks.basic", "datacontenttype": "application/json"}, `{"level":"high"}`)

		a = hookPost{path: wire.SourcePath("WebhookSource", "hooks", "bearer"), body: "x", header: map[string]string{"Authorization": "Bearer tok"}}.do(t, f.base)
		check(a, 202, bearer, map[string]string{"specversion": "1.0", "id": "<uuid>", "type": "t", "source": "s"}, "x")

		pre := hookPost{method: http.MethodOptions, path: wire.SourcePath("WebhookSource", "hooks", "open"),
			header: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}}.do(t, f.base)
		if pre.code != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("CORS pre-flight: %d %v", pre.code, pre.header)
		}
	})

	t.Run("GitLabSource", func(t *testing.T) {
		const push = `{"object_kind":"push","ref":"refs/heads/main"}`
		a := hookPost{path: wire.SourcePath("GitLabSource", "hooks", "gl"), body: push,
			header: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": gitLabToken, "Content-Type": "application/json"}}.do(t, f.base)
		check(a, 202, gl, map[string]string{"specversion": "1.0", "id": "<uuid>", "type": "dev.knative.sources.gitlab.push",
			"source": "https://gitlab.com/group/project", "datacontenttype": "application/json", "comgitlabevent": "Push Hook"}, push)

		a = hookPost{path: wire.SourcePath("GitLabSource", "hooks", "gl"), body: `{"object_kind":"merge_request"}`,
			header: map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": gitLabToken}}.do(t, f.base)
		check(a, 202, gl, map[string]string{"specversion": "1.0", "id": "<uuid>", "type": "dev.knative.sources.gitlab.merge_request",
			"source": "https://gitlab.com/group/project", "datacontenttype": "application/json", "comgitlabevent": "Merge Request Hook"}, `{"object_kind":"merge_request"}`)

		// Not in spec.eventTypes: 200, not stored.
		a = hookPost{path: wire.SourcePath("GitLabSource", "hooks", "gl"), body: `{"object_kind":"issue"}`,
			header: map[string]string{"X-Gitlab-Event": "Issue Hook", "X-Gitlab-Token": gitLabToken}}.do(t, f.base)
		if !strings.Contains(a.body, "not among the source's spec.eventTypes; not stored") {
			t.Errorf("answer to a hook not listed: %q", a.body)
		}
		check(a, 200, gl, nil, "")
	})

	t.Run("GitHubSource", func(t *testing.T) {
		const push = `{"ref":"refs/heads/main","compare":"https://github.com/knative/eventing/compare/a10867b14bb7...000000000000"}`
		a := hookPost{path: wire.SourcePath("GitHubSource", "hooks", "gh"), body: push, header: map[string]string{
			"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			"X-Hub-Signature-256": sign(gitHubKey, push), "Content-Type": "application/json"}}.do(t, f.base)
		check(a, 202, gh, map[string]string{"specversion": "1.0", "id": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			"type": "dev.knative.source.github.push", "source": "https://github.com/knative/eventing",
			"datacontenttype": "application/json", "subject": "a10867b14bb7...000000000000", "env": "prod"}, push)

		// A form-encoded webhook: the signature covers the form, the data is its payload.
		const pr = `{"action":"opened","number":7,"pull_request":{"number":7}}`
		form := "payload=" + url.QueryEscape(pr)
		a = hookPost{path: wire.SourcePath("GitHubSource", "hooks", "gh"), body: form, header: map[string]string{
			"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-2",
			"X-Hub-Signature-256": sign(gitHubKey, form), "Content-Type": "application/x-www-form-urlencoded"}}.do(t, f.base)
		check(a, 202, gh, map[string]string{"specversion": "1.0", "id": "d-2", "type": "dev.knative.source.github.pull_request",
			"source": "https://github.com/knative/eventing", "datacontenttype": "application/json", "subject": "7", "env": "prod"}, pr)

		// A ping (sent when the webhook is added) is not listed: 200, not stored.
		const ping = `{"zen":"Keep it logically awesome.","hook_id":42}`
		a = hookPost{path: wire.SourcePath("GitHubSource", "hooks", "gh"), body: ping, header: map[string]string{
			"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-3", "X-Hub-Signature-256": sign(gitHubKey, ping)}}.do(t, f.base)
		if !strings.Contains(a.body, `X-GitHub-Event "ping" is not among the source's spec.eventTypes (push, pull_request); not stored`) {
			t.Errorf("answer to a ping: %q", a.body)
		}
		check(a, 200, gh, nil, "")
	})
}

// TestWebhookSourceKafkaDown: with Kafka gone, an authenticated request is
// answered 503 with Retry-After (never 202), so the provider retries.
func TestWebhookSourceKafkaDown(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	_, adm := adminFor(t, kcfg)
	e := webhookEntry("WebhookSource", "open", &weftv1.Webhook{Type: "t", Source: "s"})
	createTopic(t, adm, e.Topic, 1)
	_, hs := serveIngress(t, testConfig(kcfg), contractOf(1, e))
	post := hookPost{path: e.Path, body: "x"}
	if a := post.do(t, hs.URL); a.code != http.StatusAccepted {
		t.Fatalf("with Kafka up: %d %q", a.code, a.body)
	}
	srv.Close()
	a := post.do(t, hs.URL)
	if a.code != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Errorf("with Kafka down: %d %q, Retry-After %q; want 503 with Retry-After", a.code, a.body, a.header.Get("Retry-After"))
	}
}
