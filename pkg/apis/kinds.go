package apis

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// kindInfo is what the package knows about one kind a manifest may name.
type kindInfo struct {
	// kind is the manifest's kind; store is the kind it is stored as
	// (InMemoryChannel and KafkaChannel are stored as Channel).
	kind, store string
	// apiVersion is the one apiVersion Weft serves the kind in.
	apiVersion string
	// new returns a zero object of the kind's Go type.
	new func() Object
}

// manifestKinds lists every kind a manifest may name, in the order messages
// name them.
var manifestKinds = []kindInfo{
	{KindBroker, KindBroker, EventingV1, func() Object { return &Broker{} }},
	{KindTrigger, KindTrigger, EventingV1, func() Object { return &Trigger{} }},
	{KindChannel, KindChannel, MessagingV1, func() Object { return &Channel{} }},
	{KindInMemoryChannel, KindChannel, MessagingV1, func() Object { return &Channel{} }},
	{KindKafkaChannel, KindChannel, MessagingV1beta1, func() Object { return &Channel{} }},
	{KindSubscription, KindSubscription, MessagingV1, func() Object { return &Subscription{} }},
	{KindSequence, KindSequence, FlowsV1, func() Object { return &Sequence{} }},
	{KindParallel, KindParallel, FlowsV1, func() Object { return &Parallel{} }},
	{KindKafkaSink, KindKafkaSink, EventingV1alpha1, func() Object { return &KafkaSink{} }},
	{KindPingSource, KindPingSource, SourcesV1, func() Object { return &PingSource{} }},
	{KindKafkaSource, KindKafkaSource, SourcesV1beta1, func() Object { return &KafkaSource{} }},
	{KindHTTPPollerSource, KindHTTPPollerSource, HTTPPollerSourceAPIVersion, func() Object { return &HTTPPollerSource{} }},
	{KindWebhookSource, KindWebhookSource, SourcesTriggermeshV1alpha1, func() Object { return &WebhookSource{} }},
	{KindGitLabSource, KindGitLabSource, SourcesV1alpha1, func() Object { return &GitLabSource{} }},
	{KindGitHubSource, KindGitHubSource, SourcesV1alpha1, func() Object { return &GitHubSource{} }},
	{KindSecret, KindSecret, CoreV1, func() Object { return &Secret{} }},
	{KindEventPolicy, KindEventPolicy, EventingV1alpha1, func() Object { return &EventPolicy{} }},
	{KindEventType, KindEventType, EventingV1beta2, func() Object { return &EventType{} }},
}

// alsoAccepted lists, per kind, the apiVersions a manifest may name besides
// the served one (DefaultAPIVersion); SetDefaults converts such an object to
// the served version.
var alsoAccepted = map[string][]string{
	KindEventType: {EventingV1beta3},
}

// acceptsAPIVersion reports whether a manifest of kind may name apiVersion.
func acceptsAPIVersion(kind, apiVersion string) bool {
	return apiVersion != "" && (apiVersion == DefaultAPIVersion(kind) || slices.Contains(alsoAccepted[kind], apiVersion))
}

// kinds lists the kinds Weft stores, in the order messages name them.
var kinds = []string{KindBroker, KindTrigger, KindChannel, KindSubscription, KindSequence, KindParallel, KindKafkaSink, KindPingSource,
	KindKafkaSource, KindHTTPPollerSource, KindWebhookSource, KindGitLabSource, KindGitHubSource, KindSecret, KindEventPolicy, KindEventType}

// manifestKindNames are the kinds a manifest may name.
var manifestKindNames = func() []string {
	var out []string
	for _, k := range manifestKinds {
		out = append(out, k.kind)
	}
	return out
}()

// supportedKinds is how error messages name what is accepted.
var supportedKinds = func() string {
	var parts []string
	for _, k := range manifestKinds {
		parts = append(parts, k.kind+" ("+strings.Join(append([]string{k.apiVersion}, alsoAccepted[k.kind]...), " or ")+")")
	}
	return "Weft supports " + strings.Join(parts, ", ")
}()

// kindByName returns the manifest kind named kind (case-sensitive).
func kindByName(kind string) (kindInfo, bool) {
	for _, k := range manifestKinds {
		if k.kind == kind {
			return k, true
		}
	}
	return kindInfo{}, false
}

