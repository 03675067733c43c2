package filter

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/cekafka"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

var indexSeed = flag.Uint64("index.seed", 0, "run TestIndexEquivalence with this seed only (0: the fixed seeds)")

// indexCheck counts what checkCandidates saw, so a test can tell that its
// events and filters exercised the index rather than passing vacuously.
type indexCheck struct {
	events, undecodable, headerless int
	candidates, pruned, matches     int
}

// checkCandidates checks Candidates for the record rec against the filters fs
// the index was built from: the result is appended after what dst held, is
// increasing and unique, is exactly the always-candidates plus the filters
// whose key the headers carry, and leaves out no filter that matches the
// event decoded from rec. what describes the record for failures.
func checkCandidates(t *testing.T, ix *Index, fs []Filter, rec *kgo.Record, st *indexCheck, what func() string) {
	t.Helper()
	dec, err := cekafka.FromRecord(rec)
	if err != nil {
		st.undecodable++ // the dispatcher skips such records without matching
		return
	}
	st.events++
	var h Headers
	if lookup, ok := cekafka.AttributeHeaders(rec); ok {
		h = lookup
	} else {
		st.headerless++
	}

	prefix := []int{-1, len(fs) + 7} // Candidates appends: what dst holds stays
	got := ix.Candidates(h, slices.Clip(prefix))
	if len(got) < len(prefix) || got[0] != prefix[0] || got[1] != prefix[1] {
		t.Fatalf("%s: Candidates changed dst's contents: %v", what(), got)
	}
	got = got[len(prefix):]
	for j := 1; j < len(got); j++ {
		if got[j] <= got[j-1] {
			t.Fatalf("%s: Candidates not increasing and unique: %v", what(), got)
		}
	}

	keys := indexKeys(ix)
	var want []int
	for i := range fs {
		k, indexed := keys[i]
		if !indexed || h == nil {
			want = append(want, i)
		} else if v, ok := h(k.name); ok && v == k.want {
			want = append(want, i)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: Candidates = %v, want %v", what(), got, want)
	}

	st.candidates += len(got)
	for i, f := range fs {
		m := f.Match(dec)
		if m {
			st.matches++
			// The requirer contract, on every attribute (verbatim or not).
			if r, ok := f.(requirer); ok {
				var scratch [scratchSize]byte
				for _, c := range r.requiredEquals() {
					if v, ok := c.lookup(dec, scratch[:0]); !ok || !v.equal(c.want) {
						t.Fatalf("%s: filter %d (%#v) matches, but its required %s=%q does not hold", what(), i, f, c.name, c.want)
					}
				}
			}
		}
		if _, found := slices.BinarySearch(got, i); !found {
			st.pruned++
			if m {
				t.Fatalf("%s: filter %d (%#v) matches the decoded event %s but is not a candidate (Candidates %v)", what(), i, f, dec, got)
			}
		}
	}
}

// indexKeys reads back, from the index, the key each indexed filter is filed
// under.
func indexKeys(ix *Index) map[int]cond {
	out := make(map[int]cond)
	for _, k := range ix.keys {
		for v, ps := range k.byValue {
			for _, p := range ps {
				out[p] = cond{attr: newAttr(k.name), want: v}
			}
		}
	}
	return out
}

// checkIndexShape checks how NewIndex filed fs: every filter exactly once,
// under one of its own verbatim required conditions (type when it has one),
// or among the always-candidates when it has none.
func checkIndexShape(t *testing.T, ix *Index, fs []Filter) (indexed int) {
	t.Helper()
	seen := make(map[int]int)
	for _, p := range ix.always {
		seen[p]++
	}
	for _, k := range ix.keys {
		for _, ps := range k.byValue {
			if !slices.IsSorted(ps) {
				t.Fatalf("bucket of %s not increasing: %v", k.name, ps)
			}
			for _, p := range ps {
				seen[p]++
			}
		}
	}
	keys := indexKeys(ix)
	for i, f := range fs {
		if seen[i] != 1 {
			t.Fatalf("filter %d filed %d times", i, seen[i])
		}
		var req []cond
		if r, ok := f.(requirer); ok {
			for _, c := range r.requiredEquals() {
				if c.verbatim() {
					req = append(req, c)
				}
			}
		}
		k, ok := keys[i]
		switch {
		case len(req) == 0 && ok:
			t.Fatalf("filter %d (%#v) has no indexable condition but is filed under %s=%q", i, f, k.name, k.want)
		case len(req) > 0 && !ok:
			t.Fatalf("filter %d (%#v) requires %v but is always a candidate", i, f, req)
		case ok && !slices.Contains(req, k):
			t.Fatalf("filter %d (%#v) filed under %s=%q, which it does not require (%v)", i, f, k.name, k.want, req)
		case ok && k.name != "type" && slices.ContainsFunc(req, func(c cond) bool { return c.name == "type" }):
			t.Fatalf("filter %d (%#v) requires a type but is filed under %s", i, f, k.name)
		}
		if ok {
			indexed++
		}
	}
	return indexed
}

// Random events and filters over small alphabets, so that filters match.

var (
	genTypes    = []string{"t0", "t1", "t2", "t.3"}
	genIDs      = []string{"i0", "i1"}
	genSources  = []string{"s0", "https://weft.dev/s1", "urn:s2"}
	genSubjects = []string{"u0", "u1", "u/2"}
	genStrings  = []string{"red", "blue", "1", "42", "true", "u0"}
	genTimes    = []time.Time{testTime, testTime.Add(time.Hour).In(cest)}
	// Filter attribute names: every context attribute, the generated
	// extensions, one never set, and names that differ only in case.
	genAttrs = []string{"type", "id", "source", "subject", "time", "specversion", "datacontenttype",
		"dataschema", "color", "num", "flag", "when", "bin", "missing", "Type", "Color"}
)

// genValues lists, per attribute, values a filter may test (hits and misses).
var genValues = map[string][]string{
	"type":            append(slices.Clone(genTypes), "x"),
	"id":              append(slices.Clone(genIDs), "i9"),
	"source":          append(slices.Clone(genSources), "s9"),
	"subject":         append(slices.Clone(genSubjects), "u9"),
	"time":            {"2024-06-11T09:30:15.123456789Z", "2024-06-11T10:30:15.123456789Z", "2024-06-11T12:30:15.123456789+02:00"},
	"specversion":     {"1.0", "0.3"},
	"datacontenttype": {"application/json", "text/plain"},
	"dataschema":      {"https://weft.dev/schema", "https://weft.dev/other"},
	"color":           genStrings,
	"num":             {"0", "1", "42", "-7"},
	"flag":            {"true", "false"},
	"when":            {"2024-06-11T09:30:15.123456789Z", "2024-06-11T10:30:15.123456789Z"},
	"bin":             {"AQID", "AAE="},
	"missing":         {"x"},
	"Type":            append(slices.Clone(genTypes), "x"),
	"Color":           genStrings,
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// genRecord returns a random event as the record the dispatcher reads:
// written by cekafka.ToRecord, then sometimes altered the ways other
// producers' records differ (header names in other cases, an attribute
// repeated, an empty value, a source or time not in canonical form).
func genRecord(t *testing.T, r *rand.Rand) (*kgo.Record, string) {
	e := event.New()
	e.SetID(pick(r, genIDs))
	e.SetSource(pick(r, genSources))
	e.SetType(pick(r, genTypes))
	if r.IntN(2) == 0 {
		e.SetSubject(pick(r, genSubjects))
	}
	if r.IntN(2) == 0 {
		e.SetTime(pick(r, genTimes))
	}
	if r.IntN(3) == 0 {
		e.SetDataSchema("https://weft.dev/schema")
	}
	if r.IntN(2) == 0 {
		if err := e.SetData(pick(r, []string{"application/json", "text/plain"}), []byte(`"x"`)); err != nil {
			t.Fatal(err)
		}
	}
	ext := func(name string, v any) {
		if err := e.Context.SetExtension(name, v); err != nil {
			t.Fatalf("set %s: %v", name, err)
		}
	}
	if r.IntN(2) == 0 {
		ext("color", pick(r, genStrings))
	}
	switch r.IntN(3) {
	case 0:
		ext("num", pick(r, []int32{0, 1, 42, -7}))
	case 1:
		ext("num", pick(r, []string{"1", "42", "042"}))
	}
	switch r.IntN(3) {
	case 0:
		ext("flag", r.IntN(2) == 0)
	case 1:
		ext("flag", pick(r, []string{"true", "True"}))
	}
	if r.IntN(3) == 0 {
		ext("when", pick(r, genTimes))
	}
	if r.IntN(4) == 0 {
		ext("bin", pick(r, [][]byte{{1, 2, 3}, {0, 1}}))
	}
	if r.IntN(20) == 0 {
		e.Context = e.Context.AsV03()
	}
	rec, err := cekafka.ToRecord("t", &e)
	if err != nil {
		t.Fatalf("ToRecord %s: %v", e, err)
	}
	desc := e.String()
	if r.IntN(5) == 0 && len(rec.Headers) > 0 {
		i := r.IntN(len(rec.Headers))
		rec.Headers[i].Key = strings.ToUpper(rec.Headers[i].Key)
		desc += " with header " + rec.Headers[i].Key
	}
	if r.IntN(5) == 0 {
		name := pick(r, []string{"type", "id", "subject", "color", "flag"})
		v := pick(r, genValues[name])
		if r.IntN(3) == 0 {
			v = ""
		}
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: "ce_" + name, Value: []byte(v)})
		desc += fmt.Sprintf(" plus header ce_%s=%q", name, v)
	}
	if r.IntN(8) == 0 {
		// Values whose decoded form is not the header: no index on them.
		h := pick(r, []kgo.RecordHeader{
			{Key: "ce_source", Value: []byte("HTTPS://weft.dev/s1")},
			{Key: "ce_time", Value: []byte("2024-06-11T09:30:15.1234567890Z")},
		})
		rec.Headers = append(rec.Headers, h)
		desc += fmt.Sprintf(" plus header %s=%q", h.Key, h.Value)
	}
	return rec, desc
}

