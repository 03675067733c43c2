package filter

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

var cest = time.FixedZone("CEST", 2*60*60)

// full sets every optional context attribute and three extensions (string,
// integer, boolean).
var full = []eventOption{
	withSubject("orders/42"),
	withTime(testTime),
	withDataSchema("https://weft.dev/schemas/order.json"),
	withData("application/json", map[string]string{"id": "42"}),
	withExt("mystring", "hello"),
	withExt("myint", 42),
	withExt("mybool", true),
}

func plus(base []eventOption, more ...eventOption) []eventOption {
	return append(append([]eventOption(nil), base...), more...)
}

type matchCase struct {
	name    string
	attrs   map[string]string // legacy filter.attributes
	filters []*weftv1.Filter  // filters list; replaces attrs when non-empty
	event   []eventOption     // applied to newEvent
	want    bool
}

// conformanceCases pins the Knative Eventing broker's filter semantics. Every
// case runs through FromEgress, the dispatcher's entry point.
var conformanceCases = []matchCase{
	// No filter at all.
	{name: "none/no filter matches", event: full, want: true},
	{name: "none/empty attributes map matches", attrs: map[string]string{}, event: full, want: true},
	{name: "none/minimal event matches", want: true},

	// Legacy attributes.
	{name: "attributes/type equal", attrs: kv([]string{"type", testType}), want: true},
	{name: "attributes/type differs", attrs: kv([]string{"type", "dev.weft.order.deleted"}), want: false},
	{name: "attributes/value is case-sensitive", attrs: kv([]string{"type", "Dev.Weft.Order.Created"}), want: false},
	{name: "attributes/name is case-sensitive", attrs: kv([]string{"Type", testType}), want: false},
	{name: "attributes/value is not trimmed", attrs: kv([]string{"type", testType + " "}), want: false},
	{name: "attributes/empty value matches required attribute", attrs: kv([]string{"type", ""}), want: true},
	{name: "attributes/empty value matches present subject", attrs: kv([]string{"subject", ""}), event: full, want: true},
	{name: "attributes/empty value needs subject present", attrs: kv([]string{"subject", ""}), want: false},
	{name: "attributes/empty value needs extension present", attrs: kv([]string{"mystring", ""}), want: false},
	{name: "attributes/empty value matches present extension", attrs: kv([]string{"mystring", ""}), event: full, want: true},
	{name: "attributes/empty value rejects empty extension", attrs: kv([]string{"myempty", ""}), event: []eventOption{withExt("myempty", "")}, want: false},
	{name: "attributes/missing extension", attrs: kv([]string{"mystring", "hello"}), want: false},
	{name: "attributes/string extension equal", attrs: kv([]string{"mystring", "hello"}), event: full, want: true},
	{name: "attributes/string extension differs", attrs: kv([]string{"mystring", "Hello"}), event: full, want: false},
	{name: "attributes/int extension canonical form", attrs: kv([]string{"myint", "42"}), event: full, want: true},
	{name: "attributes/int extension non-canonical form", attrs: kv([]string{"myint", "042"}), event: full, want: false},
	{name: "attributes/bool extension canonical form", attrs: kv([]string{"mybool", "true"}), event: full, want: true},
	{name: "attributes/bool extension non-canonical form", attrs: kv([]string{"mybool", "True"}), event: full, want: false},
	{name: "attributes/three keys all equal", attrs: kv([]string{"type", testType, "source", testSource, "mystring", "hello"}), event: full, want: true},
	{name: "attributes/three keys one differs", attrs: kv([]string{"type", testType, "source", testSource, "mystring", "bye"}), event: full, want: false},
	{name: "attributes/three keys one missing", attrs: kv([]string{"type", testType, "source", testSource, "mystring", "hello"}), want: false},
	{name: "attributes/id", attrs: kv([]string{"id", testID}), want: true},
	{name: "attributes/source", attrs: kv([]string{"source", testSource}), want: true},
	{name: "attributes/specversion", attrs: kv([]string{"specversion", "1.0"}), want: true},
	{name: "attributes/datacontenttype", attrs: kv([]string{"datacontenttype", "application/json"}), event: full, want: true},
	{name: "attributes/dataschema", attrs: kv([]string{"dataschema", "https://weft.dev/schemas/order.json"}), event: full, want: true},
	{name: "attributes/time RFC 3339 UTC with nanoseconds", attrs: kv([]string{"time", "2024-06-11T09:30:15.123456789Z"}), event: full, want: true},
	{name: "attributes/time keeps the event's offset", attrs: kv([]string{"time", "2024-06-11T11:30:15+02:00"}), event: []eventOption{withTime(time.Date(2024, 6, 11, 11, 30, 15, 0, cest))}, want: true},
	{name: "attributes/time other layout", attrs: kv([]string{"time", "2024-06-11 09:30:15"}), event: full, want: false},
	{name: "attributes/time empty value needs time present", attrs: kv([]string{"time", ""}), want: false},
	{name: "attributes/CloudEvents 0.3 context", attrs: kv([]string{"specversion", "0.3", "type", testType, "mystring", "hello"}), event: plus(full, asV03()), want: true},

	// exact.
	{name: "exact/type equal", filters: f(exactF("type", testType)), want: true},
	{name: "exact/type differs", filters: f(exactF("type", "dev.weft.order")), want: false},
	{name: "exact/value is case-sensitive", filters: f(exactF("source", strings.ToUpper(testSource))), want: false},
	{name: "exact/name is case-sensitive", filters: f(exactF("SOURCE", testSource)), want: false},
	{name: "exact/missing subject", filters: f(exactF("subject", "orders/42")), want: false},
	{name: "exact/subject", filters: f(exactF("subject", "orders/42")), event: full, want: true},
	{name: "exact/string extension", filters: f(exactF("mystring", "hello")), event: full, want: true},
	{name: "exact/int extension", filters: f(exactF("myint", "42")), event: full, want: true},
	{name: "exact/int extension negative", filters: f(exactF("myint", "-7")), event: []eventOption{withExt("myint", -7)}, want: true},
	{name: "exact/bool extension false", filters: f(exactF("mybool", "false")), event: []eventOption{withExt("mybool", false)}, want: true},
	{name: "exact/bool extension differs", filters: f(exactF("mybool", "false")), event: full, want: false},
	{name: "exact/timestamp extension in UTC", filters: f(exactF("mytime", "2024-06-11T09:30:15.123456789Z")), event: []eventOption{withExt("mytime", testTime.In(cest))}, want: true},
	{name: "exact/uri extension", filters: f(exactF("myuri", "https://weft.dev/x?y=1")), event: []eventOption{func(tb testing.TB, e *event.Event) { withExt("myuri", mustURI(tb, "https://weft.dev/x?y=1"))(tb, e) }}, want: true},
	{name: "exact/binary extension base64", filters: f(exactF("mybin", "AQID")), event: []eventOption{withExt("mybin", []byte{1, 2, 3})}, want: true},
	{name: "exact/missing extension", filters: f(exactF("myint", "42")), want: false},
	{name: "exact/time", filters: f(exactF("time", "2024-06-11T09:30:15.123456789Z")), event: full, want: true},
	{name: "exact/missing time", filters: f(exactF("time", "0001-01-01T00:00:00Z")), want: false},
	{name: "exact/two attributes equal", filters: f(exactF("type", testType, "mystring", "hello")), event: full, want: true},
	{name: "exact/two attributes one differs", filters: f(exactF("type", testType, "mystring", "bye")), event: full, want: false},
	{name: "exact/empty map matches", filters: f(exactF()), want: true},
	{name: "exact/CloudEvents 0.3 time", filters: f(exactF("time", "2024-06-11T09:30:15.123456789Z")), event: plus(full, asV03()), want: true},

	// prefix.
	{name: "prefix/type", filters: f(prefixF("type", "dev.weft.")), want: true},
	{name: "prefix/type differs", filters: f(prefixF("type", "com.example.")), want: false},
	{name: "prefix/is case-sensitive", filters: f(prefixF("type", "DEV.weft.")), want: false},
	{name: "prefix/whole value", filters: f(prefixF("type", testType)), want: true},
	{name: "prefix/longer than value", filters: f(prefixF("type", testType+".v2")), want: false},
	{name: "prefix/missing extension", filters: f(prefixF("mystring", "he")), want: false},
	{name: "prefix/string extension", filters: f(prefixF("mystring", "he")), event: full, want: true},
	{name: "prefix/int extension", filters: f(prefixF("myint", "4")), event: full, want: true},
	{name: "prefix/time date", filters: f(prefixF("time", "2024-06-11T")), event: full, want: true},
	{name: "prefix/source scheme", filters: f(prefixF("source", "https://weft.dev/")), want: true},
	{name: "prefix/two attributes", filters: f(prefixF("type", "dev.weft.", "subject", "orders/")), event: full, want: true},

	// suffix.
	{name: "suffix/type", filters: f(suffixF("type", ".created")), want: true},
	{name: "suffix/type differs", filters: f(suffixF("type", ".deleted")), want: false},
	{name: "suffix/is case-sensitive", filters: f(suffixF("type", ".Created")), want: false},
	{name: "suffix/longer than value", filters: f(suffixF("type", "x."+testType)), want: false},
	{name: "suffix/missing subject", filters: f(suffixF("subject", "/42")), want: false},
	{name: "suffix/subject", filters: f(suffixF("subject", "/42")), event: full, want: true},
	{name: "suffix/bool extension", filters: f(suffixF("mybool", "ue")), event: full, want: true},
	{name: "suffix/int extension", filters: f(suffixF("myint", "2")), event: full, want: true},
	{name: "suffix/time zone", filters: f(suffixF("time", "+02:00")), event: []eventOption{withTime(testTime.In(cest))}, want: true},

	// all.
	{name: "all/empty matches", filters: f(allF()), want: true},
	{name: "all/every operand matches", filters: f(allF(exactF("type", testType), prefixF("source", "https://"), suffixF("mystring", "lo"))), event: full, want: true},
	{name: "all/one operand fails", filters: f(allF(exactF("type", testType), prefixF("source", "http://"))), want: false},
	{name: "all/one operand misses attribute", filters: f(allF(exactF("type", testType), exactF("mystring", "hello"))), want: false},
	{name: "all/single operand", filters: f(allF(exactF("type", testType))), want: true},

	// any.
	{name: "any/empty matches", filters: f(anyF()), want: true},
	{name: "any/one operand matches", filters: f(anyF(exactF("type", "x"), exactF("type", testType))), want: true},
	{name: "any/no operand matches", filters: f(anyF(exactF("type", "x"), exactF("type", "y"))), want: false},
	{name: "any/missing attribute in one operand", filters: f(anyF(exactF("mystring", "hello"), suffixF("type", ".created"))), want: true},
	{name: "any/every operand misses attribute", filters: f(anyF(exactF("mystring", "hello"), exactF("subject", "s"))), want: false},

	// not.
	{name: "not/of match", filters: f(notF(exactF("type", testType))), want: false},
	{name: "not/of mismatch", filters: f(notF(exactF("type", "x"))), want: true},
	{name: "not/of missing attribute", filters: f(notF(exactF("mystring", "hello"))), want: true},
	{name: "not/double negation", filters: f(notF(notF(exactF("type", testType)))), want: true},
	{name: "not/of empty all", filters: f(notF(allF())), want: false},
	{name: "not/of cesql error", filters: f(notF(cesqlF("missing = 1"))), want: true},

	// Nesting, three levels and more.
	{name: "nested/all any not match", event: full, want: true, filters: f(allF(
		anyF(exactF("type", "x"), notF(prefixF("type", "com."))),
		notF(anyF(exactF("subject", "orders/7"), suffixF("mystring", "bye"))),
	))},
	{name: "nested/all any not mismatch", event: full, want: false, filters: f(allF(
		anyF(exactF("type", "x"), notF(prefixF("type", "dev."))),
		exactF("mystring", "hello"),
	))},
	{name: "nested/not any all match", event: full, want: true, filters: f(notF(anyF(
		allF(exactF("type", testType), exactF("myint", "41")),
		allF(exactF("type", "x"), exactF("myint", "42")),
	)))},
	{name: "nested/not any all mismatch", event: full, want: false, filters: f(notF(anyF(
		allF(exactF("type", testType), exactF("myint", "42")),
		allF(exactF("type", "x")),
	)))},
	{name: "nested/any all not cesql", event: full, want: true, filters: f(anyF(
		allF(cesqlF("myint > 100"), exactF("type", testType)),
		allF(notF(cesqlF("mybool = false")), notF(notF(suffixF("subject", "/42")))),
	))},
	{name: "nested/empty lists inside", want: true, filters: f(allF(anyF(), allF(allF(), anyF(allF()))))},

	// cesql.
	{name: "cesql/true", filters: f(cesqlF("type = 'dev.weft.order.created'")), want: true},
	{name: "cesql/false", filters: f(cesqlF("type = 'dev.weft.order.deleted'")), want: false},
	{name: "cesql/keywords are case-insensitive", filters: f(cesqlF("type LIKE 'dev.weft.%' and TRUE")), want: true},
	{name: "cesql/string comparison is case-sensitive", filters: f(cesqlF("type = 'DEV.WEFT.ORDER.CREATED'")), want: false},
	{name: "cesql/int extension", filters: f(cesqlF("myint > 40 AND myint < 50")), event: full, want: true},
	{name: "cesql/bool extension", filters: f(cesqlF("mybool")), event: full, want: true},
	{name: "cesql/exists", filters: f(cesqlF("EXISTS mystring AND NOT EXISTS other")), event: full, want: true},
	{name: "cesql/time attribute", filters: f(cesqlF("time = '2024-06-11T09:30:15.123456789Z'")), event: full, want: true},
	{name: "cesql/missing attribute fails", filters: f(cesqlF("mystring = 'hello'")), want: false},
	{name: "cesql/negated missing attribute still fails", filters: f(cesqlF("NOT (mystring = 'hello')")), want: false},
	{name: "cesql/missing attribute in arithmetic", filters: f(cesqlF("myint + 1 = 43")), want: false},
	{name: "cesql/division by zero", filters: f(cesqlF("myint / 0 = 0")), event: full, want: false},
	{name: "cesql/integer result", filters: f(cesqlF("1 + 1")), want: false},
	{name: "cesql/string result", filters: f(cesqlF("'true'")), want: false},
	{name: "cesql/attribute value result", filters: f(cesqlF("type")), want: false},
	{name: "cesql/cast error", filters: f(cesqlF("INT(mystring) = 1")), event: full, want: false},
	{name: "cesql/empty expression matches", filters: f(cesqlF("")), want: true},

	// filters replace attributes.
	{name: "filters/replace failing attributes", attrs: kv([]string{"type", "x"}), filters: f(exactF("type", testType)), want: true},
	{name: "filters/replace passing attributes", attrs: kv([]string{"type", testType}), filters: f(exactF("type", "x")), want: false},
	{name: "filters/every entry must match", filters: f(exactF("type", testType), prefixF("source", "ftp://")), want: false},
	{name: "filters/every entry matches", filters: f(exactF("type", testType), prefixF("source", "https://"), cesqlF("myint = 42")), event: full, want: true},
	{name: "filters/empty list falls back to attributes", attrs: kv([]string{"type", "x"}), filters: []*weftv1.Filter{}, want: false},
}

