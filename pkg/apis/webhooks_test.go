package apis

import (
	"slices"
	"strings"
	"testing"
)

// webhookSource, gitLabSource and gitHubSource are manifests named "w" in
// namespace "ns" with the given spec (flush-left YAML).
func webhookSource(spec string) string {
	return "apiVersion: sources.triggermesh.io/v1alpha1\nkind: WebhookSource\nmetadata:\n  name: w\n  namespace: ns\nspec:\n" + indent(spec, 2)
}

func gitLabSource(spec string) string {
	return "apiVersion: sources.knative.dev/v1alpha1\nkind: GitLabSource\nmetadata:\n  name: w\n  namespace: ns\nspec:\n" + indent(spec, 2)
}

func gitHubSource(spec string) string {
	return "apiVersion: sources.knative.dev/v1alpha1\nkind: GitHubSource\nmetadata:\n  name: w\n  namespace: ns\nspec:\n" + indent(spec, 2)
}

const (
	okEventType   = "eventType: com.example.hook\n"
	okProject     = "projectUrl: https://gitlab.com/group/project\n"
	okSecretToken = "secretToken:\n  secretKeyRef:\n    name: hook\n    key: token\n"
	okRepo        = "ownerAndRepository: knative/eventing\neventTypes: [push]\n"
)

