package filter

import (
	"cmp"
	"slices"
)

// requirer is implemented by filters that know exact-match conditions every
// event they match satisfies: Match(e) implies that each returned condition's
// attribute is present on e with the canonical string form want. Returning
// fewer conditions is always sound; nil means "nothing is required".
//
// Only conjunctions of equalities contribute: exact (all its entries), the
// legacy attributes map (entries with a non-empty value), all (the union of
// its operands'). any, not, prefix, suffix and cesql require no single
// equality, so they do not implement it and contribute nothing to an all
// around them.
type requirer interface {
	requiredEquals() []cond
}

func (f exactFilter) requiredEquals() []cond { return f }

func (f attributesFilter) requiredEquals() []cond {
	var out []cond
	for _, c := range f {
		if c.want != "" {
			out = append(out, c)
		}
	}
	return out
}

func (f allFilter) requiredEquals() []cond {
	var out []cond
	for _, c := range f {
		if r, ok := c.(requirer); ok {
			out = append(out, r.requiredEquals()...)
		}
	}
	return out
}

// Index finds, from a record's headers, the filters that may match it, so a
// dispatcher fanning each record out to many triggers calls Match only on
// those rather than on all of them.
//
// Each filter with an indexable condition is filed under one key: an
// attribute and the value that attribute must have for the filter to match.
// Indexable conditions are the exact-match conditions every matching event
// satisfies (see requirer) on verbatim attributes (id, type, subject and
// lower-case extension names, whose header is the decoded string). A lookup
// reads the header of each key attribute once and takes the filters filed
// under its value (one map read), then adds the filters that have no
// indexable condition, which are always candidates.
//
// The key of a filter is chosen so that few attributes are read per record
// and the buckets stay small:
//
//  1. type, when the filter requires one: triggers filter on type more than
//     on anything else, and every event has a type, so an index of type
//     filters costs one header read and one map read per record.
//  2. Otherwise the required attribute that splits the whole set of filters
//     best: the one with the most distinct required values across all the
//     filters (many filters requiring it with many values: common, so it is
//     read for many filters at once, and selective, so its buckets are
//     small), then the one required by the most filters, then by name, so
//     the choice is deterministic.
//
// An Index is immutable once built and safe for concurrent use.
type Index struct {
	n      int
	always []int      // positions of filters without an indexable condition, increasing
	keys   []indexKey // attributes read per record, in rank order
}

// indexKey is one attribute filters are filed under.
type indexKey struct {
	name    string
	byValue map[string][]int // required value -> positions, increasing
}

// NewIndex indexes fs; positions in Candidates are indexes into fs. Filters
// of types this package does not know, and nil entries, are always
// candidates. fs itself is not retained.
func NewIndex(fs []Filter) *Index {
	ix := &Index{n: len(fs)}

	// The verbatim conditions of each filter, one per attribute and value.
	reqs := make([][]cond, len(fs))
	type attrStat struct {
		filters int
		values  map[string]struct{}
	}
	stats := make(map[string]*attrStat)
	for i, f := range fs {
		r, ok := f.(requirer)
		if !ok {
			continue
		}
		var cs []cond
		for _, c := range r.requiredEquals() {
			if c.verbatim() && !slices.Contains(cs, c) {
				cs = append(cs, c)
			}
		}
		reqs[i] = cs
		for j, c := range cs {
			st := stats[c.name]
			if st == nil {
				st = &attrStat{values: make(map[string]struct{})}
				stats[c.name] = st
			}
			st.values[c.want] = struct{}{}
			if !slices.ContainsFunc(cs[:j], func(p cond) bool { return p.name == c.name }) {
				st.filters++
			}
		}
	}

	// Rank the attributes: type first, then by distinct values, filters, name.
	names := make([]string, 0, len(stats))
	for name := range stats {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if at, bt := a == "type", b == "type"; at != bt {
			if at {
				return -1
			}
			return 1
		}
		sa, sb := stats[a], stats[b]
		if c := cmp.Compare(len(sb.values), len(sa.values)); c != 0 {
			return c
		}
		if c := cmp.Compare(sb.filters, sa.filters); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	rank := make(map[string]int, len(names))
	for i, name := range names {
		rank[name] = i
	}

	// File each filter under its best-ranked condition, in increasing position.
	byName := make(map[string]int) // attribute -> position in ix.keys
	for i, cs := range reqs {
		if len(cs) == 0 {
			ix.always = append(ix.always, i)
			continue
		}
		best := cs[0]
		for _, c := range cs[1:] {
			if rank[c.name] < rank[best.name] || rank[c.name] == rank[best.name] && c.want < best.want {
				best = c
			}
		}
		k, ok := byName[best.name]
		if !ok {
			k = len(ix.keys)
			byName[best.name] = k
			ix.keys = append(ix.keys, indexKey{name: best.name, byValue: make(map[string][]int)})
		}
		ix.keys[k].byValue[best.want] = append(ix.keys[k].byValue[best.want], i)
	}
	slices.SortFunc(ix.keys, func(a, b indexKey) int { return cmp.Compare(rank[a.name], rank[b.name]) })
	return ix
}

// Candidates appends to dst the positions (in the fs given to NewIndex) of the
// filters that may match the event whose headers are h, in increasing order,
// and returns dst. Every filter not returned certainly does not Match that
// event. A nil h means the headers are not known (the record is not a
// CloudEvents 1.0 binary-mode record: see cekafka.AttributeHeaders), and every
// filter is a candidate.
//
// Candidates calls h once per key attribute (see Index) and allocates nothing
// once dst has the capacity for the result.
func (ix *Index) Candidates(h Headers, dst []int) []int {
	if h == nil {
		for i := range ix.n {
			dst = append(dst, i)
		}
		return dst
	}
	start := len(dst)
	dst = append(dst, ix.always...)
	for i := range ix.keys {
		k := &ix.keys[i]
		v, ok := h(k.name)
		if !ok {
			continue // an absent attribute fails every equality on it
		}
		dst = mergeInto(dst, start, k.byValue[v])
	}
	return dst
}

// mergeInto merges add, increasing, into dst[start:], increasing and disjoint
// from add, in place from the back.
func mergeInto(dst []int, start int, add []int) []int {
	if len(add) == 0 {
		return dst
	}
	if len(dst) == start || dst[len(dst)-1] < add[0] {
		return append(dst, add...)
	}
	i := len(dst) - 1
	dst = append(dst, add...)
	for j, w := len(add)-1, len(dst)-1; j >= 0; w-- {
		if i >= start && dst[i] > add[j] {
			dst[w] = dst[i]
			i--
		} else {
			dst[w] = add[j]
			j--
		}
	}
	return dst
}
