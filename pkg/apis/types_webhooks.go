package apis

import (
	"slices"
	"strings"
)

// Webhook sources: TriggerMesh's WebhookSource and Knative's GitLabSource
// and GitHubSource. Weft serves each at its own ingress path
// (status.address.url) and turns every authenticated request into an event
// in the source's internal topic, delivered from there to spec.sink. Weft
// never calls the GitLab or GitHub API: the webhook is added at the
// provider by the user, pointing at status.address.url (accessToken is
// accepted for compatibility and not used).

// API groups and versions of the webhook sources.
const (
	SourcesTriggermeshV1alpha1 = "sources.triggermesh.io/v1alpha1"
	SourcesV1alpha1            = "sources.knative.dev/v1alpha1"
)

// Kinds of the webhook sources.
const (
	KindWebhookSource = "WebhookSource"
	KindGitLabSource  = "GitLabSource"
	KindGitHubSource  = "GitHubSource"
)

// WebhookSource is sources.triggermesh.io/v1alpha1 WebhookSource: an HTTP
// endpoint wrapping every POST into an event of the configured type and
// source, optionally behind HTTP basic authentication.
type WebhookSource struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta          `json:"metadata"`
	Spec       WebhookSourceSpec   `json:"spec"`
	Status     WebhookSourceStatus `json:"status,omitempty"`
}

// WebhookSourceSpec is the WebhookSource's desired state (TriggerMesh's
// field names).
//
// +kubebuilder:validation:XValidation:rule="(has(self.basicAuthUsername) && size(self.basicAuthUsername) > 0) == (has(self.basicAuthPassword) && ((has(self.basicAuthPassword.value) && size(self.basicAuthPassword.value) > 0) || has(self.basicAuthPassword.valueFromSecret)))",message="basicAuthUsername and basicAuthPassword go together: set both (a password as {value: <password>} or {valueFromSecret: {name: <secret>, key: <key>}}) or neither",fieldPath=".basicAuthPassword"
type WebhookSourceSpec struct {
	// Sink receives the events.
	Sink Destination `json:"sink"`
	// CloudEventOverrides adds extensions to every event.
	// +optional
	CloudEventOverrides *CloudEventOverrides `json:"ceOverrides,omitempty"`
	// EventType is the events' type attribute.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^\S(.*\S)?$`
	EventType string `json:"eventType"`
	// EventSource is the events' source attribute (default
	// "{namespace}.{name}", as TriggerMesh's).
	// +optional
	// +kubebuilder:validation:MinLength=1
	EventSource *string `json:"eventSource,omitempty"`
	// EventExtensionAttributes would turn parts of each request (headers,
	// query, path...) into extensions; Weft does not support it yet and
	// refuses a manifest that sets it (use ceOverrides for fixed ones).
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.from) || size(self.from) == 0",message="not supported by Weft: extensions cannot be taken from the request; set fixed ones in spec.ceOverrides.extensions"
	EventExtensionAttributes *WebhookEventExtensionAttributes `json:"eventExtensionAttributes,omitempty"`
	// BasicAuthUsername and BasicAuthPassword, set together, are required
	// of every request (HTTP basic authentication).
	// +optional
	// +kubebuilder:validation:Pattern=`^[^:]*$`
	BasicAuthUsername *string `json:"basicAuthUsername,omitempty"`
	// +optional
	BasicAuthPassword *ValueFromField `json:"basicAuthPassword,omitempty"`
	// CORSAllowOrigin is answered in Access-Control-Allow-Origin, and makes
	// the endpoint answer CORS pre-flight (OPTIONS) requests.
	// +optional
	// +kubebuilder:validation:Pattern=`^(\*|https?://[^/?#]+/?)$`
	CORSAllowOrigin *string `json:"corsAllowOrigin,omitempty"`
}

// WebhookEventExtensionAttributes is TriggerMesh's
// spec.eventExtensionAttributes.
type WebhookEventExtensionAttributes struct {
	From []string `json:"from,omitempty"`
}

// WebhookSourceStatus is the observed state of a webhook source: its
// address (where the provider posts), the resolved sink and the
// attributes of the events it sends.
type WebhookSourceStatus struct {
	Status `json:",inline"`
	// Address is where requests are posted.
	Address *Addressable `json:"address,omitempty"`
	// SinkURI is the resolved spec.sink.
	SinkURI string `json:"sinkUri,omitempty"`
	// CloudEventAttributes are the attributes of the events sent.
	CloudEventAttributes []CloudEventAttributes `json:"ceAttributes,omitempty"`
}

func (w *WebhookSource) GetTypeMeta() *TypeMeta     { return &w.TypeMeta }
func (w *WebhookSource) GetObjectMeta() *ObjectMeta { return &w.ObjectMeta }
func (w *WebhookSource) GetConditions() []Condition { return w.Status.Conditions }

