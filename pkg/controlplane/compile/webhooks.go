package compile

import (
	"errors"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Webhook sources (WebhookSource, GitLabSource, GitHubSource): each is an
// ingress entry at wire.SourcePath writing to its internal topic
// (wire.SourceTopic), with a Webhook part saying how the ingress checks and
// wraps requests, and one egress delivering the events to the sink in
// order from the topic's start.

// SourceURL is the address of a webhook source: where the provider posts.
func (o Options) SourceURL(kind, namespace, name string) string {
	return o.url(wire.SourcePath(kind, namespace, name))
}

// WebhookKey keys Compiled.Webhooks: kind, namespace and name.
func WebhookKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// errEmptyToken: a GitLab or GitHub source's secret token resolved to "",
// which would let anyone post (GitLab) or sign (GitHub) events.
var errEmptyToken = errors.New("is empty: the source needs a token to check requests against")

func (out *Compiled) compileWebhookSource(r resolver, w *apis.WebhookSource) {
	m := &w.ObjectMeta
	s := &w.Spec
	wh := &weftv1.Webhook{Type: s.EventType, Source: apis.WebhookSourceEventSource(w), Extensions: overrides(s.CloudEventOverrides)}
	er := EgressResolution{UID: m.UID}
	if s.BasicAuthUsername != nil && *s.BasicAuthUsername != "" {
		wh.BasicAuthUsername = *s.BasicAuthUsername
		pw, err := r.valueFrom(m.Namespace, s.BasicAuthPassword)
		if err != nil {
			er.fail(ReasonSecretResolve, "spec.basicAuthPassword: "+err.Error())
		}
		wh.BasicAuthPassword = pw
	}
	if s.CORSAllowOrigin != nil {
		wh.CorsAllowOrigin = *s.CORSAllowOrigin
	}
	out.compileWebhook(r, apis.KindWebhookSource, m, &s.Sink, wh, er)
}

func (out *Compiled) compileGitLabSource(r resolver, g *apis.GitLabSource) {
	m := &g.ObjectMeta
	s := &g.Spec
	wh := &weftv1.Webhook{Source: s.ProjectURL, Extensions: overrides(s.CloudEventOverrides)}
	if len(s.EventTypes) > 0 {
		// The hooks' X-Gitlab-Event values; none: every hook is accepted.
		wh.EventTypes = apis.GitLabEventHeaders(s.EventTypes)
	}
	er := EgressResolution{UID: m.UID}
	out.token(r, m, "spec.secretToken", &s.SecretToken, wh, &er)
	out.compileWebhook(r, apis.KindGitLabSource, m, &s.Sink, wh, er)
}

func (out *Compiled) compileGitHubSource(r resolver, g *apis.GitHubSource) {
	m := &g.ObjectMeta
	s := &g.Spec
	wh := &weftv1.Webhook{Source: apis.GitHubEventSource(s.OwnerAndRepository), EventTypes: s.EventTypes, Extensions: overrides(s.CloudEventOverrides)}
	er := EgressResolution{UID: m.UID}
	out.token(r, m, "spec.secretToken", &s.SecretToken, wh, &er)
	out.compileWebhook(r, apis.KindGitHubSource, m, &s.Sink, wh, er)
}

// token sets wh.Token from the secret v names; a missing or empty secret
// fails er.
func (out *Compiled) token(r resolver, m *apis.ObjectMeta, path string, v *apis.SecretValueFromSource, wh *weftv1.Webhook, er *EgressResolution) {
	tok, err := r.secretFrom(m.Namespace, v)
	if err == nil && tok == "" {
		err = errEmptyToken
	}
	if err != nil {
		er.fail(ReasonSecretResolve, path+": "+err.Error())
	}
	wh.Token = tok
}

// compileWebhook resolves the sink and adds the source's ingress entry,
// unless the sink or a secret does not resolve: such a source is left out
// of the contract (its path answers 404) and er says why.
func (out *Compiled) compileWebhook(r resolver, kind string, m *apis.ObjectMeta, sink *apis.Destination, wh *weftv1.Webhook, er EgressResolution) {
	ns, name := m.Namespace, m.Name
	dest, err := r.destinationOf(m, "spec.sink", sink)
	if err != nil {
		// The sink's failure is reported first: it is what the user
		// sees in sinkUri.
		er.Reason, er.Message = ReasonSubscriberResolve, "sink: "+err.Error()
	}
	er.SubscriberURI = dest
	out.Webhooks[WebhookKey(kind, ns, name)] = er
	if er.Reason != "" {
		return
	}
	out.Contract.Ingresses = append(out.Contract.Ingresses, &weftv1.Ingress{
		Uid: m.UID, Kind: kind, Namespace: ns, Name: name,
		Path: wire.SourcePath(kind, ns, name), Topic: wire.SourceTopic(kind, ns, name), Generation: m.Generation,
		Webhook:  wh,
		Egresses: sourceEgress(m, kind, wire.SourceGroup(kind, ns, name), dest, sink),
	})
}

// overrides is spec.ceOverrides.extensions (nil when none).
func overrides(o *apis.CloudEventOverrides) map[string]string {
	if o == nil || len(o.Extensions) == 0 {
		return nil
	}
	return o.Extensions
}
