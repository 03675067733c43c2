package apis

import (
	"crypto/md5" //nolint:gosec
	"encoding/hex"
	"strings"
	"testing"
)

// eventType is an EventType manifest named "et" in namespace "ns" with the
// given spec (flush-left YAML), in apiVersion v1beta2.
func eventType(spec string) string {
	return eventTypeAt(EventingV1beta2, "name: et\nnamespace: ns", spec)
}

func eventTypeAt(apiVersion, meta, spec string) string {
	return "apiVersion: " + apiVersion + "\nkind: EventType\nmetadata:\n" + indent(meta, 2) + "spec:\n" + indent(spec, 2)
}

const okEventTypeSpec = "type: greeting\nsource: not-sendoff\n"

func TestDecodeManifestsEventTypeValid(t *testing.T) {
	objs, err := DecodeManifests([]byte(eventType(okEventTypeSpec + "schema: https://example.com/greeting.json\ndescription: a greeting\nreference:\n  apiVersion: eventing.knative.dev/v1\n  kind: Broker\n  name: default")))
	if err != nil {
		t.Fatal(err)
	}
	e := objs[0].(*EventType)
	if e.APIVersion != EventingV1beta2 || e.Spec.Reference.Namespace != "ns" {
		t.Errorf("defaults: apiVersion %q, reference namespace %q; want %s and ns", e.APIVersion, e.Spec.Reference.Namespace, EventingV1beta2)
	}
	if KindOf(e) != KindEventType {
		t.Errorf("KindOf = %q", KindOf(e))
	}
	if err := ValidateUpdate(e, DeepCopy(e)); err != nil {
		t.Errorf("update without changes: %v", err)
	}
	for _, s := range []string{"eventtype", "eventtypes", "EventTypes", "eventtypes.eventing.knative.dev", "eventtypes.v1beta2.eventing.knative.dev"} {
		if k, err := ResolveKind(s); err != nil || k != KindEventType {
			t.Errorf("ResolveKind(%q) = %q, %v", s, k, err)
		}
	}

	// A v1beta3 manifest is accepted and served as v1beta2, its type and
	// source taken from spec.attributes.
	v3 := eventTypeAt(EventingV1beta3, "name: et3\nnamespace: ns", `attributes:
- {name: type, value: greeting, required: true}
- {name: source, value: not-sendoff, required: true}
- {name: dataschema, value: "https://example.com/s.json", required: true}
- {name: specversion, value: "1.0", required: true}
- {name: id, required: false}
reference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}`)
	objs, err = DecodeManifests([]byte(v3))
	if err != nil {
		t.Fatal(err)
	}
	e3 := objs[0].(*EventType)
	if e3.APIVersion != EventingV1beta2 || e3.Spec.Type != "greeting" || e3.Spec.Source != "not-sendoff" || e3.Spec.Schema != "https://example.com/s.json" || len(e3.Spec.Attributes) != 5 {
		t.Errorf("v1beta3 EventType decoded as %+v %+v", e3.TypeMeta, e3.Spec)
	}
	if _, err := DecodeObject([]byte(v3)); err != nil {
		t.Errorf("DecodeObject(v1beta3): %v", err)
	}
	// A typed list of either version.
	list := "apiVersion: " + EventingV1beta3 + "\nkind: EventTypeList\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(eventTypeAt(EventingV1beta3, "name: a", "type: t")), "\n", "\n  ")
	if objs, err := DecodeManifests([]byte(list)); err != nil || len(objs) != 1 {
		t.Errorf("EventTypeList: %d objects, %v", len(objs), err)
	}
	// Knative names EventTypes as subdomains: longer than a label is fine.
	long := "et-" + strings.Repeat("a", 70) + ".x"
	if _, err := DecodeManifests([]byte(eventTypeAt(EventingV1beta2, "name: "+long, "type: t"))); err != nil {
		t.Errorf("subdomain name: %v", err)
	}
}

