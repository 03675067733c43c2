// Package eventmesh builds the Knative Event Mesh backend's view of Weft's
// resources (GET /v1/getEventMesh, read by the Backstage plugin): brokers,
// event types, sources and subscribables with Knative's field names and
// population rules. Build is a pure function over a list of objects.
package eventmesh

import (
	"sort"
	"strings"

	"github.com/weft-dev/weft/pkg/apis"
)

// BackstageKubernetesIDLabel ties a subscriber to a Backstage entity: its
// value is what consumedBy lists.
const BackstageKubernetesIDLabel = "backstage.io/kubernetes-id"

// lastAppliedAnnotation is dropped from every object's annotations.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// EventMesh is the response of GET /v1/getEventMesh.
type EventMesh struct {
	Brokers       []Broker       `json:"brokers"`
	EventTypes    []EventType    `json:"eventTypes"`
	Sources       []Source       `json:"sources"`
	Subscribables []Subscribable `json:"subscribables"`
}

// Broker is a Broker and the event types offered on it.
type Broker struct {
	Annotations map[string]string `json:"annotations"`
	Labels      map[string]string `json:"labels"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	// ProvidedEventTypes are "<namespace>/<eventtype name>" of every
	// EventType whose reference is this broker.
	ProvidedEventTypes []string `json:"providedEventTypes"`
	UID                string   `json:"uid"`
}

// EventType is an EventType and who consumes it.
type EventType struct {
	Annotations map[string]string `json:"annotations"`
	// ConsumedBy are the backstage.io/kubernetes-id labels of the
	// subscribers of the Triggers and Subscriptions that receive the type.
	ConsumedBy  []string                 `json:"consumedBy"`
	Description *string                  `json:"description,omitempty"`
	Labels      map[string]string        `json:"labels"`
	Name        string                   `json:"name"`
	Namespace   string                   `json:"namespace"`
	Reference   *GroupKindNamespacedName `json:"reference,omitempty"`
	// SchemaData is deprecated in Knative, served as it is.
	SchemaData *string `json:"schemaData,omitempty"`
	SchemaURL  *string `json:"schemaURL,omitempty"`
	Type       string  `json:"type"`
	Uid        string  `json:"uid"` //nolint:revive // Knative's Go name and tag.
}

// GroupKindNamespacedName names an object across kinds.
type GroupKindNamespacedName struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// String is "group/kind/namespace/name".
func (g GroupKindNamespacedName) String() string {
	return gkn(g.Group, g.Kind, g.Namespace, g.Name)
}

// Source is an event source, where it sends and which types it sends.
type Source struct {
	Annotations map[string]string `json:"annotations"`
	Group       string            `json:"group"`
	Kind        string            `json:"kind"`
	Labels      map[string]string `json:"labels"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	// ProvidedEventTypeTypes are the CloudEvents types the source sends.
	ProvidedEventTypeTypes []string `json:"providedEventTypeTypes"`
	// ProvidedEventTypes are "<namespace>/<name>" of every EventType (any
	// namespace) of one of those types.
	ProvidedEventTypes []string                 `json:"providedEventTypes"`
	Sink               *GroupKindNamespacedName `json:"sink,omitempty"`
	UID                string                   `json:"uid"`
}

// Subscribable is a channel and the event types offered on it.
type Subscribable struct {
	Annotations        map[string]string `json:"annotations"`
	Group              string            `json:"group"`
	Kind               string            `json:"kind"`
	Labels             map[string]string `json:"labels"`
	Name               string            `json:"name"`
	Namespace          string            `json:"namespace"`
	ProvidedEventTypes []string          `json:"providedEventTypes"`
	UID                string            `json:"uid"`
}

