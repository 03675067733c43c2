package filter

import "github.com/cloudevents/sdk-go/v2/event"

// attributesFilter is the legacy Trigger filter.attributes: every listed
// attribute must be present on the event and equal to its value; an empty
// value matches any value, but the attribute must still be present.
type attributesFilter []cond

// Attributes returns the legacy attributes filter (Trigger
// spec.filter.attributes). An empty or nil map matches every event. The map is
// copied; later changes to it do not affect the filter.
func Attributes(m map[string]string) Filter {
	if len(m) == 0 {
		return everything{}
	}
	return attributesFilter(compileConds(m))
}

func (f attributesFilter) Match(e *event.Event) bool {
	var scratch [scratchSize]byte
	for i := range f {
		v, ok := f[i].lookup(e, scratch[:0])
		if !ok {
			return false
		}
		if f[i].want != "" && !v.equal(f[i].want) {
			return false
		}
	}
	return true
}
