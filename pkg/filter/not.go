package filter

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// notFilter is the not dialect: the event matches when the operand does not.
// A missing attribute fails the operand, so "not exact x" matches events
// without x.
type notFilter struct{ f Filter }

func newNot(operand *weftv1.Filter) (Filter, error) {
	f, err := Compile(operand)
	if err != nil {
		return nil, fmt.Errorf("not: %w", err)
	}
	if n, ok := f.(notFilter); ok {
		return n.f, nil
	}
	return notFilter{f: f}, nil
}

func (f notFilter) Match(e *event.Event) bool { return !f.f.Match(e) }
