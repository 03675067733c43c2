package filter

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
)

// exactFilter is the exact dialect: every listed attribute is present and
// equal to its value.
type exactFilter []cond

func newExact(m map[string]string) (Filter, error) {
	if len(m) == 0 {
		return everything{}, nil
	}
	if err := checkOperands(m); err != nil {
		return nil, fmt.Errorf("exact: %w", err)
	}
	return exactFilter(compileConds(m)), nil
}

func (f exactFilter) Match(e *event.Event) bool {
	var scratch [scratchSize]byte
	for i := range f {
		v, ok := f[i].lookup(e, scratch[:0])
		if !ok || !v.equal(f[i].want) {
			return false
		}
	}
	return true
}
