package delivery

import (
	"encoding/base64"
	"errors"
	"strconv"

	"github.com/cloudevents/sdk-go/v2/event"
)

// The extensions a dead-lettered event carries (Knative's names).
const (
	// ExtensionErrorDest is the URL of the subscriber that failed.
	ExtensionErrorDest = "knativeerrordest"
	// ExtensionErrorCode is the last HTTP status code, as a decimal string;
	// absent when the last attempt got no response.
	ExtensionErrorCode = "knativeerrorcode"
	// ExtensionErrorData is the base64 (standard, padded) of the first
	// ErrorDataMax bytes of the last response body; when there was no body to
	// keep (no response, a reply that could not be stored) it is the base64
	// of the error message instead, and absent when both are empty.
	ExtensionErrorData = "knativeerrordata"
)

// deadLetterEvent is a copy of ev with the knativeerror* extensions
// describing the last failed attempt to dest. ev is not modified.
func deadLetterEvent(ev *event.Event, dest string, last *attemptResult) *event.Event {
	dl := ev.Clone()
	dl.SetExtension(ExtensionErrorDest, dest)
	if last.status != 0 {
		dl.SetExtension(ExtensionErrorCode, strconv.Itoa(last.status))
	} else {
		dl.SetExtension(ExtensionErrorCode, nil) // delete one the event carried
	}
	if data := errorData(last); len(data) > 0 {
		dl.SetExtension(ExtensionErrorData, base64.StdEncoding.EncodeToString(data))
	} else {
		dl.SetExtension(ExtensionErrorData, nil)
	}
	return &dl
}

// errorData is what knativeerrordata encodes, at most ErrorDataMax bytes.
func errorData(last *attemptResult) []byte {
	data := last.body
	var se *StatusError
	if len(data) == 0 && last.err != nil && !errors.As(last.err, &se) {
		data = []byte(last.err.Error())
	}
	return data[:min(len(data), ErrorDataMax)]
}
