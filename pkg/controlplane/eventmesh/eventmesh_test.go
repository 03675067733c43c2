package eventmesh_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/eventmesh"
)

// The DTOs of the Knative Event Mesh backend (backstage-plugins
// backends/pkg/eventmesh/v1/api.gen.go), written again here from their JSON
// tags so the test fails if Weft's names drift.
type meshDTO struct {
	Brokers       []brokerDTO       `json:"brokers"`
	EventTypes    []eventTypeDTO    `json:"eventTypes"`
	Sources       []sourceDTO       `json:"sources"`
	Subscribables []subscribableDTO `json:"subscribables"`
}

type brokerDTO struct {
	Annotations        map[string]string `json:"annotations"`
	Labels             map[string]string `json:"labels"`
	Name               string            `json:"name"`
	Namespace          string            `json:"namespace"`
	ProvidedEventTypes []string          `json:"providedEventTypes"`
	UID                string            `json:"uid"`
}

type gknnDTO struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type eventTypeDTO struct {
	Annotations map[string]string `json:"annotations"`
	ConsumedBy  []string          `json:"consumedBy"`
	Description *string           `json:"description,omitempty"`
	Labels      map[string]string `json:"labels"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Reference   *gknnDTO          `json:"reference,omitempty"`
	SchemaData  *string           `json:"schemaData,omitempty"`
	SchemaURL   *string           `json:"schemaURL,omitempty"`
	Type        string            `json:"type"`
	Uid         string            `json:"uid"`
}

type sourceDTO struct {
	Annotations            map[string]string `json:"annotations"`
	Group                  string            `json:"group"`
	Kind                   string            `json:"kind"`
	Labels                 map[string]string `json:"labels"`
	Name                   string            `json:"name"`
	Namespace              string            `json:"namespace"`
	ProvidedEventTypeTypes []string          `json:"providedEventTypeTypes"`
	ProvidedEventTypes     []string          `json:"providedEventTypes"`
	Sink                   *gknnDTO          `json:"sink,omitempty"`
	UID                    string            `json:"uid"`
}

type subscribableDTO struct {
	Annotations        map[string]string `json:"annotations"`
	Group              string            `json:"group"`
	Kind               string            `json:"kind"`
	Labels             map[string]string `json:"labels"`
	Name               string            `json:"name"`
	Namespace          string            `json:"namespace"`
	ProvidedEventTypes []string          `json:"providedEventTypes"`
	UID                string            `json:"uid"`
}

// extra adds to the walk-through what makes every relation visible: Weft
// subscribers with Backstage ids (a KafkaSink and a Broker), a trigger
// without a filter, a channel with a subscription, and a PingSource.
const extra = `
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: {name: audit, namespace: event-example, labels: {backstage.io/kubernetes-id: audit-sink}}
spec: {topic: audit, bootstrapServers: [127.0.0.1:9092]}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: audit-all, namespace: event-example}
spec:
  broker: default
  subscriber: {ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: audit}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: greetings-only, namespace: event-example}