// TestDecodeManifestsWebhookSourcesInvalid feeds invalid WebhookSources,
// GitLabSources and GitHubSources through DecodeManifests and checks each
// error's path and message.
func TestDecodeManifestsWebhookSourcesInvalid(t *testing.T) {
	tests := []struct {
		name, manifest, path, message string
	}{
		// WebhookSource
		{"webhook: no eventType", webhookSource(okSink), "spec.eventType", "required: the type attribute"},
		{"webhook: no sink", webhookSource(okEventType), "spec.sink", "expected ref, uri, or both"},
		{"webhook: username without password", webhookSource(okSink + okEventType + "basicAuthUsername: bob"), "spec.basicAuthPassword", "required with spec.basicAuthUsername"},
		{"webhook: password without username", webhookSource(okSink + okEventType + "basicAuthPassword:\n  value: s3cret"), "spec.basicAuthUsername", "required with spec.basicAuthPassword"},
		{"webhook: password value and secret", webhookSource(okSink + okEventType + "basicAuthUsername: bob\nbasicAuthPassword:\n  value: s3cret\n  valueFromSecret:\n    name: pw\n    key: password"), "spec.basicAuthPassword", "exactly one of value and valueFromSecret"},
		{"webhook: password secret without key", webhookSource(okSink + okEventType + "basicAuthUsername: bob\nbasicAuthPassword:\n  valueFromSecret:\n    name: pw"), "spec.basicAuthPassword.valueFromSecret.key", "required"},
		{"webhook: password secret name invalid", webhookSource(okSink + okEventType + "basicAuthUsername: bob\nbasicAuthPassword:\n  valueFromSecret:\n    name: My_Secret\n    key: password"), "spec.basicAuthPassword.valueFromSecret.name", "DNS-1123 subdomain"},
		{"webhook: username with a colon", webhookSource(okSink + okEventType + "basicAuthUsername: \"bob:x\"\nbasicAuthPassword:\n  value: s3cret"), "spec.basicAuthUsername", "must not contain ':'"},
		{"webhook: cors origin with a path", webhookSource(okSink + okEventType + "corsAllowOrigin: https://app.example.com/page"), "spec.corsAllowOrigin", "must be \"*\" or an origin"},
		{"webhook: extension attributes from the request", webhookSource(okSink + okEventType + "eventExtensionAttributes:\n  from: [headers]"), "spec.eventExtensionAttributes", "not supported by Weft"},
		{"webhook: empty eventSource", webhookSource(okSink + okEventType + "eventSource: \"\""), "spec.eventSource", "must not be empty"},
		{"webhook: ceOverrides sets source", webhookSource(okSink + okEventType + "ceOverrides:\n  extensions:\n    source: x"), "spec.ceOverrides.extensions[source]", "overrides add extensions only"},
		{"webhook: unknown field token", webhookSource(okSink + okEventType + "token: abc"), "spec.token", "unknown field"},

		// GitLabSource
		{"gitlab: no projectUrl", gitLabSource(okSink + okSecretToken), "spec.projectUrl", "required: the GitLab project's URL"},
		{"gitlab: projectUrl without a path", gitLabSource(okSink + okSecretToken + "projectUrl: https://gitlab.com"), "spec.projectUrl", "with the project's path"},
		{"gitlab: projectUrl not http", gitLabSource(okSink + okSecretToken + "projectUrl: ssh://git@gitlab.com/group/project"), "spec.projectUrl", "must be an http(s) URL"},
		{"gitlab: unknown event type", gitLabSource(okSink + okSecretToken + okProject + "eventTypes: [push_events, push]"), "spec.eventTypes[1]", "unknown GitLab hook: must be one of push_events, tag_push_events"},
		{"gitlab: event type twice", gitLabSource(okSink + okSecretToken + okProject + "eventTypes: [push_events, issues_events, push_events]"), "spec.eventTypes[2]", "listed twice"},
		{"gitlab: no secretToken", gitLabSource(okSink + okProject), "spec.secretToken.secretKeyRef", "required: the Secret key holding the token GitLab sends in X-Gitlab-Token"},
		{"gitlab: secretToken without key", gitLabSource(okSink + okProject + "secretToken:\n  secretKeyRef:\n    name: hook"), "spec.secretToken.secretKeyRef.key", "required"},
		{"gitlab: accessToken key invalid", gitLabSource(okSink + okProject + okSecretToken + "accessToken:\n  secretKeyRef:\n    name: hook\n    key: \"a/b\""), "spec.accessToken.secretKeyRef.key", "must be a Secret data key"},
		{"gitlab: sink uri relative", gitLabSource(okProject + okSecretToken + "sink:\n  uri: /events"), "spec.sink.uri", "must be an absolute URL"},

		// GitHubSource
		{"github: no ownerAndRepository", gitHubSource(okSink + okSecretToken + "eventTypes: [push]"), "spec.ownerAndRepository", "required: \"owner/repository\""},
		{"github: ownerAndRepository with three parts", gitHubSource(okSink + okSecretToken + "ownerAndRepository: a/b/c\neventTypes: [push]"), "spec.ownerAndRepository", "must be \"owner/repository\" or an organization alone"},
		{"github: ownerAndRepository with a space", gitHubSource(okSink + okSecretToken + "ownerAndRepository: \"my org/repo\"\neventTypes: [push]"), "spec.ownerAndRepository", "must be \"owner/repository\""},
		{"github: no eventTypes", gitHubSource(okSink + okSecretToken + "ownerAndRepository: knative/eventing"), "spec.eventTypes", "required: at least one GitHub event"},
		{"github: unknown event type", gitHubSource(okSink + okSecretToken + "ownerAndRepository: knative/eventing\neventTypes: [push, pull_requests]"), "spec.eventTypes[1]", "unknown GitHub event: must be one of check_suite"},
		{"github: no secretToken", gitHubSource(okSink + okRepo), "spec.secretToken.secretKeyRef", "HMAC-SHA256 key of X-Hub-Signature-256"},
		{"github: secretToken name invalid", gitHubSource(okSink + okRepo + "secretToken:\n  secretKeyRef:\n    name: -hook\n    key: token"), "spec.secretToken.secretKeyRef.name", "DNS-1123 subdomain"},
		{"github: githubAPIURL relative", gitHubSource(okSink + okRepo + okSecretToken + "githubAPIURL: /api/v3"), "spec.githubAPIURL", "must be an http(s) URL"},
		{"github: sink ref without kind", gitHubSource(okRepo + okSecretToken + "sink:\n  ref:\n    apiVersion: v1\n    name: display"), "spec.sink.ref.kind", "required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			invalidManifest(t, tc.manifest, tc.path, tc.message)
		})
	}
}

