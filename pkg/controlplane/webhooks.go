package controlplane

import (
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
)

// webhookStatus fills a webhook source's status: its address (where the
// provider posts: the user adds it as the webhook at GitLab or GitHub,
// which Weft never calls), the resolved sink, the event attributes it
// sends, and the conditions SinkProvided, SecretsProvided, IngressReady
// (every ingress serves the path) and Deployed (every dispatcher runs the
// egress delivering the events).
func (s *Server) webhookStatus(kind string, m *apis.ObjectMeta, st *apis.WebhookSourceStatus, compiled *compile.Compiled, attrs []apis.CloudEventAttributes) {
	st.ObservedGeneration = m.Generation
	st.CloudEventAttributes = attrs
	st.Address = &apis.Addressable{Name: "http", URL: s.opts.SourceURL(kind, m.Namespace, m.Name)}
	res, found := compiled.Webhooks[compile.WebhookKey(kind, m.Namespace, m.Name)]
	st.SinkURI, st.Conditions = s.sourceConditions(res, found, sourceShape{kind: kind, secrets: true, ingress: true, needs: "spec.sink and the Secrets"})
}

// ceAttributes pairs each type with source.
func ceAttributes(types []string, source string) []apis.CloudEventAttributes {
	out := make([]apis.CloudEventAttributes, len(types))
	for i, t := range types {
		out[i] = apis.CloudEventAttributes{Type: t, Source: source}
	}
	return out
}