func f(fs ...*weftv1.Filter) []*weftv1.Filter { return fs }

func TestConformance(t *testing.T) {
	if n := len(conformanceCases); n < 70 {
		t.Fatalf("conformance table has %d cases, want at least 70", n)
	}
	seen := make(map[string]bool, len(conformanceCases))
	for _, c := range conformanceCases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			e := newEvent(t, c.event...)
			flt, err := FromEgress(&weftv1.Egress{Attributes: c.attrs, Filters: c.filters})
			if err != nil {
				t.Fatalf("FromEgress: %v", err)
			}
			if got := flt.Match(e); got != c.want {
				t.Errorf("Match = %v, want %v (event %s)", got, c.want, e)
			}
		})
	}
	t.Logf("conformance: %d cases", len(conformanceCases))
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		filters []*weftv1.Filter
		want    error
		inMsg   string
	}{
		{name: "nil entry", filters: f(nil), want: ErrNoDialect, inMsg: "filters[0]"},
		{name: "entry without dialect", filters: f(&weftv1.Filter{}), want: ErrNoDialect},
		{name: "not without operand", filters: f(notF(nil)), want: ErrNoDialect, inMsg: "not"},
		{name: "nested entry without dialect", filters: f(exactF("type", "x"), allF(anyF(exactF("a", "b"), &weftv1.Filter{}))), want: ErrNoDialect, inMsg: "filters[1]: all[0]: any[1]"},
		{name: "unparsable cesql", filters: f(cesqlF("type = ")), want: ErrInvalidCESQL},
		{name: "unbalanced cesql", filters: f(cesqlF("(type = 'x'")), want: ErrInvalidCESQL},
		{name: "cesql garbage", filters: f(cesqlF("%%% nonsense")), want: ErrInvalidCESQL},
		{name: "nested unparsable cesql", filters: f(notF(anyF(cesqlF("1 +")))), want: ErrInvalidCESQL, inMsg: "not: any[0]: cesql"},
		{name: "exact empty value", filters: f(exactF("type", "")), want: ErrEmptyAttribute},
		{name: "exact empty name", filters: f(exactF("", "x")), want: ErrEmptyAttribute},
		{name: "prefix empty value", filters: f(prefixF("type", "")), want: ErrEmptyAttribute},
		{name: "suffix empty value", filters: f(suffixF("type", "")), want: ErrEmptyAttribute},
	} {
		t.Run(c.name, func(t *testing.T) {
			flt, err := FromEgress(&weftv1.Egress{Filters: c.filters})
			if !errors.Is(err, c.want) {
				t.Fatalf("FromEgress error = %v, want %v", err, c.want)
			}
			if flt != nil {
				t.Errorf("FromEgress returned a filter with an error")
			}
			if !strings.Contains(err.Error(), c.inMsg) {
				t.Errorf("error %q does not locate the entry (%q)", err, c.inMsg)
			}
		})
	}
	if _, err := Compile(nil); !errors.Is(err, ErrNoDialect) {
		t.Errorf("Compile(nil) error = %v, want ErrNoDialect", err)
	}
}