// WebhookSourceEventSource is the source attribute of a WebhookSource's
// events: spec.eventSource, or "{namespace}.{name}".
func WebhookSourceEventSource(w *WebhookSource) string {
	if s := w.Spec.EventSource; s != nil && *s != "" {
		return *s
	}
	return w.ObjectMeta.Namespace + "." + w.ObjectMeta.Name
}

// GitLabSource is sources.knative.dev/v1alpha1 GitLabSource: GitLab project
// hooks posted to Weft, each checked against the secret token
// (X-Gitlab-Token) and sent as a dev.knative.sources.gitlab.* event.
type GitLabSource struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta          `json:"metadata"`
	Spec       GitLabSourceSpec    `json:"spec"`
	Status     WebhookSourceStatus `json:"status,omitempty"`
}

// GitLabSourceSpec is the GitLabSource's desired state (Knative's field
// names).
type GitLabSourceSpec struct {
	// Sink receives the events.
	Sink Destination `json:"sink"`
	// CloudEventOverrides adds extensions to every event.
	// +optional
	CloudEventOverrides *CloudEventOverrides `json:"ceOverrides,omitempty"`
	// ServiceAccountName is accepted for compatibility; Weft runs no pod
	// for the source.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// ProjectURL is the GitLab project's URL, the events' source.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^/?#]+/+[^/?#].*$`
	ProjectURL string `json:"projectUrl"`
	// EventTypes are the project hooks accepted (push_events,
	// merge_requests_events, ...); a hook of another type is answered 200
	// and not stored. Empty: every type.
	// +optional
	// +listType=set
	// +kubebuilder:validation:items:Enum=push_events;tag_push_events;issues_events;confidential_issues_events;note_events;confidential_note_events;merge_requests_events;wiki_page_events;pipeline_events;job_events;deployment_events;releases_events
	EventTypes []string `json:"eventTypes,omitempty"`
	// AccessToken is accepted for compatibility and not used: Weft does not
	// call GitLab to add the hook; add status.address.url as the project's
	// webhook yourself.
	// +optional
	AccessToken SecretValueFromSource `json:"accessToken,omitempty"`
	// SecretToken is the token GitLab sends in X-Gitlab-Token; requests
	// without it are refused (401).
	// +kubebuilder:validation:XValidation:rule="has(self.secretKeyRef)",message="required: the Secret key holding the token GitLab sends in X-Gitlab-Token, as {secretKeyRef: {name: <secret>, key: <key>}}"
	SecretToken SecretValueFromSource `json:"secretToken"`
	// SSLVerify is accepted for compatibility (it configures the hook at
	// GitLab, which Weft does not create).
	// +optional
	SSLVerify bool `json:"sslverify,omitempty"`
}

func (g *GitLabSource) GetTypeMeta() *TypeMeta     { return &g.TypeMeta }
func (g *GitLabSource) GetObjectMeta() *ObjectMeta { return &g.ObjectMeta }
func (g *GitLabSource) GetConditions() []Condition { return g.Status.Conditions }

// GitLabEventTypePrefix starts the type of every GitLabSource event.
const GitLabEventTypePrefix = "dev.knative.sources.gitlab."

// gitLabHook is one kind of GitLab project hook: its name in
// spec.eventTypes (GitLab's add-project-hook attribute) and the values of
// X-Gitlab-Event its requests carry.
type gitLabHook struct {
	name    string
	headers []string
}

// gitLabHooks are the project hooks a GitLabSource accepts.
var gitLabHooks = []gitLabHook{
	{"push_events", []string{"Push Hook"}},
	{"tag_push_events", []string{"Tag Push Hook"}},
	{"issues_events", []string{"Issue Hook"}},
	{"confidential_issues_events", []string{"Confidential Issue Hook"}},
	{"note_events", []string{"Note Hook"}},
	{"confidential_note_events", []string{"Confidential Note Hook"}},
	{"merge_requests_events", []string{"Merge Request Hook"}},
	{"wiki_page_events", []string{"Wiki Page Hook"}},
	{"pipeline_events", []string{"Pipeline Hook"}},
	{"job_events", []string{"Job Hook", "Build Hook"}},
	{"deployment_events", []string{"Deployment Hook"}},
	{"releases_events", []string{"Release Hook"}},
}

// GitLabHookNames are the values spec.eventTypes accepts.
func GitLabHookNames() []string {
	out := make([]string, len(gitLabHooks))
	for i, h := range gitLabHooks {
		out[i] = h.name
	}
	return out
}

// GitLabEventHeaders are the X-Gitlab-Event values of the hooks named
// (every hook's when names is empty), in the order of the table.
func GitLabEventHeaders(names []string) []string {
	var out []string
	for _, h := range gitLabHooks {
		if len(names) == 0 || slices.Contains(names, h.name) {
			out = append(out, h.headers...)
		}
	}
	return out
}

// GitLabEventType is the type of the event made of a request whose
// X-Gitlab-Event is header ("Merge Request Hook":
// dev.knative.sources.gitlab.merge_request), as Knative's adapter derives
// it; "" when header does not end in " Hook".
func GitLabEventType(header string) string {
	base, ok := strings.CutSuffix(header, " Hook")
	if !ok || base == "" {
		return ""
	}
	return GitLabEventTypePrefix + strings.ToLower(strings.ReplaceAll(base, " ", "_"))
}

