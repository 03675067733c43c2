// Package filter owns trigger filtering: it compiles the filters of the
// data-plane contract (the legacy attributes map and the exact, prefix,
// suffix, all, any, not and cesql dialects of Knative Eventing's filters list)
// into matchers that the dispatcher runs against every event, and indexes a
// broker's filters so that a record is matched only against those its
// headers leave possible (Index).
//
// Semantics follow Knative Eventing's broker: attribute names are
// case-sensitive and values are compared exactly against the canonical string
// form of the attribute; an absent attribute fails the match.
package filter

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Filter decides whether an event goes to a trigger's subscriber.
//
// A Filter is immutable once built: Match is safe for concurrent use by any
// number of goroutines, never panics (a nil event, or one without a context,
// has no attributes and so fails every attribute test), never modifies the
// event, and does not allocate on the hot path where the event model allows it
// (the context attributes and extensions stored as strings, integers or
// booleans; source and dataschema are URLs that sdk-go formats on each read,
// and cesql evaluation allocates inside the CESQL library).
type Filter interface {
	// Match reports whether e passes the filter.
	Match(e *event.Event) bool
}

// FromEgress builds the filter of one egress (a compiled Trigger). A non-empty
// Filters list replaces Attributes and every entry must match, like Knative's
// spec.filters; otherwise the legacy Attributes filter applies; with neither,
// every event matches.
func FromEgress(eg *weftv1.Egress) (Filter, error) {
	if fs := eg.GetFilters(); len(fs) > 0 {
		out := make([]Filter, len(fs))
		for i, f := range fs {
			c, err := Compile(f)
			if err != nil {
				return nil, fmt.Errorf("compile filters[%d]: %w", i, err)
			}
			out[i] = c
		}
		return newAllOf(out), nil
	}
	return Attributes(eg.GetAttributes()), nil
}

// Compile builds the filter for one entry of a filters list. The entry must
// set exactly one dialect (the contract's oneof guarantees at most one).
//
// As in Knative, a dialect with an empty body (an exact, prefix or suffix map
// without entries, an empty all or any list, an empty cesql expression)
// constrains nothing and matches every event. Unlike Knative, which skips such
// entries, "not" is a plain negation: "not" of an empty body matches nothing.
func Compile(f *weftv1.Filter) (Filter, error) {
	switch d := f.GetDialect().(type) {
	case *weftv1.Filter_Exact:
		return newExact(d.Exact.GetAttributes())
	case *weftv1.Filter_Prefix:
		return newPrefix(d.Prefix.GetAttributes())
	case *weftv1.Filter_Suffix:
		return newSuffix(d.Suffix.GetAttributes())
	case *weftv1.Filter_All:
		return newAll(d.All.GetFilters())
	case *weftv1.Filter_Any:
		return newAny(d.Any.GetFilters())
	case *weftv1.Filter_Not:
		return newNot(d.Not)
	case *weftv1.Filter_Cesql:
		return newCESQL(d.Cesql)
	case nil:
		return nil, ErrNoDialect
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnknownDialect, d)
	}
}

// everything is the filter that constrains nothing.
type everything struct{}

func (everything) Match(*event.Event) bool { return true }