func TestNilEgressMatchesEverything(t *testing.T) {
	flt, err := FromEgress(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !flt.Match(newEvent(t)) {
		t.Error("nil egress should match every event")
	}
}

// TestDegenerateEvents checks that no filter panics on a nil event or an event
// without a context, and that such events fail every attribute test.
func TestDegenerateEvents(t *testing.T) {
	filters := map[string]*weftv1.Filter{
		"exact":  exactF("type", testType),
		"prefix": prefixF("type", "dev."),
		"suffix": suffixF("type", ".created"),
		"any":    anyF(exactF("type", "x"), cesqlF("true")),
		"cesql":  cesqlF("true"),
	}
	for name, pf := range filters {
		flt, err := Compile(pf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, e := range []*event.Event{nil, {}} {
			if flt.Match(e) {
				t.Errorf("%s matched an event without context", name)
			}
		}
	}
	for _, e := range []*event.Event{nil, {}} {
		if Attributes(map[string]string{"type": ""}).Match(e) {
			t.Error("attributes matched an event without context")
		}
		if !Attributes(nil).Match(e) {
			t.Error("empty attributes filter should match anything")
		}
	}
}

type panickingExpr struct{}

func (panickingExpr) Evaluate(event.Event) (any, error) { panic("boom") }

func TestCESQLPanicIsRecovered(t *testing.T) {
	flt := &cesqlFilter{src: "boom", expr: panickingExpr{}}
	if flt.Match(newEvent(t)) {
		t.Error("panicking expression matched")
	}
	if _, err := flt.evaluate(newEvent(t)); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("evaluate error = %v, want the panic", err)
	}
}

func TestAttributesCopiesMap(t *testing.T) {
	m := map[string]string{"type": testType}
	flt := Attributes(m)
	m["type"] = "x"
	if !flt.Match(newEvent(t)) {
		t.Error("filter changed after its map was modified")
	}
}

// TestConcurrentMatch runs one compiled filter of every dialect from many
// goroutines; with -race it proves Match shares no mutable state. Compiling
// concurrently exercises the parser lock.
func TestConcurrentMatch(t *testing.T) {
	eg := &weftv1.Egress{Filters: f(
		allF(exactF("type", testType), prefixF("source", "https://"), suffixF("subject", "/42")),
		anyF(notF(exactF("myint", "1")), cesqlF("mybool")),
		cesqlF("myint = 42 AND mystring LIKE 'he%'"),
	)}
	events := []*event.Event{newEvent(t, full...), newEvent(t), newEvent(t, withType("x"))}
	want := []bool{true, false, false}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			flt, err := FromEgress(eg)
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < 200; i++ {
				k := (g + i) % len(events)
				if got := flt.Match(events[k]); got != want[k] {
					t.Errorf("event %d: Match = %v, want %v", k, got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}
