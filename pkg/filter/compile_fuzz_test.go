package filter

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.yaml.in/yaml/v2"
	"google.golang.org/protobuf/encoding/protojson"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// fuzzEvents are the fixed events a compiled filter is run against: a
// minimal one, one with every attribute and extensions of each type, a 0.3
// one, and events without a context.
func fuzzEvents() []*event.Event {
	minimal := event.New()
	minimal.SetID("1")
	minimal.SetSource("/src")
	minimal.SetType("t.v1")

	full := event.New()
	full.SetID("abc-123")
	full.SetSource("https://example.com/sources/a?x=1#f")
	full.SetType("com.example.order.created")
	full.SetSubject("orders/42")
	full.SetTime(time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC))
	full.SetDataSchema("https://example.com/schema")
	_ = full.SetData("application/json", map[string]any{"a": 1})
	full.SetExtension("hop", "5")
	full.SetExtension("ttl", int32(10))
	full.SetExtension("flag", true)
	full.SetExtension("empty", "")

	old := event.New(event.CloudEventsVersionV03)
	old.SetID("2")
	old.SetSource("urn:a")
	old.SetType("t.v03")
	old.SetExtension("sequence", "6")

	return []*event.Event{&minimal, &full, &old, {}, nil}
}

// cesqlSeeds are the expressions of the CESQL TCK.
func cesqlSeeds(f *testing.F) []string {
	paths, err := filepath.Glob(filepath.Join(tckDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no TCK files in %s (err %v)", tckDir, err)
	}
	var out []string
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var tf tckFile
		if err := yaml.Unmarshal(raw, &tf); err != nil {
			f.Fatalf("decode %s: %v", p, err)
		}
		for _, c := range tf.Tests {
			out = append(out, c.Expression)
		}
	}
	return out
}

// FuzzCompileCESQL compiles fuzzed CESQL expressions as a Trigger's cesql
// filter. Properties: never panics; a refused expression is an
// ErrInvalidCESQL error; a compiled filter matches the fixed events without
// panicking, the same way twice.
func FuzzCompileCESQL(f *testing.F) {
	for _, s := range cesqlSeeds(f) {
		f.Add(s)
	}
	events := fuzzEvents()
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Compile(&weftv1.Filter{Dialect: &weftv1.Filter_Cesql{Cesql: expr}})
		if err != nil {
			if !errors.Is(err, ErrInvalidCESQL) {
				t.Fatalf("Compile(%q): error %v is not ErrInvalidCESQL", expr, err)
			}
			return
		}
		for i, e := range events {
			if flt.Match(e) != flt.Match(e) {
				t.Fatalf("Compile(%q): event %d matches, then does not", expr, i)
			}
		}
	})
}

// FuzzCompileFilter compiles fuzzed filter specs (the contract's Filter in
// protobuf JSON: exact, prefix, suffix, all, any, not, cesql, nested) as
// FromEgress does. Properties: never panics; a spec that does not compile
// is an error; a compiled filter matches the fixed events without
// panicking, and its negation (not) gives the opposite answer.
func FuzzCompileFilter(f *testing.F) {
	for _, s := range []string{
		`{"exact":{"attributes":{"type":"t.v1"}}}`,
		`{"exact":{"attributes":{"":"x"}}}`,
		`{"prefix":{"attributes":{"source":"/s","hop":"5"}}}`,
		`{"suffix":{"attributes":{"type":".created","ttl":"0"}}}`,
		`{"all":{"filters":[{"exact":{"attributes":{"id":"1"}}},{"not":{"cesql":"ttl > 3"}}]}}`,
		`{"any":{"filters":[]}}`,
		`{"all":{}}`,
		`{"not":{}}`,
		`{}`,
		`{"not":{"not":{"any":{"filters":[{"cesql":""},{"suffix":{"attributes":{"subject":"42"}}}]}}}}`,
		`{"cesql":"EXISTS flag AND flag AND LENGTH(subject) > 2"}`,
		`{"cesql":"type LIKE 'com.%' OR sequence = 6"}`,
		`{"cesql":"((("}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range cesqlSeeds(f)[:20] {
		b, _ := protojson.Marshal(&weftv1.Filter{Dialect: &weftv1.Filter_Cesql{Cesql: s}})
		f.Add(b)
	}
	events := fuzzEvents()
	f.Fuzz(func(t *testing.T, spec []byte) {
		var pf weftv1.Filter
		if err := protojson.Unmarshal(spec, &pf); err != nil {
			return
		}
		flt, err := FromEgress(&weftv1.Egress{Filters: []*weftv1.Filter{&pf}})
		if err != nil {
			return
		}
		neg, err := Compile(&weftv1.Filter{Dialect: &weftv1.Filter_Not{Not: &pf}})
		if err != nil {
			t.Fatalf("%s compiles, but not its negation: %v", spec, err)
		}
		for i, e := range events {
			if m := flt.Match(e); m == neg.Match(e) {
				t.Fatalf("%s: event %d: filter and its negation both say %v", spec, i, m)
			}
		}
	})
}
