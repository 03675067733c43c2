package apis

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Validation of the webhook sources: what TriggerMesh's and Knative's CRDs
// and webhooks check, plus what Weft needs to serve them (a token to check
// requests against for GitLab and GitHub).

// gitHubNameRe is the characters of a GitHub user, organization or
// repository name.
var gitHubNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func validateWebhookSource(errs *errorList, w *WebhookSource) {
	s := &w.Spec
	validateDestination(errs, "spec.sink", &s.Sink, w.ObjectMeta.Namespace, false)
	validateCEOverrides(errs, "spec.ceOverrides", s.CloudEventOverrides)
	if strings.TrimSpace(s.EventType) == "" {
		errs.add("spec.eventType", "", "required: the type attribute of the events (e.g. \"com.example.order.created\")")
	} else if s.EventType != strings.TrimSpace(s.EventType) {
		errs.add("spec.eventType", s.EventType, "must not start or end with spaces")
	}
	if s.EventSource != nil {
		if *s.EventSource == "" {
			errs.add("spec.eventSource", "", "must not be empty: leave it out for the default \"%s.%s\"", w.ObjectMeta.Namespace, w.ObjectMeta.Name)
		} else if _, err := url.Parse(*s.EventSource); err != nil {
			errs.add("spec.eventSource", *s.EventSource, "must be a URI-reference (e.g. \"https://shop.example.com/orders\" or \"/orders\"): %v", err)
		}
	}
	if a := s.EventExtensionAttributes; a != nil && len(a.From) > 0 {
		errs.add("spec.eventExtensionAttributes", "", "not supported by Weft: extensions cannot be taken from the request (%s); set fixed ones in spec.ceOverrides.extensions", strings.Join(a.From, ", "))
	}
	user := s.BasicAuthUsername != nil && *s.BasicAuthUsername != ""
	pass := s.BasicAuthPassword != nil && (s.BasicAuthPassword.Value != "" || s.BasicAuthPassword.ValueFromSecret != nil)
	switch {
	case user && !pass:
		errs.add("spec.basicAuthPassword", "", "required with spec.basicAuthUsername: {value: <password>} or {valueFromSecret: {name: <secret>, key: <key>}}")
	case pass && !user:
		errs.add("spec.basicAuthUsername", "", "required with spec.basicAuthPassword")
	}
	if user && strings.Contains(*s.BasicAuthUsername, ":") {
		errs.add("spec.basicAuthUsername", *s.BasicAuthUsername, "must not contain ':' (HTTP basic authentication separates user and password with it)")
	}
	if p := s.BasicAuthPassword; p != nil && p.ValueFromSecret != nil {
		if p.Value != "" {
			errs.add("spec.basicAuthPassword", "", "expected exactly one of value and valueFromSecret, got both")
		}
		validateSecretKeySelector(errs, "spec.basicAuthPassword.valueFromSecret", p.ValueFromSecret)
	}
	if o := s.CORSAllowOrigin; o != nil && *o != "*" {
		if u, err := url.Parse(*o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs.add("spec.corsAllowOrigin", *o, "must be \"*\" or an origin: scheme and host (e.g. \"https://app.example.com\")")
		}
	}
}

func validateGitLabSource(errs *errorList, g *GitLabSource) {
	s := &g.Spec
	validateDestination(errs, "spec.sink", &s.Sink, g.ObjectMeta.Namespace, false)
	validateCEOverrides(errs, "spec.ceOverrides", s.CloudEventOverrides)
	if s.ProjectURL == "" {
		errs.add("spec.projectUrl", "", "required: the GitLab project's URL (e.g. \"https://gitlab.com/group/project\")")
	} else if u, err := url.Parse(s.ProjectURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		errs.add("spec.projectUrl", s.ProjectURL, "must be an http(s) URL with the project's path (e.g. \"https://gitlab.com/group/project\")")
	}
	validateEventTypeNames(errs, s.EventTypes, GitLabHookNames(), "GitLab hook")
	validateSecretValue(errs, "spec.secretToken", &s.SecretToken, true, "the Secret key holding the token GitLab sends in X-Gitlab-Token")
	validateSecretValue(errs, "spec.accessToken", &s.AccessToken, false, "")
}

func validateGitHubSource(errs *errorList, g *GitHubSource) {
	s := &g.Spec
	validateDestination(errs, "spec.sink", &s.Sink, g.ObjectMeta.Namespace, false)
	validateCEOverrides(errs, "spec.ceOverrides", s.CloudEventOverrides)
	const ownerRepo = "must be \"owner/repository\" or an organization alone (e.g. \"knative/eventing\", \"knative\")"
	if s.OwnerAndRepository == "" {
		errs.add("spec.ownerAndRepository", "", "required: %s", strings.TrimPrefix(ownerRepo, "must be "))
	} else {
		parts := strings.Split(s.OwnerAndRepository, "/")
		ok := len(parts) <= 2
		for _, p := range parts {
			ok = ok && gitHubNameRe.MatchString(p)
		}
		if !ok {
			errs.add("spec.ownerAndRepository", s.OwnerAndRepository, "%s, with letters, digits, '-', '_' and '.'", ownerRepo)
		}
	}
	if len(s.EventTypes) == 0 {
		errs.add("spec.eventTypes", "", "required: at least one GitHub event (e.g. [push, pull_request])")
	}
	validateEventTypeNames(errs, s.EventTypes, gitHubEvents, "GitHub event")
	validateSecretValue(errs, "spec.secretToken", &s.SecretToken, true, "the Secret key holding the webhook's secret (the HMAC-SHA256 key of X-Hub-Signature-256)")
	validateSecretValue(errs, "spec.accessToken", &s.AccessToken, false, "")
	if s.GitHubAPIURL != "" {
		if u, err := url.Parse(s.GitHubAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add("spec.githubAPIURL", s.GitHubAPIURL, "must be an http(s) URL (e.g. \"https://github.example.com/api/v3/\")")
		}
	}
}

// validateEventTypeNames checks a webhook source's spec.eventTypes: each
// one of known (what names them), none twice.
func validateEventTypeNames(errs *errorList, types, known []string, what string) {
	for i, t := range types {
		path := fmt.Sprintf("spec.eventTypes[%d]", i)
		switch {
		case !slices.Contains(known, t):
			errs.add(path, t, "unknown %s: must be one of %s", what, strings.Join(known, ", "))
		case slices.Index(types, t) < i:
			errs.add(path, t, "listed twice")
		}
	}
}