// GitLabEventTypes are the types of the events of the hooks named (every
// hook's when names is empty), sorted and without duplicates.
func GitLabEventTypes(names []string) []string {
	var out []string
	for _, h := range GitLabEventHeaders(names) {
		out = append(out, GitLabEventType(h))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// GitHubSource is sources.knative.dev/v1alpha1 GitHubSource: GitHub
// webhooks posted to Weft, each checked against the HMAC-SHA256 signature
// made with the secret token (X-Hub-Signature-256) and sent as a
// dev.knative.source.github.* event.
type GitHubSource struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta          `json:"metadata"`
	Spec       GitHubSourceSpec    `json:"spec"`
	Status     WebhookSourceStatus `json:"status,omitempty"`
}

// GitHubSourceSpec is the GitHubSource's desired state (Knative's field
// names).
type GitHubSourceSpec struct {
	// Sink receives the events.
	Sink Destination `json:"sink"`
	// CloudEventOverrides adds extensions to every event.
	// +optional
	CloudEventOverrides *CloudEventOverrides `json:"ceOverrides,omitempty"`
	// ServiceAccountName is accepted for compatibility; Weft runs no pod
	// for the source.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// OwnerAndRepository is "owner/repository", or an organization alone.
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`
	OwnerAndRepository string `json:"ownerAndRepository"`
	// EventTypes are the GitHub events accepted (push, pull_request, ...);
	// an event of another type is answered 200 and not stored.
	// +kubebuilder:validation:MinItems=1
	// +listType=set
	// +kubebuilder:validation:items:Enum=check_suite;commit_comment;create;delete;deployment;deployment_status;fork;gollum;installation;integration_installation;issue_comment;issues;label;member;membership;milestone;organization;org_block;page_build;ping;project_card;project_column;project;public;pull_request;pull_request_review;pull_request_review_comment;push;release;repository;status;team;team_add;watch
	EventTypes []string `json:"eventTypes"`
	// AccessToken is accepted for compatibility and not used: Weft does not
	// call GitHub to add the webhook; add status.address.url as the
	// repository's (or organization's) webhook yourself.
	// +optional
	AccessToken SecretValueFromSource `json:"accessToken,omitempty"`
	// SecretToken is the webhook's secret: the HMAC-SHA256 key of
	// X-Hub-Signature-256; requests without a valid signature are refused
	// (401).
	// +kubebuilder:validation:XValidation:rule="has(self.secretKeyRef)",message="required: the Secret key holding the webhook's secret (the HMAC-SHA256 key of X-Hub-Signature-256), as {secretKeyRef: {name: <secret>, key: <key>}}"
	SecretToken SecretValueFromSource `json:"secretToken"`
	// GitHubAPIURL is accepted for compatibility (GitHub Enterprise's API,
	// which Weft does not call).
	// +optional
	// +kubebuilder:validation:Pattern=`^(https?://[^/?#]+.*)?$`
	GitHubAPIURL string `json:"githubAPIURL,omitempty"`
	// Secure is accepted for compatibility (the webhook's scheme at
	// GitHub, which Weft does not set).
	// +optional
	Secure *bool `json:"secure,omitempty"`
}

func (g *GitHubSource) GetTypeMeta() *TypeMeta     { return &g.TypeMeta }
func (g *GitHubSource) GetObjectMeta() *ObjectMeta { return &g.ObjectMeta }
func (g *GitHubSource) GetConditions() []Condition { return g.Status.Conditions }

// GitHubEventTypePrefix starts the type of every GitHubSource event.
const GitHubEventTypePrefix = "dev.knative.source.github."

// GitHubEventSource is the source attribute of a GitHubSource's events.
func GitHubEventSource(ownerAndRepository string) string {
	return "https://github.com/" + ownerAndRepository
}

// GitHubEventTypes are the types of a GitHubSource's events, sorted.
func GitHubEventTypes(eventTypes []string) []string {
	out := make([]string, 0, len(eventTypes))
	for _, t := range eventTypes {
		out = append(out, GitHubEventTypePrefix+t)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// gitHubEvents are the values GitHubSource's spec.eventTypes accepts
// (Knative's CRD enum).
var gitHubEvents = []string{
	"check_suite", "commit_comment", "create", "delete", "deployment", "deployment_status", "fork", "gollum",
	"installation", "integration_installation", "issue_comment", "issues", "label", "member", "membership",
	"milestone", "organization", "org_block", "page_build", "ping", "project_card", "project_column", "project",
	"public", "pull_request", "pull_request_review", "pull_request_review_comment", "push", "release",
	"repository", "status", "team", "team_add", "watch",
}

// GitHubEventNames are the values GitHubSource's spec.eventTypes accepts.
func GitHubEventNames() []string { return slices.Clone(gitHubEvents) }
