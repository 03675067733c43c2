package filter

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// allFilter is the all dialect: every subfilter matches. It short-circuits on
// the first mismatch, in the order the filters were written.
type allFilter []Filter

func newAll(fs []*weftv1.Filter) (Filter, error) {
	out, err := compileList("all", fs)
	if err != nil {
		return nil, err
	}
	return newAllOf(out), nil
}

// newAllOf combines compiled filters; an empty list matches every event.
func newAllOf(fs []Filter) Filter {
	switch len(fs) {
	case 0:
		return everything{}
	case 1:
		return fs[0]
	}
	return allFilter(fs)
}

func (f allFilter) Match(e *event.Event) bool {
	for _, c := range f {
		if !c.Match(e) {
			return false
		}
	}
	return true
}

// compileList compiles the operands of all and any.
func compileList(dialect string, fs []*weftv1.Filter) ([]Filter, error) {
	out := make([]Filter, len(fs))
	for i, f := range fs {
		c, err := Compile(f)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", dialect, i, err)
		}
		out[i] = c
	}
	return out, nil
}
