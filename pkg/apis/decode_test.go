package apis

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeManifestsWalkthrough(t *testing.T) {
	data, err := os.ReadFile("testdata/walkthrough.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeManifests(data)
	if err != nil {
		t.Fatalf("DecodeManifests: %v", err)
	}
	if len(objs) != 3 {
		t.Fatalf("got %d objects, want 3", len(objs))
	}
	b, ok := objs[0].(*Broker)
	if !ok {
		t.Fatalf("object 1 is %T, want *Broker", objs[0])
	}
	if b.ObjectMeta.Name != "default" || b.ObjectMeta.Namespace != "event-example" || b.APIVersion != EventingV1 || b.Kind != KindBroker {
		t.Errorf("broker = %+v %+v", b.TypeMeta, b.ObjectMeta)
	}
	if b.Spec.Delivery != nil || b.Spec.Config != nil {
		t.Errorf("broker spec = %+v, want empty (no invented defaults)", b.Spec)
	}
	for i, want := range []struct{ name, attr, value string }{
		{"hello-display", "type", "greeting"},
		{"goodbye-display", "source", "sendoff"},
	} {
		tr, ok := objs[i+1].(*Trigger)
		if !ok {
			t.Fatalf("object %d is %T, want *Trigger", i+2, objs[i+1])
		}
		if tr.ObjectMeta.Name != want.name || tr.ObjectMeta.Namespace != "event-example" || tr.Spec.Broker != "default" {
			t.Errorf("trigger %d meta = %+v broker %q", i+2, tr.ObjectMeta, tr.Spec.Broker)
		}
		if got := tr.Spec.Filter.Attributes; !reflect.DeepEqual(got, map[string]string{want.attr: want.value}) {
			t.Errorf("trigger %s filter = %v", want.name, got)
		}
		wantRef := &KReference{APIVersion: "v1", Kind: "Service", Name: want.name, Namespace: "event-example"}
		if !reflect.DeepEqual(tr.Spec.Subscriber.Ref, wantRef) || tr.Spec.Subscriber.URI != "" {
			t.Errorf("trigger %s subscriber = %+v, want ref %+v", want.name, tr.Spec.Subscriber, wantRef)
		}
		if tr.ObjectMeta.Labels[LabelBroker] != "default" {
			t.Errorf("trigger %s labels = %v, want %s=default", want.name, tr.ObjectMeta.Labels, LabelBroker)
		}
	}
}

func TestDecodeManifestsInvalid(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		name     string
		manifest string
		index    int    // document index expected in the ManifestError
		item     int    // List item, 0 if none
		path     string // exact FieldError path expected
		message  string // substring of that FieldError's message
		kindErr  bool   // also errors.Is ErrUnsupportedKind
	}{
		// metadata
		{name: "uppercase name", manifest: broker("name: MyBroker", ""), index: 1, path: "metadata.name", message: "DNS-1123 label"},
		{name: "name too long", manifest: broker("name: "+long, ""), index: 1, path: "metadata.name", message: "no more than 63 characters (got 64)"},
		{name: "name missing", manifest: broker("namespace: ns", ""), index: 1, path: "metadata.name", message: "required"},
		{name: "name empty string", manifest: broker(`name: ""`, ""), index: 1, path: "metadata.name", message: "required"},
		{name: "name with underscore", manifest: broker("name: my_broker", ""), index: 1, path: "metadata.name", message: "DNS-1123 label"},
		{name: "name ends with dash", manifest: broker("name: broker-", ""), index: 1, path: "metadata.name", message: "DNS-1123 label"},
		{name: "bad namespace", manifest: broker("name: b\nnamespace: Team_A", ""), index: 1, path: "metadata.namespace", message: "DNS-1123 label"},
		{name: "bad label key", manifest: broker("name: b\nlabels:\n  -app: x", ""), index: 1, path: "metadata.labels[-app]", message: "invalid label key"},
		{name: "label value too long", manifest: broker("name: b\nlabels:\n  app: "+long, ""), index: 1, path: "metadata.labels[app]", message: "no more than 63"},
		{name: "label value with space", manifest: broker("name: b\nlabels:\n  app: my app", ""), index: 1, path: "metadata.labels[app]", message: "label value must be"},
		{name: "bad annotation key", manifest: broker("name: b\nannotations:\n  example.com/a b: x", ""), index: 1, path: "metadata.annotations[example.com/a b]", message: "invalid annotation key"},
		{name: "generateName without name", manifest: broker("generateName: b-", ""), index: 1, path: "metadata.generateName", message: "not supported"},
		{name: "bad creationTimestamp", manifest: broker("name: b\ncreationTimestamp: yesterday", ""), index: 1, path: "metadata.creationTimestamp", message: "RFC 3339"},

		// Broker
		{name: "partitions zero", manifest: broker("name: b\nannotations:\n  weft.dev/partitions: \"0\"", ""), index: 1, path: "metadata.annotations[weft.dev/partitions]", message: "positive integer no greater than 10000"},
		{name: "partitions not a number", manifest: broker("name: b\nannotations:\n  weft.dev/partitions: many", ""), index: 1, path: "metadata.annotations[weft.dev/partitions]", message: "positive integer"},
		{name: "partitions as YAML number", manifest: broker("name: b\nannotations:\n  weft.dev/partitions: 3", ""), index: 1, path: "metadata.annotations[weft.dev/partitions]", message: "expected string, got number"},
		{name: "replication factor too big", manifest: broker("name: b\nannotations:\n  weft.dev/replication-factor: \"40000\"", ""), index: 1, path: "metadata.annotations[weft.dev/replication-factor]", message: "no greater than 32767"},
		{name: "broker config without kind", manifest: broker("name: b", "config:\n  apiVersion: v1\n  name: cfg"), index: 1, path: "spec.config.kind", message: "required"},

		// DeliverySpec
		{name: "go-style duration", manifest: broker("name: b", "delivery:\n  backoffDelay: 5s"), index: 1, path: "spec.delivery.backoffDelay", message: "not an ISO-8601 duration"},
		{name: "garbage duration", manifest: trigger("broker: default\n" + okSubscriber + "delivery:\n  timeout: PTX"), index: 1, path: "spec.delivery.timeout", message: "not an ISO-8601 duration"},
		{name: "empty P duration", manifest: broker("name: b", "delivery:\n  retryAfterMax: P"), index: 1, path: "spec.delivery.retryAfterMax", message: `no value after "P"`},
		{name: "zero timeout", manifest: broker("name: b", "delivery:\n  timeout: PT0S"), index: 1, path: "spec.delivery.timeout", message: "greater than zero"},
		{name: "negative backoffDelay", manifest: broker("name: b", "delivery:\n  backoffDelay: -PT1S"), index: 1, path: "spec.delivery.backoffDelay", message: "must not be negative"},
		{name: "negative retry", manifest: broker("name: b", "delivery:\n  retry: -1"), index: 1, path: "spec.delivery.retry", message: "must be >= 0"},
		{name: "bad backoffPolicy", manifest: broker("name: b", "delivery:\n  backoffPolicy: fast"), index: 1, path: "spec.delivery.backoffPolicy", message: "linear or exponential"},
		{name: "bad format", manifest: broker("name: b", "delivery:\n  format: xml"), index: 1, path: "spec.delivery.format", message: "json or binary"},
		{name: "deadLetterSink ref without name", manifest: broker("name: b", "delivery:\n  deadLetterSink:\n    ref:\n      apiVersion: v1\n      kind: Service"), index: 1, path: "spec.delivery.deadLetterSink.ref.name", message: "required"},
		{name: "deadLetterSink empty", manifest: broker("name: b", "delivery:\n  deadLetterSink: {}"), index: 1, path: "spec.delivery.deadLetterSink", message: "expected ref, uri, or both"},

		// Trigger: broker and subscriber
		{name: "missing broker", manifest: trigger(okSubscriber), index: 1, path: "spec.broker", message: "required"},
		{name: "bad broker name", manifest: trigger("broker: Default\n" + okSubscriber), index: 1, path: "spec.broker", message: "DNS-1123 label"},
		{name: "brokerRef disagrees with broker", manifest: trigger("broker: default\nbrokerRef:\n  name: other\n" + okSubscriber), index: 1, path: "spec.brokerRef.name", message: "must equal spec.broker"},
		{name: "brokerRef in other namespace", manifest: trigger("brokerRef:\n  name: b\n  namespace: elsewhere\n" + okSubscriber), index: 1, path: "spec.brokerRef.namespace", message: "other namespaces are not supported"},
		{name: "missing subscriber", manifest: trigger("broker: default"), index: 1, path: "spec.subscriber", message: "expected ref, uri, or both"},
		{name: "lone relative uri", manifest: trigger("broker: default\nsubscriber:\n  uri: /events"), index: 1, path: "spec.subscriber.uri", message: "absolute URL with a scheme and a host"},
		{name: "uri without host", manifest: trigger("broker: default\nsubscriber:\n  uri: 'http:/events'"), index: 1, path: "spec.subscriber.uri", message: "absolute URL"},
		{name: "absolute uri with ref", manifest: trigger("broker: default\nsubscriber:\n  ref: {apiVersion: v1, kind: Service, name: s}\n  uri: http://other/"), index: 1, path: "spec.subscriber.uri", message: "must be relative"},
		{name: "unparsable uri", manifest: trigger("broker: default\nsubscriber:\n  uri: 'http://[::1'"), index: 1, path: "spec.subscriber.uri", message: "invalid URI"},
		{name: "ref without kind", manifest: trigger("broker: default\nsubscriber:\n  ref: {apiVersion: v1, name: s}"), index: 1, path: "spec.subscriber.ref.kind", message: "required"},
		{name: "ref without apiVersion", manifest: trigger("broker: default\nsubscriber:\n  ref: {kind: Service, name: s}"), index: 1, path: "spec.subscriber.ref.apiVersion", message: "required"},
		{name: "ref with bad name", manifest: trigger("broker: default\nsubscriber:\n  ref: {apiVersion: v1, kind: Service, name: My_Service}"), index: 1, path: "spec.subscriber.ref.name", message: "DNS-1123 subdomain"},
		{name: "ref in another namespace", manifest: trigger("broker: default\nsubscriber:\n  ref: {apiVersion: v1, kind: Service, name: s, namespace: other}"), index: 1, path: "spec.subscriber.ref.namespace", message: `namespace "ns"`},
		{name: "CACerts not PEM", manifest: trigger("broker: default\nsubscriber:\n  uri: https://s.example.com/\n  CACerts: not a cert"), index: 1, path: "spec.subscriber.CACerts", message: "PEM"},

		// Trigger: filters
		{name: "uppercase attribute name", manifest: trigger("broker: default\nfilter:\n  attributes:\n    Type: greeting\n" + okSubscriber), index: 1, path: "spec.filter.attributes[Type]", message: "invalid CloudEvents attribute name"},
		{name: "attribute name with dash", manifest: trigger("broker: default\nfilters:\n- exact:\n    ce-type: greeting\n" + okSubscriber), index: 1, path: "spec.filters[0].exact[ce-type]", message: "invalid CloudEvents attribute name"},
		{name: "two dialects in one entry", manifest: trigger("broker: default\nfilters:\n- exact: {type: a}\n- exact: {type: a}\n  prefix: {source: b}\n" + okSubscriber), index: 1, path: "spec.filters[1]", message: "found 2: exact, prefix"},
		{name: "empty filter entry", manifest: trigger("broker: default\nfilters:\n- {}\n" + okSubscriber), index: 1, path: "spec.filters[0]", message: "expected exactly one of all, any, not, exact, prefix, suffix, cesql; found none"},
		{name: "exact with empty value", manifest: trigger("broker: default\nfilters:\n- exact: {type: ''}\n" + okSubscriber), index: 1, path: "spec.filters[0].exact[type]", message: "must not be empty"},
		{name: "empty prefix", manifest: trigger("broker: default\nfilters:\n- exact: {type: a}\n- prefix: {source: ''}\n" + okSubscriber), index: 1, path: "spec.filters[1].prefix[source]", message: "must not be empty"},
		{name: "empty suffix", manifest: trigger("broker: default\nfilters:\n- suffix: {subject: ''}\n" + okSubscriber), index: 1, path: "spec.filters[0].suffix[subject]", message: "must not be empty"},
		{name: "unparsable cesql", manifest: trigger("broker: default\nfilters:\n- cesql: \"type = \"\n" + okSubscriber), index: 1, path: "spec.filters[0].cesql", message: "invalid CESQL expression"},
		{name: "nested all entry with two dialects", manifest: trigger("broker: default\nfilters:\n- all:\n  - exact: {type: a}\n  - prefix: {source: b}\n  - exact: {type: a}\n    suffix: {type: c}\n" + okSubscriber), index: 1, path: "spec.filters[0].all[2]", message: "found 2: exact, suffix"},
		{name: "nested all exact bad attribute", manifest: trigger("broker: default\nfilters:\n- all:\n  - exact: {type: a}\n  - exact: {type: a}\n  - exact: {Type: a}\n" + okSubscriber), index: 1, path: "spec.filters[0].all[2].exact[Type]", message: "attribute name"},
		{name: "nested not empty", manifest: trigger("broker: default\nfilters:\n- exact: {type: a}\n- not: {}\n" + okSubscriber), index: 1, path: "spec.filters[1].not", message: "found none"},
		{name: "nested any not cesql", manifest: trigger("broker: default\nfilters:\n- any:\n  - exact: {type: a}\n  - not:\n      cesql: \"type LIKE\"\n" + okSubscriber), index: 1, path: "spec.filters[0].any[1].not.cesql", message: "invalid CESQL expression"},

		// Trigger: annotations
		{name: "bad delivery.order", manifest: triggerMeta("name: t\nannotations:\n  kafka.eventing.knative.dev/delivery.order: fifo", "broker: default\n"+okSubscriber), index: 1, path: "metadata.annotations[kafka.eventing.knative.dev/delivery.order]", message: `"ordered" or "unordered"`},
		{name: "bad initial-offset", manifest: triggerMeta("name: t\nannotations:\n  weft.dev/initial-offset: beginning", "broker: default\n"+okSubscriber), index: 1, path: "metadata.annotations[weft.dev/initial-offset]", message: `"latest" or "earliest"`},
		{name: "injection on non-default broker", manifest: triggerMeta("name: t\nannotations:\n  eventing.knative.dev/injection: enabled", "broker: b\n"+okSubscriber), index: 1, path: "metadata.annotations[eventing.knative.dev/injection]", message: `named "default"`},
		{name: "dependency not JSON", manifest: triggerMeta("name: t\nannotations:\n  knative.dev/dependency: ping", "broker: default\n"+okSubscriber), index: 1, path: "metadata.annotations[knative.dev/dependency]", message: "JSON object reference"},

		// strict decoding: unknown fields at several depths
		{name: "unknown top-level field", manifest: broker("name: b", "") + "specs: {}\n", index: 1, path: "specs", message: `unknown field (did you mean "spec"?)`},
		{name: "unknown metadata field", manifest: broker("name: b\nlables: {a: b}", ""), index: 1, path: "metadata.lables", message: `did you mean "labels"?`},
		{name: "unknown subscriber field", manifest: trigger("broker: default\nsubscriber:\n  urii: http://s/"), index: 1, path: "spec.subscriber.urii", message: "known fields of spec.subscriber: ref, uri, CACerts, audience"},
		{name: "unknown field in nested filter", manifest: trigger("broker: default\nfilters:\n- all:\n  - exact: {type: a}\n  - exactt: {type: a}\n" + okSubscriber), index: 1, path: "spec.filters[0].all[1].exactt", message: "unknown field"},
		{name: "unknown field in deadLetterSink ref", manifest: broker("name: b", "delivery:\n  deadLetterSink:\n    ref: {apiVersion: v1, kind: Service, nmae: dls}"), index: 1, path: "spec.delivery.deadLetterSink.ref.nmae", message: `did you mean "name"?`},
		{name: "wrong case field", manifest: trigger("broker: default\nsubscriber:\n  URI: http://s/"), index: 1, path: "spec.subscriber.URI", message: `did you mean "uri"?`},

		// strict decoding: type errors
		{name: "retry as string", manifest: broker("name: b", "delivery:\n  retry: \"3\""), index: 1, path: "spec.delivery.retry", message: "expected integer, got string"},
		{name: "retry fractional", manifest: broker("name: b", "delivery:\n  retry: 2.5"), index: 1, path: "spec.delivery.retry", message: "expected integer, got a fractional number"},
		{name: "retry out of int32 range", manifest: broker("name: b", "delivery:\n  retry: 3000000000"), index: 1, path: "spec.delivery.retry", message: "between -2147483648 and 2147483647"},
		{name: "broker as number", manifest: trigger("broker: 5\n" + okSubscriber), index: 1, path: "spec.broker", message: "expected string, got number"},
		{name: "filters not a list", manifest: trigger("broker: default\nfilters:\n  exact: {type: a}\n" + okSubscriber), index: 1, path: "spec.filters", message: "expected array, got object"},
		{name: "label value as number", manifest: broker("name: b\nlabels:\n  version: 1.5", ""), index: 1, path: "metadata.labels[version]", message: "expected string, got number"},
		{name: "spec as string", manifest: broker("name: b", "") + "spec: nothing\n", index: 1, path: "spec", message: "expected object, got string"},
		{name: "kind as list", manifest: "apiVersion: eventing.knative.dev/v1\nkind: [Broker]\nmetadata: {name: b}\n", index: 1, path: "kind", message: "expected string, got array"},

		// apiVersion and kind
		{name: "unsupported kind", manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", index: 1, path: "kind", message: "Weft supports Broker (eventing.knative.dev/v1), Trigger (eventing.knative.dev/v1), Channel (messaging.knative.dev/v1)", kindErr: true},
		{name: "unsupported apiVersion", manifest: "apiVersion: eventing.knative.dev/v1beta1\nkind: Trigger\nmetadata: {name: t}\n", index: 1, path: "apiVersion", message: "unsupported apiVersion for Trigger", kindErr: true},
		{name: "lowercase kind", manifest: "apiVersion: eventing.knative.dev/v1\nkind: trigger\nmetadata: {name: t}\n", index: 1, path: "kind", message: `did you mean "Trigger"?`, kindErr: true},
		{name: "missing apiVersion", manifest: "kind: Broker\nmetadata: {name: b}\n", index: 1, path: "apiVersion", message: "required"},
		{name: "missing kind", manifest: "apiVersion: eventing.knative.dev/v1\nmetadata: {name: b}\n", index: 1, path: "kind", message: "required"},
		{name: "scalar document", manifest: "just text\n", index: 1, path: "", message: "expected an object with apiVersion and kind, got string"},

		// streams, lists and syntax
		{name: "third document bad", manifest: broker("name: a", "") + "---\n" + broker("name: b", "") + "---\n" + broker("name: C", ""), index: 3, path: "metadata.name", message: "DNS-1123"},
		{name: "empty documents still count", manifest: "# header\n---\n" + broker("name: a", "") + "---\n---\n# only a comment\n---\n" + broker("name: B", "") + "---\n", index: 4, path: "metadata.name", message: "DNS-1123"},
		{name: "YAML syntax error", manifest: broker("name: a", "") + "---\napiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: b\n    namespace: x\n", index: 2, path: "", message: "invalid YAML: line 10:"},
		{name: "duplicate key", manifest: broker("name: a\nname: b", ""), index: 1, path: "", message: `"name" already set`},
		{name: "bad List item", manifest: "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(broker("name: a", ""), "\n", "\n  ") + "\n- " + strings.ReplaceAll(trigger("broker: default"), "\n", "\n  ") + "\n", index: 1, item: 2, path: "spec.subscriber", message: "expected ref, uri, or both"},
		{name: "unknown List field", manifest: "apiVersion: v1\nkind: List\nitemz: []\n", index: 1, path: "itemz", message: "unknown field"},
		{name: "JSON unknown field", manifest: `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"b"},"spec":{"delivery":{"retyr":3}}}`, index: 1, path: "spec.delivery.retyr", message: `did you mean "retry"?`},
		{name: "JSON second object bad", manifest: `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"b"}}` + "\n" + `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"B"}}`, index: 2, path: "metadata.name", message: "DNS-1123"},
		{name: "JSON syntax error", manifest: "{\n  \"apiVersion\": \"eventing.knative.dev/v1\",\n  \"kind\": \"Broker\"\n  \"metadata\": {}\n}", index: 1, path: "", message: "invalid JSON: line 4:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := DecodeManifests([]byte(tc.manifest))
			if err == nil {
				t.Fatalf("no error; decoded %d objects", len(objs))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			if got := errors.Is(err, ErrUnsupportedKind); got != tc.kindErr {
				t.Errorf("errors.Is(err, ErrUnsupportedKind) = %v, want %v", got, tc.kindErr)
			}
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error %v is not a *ManifestError", err)
			}
			if me.Index != tc.index || me.Item != tc.item {
				t.Errorf("document %d item %d, want document %d item %d (%v)", me.Index, me.Item, tc.index, tc.item, err)
			}
			fes := fieldErrorsOf(t, me)
			fe := findPath(fes, tc.path)
			if fe == nil {
				t.Fatalf("no error at path %q; paths %q; error: %v", tc.path, paths(fes), err)
			}
			if !strings.Contains(fe.Error(), tc.message) {
				t.Errorf("error at %s = %q, want it to contain %q", tc.path, fe.Error(), tc.message)
			}
			if !strings.HasPrefix(err.Error(), "document ") {
				t.Errorf("message %q does not start with the document", err)
			}
		})
	}
}

func TestDecodeManifestsReportsEveryBadDocument(t *testing.T) {
	file := broker("name: Bad1", "") + "---\n" + broker("name: good", "") + "---\n" +
		trigger("broker: default") + "---\n" + trigger("broker: default\n"+okSubscriber)
	objs, err := DecodeManifests([]byte(file))
	var indexes []int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var me *ManifestError
		if !errors.As(e, &me) {
			t.Fatalf("%v is not a *ManifestError", e)
		}
		indexes = append(indexes, me.Index)
	}
	if !reflect.DeepEqual(indexes, []int{1, 3}) {
		t.Errorf("bad documents %v, want [1 3]; error:\n%v", indexes, err)
	}
	if len(objs) != 2 || objs[0].GetObjectMeta().Name != "good" || objs[1].GetTypeMeta().Kind != KindTrigger {
		t.Errorf("valid objects = %v, want the Broker good and the last Trigger", objs)
	}
	want := `document 3 (Trigger "t"): spec.subscriber: expected ref, uri, or both (a ref and a uri relative to it); got neither`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error\n%v\ndoes not contain\n%s", err, want)
	}
}

