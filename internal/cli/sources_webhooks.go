package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/flagcheck"
	"github.com/weft-dev/weft/pkg/apis"
)

// The webhook sources of `weft source create webhook|gitlab|github`.

// webhookFlags are the flags of the webhook source types.
type webhookFlags struct {
	eventType, eventSource, user, password, passwordSecret, cors string
	projectURL, ownerRepo, secretToken, accessToken              string
	eventTypes                                                   []string
}

func addWebhookFlags(fs *pflag.FlagSet) *webhookFlags {
	wf := &webhookFlags{}
	fs.StringVar(&wf.eventType, "event-type", "", "webhook, httppoller: the events' type (required)")
	fs.StringVar(&wf.eventSource, "event-source", "", "webhook, httppoller: the events' source (default NAMESPACE.NAME)")
	fs.StringVar(&wf.user, "basic-auth-username", "", "webhook, httppoller: the HTTP basic authentication user")
	fs.StringVar(&wf.password, "basic-auth-password", "", "webhook: password HTTP basic authentication requires")
	fs.StringVar(&wf.passwordSecret, "basic-auth-password-secret", "", "webhook, httppoller: the basic authentication password, from SECRET:KEY (not with --basic-auth-password)")
	fs.StringVar(&wf.cors, "cors-allow-origin", "", "webhook: origin answered in Access-Control-Allow-Origin")
	fs.StringVar(&wf.projectURL, "project-url", "", "gitlab: the project's URL (required)")
	fs.StringVar(&wf.ownerRepo, "owner-and-repository", "", "github: OWNER/REPOSITORY or an organization (required)")
	fs.StringSliceVar(&wf.eventTypes, "event-types", nil, "gitlab, github: the hooks or events accepted, comma-separated (push_events,... / push,...)")
	fs.StringVar(&wf.secretToken, "secret-token-secret", "", "gitlab, github: SECRET:KEY holding the webhook's secret token (required)")
	fs.StringVar(&wf.accessToken, "access-token-secret", "", "gitlab, github: SECRET:KEY of an access token (accepted, not used: add the webhook yourself)")
	return wf
}

// secretKeyFlag parses SECRET:KEY.
func secretKeyFlag(flag, v string) (*apis.SecretKeySelector, error) {
	name, key, ok := strings.Cut(v, ":")
	if !ok || name == "" || key == "" {
		return nil, flagcheck.Errorf(flag, v, "be SECRET:KEY (a Secret in the source's namespace and the key of the value)")
	}
	return &apis.SecretKeySelector{Name: name, Key: key}, nil
}

// source builds the source of type typ (webhook, gitlab or github) the
// flags describe; ok is false for another type. The control plane's
// validation (run first by createOnly) checks the values.
func (wf *webhookFlags) source(typ, name, ns, sinkFlag string) (o apis.Object, ok bool, err error) {
	var errs []error
	var sink apis.Destination
	if sinkFlag == "" {
		errs = append(errs, fmt.Errorf("--sink: must be set: %s", sinkSyntax))
	} else if d, err := parseSink("--sink", sinkFlag); err != nil {
		errs = append(errs, err)
	} else {
		sink = *d
	}
	meta := apis.ObjectMeta{Name: name, Namespace: ns}
	secret := func(flag, v string, required bool) apis.SecretValueFromSource {
		if v == "" {
			if required {
				errs = append(errs, fmt.Errorf("%s: must be set: SECRET:KEY of the webhook's secret token", flag))
			}
			return apis.SecretValueFromSource{}
		}
		sel, err := secretKeyFlag(flag, v)
		if err != nil {
			errs = append(errs, err)
		}
		return apis.SecretValueFromSource{SecretKeyRef: sel}
	}
	switch typ {
	case "webhook":
		w := &apis.WebhookSource{TypeMeta: apis.TypeMeta{APIVersion: apis.SourcesTriggermeshV1alpha1, Kind: apis.KindWebhookSource}, ObjectMeta: meta}
		if err := flagcheck.Required("--event-type", wf.eventType); err != nil {
			errs = append(errs, err)
		}
		w.Spec.Sink, w.Spec.EventType = sink, wf.eventType
		if wf.eventSource != "" {
			w.Spec.EventSource = &wf.eventSource
		}
		if wf.cors != "" {
			w.Spec.CORSAllowOrigin = &wf.cors
		}
		if wf.user != "" {
			w.Spec.BasicAuthUsername = &wf.user
		}
		switch {
		case wf.password != "" && wf.passwordSecret != "":
			errs = append(errs, fmt.Errorf("--basic-auth-password-secret: not with --basic-auth-password"))
		case wf.password != "":
			w.Spec.BasicAuthPassword = &apis.ValueFromField{Value: wf.password}
		case wf.passwordSecret != "":
			sel, err := secretKeyFlag("--basic-auth-password-secret", wf.passwordSecret)
			if err != nil {
				errs = append(errs, err)
			}
			w.Spec.BasicAuthPassword = &apis.ValueFromField{ValueFromSecret: sel}
		}
		o = w
	case "gitlab":
		g := &apis.GitLabSource{TypeMeta: apis.TypeMeta{APIVersion: apis.SourcesV1alpha1, Kind: apis.KindGitLabSource}, ObjectMeta: meta}
		if err := flagcheck.Required("--project-url", wf.projectURL); err != nil {
			errs = append(errs, err)
		}
		g.Spec.Sink, g.Spec.ProjectURL, g.Spec.EventTypes = sink, wf.projectURL, wf.eventTypes
		g.Spec.SecretToken = secret("--secret-token-secret", wf.secretToken, true)
		g.Spec.AccessToken = secret("--access-token-secret", wf.accessToken, false)
		o = g
	case "github":
		g := &apis.GitHubSource{TypeMeta: apis.TypeMeta{APIVersion: apis.SourcesV1alpha1, Kind: apis.KindGitHubSource}, ObjectMeta: meta}
		if err := flagcheck.Required("--owner-and-repository", wf.ownerRepo); err != nil {
			errs = append(errs, err)
		}
		if len(wf.eventTypes) == 0 {
			errs = append(errs, fmt.Errorf("--event-types: must be set: the GitHub events accepted, e.g. push,pull_request"))
		}
		g.Spec.Sink, g.Spec.OwnerAndRepository, g.Spec.EventTypes = sink, wf.ownerRepo, wf.eventTypes
		g.Spec.SecretToken = secret("--secret-token-secret", wf.secretToken, true)
		g.Spec.AccessToken = secret("--access-token-secret", wf.accessToken, false)
		o = g
	default:
		return nil, false, nil
	}
	if err := flagcheck.Join(errs...); err != nil {
		return nil, true, err
	}
	return o, true, nil
}

