package apis

import (
	"crypto/md5" //nolint:gosec // a name suffix, as Knative's, not a security hash
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// EventType auto-registration: annotations, labels and names.
const (
	// AnnotationEventTypeAutoCreate on a Broker or Channel turns EventType
	// auto-registration on ("true") or off ("false") for it, overriding the
	// control plane's --eventtype-auto-create default. Knative's equivalent
	// is the cluster-wide feature flag eventtype-auto-create (config-features).
	AnnotationEventTypeAutoCreate = "weft.dev/eventtype-auto-create"
	// LabelEventTypeAutoCreated marks an EventType the control plane
	// created from the events it saw ("true").
	LabelEventTypeAutoCreated = "weft.dev/eventtype-auto-created"
	// AnnotationOwnerReference on an auto-created EventType is the Broker
	// or Channel it was created for, as a Kubernetes ownerReference in JSON
	// ({"apiVersion","kind","name","uid"}): Knative sets the same owner in
	// metadata.ownerReferences, which Weft does not keep.
	AnnotationOwnerReference = "weft.dev/owner-reference"
	// AutoEventTypeDescription is the description of an auto-created
	// EventType (Knative's text).
	AutoEventTypeDescription = "Event Type auto-created by controller"
)

// OwnerReference is the owner of an auto-created EventType (the value of
// AnnotationOwnerReference).
type OwnerReference struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
}

// AutoEventTypeName is the name Knative gives the EventType it auto-creates
// for events of type and source on the addressable name in namespace:
// "et-{name}-{md5(type+source+namespace+name) in hex}", made a DNS-1123
// subdomain (lower case, invalid characters dropped, cut to 243 characters,
// trimmed of '-' and '.'), as knative.dev/eventing/pkg/eventtype does. The
// name is deterministic, so every replica picks the same one.
func AutoEventTypeName(name, namespace, eventType, source string) string {
	sum := md5.Sum([]byte(eventType + source + namespace + name)) //nolint:gosec
	return toDNS1123Subdomain(fmt.Sprintf("et-%s-%x", name, sum))
}

var invalidSubdomainChars = regexp.MustCompile(`[^-.a-z0-9]+`)

// toDNS1123Subdomain is Knative's utils.ToDNS1123Subdomain.
func toDNS1123Subdomain(s string) string {
	if dns1123Subdomain(s) == "" {
		return s
	}
	if len(s) > dns1123SubdomainMaxLength {
		s = s[:dns1123SubdomainMaxLength-10]
	}
	s = invalidSubdomainChars.ReplaceAllString(strings.ToLower(s), "")
	return strings.Trim(s, "-.")
}

// EventTypeAutoCreate says whether events sent to an addressable with
// annotations ann register EventTypes: the annotation when set, else def.
func EventTypeAutoCreate(ann map[string]string, def bool) bool {
	switch ann[AnnotationEventTypeAutoCreate] {
	case "true":
		return true
	case "false":
		return false
	}
	return def
}

// validateAutoCreateAnnotation checks AnnotationEventTypeAutoCreate on a
// Broker or Channel.
func validateAutoCreateAnnotation(errs *errorList, m *ObjectMeta) {
	if v, ok := m.Annotations[AnnotationEventTypeAutoCreate]; ok && v != "true" && v != "false" {
		errs.add(annotationPath(AnnotationEventTypeAutoCreate), v, "must be \"true\" or \"false\"")
	}
}

// eventTypeReferenceKinds are the kinds an EventType may be offered on,
// with their apiVersions.
var eventTypeReferenceKinds = map[string]string{
	KindBroker:          EventingV1,
	KindChannel:         MessagingV1,
	KindInMemoryChannel: MessagingV1,
	KindKafkaChannel:    MessagingV1beta1,
}

const eventTypeReferenceRule = "Broker (eventing.knative.dev/v1), Channel or InMemoryChannel (messaging.knative.dev/v1), or KafkaChannel (messaging.knative.dev/v1beta1)"

// attributeValue is the value of v1beta3's attribute name ("" when absent).
func attributeValue(attrs []EventAttributeDefinition, names ...string) string {
	for _, a := range attrs {
		if slices.Contains(names, a.Name) {
			return a.Value
		}
	}
	return ""
}

// defaultEventType fills an EventType's defaults: a v1beta3 EventType is
// served as v1beta2, its spec.type, spec.source and spec.schema taken from
// spec.attributes (type, source, dataschema or Knative's schemadata) when
// unset; spec.reference's namespace is the EventType's.
func defaultEventType(e *EventType) {
	defaultMeta(&e.TypeMeta, &e.ObjectMeta, KindEventType)
	if e.TypeMeta.APIVersion == EventingV1beta3 {
		e.TypeMeta.APIVersion = EventingV1beta2
	}
	s := &e.Spec
	if s.Type == "" {
		s.Type = attributeValue(s.Attributes, "type")
	}
	if s.Source == "" {
		s.Source = attributeValue(s.Attributes, "source")
	}
	if s.Schema == "" {
		s.Schema = attributeValue(s.Attributes, "dataschema", "schemadata")
	}
	if r := s.Reference; r != nil && r.Namespace == "" {
		r.Namespace = e.ObjectMeta.Namespace
	}
}

