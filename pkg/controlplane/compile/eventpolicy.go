package compile

import (
	"slices"
	"strings"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Default authorization modes (Knative's default-authorization-mode): what
// an addressable no EventPolicy applies to admits once OIDC
// authentication is on.
const (
	AuthAllowAll           = "allow-all"
	AuthAllowSameNamespace = "allow-same-namespace"
	AuthDenyAll            = "deny-all"
)

// AuthModes lists the default authorization modes.
var AuthModes = []string{AuthAllowAll, AuthAllowSameNamespace, AuthDenyAll}

// audienceGroups is the API group of each stored addressable kind in its
// audience (Knative: "<group>/<kind>/<namespace>/<name>", lower-cased).
var audienceGroups = map[string]string{
	apis.KindBroker:    "eventing.knative.dev",
	apis.KindChannel:   "messaging.knative.dev",
	apis.KindSequence:  "flows.knative.dev",
	apis.KindParallel:  "flows.knative.dev",
	apis.KindKafkaSink: "eventing.knative.dev",
}

// Audience is the OIDC audience of an addressable as Knative computes it:
// "<group>/<kind>/<namespace>/<name>" lower-cased, e.g.
// "eventing.knative.dev/broker/ns/default"; kind is the manifest's kind
// (a channel's: Channel, InMemoryChannel or KafkaChannel).
func Audience(group, kind, namespace, name string) string {
	return strings.ToLower(group + "/" + kind + "/" + namespace + "/" + name)
}

// addressableMeta is what policy selection reads of an addressable.
type addressableMeta struct {
	kind string // the manifest's kind (InMemoryChannel for one)
	meta *apis.ObjectMeta
}

// compileAuth fills Ingress.auth of every served addressable (a broker,
// channel, sequence, parallel or KafkaSink: an entry with a path) when
// opts.OIDCAuthentication is on: its audience, the EventPolicies of its
// namespace whose spec.to selects it (by ref, by label selector, or every
// addressable when spec.to is empty), and the default mode for when none
// does. Off, no entry has auth and the ingress admits every sender, as
// before.
func (out *Compiled) compileAuth(res Resources, opts Options) {
	if !opts.OIDCAuthentication {
		return
	}
	mode := opts.DefaultAuthorizationMode
	if mode == "" {
		mode = AuthAllowAll
	}
	objs := map[string]addressableMeta{}
	add := func(stored string, o apis.Object) {
		kind := o.GetTypeMeta().Kind
		if kind == "" {
			kind = stored
		}
		objs[stored+"/"+nsName(o.GetObjectMeta())] = addressableMeta{kind: kind, meta: o.GetObjectMeta()}
	}
	for _, o := range res.Brokers {
		add(apis.KindBroker, o)
	}
	for _, o := range res.Channels {
		add(apis.KindChannel, o)
	}
	for _, o := range res.Sequences {
		add(apis.KindSequence, o)
	}
	for _, o := range res.Parallels {
		add(apis.KindParallel, o)
	}
	for _, o := range res.KafkaSinks {
		add(apis.KindKafkaSink, o)
	}
	policies := sortedByName(res.EventPolicies, func(p *apis.EventPolicy) *apis.ObjectMeta { return &p.ObjectMeta })
	for _, in := range out.Contract.Ingresses {
		group, ok := audienceGroups[in.Kind]
		if !ok || in.Path == "" {
			continue
		}
		a, ok := objs[in.Kind+"/"+in.Namespace+"/"+in.Name]
		if !ok {
			continue
		}
		auth := &weftv1.IngressAuth{
			Audience:    Audience(group, a.kind, in.Namespace, in.Name),
			DefaultMode: mode,
		}
		for _, p := range policies {
			if p.ObjectMeta.Namespace != in.Namespace || !Selects(p, in.Kind, a.meta) {
				continue
			}
			rule := &weftv1.EventPolicyRule{Namespace: p.ObjectMeta.Namespace, Name: p.ObjectMeta.Name, Subjects: p.Subjects()}
			for _, f := range p.Spec.Filters {
				rule.Filters = append(rule.Filters, CompileFilter(f))
			}
			auth.Policies = append(auth.Policies, rule)
		}
		in.Auth = auth
	}
}

// Selects reports whether policy p's spec.to selects the addressable of
// stored kind with metadata m (in p's namespace: the caller checks): every
// addressable when spec.to is empty, else one entry naming it by ref or
// selecting its kind (any kind when the selector names none) and labels.
func Selects(p *apis.EventPolicy, kind string, m *apis.ObjectMeta) bool {
	if len(p.Spec.To) == 0 {
		return true
	}
	return slices.ContainsFunc(p.Spec.To, func(t apis.EventPolicySpecTo) bool {
		switch {
		case t.Ref != nil:
			k, ok := apis.EventPolicyTargetKind(t.Ref.APIVersion, t.Ref.Kind)
			return ok && k == kind && t.Ref.Name == m.Name
		case t.Selector != nil:
			if t.Selector.Kind != "" {
				if k, ok := apis.EventPolicyTargetKind(t.Selector.APIVersion, t.Selector.Kind); !ok || k != kind {
					return false
				}
			}
			return t.Selector.Matches(m.Labels)
		}
		return false
	})
}
