package filter

import (
	"fmt"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/weft-dev/weft/pkg/cekafka"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// BenchmarkFilter measures Match for every dialect against one event shaped
// like those the dispatcher reads from Kafka (binary mode: extensions are
// strings). "none" is the baseline: the filter of a trigger without filters.
//
//	go test -run '^$' -bench BenchmarkFilter -benchmem ./pkg/filter/
func BenchmarkFilter(b *testing.B) {
	e := newEvent(b, withSubject("orders/42"), withTime(testTime),
		withData("application/json", map[string]string{"id": "42"}),
		withExt("tenant", "acme"), withExt("region", "eu-west-1"), withExt("myint", 42))

	benches := []struct {
		name string
		eg   *weftv1.Egress
		want bool
	}{
		{"none", &weftv1.Egress{}, true},
		{"attributes", &weftv1.Egress{Attributes: kv([]string{"type", testType, "source", testSource, "tenant", "acme"})}, true},
		{"attributes/mismatch", &weftv1.Egress{Attributes: kv([]string{"type", testType, "source", testSource, "tenant", "other"})}, false},
		{"exact", &weftv1.Egress{Filters: f(exactF("type", testType))}, true},
		{"exact/extension", &weftv1.Egress{Filters: f(exactF("tenant", "acme"))}, true},
		{"exact/int-extension", &weftv1.Egress{Filters: f(exactF("myint", "42"))}, true},
		{"exact/time", &weftv1.Egress{Filters: f(exactF("time", "2024-06-11T09:30:15.123456789Z"))}, true},
		{"exact/source", &weftv1.Egress{Filters: f(exactF("source", testSource))}, true},
		{"prefix", &weftv1.Egress{Filters: f(prefixF("type", "dev.weft."))}, true},
		{"suffix", &weftv1.Egress{Filters: f(suffixF("type", ".created"))}, true},
		{"all", &weftv1.Egress{Filters: f(allF(exactF("type", testType), prefixF("subject", "orders/"), suffixF("region", "-1")))}, true},
		{"any", &weftv1.Egress{Filters: f(anyF(exactF("type", "x"), exactF("type", "y"), exactF("type", testType)))}, true},
		{"not", &weftv1.Egress{Filters: f(notF(exactF("type", "dev.weft.order.deleted")))}, true},
		{"cesql", &weftv1.Egress{Filters: f(cesqlF("type = 'dev.weft.order.created'"))}, true},
		{"cesql/complex", &weftv1.Egress{Filters: f(cesqlF("type LIKE 'dev.weft.%' AND tenant IN ('acme', 'globex') AND myint > 40"))}, true},
		{"cesql/missing-attribute", &weftv1.Egress{Filters: f(cesqlF("missing = 'x'"))}, false},
	}
	for _, bc := range benches {
		flt, err := FromEgress(bc.eg)
		if err != nil {
			b.Fatalf("%s: %v", bc.name, err)
		}
		if got := flt.Match(e); got != bc.want {
			b.Fatalf("%s: Match = %v, want %v", bc.name, got, bc.want)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				flt.Match(e)
			}
		})
	}
}

