package apis

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeManifests decodes fuzzed YAML and JSON manifest files.
// Properties: never panics; every object returned is valid (Validate), and
// re-marshals (Marshal) to JSON that decodes (DecodeManifests) to one equal
// object.
func FuzzDecodeManifests(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no manifests in testdata (err %v)", err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		// Each document alone, and each valid object as JSON.
		for doc := range bytes.SplitSeq(data, []byte("\n---\n")) {
			f.Add(doc)
		}
		objs, _ := DecodeManifests(data)
		for _, o := range objs {
			if b, err := Marshal(o); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		"",
		"---\n# only a comment\n...\n",
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: eventing.knative.dev/v1\n  kind: Broker\n  metadata: {name: b}\n",
		"apiVersion: eventing.knative.dev/v1\nkind: BrokerList\nitems:\n- metadata: {name: b1}\n- metadata: {name: b2}\n",
		"apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: t}\nspec:\n  broker: default\n  filters:\n  - cesql: \"type = 'a' AND source LIKE '/x%'\"\n  - not: {exact: {type: b}}\n  subscriber: {uri: http://example.com}\n  delivery: {retry: 3, backoffDelay: PT0.5S, retryAfterMax: PT0S}\n",
		`{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"b","generateName":"x"}}{"kind":"Broker"}`,
		"apiVersion: eventing.knative.dev/v1\nkind: broker\nmetadata: {name: b}\n",
		"apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: b}\nspec: {bogus: 1}\n",
		"a: &a [*a, *a]\n",
		"- 1\n- 2\n",
		"\xef\xbb\xbf{\"kind\": 1}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _ := DecodeManifests(data)
		for i, o := range objs {
			if err := Validate(o); err != nil {
				t.Fatalf("object %d decoded but is invalid: %v", i, err)
			}
			b, err := Marshal(o)
			if err != nil {
				t.Fatalf("object %d does not marshal: %v", i, err)
			}
			again, err := DecodeManifests(b)
			if err != nil {
				t.Fatalf("object %d re-marshalled does not decode: %v\n%s", i, err, b)
			}
			if len(again) != 1 {
				t.Fatalf("object %d re-marshalled decodes to %d objects", i, len(again))
			}
			b2, err := Marshal(again[0])
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(b, b2) {
				t.Fatalf("object %d changes through Marshal and DecodeManifests:\n%s\n%s", i, b, b2)
			}
		}
	})
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