// genAttrMap returns 1-3 entries over random attributes, values non-empty.
func genAttrMap(r *rand.Rand) []string {
	var kvs []string
	for range 1 + r.IntN(3) {
		name := pick(r, genAttrs)
		kvs = append(kvs, name, pick(r, genValues[name]))
	}
	return kvs
}

func genCESQLAtom(r *rand.Rand) string {
	switch r.IntN(12) {
	case 0:
		return fmt.Sprintf("type = '%s'", pick(r, genValues["type"]))
	case 1:
		return fmt.Sprintf("subject LIKE '%s%%'", pick(r, []string{"u", "u/", "x"}))
	case 2:
		return "EXISTS " + pick(r, []string{"color", "subject", "flag", "missing", "when"})
	case 3:
		return fmt.Sprintf("num %s %d", pick(r, []string{"=", ">", "<", "<>"}), pick(r, []int{0, 1, 42}))
	case 4:
		return "flag"
	case 5:
		return fmt.Sprintf("color IN ('%s', '%s')", pick(r, genStrings), pick(r, genStrings))
	case 6:
		return fmt.Sprintf("id = '%s'", pick(r, genValues["id"]))
	case 7:
		return pick(r, []string{"TRUE", "FALSE", "1 = 1"})
	case 8:
		return fmt.Sprintf("UPPER(color) = '%s'", strings.ToUpper(pick(r, genStrings)))
	case 9:
		return fmt.Sprintf("source = '%s'", pick(r, genValues["source"]))
	case 10:
		return "time > '2024-06-11T10:00:00Z'"
	default:
		return fmt.Sprintf("type LIKE '%%%s'", pick(r, []string{"0", "1", ".3"}))
	}
}

