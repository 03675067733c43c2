package observability

import "fmt"

// EnvError is a standard OpenTelemetry environment variable whose value Weft
// cannot act on. Its message is one line: the variable, its value and what
// is allowed.
type EnvError struct {
	Var   string // the variable, such as OTEL_EXPORTER_OTLP_PROTOCOL
	Value string // its value
	Want  string // what is allowed
	Err   error  // the underlying error, if any
}

func (e *EnvError) Error() string {
	msg := fmt.Sprintf("%s=%q: %s", e.Var, e.Value, e.Want)
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

func (e *EnvError) Unwrap() error { return e.Err }