// A record that fails a trigger's exact type filter: decoding it to call
// Match, against turning it away from its headers (what the dispatcher does
// for every trigger whose filter allows it).
func BenchmarkRejectNonMatching(b *testing.B) {
	e := event.New()
	e.SetID("b-1")
	e.SetType("type-42")
	e.SetSource("weft-bench")
	e.SetExtension("knativearrivaltime", "2026-11-22T19:00:00Z")
	if err := e.SetData("application/json", make([]byte, 1024)); err != nil {
		b.Fatal(err)
	}
	rec, err := cekafka.ToRecord("t", &e)
	if err != nil {
		b.Fatal(err)
	}
	f, err := FromEgress(&weftv1.Egress{Attributes: map[string]string{"type": "type-07"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("DecodeThenMatch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ev, err := cekafka.FromRecord(rec)
			if err != nil || f.Match(ev) {
				b.Fatal("matched")
			}
		}
	})
	b.Run("RejectHeaders", func(b *testing.B) {
		b.ReportAllocs()
		rj := f.(HeaderRejecter)
		for b.Loop() {
			lookup, ok := cekafka.AttributeHeaders(rec)
			if !ok || !rj.RejectHeaders(lookup) {
				b.Fatal("not rejected")
			}
		}
	})
}

// One broker, 1,000 triggers each with an exact type filter over 100 types,
// plus one trigger without a filter: which of them may take a record of one
// type (10 + 1 of them). The index against asking every filter, from the
// headers (RejectHeaders, as the dispatcher does per trigger) or by decoding
// the record (Match). IndexThenMatch adds decoding the record and calling
// Match on the candidates: the whole decision.
//
//	go test -run '^$' -bench BenchmarkIndexCandidates -benchmem ./pkg/filter/
func BenchmarkIndexCandidates(b *testing.B) {
	fs := make([]Filter, 0, 1001)
	for i := range 1000 {
		flt, err := FromEgress(&weftv1.Egress{Filters: f(exactF("type", fmt.Sprintf("type-%02d", i%100)))})
		if err != nil {
			b.Fatal(err)
		}
		fs = append(fs, flt)
	}
	all, err := FromEgress(&weftv1.Egress{})
	if err != nil {
		b.Fatal(err)
	}
	fs = append(fs, all)
	ix := NewIndex(fs)

	e := event.New()
	e.SetID("b-1")
	e.SetType("type-42")
	e.SetSource("weft-bench")
	e.SetExtension("knativearrivaltime", "2026-11-22T19:00:00Z")
	if err := e.SetData("application/json", make([]byte, 1024)); err != nil {
		b.Fatal(err)
	}
	rec, err := cekafka.ToRecord("t", &e)
	if err != nil {
		b.Fatal(err)
	}
	const want = 11

	dst := make([]int, 0, len(fs))
	b.Run("Index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h, ok := cekafka.AttributeHeaders(rec)
			if !ok {
				b.Fatal("no headers")
			}
			dst = ix.Candidates(h, dst[:0])
		}
		if len(dst) != want {
			b.Fatalf("%d candidates, want %d", len(dst), want)
		}
	})
	// The index alone, with headers that cost a map read and no allocation.
	b.Run("IndexMapHeaders", func(b *testing.B) {
		b.ReportAllocs()
		h := mapHeaders(map[string]string{"specversion": "1.0", "id": "b-1", "type": "type-42", "source": "weft-bench", "knativearrivaltime": "2026-11-22T19:00:00Z"})
		for b.Loop() {
			dst = ix.Candidates(h, dst[:0])
		}
		if len(dst) != want {
			b.Fatalf("%d candidates, want %d", len(dst), want)
		}
	})
	b.Run("RejectHeaders", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h, ok := cekafka.AttributeHeaders(rec)
			if !ok {
				b.Fatal("no headers")
			}
			dst = dst[:0]
			for i, flt := range fs {
				if rj, ok := flt.(HeaderRejecter); !ok || !rj.RejectHeaders(h) {
					dst = append(dst, i)
				}
			}
		}
		if len(dst) != want {
			b.Fatalf("%d candidates, want %d", len(dst), want)
		}
	})
	b.Run("Match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ev, err := cekafka.FromRecord(rec)
			if err != nil {
				b.Fatal(err)
			}
			dst = dst[:0]
			for i, flt := range fs {
				if flt.Match(ev) {
					dst = append(dst, i)
				}
			}
		}
		if len(dst) != want {
			b.Fatalf("%d matches, want %d", len(dst), want)
		}
	})
	b.Run("IndexThenMatch", func(b *testing.B) {
		b.ReportAllocs()
		matched := make([]int, 0, len(fs))
		for b.Loop() {
			h, ok := cekafka.AttributeHeaders(rec)
			if !ok {
				b.Fatal("no headers")
			}
			dst = ix.Candidates(h, dst[:0])
			ev, err := cekafka.FromRecord(rec)
			if err != nil {
				b.Fatal(err)
			}
			matched = matched[:0]
			for _, i := range dst {
				if fs[i].Match(ev) {
					matched = append(matched, i)
				}
			}
		}
		if len(matched) != want {
			b.Fatalf("%d matches, want %d", len(matched), want)
		}
	})
}