func genCESQL(r *rand.Rand, depth int) string {
	if depth == 0 || r.IntN(2) == 0 {
		return genCESQLAtom(r)
	}
	switch r.IntN(3) {
	case 0:
		return "NOT (" + genCESQL(r, depth-1) + ")"
	case 1:
		return "(" + genCESQL(r, depth-1) + ") AND (" + genCESQL(r, depth-1) + ")"
	default:
		return "(" + genCESQL(r, depth-1) + ") OR (" + genCESQL(r, depth-1) + ")"
	}
}

// genFilter returns a random filters entry; exact and all come up most, so
// that many trees have required conditions.
func genFilter(r *rand.Rand, depth int) *weftv1.Filter {
	weights := []int{3, 1, 1, 1, 0, 0, 0} // exact, prefix, suffix, cesql, all, any, not
	if depth > 0 {
		weights[4], weights[5], weights[6] = 3, 1, 1
	}
	k, sum := 0, 0
	for _, w := range weights {
		sum += w
	}
	for n := r.IntN(sum); n >= weights[k]; k++ {
		n -= weights[k]
	}
	switch k {
	case 0:
		return exactF(genAttrMap(r)...)
	case 1, 2:
		kvs := genAttrMap(r)
		for i := 1; i < len(kvs); i += 2 {
			if r.IntN(2) == 0 { // part of a value, else the whole value
				if k == 1 {
					kvs[i] = kvs[i][:1+r.IntN(len(kvs[i]))]
				} else {
					kvs[i] = kvs[i][r.IntN(len(kvs[i])):]
				}
			}
		}
		if k == 1 {
			return prefixF(kvs...)
		}
		return suffixF(kvs...)
	case 3:
		return cesqlF(genCESQL(r, 2))
	case 4:
		return allF(genFilters(r, depth-1, r.IntN(4))...)
	case 5:
		return anyF(genFilters(r, depth-1, r.IntN(4))...)
	default:
		return notF(genFilter(r, depth-1))
	}
}