func TestDecodeManifestsWebhookSourcesValid(t *testing.T) {
	manifests := []string{
		webhookSource(okSink + okEventType),
		webhookSource(okSink + okEventType + "eventSource: https://shop.example.com\nbasicAuthUsername: bob\nbasicAuthPassword:\n  valueFromSecret:\n    name: pw\n    key: password\ncorsAllowOrigin: \"*\"\nceOverrides:\n  extensions:\n    team: ops"),
		webhookSource(okSink + okEventType + "basicAuthUsername: bob\nbasicAuthPassword:\n  value: s3cret\ncorsAllowOrigin: https://app.example.com"),
		gitLabSource(okSink + okProject + okSecretToken + "eventTypes: [push_events, merge_requests_events]\nsslverify: true\naccessToken:\n  secretKeyRef:\n    name: hook\n    key: access"),
		gitLabSource("sink:\n  ref:\n    apiVersion: eventing.knative.dev/v1\n    kind: Broker\n    name: default\n" + okProject + okSecretToken),
		gitHubSource(okSink + okSecretToken + "ownerAndRepository: knative\neventTypes: [push, pull_request, ping]\ngithubAPIURL: https://github.example.com/api/v3/\nsecure: true"),
	}
	for _, m := range manifests {
		objs, err := DecodeManifests([]byte(m))
		if err != nil {
			t.Errorf("%s: %v", m, err)
			continue
		}
		c := DeepCopy(objs[0])
		if KindOf(c) != objs[0].GetTypeMeta().Kind {
			t.Errorf("KindOf(%T) = %q", c, KindOf(c))
		}
		if g, ok := objs[0].(*GitLabSource); ok && g.Spec.Sink.Ref != nil && g.Spec.Sink.Ref.Namespace != "ns" {
			t.Errorf("sink ref namespace = %q, want the source's", g.Spec.Sink.Ref.Namespace)
		}
	}
	for name, want := range map[string]string{
		"webhooksources": KindWebhookSource, "webhooksource.sources.triggermesh.io": KindWebhookSource,
		"gitlabsources.sources.knative.dev": KindGitLabSource, "GitHubSource": KindGitHubSource,
	} {
		if k, err := ResolveKind(name); err != nil || k != want {
			t.Errorf("ResolveKind(%q) = %q, %v", name, k, err)
		}
	}
}

func TestWebhookSourceEventAttributes(t *testing.T) {
	for header, want := range map[string]string{
		"Push Hook":               "dev.knative.sources.gitlab.push",
		"Tag Push Hook":           "dev.knative.sources.gitlab.tag_push",
		"Merge Request Hook":      "dev.knative.sources.gitlab.merge_request",
		"Confidential Issue Hook": "dev.knative.sources.gitlab.confidential_issue",
		"Job Hook":                "dev.knative.sources.gitlab.job",
		"Push":                    "",
		" Hook":                   "",
	} {
		if got := GitLabEventType(header); got != want {
			t.Errorf("GitLabEventType(%q) = %q, want %q", header, got, want)
		}
	}
	if got := GitLabEventHeaders([]string{"job_events", "push_events"}); !slices.Equal(got, []string{"Push Hook", "Job Hook", "Build Hook"}) {
		t.Errorf("GitLabEventHeaders = %q", got)
	}
	if got := GitLabEventTypes([]string{"merge_requests_events", "push_events"}); strings.Join(got, ",") != "dev.knative.sources.gitlab.merge_request,dev.knative.sources.gitlab.push" {
		t.Errorf("GitLabEventTypes = %q", got)
	}
	if got := len(GitLabEventHeaders(nil)); got != 13 {
		t.Errorf("every hook's headers: %d, want 13", got)
	}
	if got := GitHubEventTypes([]string{"push", "issues"}); strings.Join(got, ",") != "dev.knative.source.github.issues,dev.knative.source.github.push" {
		t.Errorf("GitHubEventTypes = %q", got)
	}
	w := &WebhookSource{ObjectMeta: ObjectMeta{Namespace: "ns", Name: "w"}}
	if got := WebhookSourceEventSource(w); got != "ns.w" {
		t.Errorf("default event source %q", got)
	}
}
