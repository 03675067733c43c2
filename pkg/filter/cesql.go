package filter

import (
	"errors"
	"fmt"
	"sync"

	cesql "github.com/cloudevents/sdk-go/sql/v2"
	cesqlparser "github.com/cloudevents/sdk-go/sql/v2/parser"
	"github.com/cloudevents/sdk-go/v2/event"
)

// cesqlFilter is the cesql dialect: a CloudEvents SQL expression, parsed once
// by the sdk-go CESQL parser and evaluated per event. The event matches only
// when evaluation succeeds with the boolean true: an evaluation error (such as
// a missing attribute) or a non-boolean result fails the match.
type cesqlFilter struct {
	src  string
	expr cesql.Expression
}

// parseMu serialises parsing. The generated sdk-go parser shares one ANTLR
// PredictionContextCache between all parser instances, and the ANTLR Go
// runtime (v1.4.10) writes that map without a lock. Parsing happens at compile
// time only, never per event, so the lock costs nothing on the hot path.
var parseMu sync.Mutex

func newCESQL(src string) (Filter, error) {
	if src == "" {
		// Knative skips an empty expression: it constrains nothing.
		return everything{}, nil
	}
	expr, err := parseCESQL(src)
	if err != nil {
		return nil, fmt.Errorf("cesql: %w %q: %w", ErrInvalidCESQL, src, err)
	}
	return &cesqlFilter{src: src, expr: expr}, nil
}

// parseCESQL parses src with the sdk-go parser and returns the parser's error
// unwrapped, so its kind can be inspected (sqlerrors.IsParseError). A panic in
// the parser is returned as an error.
func parseCESQL(src string) (expr cesql.Expression, err error) {
	parseMu.Lock()
	defer parseMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			expr, err = nil, fmt.Errorf("parser panicked: %v", r)
		}
	}()
	expr, err = cesqlparser.Parse(src)
	if err != nil {
		return nil, err
	}
	if expr == nil {
		return nil, errors.New("parser returned no expression")
	}
	return expr, nil
}

// evaluate runs the expression on e and returns the library's value and error
// unwrapped (the value may be bool, int32 or string; on error it is the zero
// value CESQL defines). A panic in the library is returned as an error.
func (f *cesqlFilter) evaluate(e *event.Event) (v any, err error) {
	if e == nil || e.Context == nil {
		return false, errNoContext
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = false, fmt.Errorf("evaluate cesql %q: panic: %v", f.src, r)
		}
	}()
	return f.expr.Evaluate(*e)
}

func (f *cesqlFilter) Match(e *event.Event) bool {
	v, err := f.evaluate(e)
	b, ok := v.(bool)
	return err == nil && ok && b
}