func genFilters(r *rand.Rand, depth, n int) []*weftv1.Filter {
	out := make([]*weftv1.Filter, n)
	for i := range out {
		out[i] = genFilter(r, depth)
	}
	return out
}

// genEgress returns a trigger's filter: a filters list, or the legacy
// attributes map (with empty values: presence only), or nothing.
func genEgress(r *rand.Rand) *weftv1.Egress {
	switch r.IntN(10) {
	case 0:
		return &weftv1.Egress{}
	case 1, 2, 3:
		kvs := genAttrMap(r)
		for i := 1; i < len(kvs); i += 2 {
			if r.IntN(3) == 0 {
				kvs[i] = ""
			}
		}
		return &weftv1.Egress{Attributes: kv(kvs)}
	default:
		return &weftv1.Egress{Filters: genFilters(r, 3, 1+r.IntN(3))}
	}
}

// TestIndexEquivalence checks Candidates against Match over random filters of
// every dialect and random records. A failure prints the seed; rerun it with
// -index.seed.
func TestIndexEquivalence(t *testing.T) {
	seeds := []uint64{1, 2, 3, 20260611}
	if *indexSeed != 0 {
		seeds = []uint64{*indexSeed}
	}
	const nFilters, nEvents = 400, 500
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Logf("seed %d (rerun with -index.seed=%d)", seed, seed)
			r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
			fs := make([]Filter, nFilters)
			egs := make([]*weftv1.Egress, nFilters)
			for i := range fs {
				egs[i] = genEgress(r)
				f, err := FromEgress(egs[i])
				if err != nil {
					t.Fatalf("seed %d: FromEgress(%v): %v", seed, egs[i], err)
				}
				fs[i] = f
			}
			ix := NewIndex(fs)
			indexed := checkIndexShape(t, ix, fs)

			var st indexCheck
			for n := range nEvents {
				rec, desc := genRecord(t, r)
				checkCandidates(t, ix, fs, rec, &st, func() string {
					return fmt.Sprintf("seed %d, event %d (%s)", seed, n, desc)
				})
			}
			t.Logf("%d filters (%d indexed under %d attributes), %d events (%d undecodable, %d without headers): %d matches, %d candidates, %d pruned",
				len(fs), indexed, len(ix.keys), st.events, st.undecodable, st.headerless, st.matches, st.candidates, st.pruned)
			// Not vacuous: filters match, the index prunes, and a good
			// share of the filters is indexed.
			total := st.events * len(fs)
			if st.matches < total/50 || st.pruned < total/10 || indexed < len(fs)/5 || st.headerless == 0 {
				t.Errorf("seed %d: weak run: %d matches, %d pruned of %d pairs, %d of %d filters indexed, %d records without headers",
					seed, st.matches, st.pruned, total, indexed, len(fs), st.headerless)
			}
		})
	}
}