spec:
  broker: default
  filter: {attributes: {type: greeting}}
  subscriber: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: archive}}
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: archive
  namespace: event-example
  labels: {backstage.io/kubernetes-id: archive-broker}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", team: events}
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: {name: orders, namespace: event-example}
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: {name: orders-to-archive, namespace: event-example}
spec:
  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: orders}
  subscriber: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: archive}}
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: heartbeat, namespace: event-example}
spec:
  schedule: "*/1 * * * *"
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}
`

func eventType(name, typ, source, refAPIVersion, refKind, refName string) *apis.EventType {
	et := &apis.EventType{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.EventingV1beta2, Kind: apis.KindEventType},
		ObjectMeta: apis.ObjectMeta{Name: name, Namespace: "event-example", UID: "uid-" + name},
		Spec:       apis.EventTypeSpec{Type: typ, Source: source},
	}
	if refKind != "" {
		et.Spec.Reference = &apis.KReference{APIVersion: refAPIVersion, Kind: refKind, Name: refName}
	}
	return et
}

func meshObjects(t *testing.T) []apis.Object {
	t.Helper()
	walk, err := os.ReadFile("../../apis/testdata/walkthrough.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := apis.DecodeManifests(append(walk, []byte("\n---\n"+extra)...))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		m := o.GetObjectMeta()
		m.UID = "uid-" + strings.ToLower(o.GetTypeMeta().Kind) + "-" + m.Name
		apis.SetDefaults(o)
	}
	greeting := eventType("et-greeting", "greeting", "not-sendoff", apis.EventingV1, apis.KindBroker, "default")
	greeting.Spec.Description = "says hello"
	greeting.Spec.Schema = "https://example.com/greeting.json"
	greeting.ObjectMeta.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}
	// v1beta3: the type is an attribute.
	notGreeting := eventType("et-not-greeting", "", "", apis.EventingV1, apis.KindBroker, "default")
	notGreeting.Spec.Attributes = []apis.EventAttributeDefinition{{Name: "type", Required: true, Value: "not-greeting"}, {Name: "source", Value: "sendoff"}}
	order := eventType("et-order", "order.created", "", "messaging.knative.dev/v1", apis.KindInMemoryChannel, "orders")
	ping := eventType("et-ping", apis.PingSourceEventType, "", "", "", "")
	return append(objs, ping, order, greeting, notGreeting)
}

func getMesh(t *testing.T, url, auth string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/v1/getEventMesh", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func serveMesh(t *testing.T, objs []apis.Object) string {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/getEventMesh", eventmesh.RequireToken("s3cret", eventmesh.Handler(func() []apis.Object { return objs })))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestGetEventMeshAuth(t *testing.T) {
	url := serveMesh(t, nil)
	for name, tc := range map[string]struct {
		auth, wantType, wantBody string
		code                     int
	}{
		"no header":      {"", "text/plain", eventmesh.MissingTokenMessage + "\n", 401},
		"blank bearer":   {"Bearer    ", "text/plain", eventmesh.MissingTokenMessage + "\n", 401},
		"bearer only":    {"Bearer ", "text/plain", eventmesh.MissingTokenMessage + "\n", 401},
		"wrong token":    {"Bearer nope", "application/json", `{"error":"invalid bearer token"}` + "\n", 401},
		"right token":    {"Bearer s3cret", "application/json", "", 200},
		"without prefix": {"s3cret", "application/json", "", 200},
	} {
		t.Run(name, func(t *testing.T) {
			code, ct, body := getMesh(t, url, tc.auth)
			if code != tc.code || !strings.HasPrefix(ct, tc.wantType) || (tc.wantBody != "" && string(body) != tc.wantBody) {
				t.Fatalf("got %d %s %q, want %d %s %q", code, ct, body, tc.code, tc.wantType, tc.wantBody)
			}
		})
	}
}

func TestGetEventMeshWalkthrough(t *testing.T) {
	url := serveMesh(t, meshObjects(t))
	code, _, body := getMesh(t, url, "Bearer s3cret")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	var m meshDTO
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode with Knative's field names: %v\n%s", err, body)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for _, k := range []string{"brokers", "eventTypes", "sources", "subscribables"} {
		if string(raw[k]) == "null" || raw[k] == nil {
			t.Errorf("%s is %s, want an array", k, raw[k])
		}
	}

	brokers := map[string]brokerDTO{}
	for _, b := range m.Brokers {
		brokers[b.Name] = b
	}
	def, archive := brokers["default"], brokers["archive"]
	if def.Namespace != "event-example" || def.UID != "uid-broker-default" {
		t.Errorf("broker default: %+v", def)
	}
	if want := []string{"event-example/et-greeting", "event-example/et-not-greeting"}; !reflect.DeepEqual(def.ProvidedEventTypes, want) {
		t.Errorf("default providedEventTypes = %q, want %q", def.ProvidedEventTypes, want)
	}
	if def.Annotations != nil || !strings.Contains(string(body), `"annotations":null`) {
		t.Errorf("default's annotations = %v, want JSON null", def.Annotations)
	}
	if !reflect.DeepEqual(archive.Annotations, map[string]string{"team": "events"}) {
		t.Errorf("archive annotations = %v, want last-applied-configuration dropped", archive.Annotations)
	}
	if archive.ProvidedEventTypes == nil || len(archive.ProvidedEventTypes) != 0 {
		t.Errorf("archive providedEventTypes = %#v, want []", archive.ProvidedEventTypes)
	}

	ets := map[string]eventTypeDTO{}
	var order []string
	for _, e := range m.EventTypes {
		ets[e.Name] = e
		order = append(order, e.Name)
	}
	if want := []string{"et-greeting", "et-not-greeting", "et-order", "et-ping"}; !reflect.DeepEqual(order, want) {
		t.Errorf("event types in order %q, want %q (namespace, name)", order, want)
	}
	// hello-display and goodbye-display deliver to Services: Weft knows no
	// labels of those, so they add nothing (as Knative skips subscribers
	// without the label). audit-all has no filter: every type of the
	// broker; greetings-only has type=greeting: that type only.
	for name, want := range map[string][]string{
		"et-greeting":     {"audit-sink", "archive-broker"},
		"et-not-greeting": {"audit-sink"},
		"et-order":        {"archive-broker"},
		"et-ping":         {},
	} {
		if got := ets[name].ConsumedBy; !reflect.DeepEqual(got, want) {
			t.Errorf("%s consumedBy = %q, want %q", name, got, want)
		}
	}
	g := ets["et-greeting"]
	if g.Type != "greeting" || g.Uid != "uid-et-greeting" || g.Description == nil || *g.Description != "says hello" ||
		g.SchemaURL == nil || *g.SchemaURL != "https://example.com/greeting.json" || g.SchemaData != nil || g.Annotations != nil {
		t.Errorf("et-greeting = %+v", g)
	}
	if r := g.Reference; r == nil || *r != (gknnDTO{Group: "eventing.knative.dev", Kind: "Broker", Name: "default", Namespace: "event-example"}) {
		t.Errorf("et-greeting reference = %+v", r)
	}
	if ets["et-not-greeting"].Type != "not-greeting" {
		t.Errorf("v1beta3 attribute type: %+v", ets["et-not-greeting"])
	}
	if ets["et-ping"].Reference != nil || strings.Contains(string(body), `"description":null`) {
		t.Errorf("empty optional fields must be omitted: %+v", ets["et-ping"])
	}

	if len(m.Subscribables) != 1 {
		t.Fatalf("subscribables = %+v, want the orders channel", m.Subscribables)
	}
	if s := m.Subscribables[0]; s.Group != "messaging.knative.dev" || s.Kind != "InMemoryChannel" || s.Name != "orders" ||
		!reflect.DeepEqual(s.ProvidedEventTypes, []string{"event-example/et-order"}) {
		t.Errorf("subscribable = %+v", s)
	}

	if len(m.Sources) != 1 {
		t.Fatalf("sources = %+v, want the PingSource", m.Sources)
	}
	if s := m.Sources[0]; s.Group != "sources.knative.dev" || s.Kind != "PingSource" || s.Name != "heartbeat" ||
		!reflect.DeepEqual(s.ProvidedEventTypeTypes, []string{"dev.knative.sources.ping"}) ||
		!reflect.DeepEqual(s.ProvidedEventTypes, []string{"event-example/et-ping"}) ||
		s.Sink == nil || *s.Sink != (gknnDTO{Group: "eventing.knative.dev", Kind: "Broker", Name: "default", Namespace: "event-example"}) {
		t.Errorf("source = %+v sink %+v", s, s.Sink)
	}
}

// TestBuildEmpty: no objects is four empty arrays, never null.
func TestBuildEmpty(t *testing.T) {
	b, _ := json.Marshal(eventmesh.Build(nil))
	if want := `{"brokers":[],"eventTypes":[],"sources":[],"subscribables":[]}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}