func TestDecodeManifestsValid(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		check    func(t *testing.T, objs []Object)
	}{
		{
			name:     "exact with two attributes (Knative: all must match)",
			manifest: trigger("broker: default\nfilters:\n- exact: {type: a, source: b}\n" + okSubscriber),
			check: func(t *testing.T, objs []Object) {
				if got := objs[0].(*Trigger).Spec.Filters[0].Exact; len(got) != 2 {
					t.Errorf("exact = %v", got)
				}
			},
		},
		{
			name:     "zero backoffDelay and retryAfterMax (Knative's opt-out)",
			manifest: broker("name: b", "delivery:\n  retry: 0\n  backoffDelay: PT0S\n  retryAfterMax: PT0S\n  timeout: PT0.5S\n  backoffPolicy: linear"),
			check: func(t *testing.T, objs []Object) {
				d := objs[0].(*Broker).Spec.Delivery
				if *d.Retry != 0 || *d.BackoffDelay != "PT0S" || *d.Timeout != "PT0.5S" || *d.BackoffPolicy != BackoffPolicyLinear {
					t.Errorf("delivery = %+v", d)
				}
			},
		},
		{
			name:     "brokerRef only",
			manifest: trigger("brokerRef:\n  apiVersion: eventing.knative.dev/v1\n  kind: Broker\n  name: mybroker\n" + okSubscriber),
			check: func(t *testing.T, objs []Object) {
				if b := objs[0].(*Trigger).Spec.Broker; b != "mybroker" {
					t.Errorf("spec.broker = %q, want mybroker", b)
				}
			},
		},
		{
			name:     "ref with relative uri and all dialects nested",
			manifest: trigger("broker: default\nfilters:\n- all:\n  - prefix: {type: com.example.}\n  - any:\n    - suffix: {source: /orders}\n    - not:\n        cesql: \"subject LIKE 'tmp%'\"\nsubscriber:\n  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: svc}\n  uri: /events\n  audience: svc"),
			check: func(t *testing.T, objs []Object) {
				tr := objs[0].(*Trigger)
				if tr.Spec.Filters[0].All[1].Any[1].Not.CESQL != "subject LIKE 'tmp%'" || tr.Spec.Subscriber.URI != "/events" {
					t.Errorf("spec = %+v", tr.Spec)
				}
			},
		},
		{
			name: "kubectl get -o yaml output (List, status, managedFields)",
			manifest: `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: eventing.knative.dev/v1
  kind: Trigger
  metadata:
    annotations:
      eventing.knative.dev/creator: kubernetes-admin
      kafka.eventing.knative.dev/delivery.order: ordered
    creationTimestamp: "2024-05-01T10:00:00Z"
    finalizers: [triggers.eventing.knative.dev]
    generation: 2
    labels:
      eventing.knative.dev/broker: default
    managedFields:
    - manager: kubectl
      operation: Update
    name: hello-display
    namespace: event-example
    resourceVersion: "1234"
    uid: 4f6c9d6e-1f7e-4d6a-9c1e-2f1f2b2c3d4e
  spec:
    broker: default
    filter:
      attributes:
        type: greeting
    subscriber:
      ref:
        apiVersion: v1
        kind: Service
        name: hello-display
        namespace: event-example
  status:
    conditions:
    - type: Ready
      status: "True"
    subscriberUri: http://hello-display.event-example.svc.cluster.local
    policies: []
`,
			check: func(t *testing.T, objs []Object) {
				tr := objs[0].(*Trigger)
				if tr.ObjectMeta.ResourceVersion != "1234" || tr.ObjectMeta.Generation != 2 || tr.ObjectMeta.CreationTimestamp == nil {
					t.Errorf("metadata = %+v", tr.ObjectMeta)
				}
				if len(tr.Status.Conditions) != 0 {
					t.Errorf("status = %+v, want it ignored", tr.Status)
				}
			},
		},
		{
			name:     "JSON List of a typed kind",
			manifest: `{"apiVersion":"eventing.knative.dev/v1","kind":"BrokerList","items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b","namespace":"x"}}]}`,
			check: func(t *testing.T, objs []Object) {
				if len(objs) != 2 || objs[1].GetObjectMeta().Namespace != "x" || objs[0].GetTypeMeta().Kind != KindBroker {
					t.Errorf("objects = %+v", objs)
				}
			},
		},
		{
			name:     "null fields, CRLF and trailing separator",
			manifest: strings.ReplaceAll("---\n"+trigger("broker: default\nfilter:\ndelivery:\n"+okSubscriber)+"---\n", "\n", "\r\n"),
			check: func(t *testing.T, objs []Object) {
				tr := objs[0].(*Trigger)
				if tr.Spec.Filter == nil || tr.Spec.Delivery != nil {
					t.Errorf("spec = %+v", tr.Spec)
				}
			},
		},
		{
			name:     "empty file",
			manifest: "# nothing here\n---\n",
			check: func(t *testing.T, objs []Object) {
				if len(objs) != 0 {
					t.Errorf("objects = %v, want none", objs)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := DecodeManifests([]byte(tc.manifest))
			if err != nil {
				t.Fatalf("DecodeManifests: %v", err)
			}
			tc.check(t, objs)
		})
	}
}

