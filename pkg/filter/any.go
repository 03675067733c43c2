package filter

import (
	"github.com/cloudevents/sdk-go/v2/event"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// anyFilter is the any dialect: at least one subfilter matches. It
// short-circuits on the first match, in the order the filters were written.
type anyFilter []Filter

// newAny compiles an any list. An empty list matches every event, as in
// Knative, where an empty any is no filter at all (it is skipped, and an
// any-filter without operands reports NoFilter, which the broker passes).
func newAny(fs []*weftv1.Filter) (Filter, error) {
	out, err := compileList("any", fs)
	if err != nil {
		return nil, err
	}
	switch len(out) {
	case 0:
		return everything{}, nil
	case 1:
		return out[0], nil
	}
	return anyFilter(out), nil
}

func (f anyFilter) Match(e *event.Event) bool {
	for _, c := range f {
		if c.Match(e) {
			return true
		}
	}
	return false
}
