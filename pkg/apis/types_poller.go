package apis

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// TriggerMesh's HTTPPollerSource: an HTTP endpoint polled on an interval,
// each successful response one event.

// HTTPPollerSourceAPIVersion is the API group and version of
// HTTPPollerSource (TriggerMesh's sources group).
const HTTPPollerSourceAPIVersion = "sources.triggermesh.io/v1alpha1"

// KindHTTPPollerSource is the kind of an HTTPPollerSource.
const KindHTTPPollerSource = "HTTPPollerSource"

// MinPollInterval is the shortest spec.interval an HTTPPollerSource may
// have: below a second a poller is a load generator, and the fleet's
// takeover (which waits out the last poll's interval) is measured in
// seconds anyway.
const MinPollInterval = time.Second

// HTTPPollerSource is sources.triggermesh.io/v1alpha1 HTTPPollerSource: an
// HTTP request sent to spec.endpoint every spec.interval, each 2xx
// response's body one event sent to the sink. Weft runs it in the
// dispatcher fleet like a PingSource: the one dispatcher owning the
// source's internal topic polls, and the events are delivered from there.
type HTTPPollerSource struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta             `json:"metadata"`
	Spec       HTTPPollerSourceSpec   `json:"spec"`
	Status     HTTPPollerSourceStatus `json:"status,omitempty"`
}

// HTTPPollerSourceSpec is the HTTPPollerSource's desired state
// (TriggerMesh's field names).
//
// +kubebuilder:validation:XValidation:rule="!has(self.skipVerify) || !self.skipVerify || !has(self.caCertificate) || size(self.caCertificate) == 0",message="skipVerify turns verification off, so caCertificate would never be used; set one of them",fieldPath=".skipVerify"
// +kubebuilder:validation:XValidation:rule="!has(self.basicAuthPassword) || (has(self.basicAuthPassword.value) && size(self.basicAuthPassword.value) > 0) || has(self.basicAuthPassword.valueFromSecret)",message="expected one of value and valueFromSecret (e.g. valueFromSecret: {name: poller-creds, key: password})",fieldPath=".basicAuthPassword"
// +kubebuilder:validation:XValidation:rule="!has(self.basicAuthPassword) || (has(self.basicAuthUsername) && size(self.basicAuthUsername) > 0)",message="set without spec.basicAuthUsername: basic authentication needs a username",fieldPath=".basicAuthPassword"
type HTTPPollerSourceSpec struct {
	// Sink receives the events.
	Sink Destination `json:"sink"`
	// CloudEventOverrides adds extensions to every event.
	// +optional
	CloudEventOverrides *CloudEventOverrides `json:"ceOverrides,omitempty"`
	// EventType is the events' CloudEvents type.
	// +kubebuilder:validation:MinLength=1
	EventType string `json:"eventType"`
	// EventSource is the events' CloudEvents source (default
	// "{namespace}.{name}", as TriggerMesh's).
	// +optional
	EventSource string `json:"eventSource,omitempty"`
	// Endpoint is the http or https URL polled.
	// +kubebuilder:validation:MaxLength=8192
	// +kubebuilder:validation:Pattern=`^https?://[^/?#@]+([/?#].*)?$`
	Endpoint string `json:"endpoint"`
	// Method is the request's HTTP method (default GET).
	// +optional
	// +kubebuilder:validation:Enum=GET;HEAD;POST;PUT;PATCH;DELETE;OPTIONS
	Method string `json:"method,omitempty"`
	// SkipVerify turns off verification of the endpoint's TLS certificate.
	// +optional
	SkipVerify bool `json:"skipVerify,omitempty"`
	// CACertificate is a PEM certificate trusted, besides the system's
	// roots, to verify the endpoint's certificate.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.contains('-----BEGIN CERTIFICATE-----')",message="must be one or more PEM-encoded certificates (-----BEGIN CERTIFICATE-----)"
	CACertificate string `json:"caCertificate,omitempty"`
	// BasicAuthUsername, with BasicAuthPassword, is sent as HTTP basic
	// authentication.
	// +optional
	// +kubebuilder:validation:Pattern=`^[^:]*$`
	BasicAuthUsername string `json:"basicAuthUsername,omitempty"`
	// BasicAuthPassword is the basic authentication password, literally or
	// from a Secret.
	// +optional
	BasicAuthPassword *ValueFromField `json:"basicAuthPassword,omitempty"`
	// Headers are set on every request.
	// +optional
	Headers map[string]string `json:"headers,omitempty"`
	// Interval between polls, a Go duration ("10s", "1m30s"); at least 1s.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="too short: must be at least 1s"
	Interval string `json:"interval"`
}

// HTTPPollerSourceStatus is the HTTPPollerSource's observed state.
type HTTPPollerSourceStatus struct {
	Status `json:",inline"`
	// SinkURI is the resolved spec.sink.
	SinkURI string `json:"sinkUri,omitempty"`
	// CloudEventAttributes are the attributes of the events sent.
	CloudEventAttributes []CloudEventAttributes `json:"ceAttributes,omitempty"`
}

func (p *HTTPPollerSource) GetTypeMeta() *TypeMeta     { return &p.TypeMeta }
func (p *HTTPPollerSource) GetObjectMeta() *ObjectMeta { return &p.ObjectMeta }
func (p *HTTPPollerSource) GetConditions() []Condition { return p.Status.Conditions }