func TestDecodeObject(t *testing.T) {
	ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	retry := int32(3)
	orig := &Trigger{
		TypeMeta:   TypeMeta{APIVersion: EventingV1, Kind: KindTrigger},
		ObjectMeta: ObjectMeta{Name: "t", Namespace: "ns", UID: "u1", Generation: 4, CreationTimestamp: &ts, Labels: map[string]string{"a": "b"}},
		Spec: TriggerSpec{
			Broker:     "default",
			Filters:    []SubscriptionsAPIFilter{{Not: &SubscriptionsAPIFilter{Exact: map[string]string{"type": "x"}}}},
			Subscriber: Destination{URI: "http://s/"},
			Delivery:   &DeliverySpec{Retry: &retry},
		},
		Status: TriggerStatus{
			Status:        Status{ObservedGeneration: 4, Conditions: []Condition{{Type: "Ready", Status: ConditionTrue, LastTransitionTime: &ts}}},
			SubscriberURI: "http://s/",
		},
	}
	b, err := Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeObject(b)
	if err != nil {
		t.Fatalf("DecodeObject(Marshal(o)): %v", err)
	}
	if !reflect.DeepEqual(got, orig) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, orig)
	}

	errTests := []struct {
		name, doc, path, message string
	}{
		{"unknown status field", `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"b"},"status":{"adress":{}}}`, "status.adress", `did you mean "address"?`},
		{"two documents", "kind: Broker\n---\nkind: Broker\n", "", "expected one document, found 2"},
		{"empty", "  \n", "", "empty document"},
		{"unsupported kind", "apiVersion: v1\nkind: ConfigMap\n", "kind", "unsupported kind"},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := DecodeObject([]byte(tc.doc))
			if err == nil {
				t.Fatalf("no error, got %+v", o)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			fe := findPath(fieldErrorsOf(t, err), tc.path)
			if fe == nil || !strings.Contains(fe.Message, tc.message) {
				t.Errorf("error %v: want path %q with %q", err, tc.path, tc.message)
			}
		})
	}

	t.Run("no defaults or validation", func(t *testing.T) {
		o, err := DecodeObject([]byte("apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: Bad\n"))
		if err != nil {
			t.Fatal(err)
		}
		if o.GetObjectMeta().Namespace != "" || o.(*Trigger).Spec.Filter != nil {
			t.Errorf("DecodeObject defaulted: %+v", o)
		}
	})
}

