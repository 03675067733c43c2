package ceformat

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

var (
	// ErrMalformed: the input is not JSON, or not the shape of an event
	// (an object) or a batch (an array).
	ErrMalformed = errors.New("malformed")
	// ErrInvalid: an attribute or the data breaks the CloudEvents rules; the
	// message names the attribute.
	ErrInvalid = errors.New("invalid")
	// ErrTooLarge: a batch holds more events, or an event more bytes, than
	// the caller's limits.
	ErrTooLarge = errors.New("too large")
)

// AttrError is one or more attribute faults of an event, each named.
type AttrError struct {
	faults []string // "name: reason", sorted
}

func (e *AttrError) Error() string { return strings.Join(e.faults, "; ") }

// Unwrap makes an AttrError match ErrInvalid.
func (e *AttrError) Unwrap() error { return ErrInvalid }

// faults collects attribute faults.
type faults []string

func (f *faults) add(name, reason string) { *f = append(*f, name+": "+reason) }

func (f faults) err() error {
	if len(f) == 0 {
		return nil
	}
	slices.Sort(f)
	return &AttrError{faults: f}
}

func attrErr(name, reason string) error { return &AttrError{faults: []string{name + ": " + reason}} }

// Error is a fault with its own message that matches its Kind (ErrMalformed
// or ErrTooLarge) under errors.Is.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns e.Kind.
func (e *Error) Unwrap() error { return e.Kind }

func malformed(format string, args ...any) error {
	return &Error{Kind: ErrMalformed, Msg: fmt.Sprintf(format, args...)}
}

func tooLarge(format string, args ...any) error {
	return &Error{Kind: ErrTooLarge, Msg: fmt.Sprintf(format, args...)}
}
