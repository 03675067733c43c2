package filter

import (
	"testing"

	"github.com/weft-dev/weft/pkg/cekafka"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Rejecting from headers is only an early answer to Match: over every
// conformance case, a record RejectHeaders turns away is one whose decoded
// event Match refuses too, and the common refusals are caught early.
func TestRejectHeadersNeverRejectsAMatch(t *testing.T) {
	rejected := 0
	for _, c := range conformanceCases {
		flt, err := FromEgress(&weftv1.Egress{Attributes: c.attrs, Filters: c.filters})
		if err != nil {
			t.Fatalf("%s: FromEgress: %v", c.name, err)
		}
		rj, ok := flt.(HeaderRejecter)
		if !ok {
			continue
		}
		rec, err := cekafka.ToRecord("t", newEvent(t, c.event...))
		if err != nil {
			t.Fatalf("%s: ToRecord: %v", c.name, err)
		}
		decoded, err := cekafka.FromRecord(rec)
		if err != nil {
			t.Fatalf("%s: FromRecord: %v", c.name, err)
		}
		lookup, ok := cekafka.AttributeHeaders(rec)
		if ok != (decoded.SpecVersion() == "1.0") {
			t.Fatalf("%s: AttributeHeaders ok = %v for a %s record", c.name, ok, decoded.SpecVersion())
		}
		if !ok {
			continue // the dispatcher decodes such records
		}
		if rj.RejectHeaders(lookup) {
			rejected++
			if flt.Match(decoded) {
				t.Errorf("%s: rejected from headers, but Match accepts the decoded event %s", c.name, decoded)
			}
		}
	}
	if rejected < 15 {
		t.Errorf("only %d cases rejected from headers; the type, id, subject and extension mismatches should be", rejected)
	}
	t.Logf("%d cases rejected from headers alone", rejected)
}

func TestRejectHeadersCases(t *testing.T) {
	h := func(m map[string]string) Headers {
		return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
	}
	ev := h(map[string]string{"type": "order.created", "id": "1", "myext": "blue"})
	for _, c := range []struct {
		name   string
		filter *weftv1.Egress
		want   bool
	}{
		{"exact type differs", &weftv1.Egress{Filters: []*weftv1.Filter{exactF("type", "order.deleted")}}, true},
		{"exact type equal", &weftv1.Egress{Filters: []*weftv1.Filter{exactF("type", "order.created")}}, false},
		{"prefix mismatch", &weftv1.Egress{Filters: []*weftv1.Filter{prefixF("type", "invoice.")}}, true},
		{"suffix match", &weftv1.Egress{Filters: []*weftv1.Filter{suffixF("type", ".created")}}, false},
		{"attributes missing extension", &weftv1.Egress{Attributes: map[string]string{"color": ""}}, true},
		{"attributes present extension, any value", &weftv1.Egress{Attributes: map[string]string{"myext": ""}}, false},
		{"source is not verbatim: left to Match", &weftv1.Egress{Attributes: map[string]string{"source": "elsewhere"}}, false},
		{"upper-case extension name: left to Match", &weftv1.Egress{Attributes: map[string]string{"MyExt": "x"}}, false},
		{"all: one operand rejects", &weftv1.Egress{Filters: []*weftv1.Filter{exactF("id", "1"), exactF("myext", "red")}}, true},
	} {
		f, err := FromEgress(c.filter)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		rj, ok := f.(HeaderRejecter)
		if !ok {
			t.Fatalf("%s: %T does not reject from headers", c.name, f)
		}
		if got := rj.RejectHeaders(ev); got != c.want {
			t.Errorf("%s: RejectHeaders = %v, want %v", c.name, got, c.want)
		}
	}
}