func TestResolveKind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"broker", KindBroker}, {"brokers", KindBroker}, {"Broker", KindBroker}, {"BROKERS", KindBroker},
		{"brokers.eventing.knative.dev", KindBroker}, {"broker.v1.eventing.knative.dev", KindBroker},
		{"trigger", KindTrigger}, {"triggers", KindTrigger}, {"Trigger", KindTrigger},
		{"triggers.eventing.knative.dev", KindTrigger}, {" trigger ", KindTrigger},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ResolveKind(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ResolveKind(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "svc", "eventtypes.messaging.knative.dev", "brokers.messaging.knative.dev"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, err := ResolveKind(bad)
			if !errors.Is(err, ErrUnsupportedKind) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ResolveKind(%q) error = %v, want ErrUnsupportedKind", bad, err)
			}
			if !strings.Contains(err.Error(), `Broker ("broker", "brokers"`) || !strings.Contains(err.Error(), `Trigger ("trigger", "triggers"`) {
				t.Errorf("error %q does not list the supported kinds", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Object
	}{
		{KindBroker, &Broker{TypeMeta: TypeMeta{APIVersion: EventingV1, Kind: KindBroker}}},
		{"triggers", &Trigger{TypeMeta: TypeMeta{APIVersion: EventingV1, Kind: KindTrigger}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := New(tc.in)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("New(%q) = %#v, %v", tc.in, got, err)
			}
		})
	}
	if _, err := New("Service"); !errors.Is(err, ErrUnsupportedKind) {
		t.Errorf("New(Service) error = %v, want ErrUnsupportedKind", err)
	}
}