// validateEventTypeMeta is validateObjectMeta with the name checked as a
// DNS-1123 subdomain, as Kubernetes checks an EventType's (auto-created
// names may be longer than a label).
func validateEventTypeMeta(errs *errorList, m *ObjectMeta) {
	c := *m
	c.Name = "x"
	validateObjectMeta(errs, &c)
	if p := dns1123Subdomain(m.Name); p != "" {
		errs.add("metadata.name", m.Name, "%s", p)
	}
}

// validateEventType checks an EventType as Knative's webhook does (v1beta2:
// spec.type is required), and what Knative leaves as TODO: spec.source and
// spec.schema are URI references, spec.reference names a Broker or a
// channel in the EventType's namespace, spec.attributes have valid, unique
// names and agree with spec.type and spec.source.
func validateEventType(errs *errorList, e *EventType) {
	s := &e.Spec
	if s.Type == "" {
		errs.add("spec.type", "", "required: the CloudEvents type of the events (e.g. dev.knative.samples.helloworld), or a v1beta3 spec.attributes entry named type")
	}
	for _, f := range []struct{ path, v string }{{"spec.source", s.Source}, {"spec.schema", s.Schema}} {
		if p := uriReferenceProblem(f.v); p != "" {
			errs.add(f.path, f.v, "%s", p)
		}
	}
	if r := s.Reference; r != nil {
		validateRef(errs, "spec.reference", r, e.ObjectMeta.Namespace, false)
		if r.Kind != "" {
			if av, ok := eventTypeReferenceKinds[r.Kind]; !ok {
				errs.add("spec.reference.kind", r.Kind, "must be %s: an EventType is offered on a broker or a channel", eventTypeReferenceRule)
			} else if r.APIVersion != "" && r.APIVersion != av {
				errs.add("spec.reference.apiVersion", r.APIVersion, "must be %s for a %s", av, r.Kind)
			}
		}
		if r.Namespace != "" && r.Namespace != e.ObjectMeta.Namespace {
			errs.add("spec.reference.namespace", r.Namespace, "must be empty or the EventType's namespace %q", e.ObjectMeta.Namespace)
		}
	}
	seen := map[string]int{}
	for i, a := range s.Attributes {
		path := fmt.Sprintf("spec.attributes[%d]", i)
		switch {
		case a.Name == "":
			errs.add(path+".name", "", "required: a CloudEvents attribute name (e.g. type, source, specversion)")
		case !attributeNameRe.MatchString(a.Name):
			errs.add(path+".name", a.Name, "%s", attributeNameRule)
		default:
			if j, dup := seen[a.Name]; dup {
				errs.add(path+".name", a.Name, "duplicate: also spec.attributes[%d]", j)
			}
			seen[a.Name] = i
		}
		switch a.Name {
		case "type":
			if a.Value != "" && s.Type != "" && a.Value != s.Type {
				errs.add(path+".value", a.Value, "must equal spec.type %q", s.Type)
			}
		case "source":
			if a.Value != "" && s.Source != "" && a.Value != s.Source {
				errs.add(path+".value", a.Value, "must equal spec.source %q", s.Source)
			}
		}
	}
}

// uriReferenceProblem says why s is not a URI reference (RFC 3986), or ""
// ("" is fine: the field is optional).
func uriReferenceProblem(s string) string {
	if s == "" {
		return ""
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "must be a URI reference (RFC 3986, e.g. \"https://example.com/schema.json\" or \"/my/source\"): no spaces or control characters"
	}
	if _, err := url.Parse(s); err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Sprintf("must be a URI reference (RFC 3986, e.g. \"https://example.com/schema.json\" or \"/my/source\"): %v", err)
	}
	return ""
}

// validateEventTypeUpdate refuses any change of spec: Knative makes every
// field of an EventType's spec immutable (CheckImmutableFields diffs the
// whole spec).
func validateEventTypeUpdate(errs *errorList, o, n *EventType) {
	om, nm := specFields(o.Spec), specFields(n.Spec)
	var changed []string
	for _, k := range sortedKeys(om) {
		if nm[k] != om[k] {
			changed = append(changed, k)
		}
	}
	for _, k := range sortedKeys(nm) {
		if _, ok := om[k]; !ok {
			changed = append(changed, k)
		}
	}
	for _, k := range changed {
		errs.addReason(reasonImmutable, "spec."+k, "", "immutable: cannot change from %s to %s; every field of an EventType's spec is immutable (as Knative): delete the EventType and create it again",
			orNone(om[k]), orNone(nm[k]))
	}
}

// specFields is each set field of s as JSON.
func specFields(s EventTypeSpec) map[string]string {
	b, _ := json.Marshal(s)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