// TestIndexConformance checks Candidates with the filters and events of the
// conformance cases and the CESQL TCK, all in one index: every event against
// every filter.
func TestIndexConformance(t *testing.T) {
	var fs []Filter
	var recs []*kgo.Record
	var names []string
	for _, c := range conformanceCases {
		flt, err := FromEgress(&weftv1.Egress{Attributes: c.attrs, Filters: c.filters})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fs = append(fs, flt)
		rec, err := cekafka.ToRecord("t", newEvent(t, c.event...))
		if err != nil {
			t.Fatalf("%s: ToRecord: %v", c.name, err)
		}
		recs, names = append(recs, rec), append(names, c.name)
	}
	_, files, fileNames := loadTCK(t)
	unencodable := 0
	for _, name := range fileNames {
		for _, c := range files[name].Tests {
			if c.Error == "parse" {
				continue
			}
			flt, err := Compile(cesqlF(c.Expression))
			if err != nil {
				t.Fatalf("%s/%s: %v", name, c.Name, err)
			}
			fs = append(fs, flt)
			e, err := c.inputEvent(t)
			if err != nil {
				t.Fatalf("%s/%s: %v", name, c.Name, err)
			}
			rec, err := cekafka.ToRecord("t", e)
			if err != nil {
				unencodable++
				continue
			}
			recs, names = append(recs, rec), append(names, name+"/"+c.Name)
		}
	}

	ix := NewIndex(fs)
	indexed := checkIndexShape(t, ix, fs)
	var st indexCheck
	for i, rec := range recs {
		checkCandidates(t, ix, fs, rec, &st, func() string { return "event of " + names[i] })
	}
	// Each conformance filter alone, too: an index of one.
	for i, c := range conformanceCases {
		one := NewIndex(fs[i : i+1])
		checkIndexShape(t, one, fs[i:i+1])
		checkCandidates(t, one, fs[i:i+1], recs[i], &indexCheck{}, func() string { return c.name + " alone" })
	}
	t.Logf("%d filters (%d indexed), %d events (%d unencodable, %d undecodable, %d without headers): %d matches, %d pruned",
		len(fs), indexed, len(recs), unencodable, st.undecodable, st.headerless, st.matches, st.pruned)
	if indexed < 40 || st.pruned == 0 || st.events < len(recs)*9/10 {
		t.Errorf("weak run: %d filters indexed, %d pruned, %d of %d events decoded", indexed, st.pruned, st.events, len(recs))
	}
}