func TestDeepCopy(t *testing.T) {
	objs, err := DecodeManifests([]byte(triggerMeta("name: t\nlabels: {a: b}", `broker: default
filters:
- all:
  - exact: {type: a}
  - not:
      prefix: {source: b}
subscriber:
  ref: {apiVersion: v1, kind: Service, name: s}
delivery:
  retry: 2
  deadLetterSink:
    ref: {apiVersion: v1, kind: Service, name: dls}
`)))
	if err != nil {
		t.Fatal(err)
	}
	orig := objs[0].(*Trigger)
	snapshot, _ := Marshal(orig)
	c := DeepCopy(orig).(*Trigger)
	if !reflect.DeepEqual(c, orig) {
		t.Fatalf("copy differs:\n%+v\n%+v", c, orig)
	}
	c.ObjectMeta.Labels["a"] = "changed"
	c.Spec.Filters[0].All[0].Exact["type"] = "changed"
	c.Spec.Filters[0].All[1].Not.Prefix["source"] = "changed"
	c.Spec.Subscriber.Ref.Name = "changed"
	*c.Spec.Delivery.Retry = 9
	c.Spec.Delivery.DeadLetterSink.Ref.Name = "changed"
	c.Spec.Filter.Attributes = map[string]string{"x": "y"}
	if after, _ := Marshal(orig); string(after) != string(snapshot) {
		t.Errorf("changing the copy changed the original:\n%s\n%s", snapshot, after)
	}
	if DeepCopy(nil) != nil {
		t.Error("DeepCopy(nil) != nil")
	}
}
