package filter

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
)

// suffixFilter is the suffix dialect: every listed attribute is present and
// ends with its value.
type suffixFilter []cond

func newSuffix(m map[string]string) (Filter, error) {
	if len(m) == 0 {
		return everything{}, nil
	}
	if err := checkOperands(m); err != nil {
		return nil, fmt.Errorf("suffix: %w", err)
	}
	return suffixFilter(compileConds(m)), nil
}

func (f suffixFilter) Match(e *event.Event) bool {
	var scratch [scratchSize]byte
	for i := range f {
		v, ok := f[i].lookup(e, scratch[:0])
		if !ok || !v.hasSuffix(f[i].want) {
			return false
		}
	}
	return true
}