// Build returns the event mesh of objs (every stored object; kinds the mesh
// does not show are ignored). Brokers, sources and subscribables keep the
// order of objs; event types are sorted by namespace and name.
//
// consumedBy follows Knative: a Trigger with a non-empty exact "type"
// attribute filter consumes the broker's event types of that type, any other
// Trigger all of them (CESQL and spec.filters are not considered); a
// Subscription consumes its channel's event types. The value is the
// subscriber's backstage.io/kubernetes-id label. Weft knows labels of its
// own objects only, so a subscriber ref to another Weft object (a Broker, a
// Channel, a KafkaSink, ...) contributes its label, and a ref to anything
// else (a Kubernetes Service) is skipped, as Knative skips subscribers
// without the label.
func Build(objs []apis.Object) EventMesh {
	m := EventMesh{Brokers: []Broker{}, EventTypes: []EventType{}, Sources: []Source{}, Subscribables: []Subscribable{}}
	byRef := map[string]apis.Object{}
	brokers := map[string]int{}       // group/kind/ns/name -> index in m.Brokers
	subscribables := map[string]int{} // same, in m.Subscribables
	var ets []*apis.EventType
	var triggers []*apis.Trigger
	var subs []*apis.Subscription
	for _, o := range objs {
		tm, md := o.GetTypeMeta(), o.GetObjectMeta()
		byRef[gkn(group(tm.APIVersion), tm.Kind, md.Namespace, md.Name)] = o
		switch t := o.(type) {
		case *apis.Broker:
			brokers[gkn(group(apis.EventingV1), apis.KindBroker, md.Namespace, md.Name)] = len(m.Brokers)
			m.Brokers = append(m.Brokers, Broker{
				Annotations: FilterAnnotations(md.Annotations), Labels: md.Labels, Name: md.Name, Namespace: md.Namespace,
				ProvidedEventTypes: []string{}, UID: md.UID,
			})
		case *apis.Channel:
			g := group(tm.APIVersion)
			subscribables[gkn(g, tm.Kind, md.Namespace, md.Name)] = len(m.Subscribables)
			m.Subscribables = append(m.Subscribables, Subscribable{
				Annotations: FilterAnnotations(md.Annotations), Group: g, Kind: tm.Kind, Labels: md.Labels,
				Name: md.Name, Namespace: md.Namespace, ProvidedEventTypes: []string{}, UID: md.UID,
			})
		case *apis.EventType:
			ets = append(ets, t)
		case *apis.Trigger:
			triggers = append(triggers, t)
		case *apis.Subscription:
			subs = append(subs, t)
		default:
			if types, sink, ok := SourceInfo(o); ok {
				s := Source{
					Annotations: FilterAnnotations(md.Annotations), Group: group(tm.APIVersion), Kind: tm.Kind, Labels: md.Labels,
					Name: md.Name, Namespace: md.Namespace, ProvidedEventTypeTypes: types, ProvidedEventTypes: []string{}, UID: md.UID,
				}
				if r := sink.Ref; r != nil && r.APIVersion != "" && r.Kind != "" && r.Name != "" {
					s.Sink = &GroupKindNamespacedName{Group: group(r.APIVersion), Kind: r.Kind, Name: r.Name, Namespace: md.Namespace}
				}
				m.Sources = append(m.Sources, s)
			}
		}
	}

	sort.Slice(ets, func(i, j int) bool {
		a, b := ets[i].ObjectMeta, ets[j].ObjectMeta
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	etIndex := map[string]int{} // ns/name -> index in m.EventTypes
	for _, et := range ets {
		e := convertEventType(et)
		id := e.Namespace + "/" + e.Name
		etIndex[id] = len(m.EventTypes)
		m.EventTypes = append(m.EventTypes, e)
		if e.Reference == nil {
			continue
		}
		ref := e.Reference.String()
		if i, ok := brokers[ref]; ok {
			m.Brokers[i].ProvidedEventTypes = append(m.Brokers[i].ProvidedEventTypes, id)
		} else if i, ok := subscribables[ref]; ok {
			m.Subscribables[i].ProvidedEventTypes = append(m.Subscribables[i].ProvidedEventTypes, id)
		}
	}

	// The subscriber's Backstage id: the label of the Weft object it names.
	backstageID := func(ns string, d *apis.Destination) string {
		if d == nil || d.Ref == nil {
			return ""
		}
		rns := d.Ref.Namespace
		if rns == "" {
			rns = ns
		}
		o, ok := byRef[gkn(group(d.Ref.APIVersion), d.Ref.Kind, rns, d.Ref.Name)]
		if !ok {
			return ""
		}
		return o.GetObjectMeta().Labels[BackstageKubernetesIDLabel]
	}
	for _, t := range triggers {
		id := backstageID(t.ObjectMeta.Namespace, &t.Spec.Subscriber)
		if id == "" || t.Spec.Broker == "" {
			continue
		}
		bi, ok := brokers[gkn(group(apis.EventingV1), apis.KindBroker, t.ObjectMeta.Namespace, t.Spec.Broker)]
		if !ok {
			continue
		}
		want := ""
		if t.Spec.Filter != nil {
			want = t.Spec.Filter.Attributes["type"]
		}
		for _, name := range m.Brokers[bi].ProvidedEventTypes {
			if i, ok := etIndex[name]; ok && (want == "" || m.EventTypes[i].Type == want) {
				m.EventTypes[i].ConsumedBy = append(m.EventTypes[i].ConsumedBy, id)
			}
		}
	}
	for _, s := range subs {
		id := backstageID(s.ObjectMeta.Namespace, s.Spec.Subscriber)
		if id == "" {
			continue
		}
		c := s.Spec.Channel
		ci, ok := subscribables[gkn(group(c.APIVersion), c.Kind, s.ObjectMeta.Namespace, c.Name)]
		if !ok {
			continue
		}
		for _, name := range m.Subscribables[ci].ProvidedEventTypes {
			if i, ok := etIndex[name]; ok {
				m.EventTypes[i].ConsumedBy = append(m.EventTypes[i].ConsumedBy, id)
			}
		}
	}

	for i := range m.Sources {
		s := &m.Sources[i]
		for _, et := range m.EventTypes {
			for _, typ := range s.ProvidedEventTypeTypes {
				if et.Type == typ {
					s.ProvidedEventTypes = append(s.ProvidedEventTypes, et.Namespace+"/"+et.Name)
					break
				}
			}
		}
	}
	return m
}

func convertEventType(et *apis.EventType) EventType {
	md := et.ObjectMeta
	e := EventType{
		Annotations: FilterAnnotations(md.Annotations), ConsumedBy: []string{}, Labels: md.Labels,
		Name: md.Name, Namespace: md.Namespace, Type: EventTypeType(et), Uid: md.UID,
		Description: optional(et.Spec.Description), SchemaData: optional(et.Spec.SchemaData), SchemaURL: optional(et.Spec.Schema),
	}
	if r := et.Spec.Reference; r != nil {
		e.Reference = &GroupKindNamespacedName{Group: group(r.APIVersion), Kind: r.Kind, Name: r.Name, Namespace: md.Namespace}
	}
	return e
}

// EventTypeType is an EventType's CloudEvents type: spec.type, or (v1beta3)
// the value of its "type" attribute.
func EventTypeType(et *apis.EventType) string {
	if et.Spec.Type != "" {
		return et.Spec.Type
	}
	for _, a := range et.Spec.Attributes {
		if a.Name == "type" {
			return a.Value
		}
	}
	return ""
}

// SourceInfo returns the CloudEvents types a Weft source sends and its sink;
// ok is false for an object that is not a source.
func SourceInfo(o apis.Object) (types []string, sink apis.Destination, ok bool) {
	switch t := o.(type) {
	case *apis.PingSource:
		return []string{apis.PingSourceEventType}, t.Spec.Sink, true
	case *apis.KafkaSource:
		return []string{apis.KafkaSourceEventType}, t.Spec.Sink, true
	case *apis.HTTPPollerSource:
		return nonEmpty(t.Spec.EventType), t.Spec.Sink, true
	case *apis.WebhookSource:
		return nonEmpty(t.Spec.EventType), t.Spec.Sink, true
	case *apis.GitLabSource:
		return uniq(apis.GitLabEventTypes(t.Spec.EventTypes)), t.Spec.Sink, true
	case *apis.GitHubSource:
		return uniq(apis.GitHubEventTypes(t.Spec.EventTypes)), t.Spec.Sink, true
	}
	return nil, apis.Destination{}, false
}

// FilterAnnotations drops kubectl.kubernetes.io/last-applied-configuration
// and returns nil when nothing is left (JSON null), as Knative does.
func FilterAnnotations(a map[string]string) map[string]string {
	var out map[string]string
	for k, v := range a {
		if k == lastAppliedAnnotation {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(a))
		}
		out[k] = v
	}
	return out
}

// group is the API group of an apiVersion ("" for the core group's "v1").
func group(apiVersion string) string {
	g, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return ""
	}
	return g
}

func gkn(group, kind, namespace, name string) string {
	return group + "/" + kind + "/" + namespace + "/" + name
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonEmpty(s string) []string {
	if s == "" {
		return []string{}
	}
	return []string{s}
}

func uniq(in []string) []string {
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