// HTTPPollerEventSource is the source attribute of the source's events:
// spec.eventSource, or "{namespace}.{name}" as TriggerMesh's adapter names
// it.
func HTTPPollerEventSource(p *HTTPPollerSource) string {
	if p.Spec.EventSource != "" {
		return p.Spec.EventSource
	}
	return p.ObjectMeta.Namespace + "." + p.ObjectMeta.Name
}

// PollInterval is spec.interval parsed (0 when it does not parse; it
// validated before it was stored).
func PollInterval(s *HTTPPollerSourceSpec) time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(s.Interval))
	if err != nil {
		return 0
	}
	return d
}

// pollerMethods are the methods a poller may send.
var pollerMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// pollerReservedHeaders are headers the HTTP client sets itself; setting
// them in spec.headers would be silently ignored or break the request.
var pollerReservedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection"}

func defaultHTTPPollerSource(p *HTTPPollerSource) {
	defaultMeta(&p.TypeMeta, &p.ObjectMeta, KindHTTPPollerSource)
	defaultDestination(&p.Spec.Sink, p.ObjectMeta.Namespace)
	if p.Spec.Method == "" {
		p.Spec.Method = http.MethodGet
	}
}

func validateHTTPPollerSource(errs *errorList, p *HTTPPollerSource) {
	s := &p.Spec
	validateDestination(errs, "spec.sink", &s.Sink, p.ObjectMeta.Namespace, false)
	if strings.TrimSpace(s.EventType) == "" {
		errs.add("spec.eventType", "", "required: the CloudEvents type of the events (e.g. \"com.example.weather.alerts\")")
	}
	if s.EventSource != "" {
		if _, err := url.Parse(s.EventSource); err != nil {
			errs.add("spec.eventSource", s.EventSource, "must be a URI reference (e.g. \"https://api.example.com/alerts\" or \"example.alerts\"): %v", err)
		}
	}
	validatePollerEndpoint(errs, s.Endpoint)
	if !slices.Contains(pollerMethods, s.Method) {
		errs.add("spec.method", s.Method, "must be one of %s (upper case)", strings.Join(pollerMethods, ", "))
	}
	validatePollerInterval(errs, s.Interval)
	if s.CACertificate != "" {
		if p := caCertsProblem(s.CACertificate); p != "" {
			errs.add("spec.caCertificate", "", "%s", p)
		}
		if s.SkipVerify {
			errs.add("spec.skipVerify", "true", "skipVerify turns verification off, so caCertificate would never be used; set one of them")
		}
	}
	if s.BasicAuthPassword != nil {
		if s.BasicAuthUsername == "" {
			errs.add("spec.basicAuthPassword", "", "set without spec.basicAuthUsername: basic authentication needs a username")
		}
		validateValueFrom(errs, "spec.basicAuthPassword", s.BasicAuthPassword)
	}
	if strings.Contains(s.BasicAuthUsername, ":") {
		errs.add("spec.basicAuthUsername", s.BasicAuthUsername, "must not contain ':' (RFC 7617)")
	}
	for _, k := range sortedKeys(s.Headers) {
		path := "spec.headers[" + k + "]"
		switch {
		case !httpguts.ValidHeaderFieldName(k):
			errs.add(path, "", "invalid HTTP header name: letters, digits and !#$%%&'*+-.^_`|~ only (e.g. \"Accept\", \"X-Api-Key\")")
		case slices.ContainsFunc(pollerReservedHeaders, func(h string) bool { return strings.EqualFold(h, k) }):
			errs.add(path, "", "the HTTP client sets %s itself; it cannot be configured", http.CanonicalHeaderKey(k))
		case strings.EqualFold(k, "Authorization") && s.BasicAuthUsername != "":
			errs.add(path, "", "conflicts with spec.basicAuthUsername, which sets Authorization; use one of them")
		case !httpguts.ValidHeaderFieldValue(s.Headers[k]):
			errs.add(path, s.Headers[k], "invalid HTTP header value: no control characters such as newlines")
		}
	}
	validateCEOverrides(errs, "spec.ceOverrides", s.CloudEventOverrides)
}

func validatePollerEndpoint(errs *errorList, endpoint string) {
	const example = " (e.g. \"https://api.example.com/v1/alerts?area=KS\")"
	if endpoint == "" {
		errs.add("spec.endpoint", "", "required: the http or https URL to poll"+example)
		return
	}
	u, err := url.Parse(endpoint)
	switch {
	case err != nil:
		errs.add("spec.endpoint", endpoint, "invalid URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		errs.add("spec.endpoint", endpoint, "must be an absolute http or https URL"+example)
	case u.Host == "":
		errs.add("spec.endpoint", endpoint, "must have a host"+example)
	case u.User != nil:
		errs.add("spec.endpoint", "", "must not carry credentials: use spec.basicAuthUsername and spec.basicAuthPassword (from a Secret)")
	}
}

func validatePollerInterval(errs *errorList, interval string) {
	const what = "a Go duration of at least %s (e.g. \"10s\", \"5m\", \"1h30m\")"
	if strings.TrimSpace(interval) == "" {
		errs.add("spec.interval", "", "required: how often to poll, "+what, MinPollInterval)
		return
	}
	d, err := time.ParseDuration(strings.TrimSpace(interval))
	switch {
	case err != nil:
		errs.add("spec.interval", interval, "must be "+what, MinPollInterval)
	case d < MinPollInterval:
		errs.add("spec.interval", interval, "too short: must be at least %s", MinPollInterval)
	}
}
