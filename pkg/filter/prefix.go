package filter

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
)

// prefixFilter is the prefix dialect: every listed attribute is present and
// starts with its value.
type prefixFilter []cond

func newPrefix(m map[string]string) (Filter, error) {
	if len(m) == 0 {
		return everything{}, nil
	}
	if err := checkOperands(m); err != nil {
		return nil, fmt.Errorf("prefix: %w", err)
	}
	return prefixFilter(compileConds(m)), nil
}

func (f prefixFilter) Match(e *event.Event) bool {
	var scratch [scratchSize]byte
	for i := range f {
		v, ok := f[i].lookup(e, scratch[:0])
		if !ok || !v.hasPrefix(f[i].want) {
			return false
		}
	}
	return true
}
