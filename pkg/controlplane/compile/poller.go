package compile

import (
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// compileHTTPPollerSource adds an HTTPPollerSource's internal topic (no
// path: only the dispatcher owning its partition 0 writes it, one record per
// successful poll) with what to poll, and the egress delivering the polls'
// events to spec.sink in order. A sink that does not resolve, or a password
// Secret that does not, leaves the source out of the contract: nothing is
// polled that could not be sent, or that would be refused for want of
// credentials.
func (out *Compiled) compileHTTPPollerSource(r resolver, p *apis.HTTPPollerSource) {
	m := &p.ObjectMeta
	ns, name := m.Namespace, m.Name
	er := r.sourceSink(m, &p.Spec.Sink)
	dest := er.SubscriberURI
	password, err := r.valueFrom(ns, p.Spec.BasicAuthPassword)
	if err != nil && er.Reason == "" {
		er.fail(ReasonSecretResolve, "spec.basicAuthPassword: "+err.Error())
	}
	out.HTTPPollerSources[nsName(m)] = er
	if er.Reason != "" {
		return
	}
	s := &p.Spec
	out.Contract.Ingresses = append(out.Contract.Ingresses, &weftv1.Ingress{
		Uid: m.UID, Kind: apis.KindHTTPPollerSource, Namespace: ns, Name: name,
		Topic: wire.SourceTopic(apis.KindHTTPPollerSource, ns, name), Generation: m.Generation,
		Poller: &weftv1.HTTPPoller{
			Endpoint: s.Endpoint, Method: s.Method, Headers: s.Headers,
			IntervalMs: apis.PollInterval(s).Milliseconds(),
			Type:       s.EventType, Source: apis.HTTPPollerEventSource(p),
			SkipVerify: s.SkipVerify, CaCertificate: s.CACertificate,
			BasicAuthUsername: s.BasicAuthUsername, BasicAuthPassword: password,
			Extensions: overrides(p.Spec.CloudEventOverrides),
		},
		Egresses: sourceEgress(m, apis.KindHTTPPollerSource, wire.SourceGroup(apis.KindHTTPPollerSource, ns, name), dest, &p.Spec.Sink),
	})
}