// KindOf is the kind o is stored as: its TypeMeta kind, except that every
// channel kind is KindChannel. Objects are keyed by KindOf, namespace and
// name, so a Channel, an InMemoryChannel and a KafkaChannel cannot share a
// name in a namespace (they would share a topic).
func KindOf(o Object) string {
	switch o.(type) {
	case *Broker:
		return KindBroker
	case *Trigger:
		return KindTrigger
	case *Channel:
		return KindChannel
	case *Subscription:
		return KindSubscription
	case *Sequence:
		return KindSequence
	case *Parallel:
		return KindParallel
	case *KafkaSink:
		return KindKafkaSink
	case *PingSource:
		return KindPingSource
	case *Secret:
		return KindSecret
	case *HTTPPollerSource:
		return KindHTTPPollerSource
	case *WebhookSource:
		return KindWebhookSource
	case *GitLabSource:
		return KindGitLabSource
	case *GitHubSource:
		return KindGitHubSource
	case *KafkaSource:
		return KindKafkaSource
	case *EventPolicy:
		return KindEventPolicy
	case *EventType:
		return KindEventType
	}
	return fmt.Sprintf("%T", o)
}

// DefaultAPIVersion is the apiVersion Weft serves a manifest kind in ("" for
// an unknown kind).
func DefaultAPIVersion(kind string) string {
	k, _ := kindByName(kind)
	return k.apiVersion
}

// kindAliases maps lower-cased CLI names to stored kinds, as kubectl accepts
// them: singular, plural, and either one qualified by the API group (and
// optionally the version).
var kindAliases = func() map[string]string {
	m := map[string]string{}
	for _, k := range manifestKinds {
		group, version, _ := strings.Cut(k.apiVersion, "/")
		singular := strings.ToLower(k.kind)
		for _, n := range []string{singular, plural(singular)} {
			m[n] = k.store
			m[n+"."+group] = k.store
			m[n+"."+version+"."+group] = k.store
		}
	}
	m["imc"] = KindChannel
	return m
}()

// plural is the plural of a lower-cased kind, as Kubernetes resource names
// spell it ("brokers", "eventpolicies").
func plural(kind string) string {
	if strings.HasSuffix(kind, "y") {
		return kind[:len(kind)-1] + "ies"
	}
	return kind + "s"
}

// ResolveKind maps a CLI kind name ("broker", "brokers", "Broker",
// "brokers.eventing.knative.dev", "kafkachannels", "sequence", ...;
// case-insensitive) to the kind it is stored as (KindBroker, KindTrigger,
// KindChannel, KindSubscription, KindSequence, KindParallel). The error
// matches ErrUnsupportedKind and ErrInvalid and lists the supported names.
func ResolveKind(s string) (string, error) {
	if k, ok := kindAliases[strings.ToLower(strings.TrimSpace(s))]; ok {
		return k, nil
	}
	var names []string
	for _, k := range manifestKinds {
		group, _, _ := strings.Cut(k.apiVersion, "/")
		p := plural(strings.ToLower(k.kind))
		names = append(names, fmt.Sprintf("%s (%q, %q, %q)", k.kind, strings.ToLower(k.kind), p, p+"."+group))
	}
	msg := "supported kinds are " + strings.Join(names, ", ")
	if s == "" {
		return "", FieldErrors{{Path: "kind", Message: "required; " + msg, reason: reasonUnsupported}}
	}
	return "", FieldErrors{{Path: "kind", Value: s, Message: "unsupported kind; " + msg, reason: reasonUnsupported}}
}

// New returns a zero object of the kind with apiVersion and kind set. kind
// is anything ResolveKind accepts; a channel is a Channel.
func New(kind string) (Object, error) {
	k, err := ResolveKind(kind)
	if err != nil {
		return nil, err
	}
	return newOf(k), nil
}

// newOf returns a zero object of manifest kind k with its TypeMeta set.
func newOf(kind string) Object {
	k, ok := kindByName(kind)
	if !ok {
		return nil
	}
	o := k.new()
	*o.GetTypeMeta() = TypeMeta{APIVersion: k.apiVersion, Kind: k.kind}
	return o
}

// copyJSON deep-copies o through JSON (the messaging and flows kinds: their
// specs are only read on the control plane, never on a hot path).
func copyJSON[T any](o *T) *T {
	if o == nil {
		return nil
	}
	b, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("deep copy %T: %v", o, err)) // unreachable: the types marshal
	}
	c := new(T)
	if err := json.Unmarshal(b, c); err != nil {
		panic(fmt.Sprintf("deep copy %T: %v", o, err))
	}
	return c
}