// describeWebhookSource prints the spec and status fields of a webhook
// source for `weft describe`.
func describeWebhookSource(w io.Writer, o apis.Object) {
	line := fieldLine(w)
	secretRef := func(v apis.SecretValueFromSource) string {
		if v.SecretKeyRef == nil {
			return ""
		}
		return "secret " + v.SecretKeyRef.Name + ", key " + v.SecretKeyRef.Key
	}
	var st *apis.WebhookSourceStatus
	var sink *apis.Destination
	var ce *apis.CloudEventOverrides
	ns := o.GetObjectMeta().Namespace
	switch t := o.(type) {
	case *apis.WebhookSource:
		st, sink, ce = &t.Status, &t.Spec.Sink, t.Spec.CloudEventOverrides
		line("Event type", t.Spec.EventType)
		line("Event source", apis.WebhookSourceEventSource(t))
		if u := t.Spec.BasicAuthUsername; u != nil && *u != "" {
			auth := "basic, user " + *u
			if p := t.Spec.BasicAuthPassword; p != nil && p.ValueFromSecret != nil {
				auth += ", password from secret " + p.ValueFromSecret.Name + ", key " + p.ValueFromSecret.Key
			}
			line("Authentication", auth)
		}
		if c := t.Spec.CORSAllowOrigin; c != nil {
			line("CORS allow origin", *c)
		}
	case *apis.GitLabSource:
		st, sink, ce = &t.Status, &t.Spec.Sink, t.Spec.CloudEventOverrides
		line("Project URL", t.Spec.ProjectURL)
		events := strings.Join(t.Spec.EventTypes, ", ")
		if events == "" {
			events = "all"
		}
		line("Event types", events)
		line("Secret token", secretRef(t.Spec.SecretToken))
		line("Access token", secretRef(t.Spec.AccessToken))
	case *apis.GitHubSource:
		st, sink, ce = &t.Status, &t.Spec.Sink, t.Spec.CloudEventOverrides
		line("Owner and repository", t.Spec.OwnerAndRepository)
		line("Event types", strings.Join(t.Spec.EventTypes, ", "))
		line("Secret token", secretRef(t.Spec.SecretToken))
		line("Access token", secretRef(t.Spec.AccessToken))
	default:
		return
	}
	line("URL", urlOf(st.Address))
	if st.Address != nil && o.GetTypeMeta().Kind != apis.KindWebhookSource {
		line("Note", "Weft does not register the webhook: add the URL above as the webhook at the provider, with the secret token")
	}
	line("Sink", formatDest(sink, ns))
	line("Sink URI", st.SinkURI)
	printSpec(w, "CE overrides", ce)
	printSpec(w, "CE attributes", st.CloudEventAttributes)
}