// TestIndexKeys pins how NewIndex files filters.
func TestIndexKeys(t *testing.T) {
	eg := func(fs ...*weftv1.Filter) *weftv1.Egress { return &weftv1.Egress{Filters: fs} }
	attrs := func(kvs ...string) *weftv1.Egress { return &weftv1.Egress{Attributes: kv(kvs)} }
	const always = "always"
	for _, c := range []struct {
		name string
		egs  []*weftv1.Egress
		want []string // per filter: "attr=value" or always
	}{
		{"no filter", []*weftv1.Egress{{}}, []string{always}},
		{"exact type", []*weftv1.Egress{eg(exactF("type", "a"))}, []string{"type=a"}},
		{"type preferred over a more selective extension",
			[]*weftv1.Egress{eg(exactF("type", "a", "tenant", "t1")), eg(exactF("type", "a", "tenant", "t2"))},
			[]string{"type=a", "type=a"}},
		{"attributes: empty value is presence only", []*weftv1.Egress{attrs("type", "", "tenant", "t1")}, []string{"tenant=t1"}},
		{"attributes: only empty values", []*weftv1.Egress{attrs("type", "", "tenant", "")}, []string{always}},
		{"source, time, specversion are not verbatim", []*weftv1.Egress{eg(exactF("source", "s", "time", "2024-06-11T09:30:15Z")), attrs("specversion", "1.0", "datacontenttype", "x")},
			[]string{always, always}},
		{"upper-case extension names are not verbatim", []*weftv1.Egress{attrs("Tenant", "t1"), eg(exactF("tenant", "t1", "Region", "r"))},
			[]string{always, "tenant=t1"}},
		{"id and subject", []*weftv1.Egress{eg(exactF("id", "1")), eg(exactF("subject", "s"))}, []string{"id=1", "subject=s"}},
		{"all: union of operands", []*weftv1.Egress{eg(allF(prefixF("type", "a"), exactF("subject", "s"))), eg(exactF("id", "1"), allF(notF(exactF("type", "a")), exactF("type", "b")))},
			[]string{"subject=s", "type=b"}},
		{"any, not, prefix, suffix, cesql require nothing", []*weftv1.Egress{
			eg(anyF(exactF("type", "a"), exactF("type", "b"))), eg(notF(exactF("type", "a"))), eg(prefixF("type", "a")),
			eg(suffixF("type", "a")), eg(cesqlF("type = 'a'"))},
			[]string{always, always, always, always, always}},
		{"not of not is the operand", []*weftv1.Egress{eg(notF(notF(exactF("type", "a"))))}, []string{"type=a"}},
		{"more distinct values wins", []*weftv1.Egress{
			eg(exactF("region", "eu", "tenant", "t1")), eg(exactF("region", "eu", "tenant", "t2")), eg(exactF("region", "eu", "tenant", "t3")),
			eg(exactF("region", "eu"))},
			[]string{"tenant=t1", "tenant=t2", "tenant=t3", "region=eu"}},
		{"then more filters", []*weftv1.Egress{eg(exactF("zone", "z1", "region", "eu")), eg(exactF("zone", "z1"))},
			[]string{"zone=z1", "zone=z1"}},
		{"then the name", []*weftv1.Egress{eg(exactF("b", "1", "a", "2"))}, []string{"a=2"}},
		{"contradiction: filed under one", []*weftv1.Egress{eg(exactF("type", "b"), exactF("type", "a"))}, []string{"type=a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := make([]Filter, len(c.egs))
			for i, e := range c.egs {
				f, err := FromEgress(e)
				if err != nil {
					t.Fatal(err)
				}
				fs[i] = f
			}
			ix := NewIndex(fs)
			checkIndexShape(t, ix, fs)
			keys := indexKeys(ix)
			for i, want := range c.want {
				got := always
				if k, ok := keys[i]; ok {
					got = k.name + "=" + k.want
				}
				if got != want {
					t.Errorf("filter %d filed under %s, want %s", i, got, want)
				}
			}
		})
	}
}

