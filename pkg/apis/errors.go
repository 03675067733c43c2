package apis

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for errors.Is. Every error this package returns for a bad object
// matches ErrInvalid; immutability and kind errors also match their own.
var (
	// ErrInvalid: the object or manifest is not valid.
	ErrInvalid = errors.New("invalid")
	// ErrImmutable: an update changes a field that cannot change.
	ErrImmutable = errors.New("immutable field changed")
	// ErrUnsupportedKind: the apiVersion/kind is not one Weft stores.
	ErrUnsupportedKind = errors.New("unsupported kind")
)

// fieldErrorReason says which sentinel, besides ErrInvalid, a FieldError matches.
type fieldErrorReason uint8

const (
	reasonInvalid fieldErrorReason = iota
	reasonImmutable
	reasonUnsupported
)

// maxShownValue bounds how much of a value an error message quotes.
const maxShownValue = 100

// FieldError is one problem with one field.
type FieldError struct {
	// Path locates the field: "spec.delivery.backoffDelay", "spec.filters[1].cesql",
	// "metadata.labels[app]". Empty for a problem with the whole document.
	Path string
	// Value is the offending value, when showing it helps; may be empty.
	Value string
	// Message says what is wrong and what is allowed.
	Message string

	reason fieldErrorReason
}

// Error formats the error as `<path>: <message> (value "<value>")`.
func (fe *FieldError) Error() string {
	var b strings.Builder
	if fe.Path != "" {
		b.WriteString(fe.Path)
		b.WriteString(": ")
	}
	b.WriteString(fe.Message)
	if fe.Value != "" {
		v := fe.Value
		if r := []rune(v); len(r) > maxShownValue {
			v = string(r[:maxShownValue]) + "..."
		}
		fmt.Fprintf(&b, " (value %q)", v)
	}
	return b.String()
}

// Is reports whether the error matches ErrInvalid, or ErrImmutable /
// ErrUnsupportedKind for errors of those kinds.
func (fe *FieldError) Is(target error) bool {
	switch target {
	case ErrInvalid:
		return true
	case ErrImmutable:
		return fe.reason == reasonImmutable
	case ErrUnsupportedKind:
		return fe.reason == reasonUnsupported
	}
	return false
}

// FieldErrors is a list of field problems found in one object. A nil or empty
// FieldErrors is never returned as an error.
type FieldErrors []*FieldError

// Error joins all entries with "; ".
func (fes FieldErrors) Error() string {
	parts := make([]string, len(fes))
	for i, fe := range fes {
		parts[i] = fe.Error()
	}
	return strings.Join(parts, "; ")
}

// Is is true for ErrInvalid, for ErrImmutable when an entry is an
// immutability error and for ErrUnsupportedKind when an entry is a kind error.
func (fes FieldErrors) Is(target error) bool {
	if len(fes) == 0 {
		return false
	}
	if target == ErrInvalid {
		return true
	}
	for _, fe := range fes {
		if fe.Is(target) {
			return true
		}
	}
	return false
}

// orNil returns fes as an error, or nil when it is empty.
func (fes FieldErrors) orNil() error {
	if len(fes) == 0 {
		return nil
	}
	return fes
}

// errorList collects FieldErrors.
type errorList struct{ list FieldErrors }

// add records an invalid-value error; value may be empty.
func (l *errorList) add(path, value, format string, args ...any) {
	l.list = append(l.list, &FieldError{Path: path, Value: value, Message: fmt.Sprintf(format, args...)})
}

func (l *errorList) addReason(reason fieldErrorReason, path, value, format string, args ...any) {
	l.list = append(l.list, &FieldError{Path: path, Value: value, Message: fmt.Sprintf(format, args...), reason: reason})
}

// ManifestError locates an error in a manifest file: the document (1-based,
// counting empty documents as a reader of the file would), the item of a
// List document, and the kind and name of the object when known.
type ManifestError struct {
	// Index is the 1-based position of the document in the file.
	Index int
	// Item is the 1-based position in a List document's items; 0 when the
	// document is not a List.
	Item int
	Kind string
	Name string
	Err  error
}

// Error reads like `document 2 (Trigger "hello-display"): spec.subscriber: ...`.
func (e *ManifestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "document %d", e.Index)
	if e.Item > 0 {
		fmt.Fprintf(&b, ", item %d", e.Item)
	}
	switch {
	case e.Kind != "" && e.Name != "":
		fmt.Fprintf(&b, " (%s %q)", e.Kind, e.Name)
	case e.Kind != "":
		fmt.Fprintf(&b, " (%s)", e.Kind)
	case e.Name != "":
		fmt.Fprintf(&b, " (%q)", e.Name)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error (FieldErrors for everything this package reports).
func (e *ManifestError) Unwrap() error { return e.Err }
