package filter

import "errors"

// Errors returned by Compile and FromEgress, wrapped with the position of the
// offending entry; check them with errors.Is.
var (
	// ErrNoDialect reports a filter entry with no dialect set (an empty
	// filter, or a "not" without an operand).
	ErrNoDialect = errors.New("filter has no dialect")
	// ErrUnknownDialect reports a dialect this package does not implement.
	ErrUnknownDialect = errors.New("unknown filter dialect")
	// ErrEmptyAttribute reports an exact, prefix or suffix entry with an empty
	// attribute name or value.
	ErrEmptyAttribute = errors.New("attribute name and value must not be empty")
	// ErrInvalidCESQL reports a CESQL expression that does not parse. The
	// parser's own error is wrapped beside it.
	ErrInvalidCESQL = errors.New("invalid CESQL expression")
)

// errNoContext is the evaluation error for a nil event or an event without a
// context: such an event has no attributes to evaluate.
var errNoContext = errors.New("event has no context")