// TestDecodeManifestsEventTypeInvalid feeds invalid EventTypes through
// DecodeManifests and checks each error's path and message; a case with old
// checks ValidateUpdate(old, new).
func TestDecodeManifestsEventTypeInvalid(t *testing.T) {
	broker := "reference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}\n"
	tests := []struct {
		name     string
		old      string
		manifest string
		path     string
		message  string
	}{
		{name: "no type", manifest: eventType("source: /s"), path: "spec.type", message: "required: the CloudEvents type"},
		{name: "v1beta3 without a type attribute", manifest: eventTypeAt(EventingV1beta3, "name: et", "attributes: [{name: source, value: /s}]"), path: "spec.type", message: "required"},
		{name: "source with a space", manifest: eventType("type: t\nsource: \"not a uri\""), path: "spec.source", message: "must be a URI reference"},
		{name: "schema not a URI", manifest: eventType("type: t\nschema: \"http://[::1\""), path: "spec.schema", message: "must be a URI reference"},
		{name: "reference to a Service", manifest: eventType("type: t\nreference: {apiVersion: v1, kind: Service, name: svc}"), path: "spec.reference.kind", message: "must be Broker (eventing.knative.dev/v1), Channel or InMemoryChannel"},
		{name: "reference to a Broker of another version", manifest: eventType("type: t\nreference: {apiVersion: eventing.knative.dev/v1beta1, kind: Broker, name: b}"), path: "spec.reference.apiVersion", message: "must be eventing.knative.dev/v1 for a Broker"},
		{name: "reference without name", manifest: eventType("type: t\nreference: {apiVersion: eventing.knative.dev/v1, kind: Broker}"), path: "spec.reference.name", message: "required"},
		{name: "reference without apiVersion", manifest: eventType("type: t\nreference: {kind: Broker, name: b}"), path: "spec.reference.apiVersion", message: "required"},
		{name: "reference in another namespace", manifest: eventType("type: t\nreference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: b, namespace: other}"), path: "spec.reference.namespace", message: `must be empty or the EventType's namespace "ns"`},
		{name: "attribute name with capitals", manifest: eventType("type: t\nattributes: [{name: Type, value: t}]"), path: "spec.attributes[0].name", message: "invalid CloudEvents attribute name"},
		{name: "duplicate attribute", manifest: eventType("type: t\nattributes: [{name: type, value: t}, {name: type}]"), path: "spec.attributes[1].name", message: "duplicate: also spec.attributes[0]"},
		{name: "type attribute disagrees", manifest: eventType("type: t\nattributes: [{name: type, value: u}]"), path: "spec.attributes[0].value", message: `must equal spec.type "t"`},
		{name: "unknown field", manifest: eventType("type: t\nbroker: default"), path: "spec.broker", message: "unknown field"},
		{name: "apiVersion v1", manifest: eventTypeAt("eventing.knative.dev/v1", "name: et", "type: t"), path: "apiVersion", message: "EventType (eventing.knative.dev/v1beta2 or eventing.knative.dev/v1beta3)"},
		{name: "name with capitals", manifest: eventTypeAt(EventingV1beta2, "name: Greeting", "type: t"), path: "metadata.name", message: "DNS-1123 subdomain"},

		{name: "update changes the type", old: eventType(okEventTypeSpec), manifest: eventType("type: farewell\nsource: not-sendoff"), path: "spec.type", message: `immutable: cannot change from "greeting" to "farewell"`},
		{name: "update adds a description", old: eventType(okEventTypeSpec), manifest: eventType(okEventTypeSpec + "description: hi"), path: "spec.description", message: `immutable: cannot change from <none> to "hi"`},
		{name: "update changes the reference", old: eventType(okEventTypeSpec + broker), manifest: eventType(okEventTypeSpec + "reference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: other}"), path: "spec.reference", message: "every field of an EventType's spec is immutable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.old == "" {
				invalidManifest(t, tc.manifest, tc.path, tc.message)
				return
			}
			invalidUpdate(t, tc.old, tc.manifest, tc.path, tc.message)
		})
	}
}

func TestAutoCreateAnnotation(t *testing.T) {
	b := "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n  annotations:\n    weft.dev/eventtype-auto-create: \"yes\"\n"
	invalidManifest(t, b, "metadata.annotations[weft.dev/eventtype-auto-create]", `must be "true" or "false"`)
	for _, tc := range []struct {
		ann  map[string]string
		def  bool
		want bool
	}{
		{nil, false, false}, {nil, true, true},
		{map[string]string{AnnotationEventTypeAutoCreate: "true"}, false, true},
		{map[string]string{AnnotationEventTypeAutoCreate: "false"}, true, false},
	} {
		if got := EventTypeAutoCreate(tc.ann, tc.def); got != tc.want {
			t.Errorf("EventTypeAutoCreate(%v, %v) = %v", tc.ann, tc.def, got)
		}
	}
}

func TestAutoEventTypeName(t *testing.T) {
	sum := md5.Sum([]byte("greeting" + "not-sendoff" + "event-example" + "default")) //nolint:gosec
	want := "et-default-" + hex.EncodeToString(sum[:])
	if got := AutoEventTypeName("default", "event-example", "greeting", "not-sendoff"); got != want {
		t.Errorf("AutoEventTypeName = %q, want %q", got, want)
	}
	if a, b := AutoEventTypeName("default", "ns", "t", "s1"), AutoEventTypeName("default", "ns", "t", "s2"); a == b {
		t.Errorf("different sources share the name %q", a)
	}
	// A long addressable name stays a valid subdomain, as Knative cuts it.
	long := AutoEventTypeName(strings.Repeat("b", 250), "ns", "t", "s")
	if p := dns1123Subdomain(long); p != "" || len(long) != dns1123SubdomainMaxLength-10 {
		t.Errorf("long name %q (%d): %s", long, len(long), p)
	}
}
