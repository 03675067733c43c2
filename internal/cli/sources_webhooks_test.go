package cli

import (
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
)

// TestCLIWebhookSources: `weft source create webhook|gitlab|github` store the
// sources the flags describe; `weft source list` shows them with the
// PingSources (kind, sink, READY); `weft get` lists each kind with its URL;
// `weft source describe` shows the URL; bad flags name the flag.
func TestCLIWebhookSources(t *testing.T) {
	addr := startControlPlane(t)
	for _, args := range [][]string{
		{"source", "create", "webhook", "orders", "--event-type", "com.example.order", "--event-source", "https://shop.example",
			"--basic-auth-username", "bob", "--basic-auth-password", "s3cret", "--sink", "http://display.default.svc/"},
		{"source", "create", "gitlab", "repo", "--project-url", "https://gitlab.com/group/project", "--event-types", "push_events,merge_requests_events",
			"--secret-token-secret", "gitlab:token", "--sink", "broker:default"},
		{"source", "create", "github", "gh", "--owner-and-repository", "knative/eventing", "--event-types", "push,pull_request",
			"--secret-token-secret", "github:hmac", "--access-token-secret", "github:pat", "--sink", "http://display.default.svc/"},
		{"source", "create", "ping", "tick", "--schedule", "* * * * *", "--sink", "http://display.default.svc/"},
	} {
		if out, errs, code := weft(t, addr, "", args...); code != 0 || !strings.Contains(out, "created in namespace") {
			t.Fatalf("%v: code %d: %s%s", args, code, out, errs)
		}
	}
	w := getJSON(t, addr, "webhooksource", "orders").(*apis.WebhookSource)
	if w.APIVersion != apis.SourcesTriggermeshV1alpha1 || w.Spec.EventType != "com.example.order" || *w.Spec.EventSource != "https://shop.example" ||
		*w.Spec.BasicAuthUsername != "bob" || w.Spec.BasicAuthPassword.Value != "s3cret" {
		t.Errorf("WebhookSource stored as %+v", w.Spec)
	}
	if w.Status.Address == nil || !strings.HasSuffix(w.Status.Address.URL, "/sources/webhooksource/default/orders") {
		t.Errorf("WebhookSource address %+v", w.Status.Address)
	}
	gl := getJSON(t, addr, "gitlabsource", "repo").(*apis.GitLabSource)
	if gl.APIVersion != apis.SourcesV1alpha1 || gl.Spec.ProjectURL != "https://gitlab.com/group/project" ||
		strings.Join(gl.Spec.EventTypes, ",") != "push_events,merge_requests_events" || gl.Spec.SecretToken.SecretKeyRef.Name != "gitlab" ||
		gl.Spec.Sink.Ref == nil || gl.Spec.Sink.Ref.Kind != apis.KindBroker {
		t.Errorf("GitLabSource stored as %+v", gl.Spec)
	}
	gh := getJSON(t, addr, "githubsource", "gh").(*apis.GitHubSource)
	if gh.Spec.OwnerAndRepository != "knative/eventing" || gh.Spec.SecretToken.SecretKeyRef.Key != "hmac" || gh.Spec.AccessToken.SecretKeyRef.Key != "pat" {
		t.Errorf("GitHubSource stored as %+v", gh.Spec)
	}

	out, errs, code := weft(t, addr, "", "source", "list")
	if code != 0 {
		t.Fatalf("source list: %s", errs)
	}
	for name, want := range map[string][2]string{
		"orders": {apis.KindWebhookSource, "http://display.default.svc/"},
		"repo":   {apis.KindGitLabSource, "broker:default"},
		"gh":     {apis.KindGitHubSource, "http://display.default.svc/"},
		"tick":   {apis.KindPingSource, "http://display.default.svc/"},
	} {
		if k, s := cell(t, out, name, "KIND"), cell(t, out, name, "SINK"); k != want[0] || s != want[1] {
			t.Errorf("source list: %s: KIND %q SINK %q, want %v:\n%s", name, k, s, want, out)
		}
	}
	// The GitHubSource names a Secret that does not exist; the
	// GitLabSource's sink, a Broker, does not exist either.
	for name, reason := range map[string]string{"gh": "SecretResolveFailed", "repo": "SubscriberResolveFailed"} {
		if r := cell(t, out, name, "READY"); r != "False" {
			t.Errorf("source list: %s READY %q, want False:\n%s", name, r, out)
		}
		if !strings.Contains(rowOf(out, name), reason) {
			t.Errorf("source list: %s: no reason %s:\n%s", name, reason, out)
		}
	}
	for kind, name := range map[string]string{"webhooksources": "orders", "gitlabsources": "repo", "githubsources": "gh"} {
		out, errs, code := weft(t, addr, "", "get", kind)
		if code != 0 {
			t.Fatalf("get %s: %s", kind, errs)
		}
		if u := cell(t, out, name, "URL"); !strings.Contains(u, "/sources/"+strings.TrimSuffix(kind, "s")+"/default/"+name) {
			t.Errorf("get %s: URL %q:\n%s", kind, u, out)
		}
	}
	out, _, _ = weft(t, addr, "", "source", "describe", "gh")
	for _, want := range []string{"Owner and repository:", "knative/eventing", "URL:", "/sources/githubsource/default/gh",
		"Weft does not register the webhook", "Secret token:", "secret github, key hmac", "SecretsProvided", "SecretResolveFailed"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = weft(t, addr, "", "describe", "webhooksource", "orders")
	for _, want := range []string{"Event type:", "com.example.order", "Authentication:", "basic, user bob", "URL:", "/sources/webhooksource/default/orders"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe webhooksource lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("describe shows the password:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"source", "create", "webhook", "x", "--sink", "http://a.b/"}, "--event-type: must be set"},
		{[]string{"source", "create", "webhook", "x", "--event-type", "t", "--sink", "http://a.b/", "--basic-auth-username", "bob"}, "spec.basicAuthPassword"},
		{[]string{"source", "create", "gitlab", "x", "--project-url", "https://gitlab.com/g/p", "--sink", "http://a.b/"}, "--secret-token-secret: must be set"},
		{[]string{"source", "create", "gitlab", "x", "--project-url", "https://gitlab.com/g/p", "--secret-token-secret", "nokey", "--sink", "http://a.b/"}, "--secret-token-secret: must be SECRET:KEY"},
		{[]string{"source", "create", "gitlab", "x", "--project-url", "https://gitlab.com/g/p", "--secret-token-secret", "s:k", "--event-types", "pushes", "--sink", "http://a.b/"}, "spec.eventTypes[0]"},
		{[]string{"source", "create", "github", "x", "--owner-and-repository", "a/b", "--secret-token-secret", "s:k", "--sink", "http://a.b/"}, "--event-types: must be set"},
		{[]string{"source", "create", "github", "x", "--event-types", "push", "--secret-token-secret", "s:k", "--sink", "http://a.b/"}, "--owner-and-repository: must be set"},
	} {
		if _, errs, code := weft(t, addr, "", tc.args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d, %q; want %q", tc.args, code, errs, tc.want)
		}
	}
	if out, errs, code := weft(t, addr, "", "source", "delete", "repo", "tick"); code != 0 || strings.Count(out, "deleted") != 2 {
		t.Errorf("delete: %s%s", out, errs)
	}
	if _, errs, code := weft(t, addr, "", "source", "describe", "repo"); code == 0 || !strings.Contains(errs, `no source "repo"`) {
		t.Errorf("describe a deleted source: %d %s", code, errs)
	}
}

// rowOf is the line of table whose first field is name.
func rowOf(table, name string) string {
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return l
		}
	}
	return ""
}