func mapHeaders(m map[string]string) Headers {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

// Candidates reads a header per key attribute, and nothing else: with
// capacity in dst and headers that do not allocate, it does not allocate.
func TestIndexCandidatesDoesNotAllocate(t *testing.T) {
	fs := []Filter{everything{}}
	for i := range 200 {
		flt, err := FromEgress(&weftv1.Egress{Filters: f(exactF("type", fmt.Sprintf("type-%d", i%20)))})
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, flt, Attributes(map[string]string{"tenant": fmt.Sprint("t", i%7), "subject": ""}))
	}
	ix := NewIndex(fs)
	h := mapHeaders(map[string]string{"type": "type-3", "tenant": "t2", "id": "1"})
	dst := ix.Candidates(h, nil)
	if len(dst) != 1+10+29 {
		t.Fatalf("%d candidates, want %d", len(dst), 1+10+29)
	}
	for name, h := range map[string]Headers{"headers": h, "nil headers": nil} {
		dst := ix.Candidates(h, nil)
		if n := testing.AllocsPerRun(100, func() { dst = ix.Candidates(h, dst[:0]) }); n != 0 {
			t.Errorf("%s: %v allocations per Candidates", name, n)
		}
	}
	calls := 0
	counting := func(name string) (string, bool) { calls++; return h(name) }
	ix.Candidates(counting, dst[:0])
	if calls != 2 {
		t.Errorf("Candidates read %d headers, want 2 (type and tenant)", calls)
	}
}

func TestIndexEmpty(t *testing.T) {
	for _, fs := range [][]Filter{nil, {}} {
		ix := NewIndex(fs)
		if got := ix.Candidates(mapHeaders(nil), nil); len(got) != 0 {
			t.Errorf("empty index: %v", got)
		}
		if got := ix.Candidates(nil, nil); len(got) != 0 {
			t.Errorf("empty index, nil headers: %v", got)
		}
	}
	// Filters of other types, and nil, are always candidates.
	ix := NewIndex([]Filter{nil, &cesqlFilter{}, exactFilter{{attr: newAttr("type"), want: "a"}}})
	if got := ix.Candidates(mapHeaders(map[string]string{"type": "b"}), nil); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("Candidates = %v, want [0 1]", got)
	}
}

// One index, many goroutines: with -race this shows Candidates shares no
// mutable state.
func TestIndexConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	fs := make([]Filter, 200)
	for i := range fs {
		f, err := FromEgress(genEgress(r))
		if err != nil {
			t.Fatal(err)
		}
		fs[i] = f
	}
	ix := NewIndex(fs)
	var recs []*kgo.Record
	for range 20 {
		rec, _ := genRecord(t, r)
		recs = append(recs, rec)
	}
	want := make([][]int, len(recs))
	for i, rec := range recs {
		if h, ok := cekafka.AttributeHeaders(rec); ok {
			want[i] = ix.Candidates(h, nil)
		} else {
			want[i] = ix.Candidates(nil, nil)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var dst []int
			for n := range 200 {
				i := (g + n) % len(recs)
				var h Headers
				if lookup, ok := cekafka.AttributeHeaders(recs[i]); ok {
					h = lookup
				}
				if dst = ix.Candidates(h, dst[:0]); !slices.Equal(dst, want[i]) {
					t.Errorf("record %d: Candidates = %v, want %v", i, dst, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestMergeInto(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for n := range 2000 {
		var a, b []int
		for i := range 20 {
			switch r.IntN(3) {
			case 0:
				a = append(a, i)
			case 1:
				b = append(b, i)
			}
		}
		head := []int{100, -3}[:r.IntN(3)]
		dst := append(slices.Clone(head), a...)
		got := mergeInto(dst, len(head), b)
		want := append(slices.Clone(head), slices.Sorted(slices.Values(append(slices.Clone(a), b...)))...)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: mergeInto(%v+%v, %v) = %v, want %v", n, head, a, b, got, want)
		}
	}
}
