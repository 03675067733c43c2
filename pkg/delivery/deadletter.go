package delivery

import (
	"encoding/base64"
	"errors"
	"strconv"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/weft-dev/weft/pkg/wire"
)

// deadLetterEvent is a copy of ev with the knativeerror* extensions
// describing the last failed attempt to dest (wire.ExtErrorDest, ExtErrorCode,
// ExtErrorData: the code is absent when there was no response; the data is
// the first ErrorDataMax bytes of the last response body, or when there was
// no body to keep, of the error message, and absent when both are empty). ev
// is not modified.
func deadLetterEvent(ev *event.Event, dest string, last *attemptResult) *event.Event {
	dl := ev.Clone()
	dl.SetExtension(wire.ExtErrorDest, dest)
	if last.status != 0 {
		dl.SetExtension(wire.ExtErrorCode, strconv.Itoa(last.status))
	} else {
		dl.SetExtension(wire.ExtErrorCode, nil) // delete one the event carried
	}
	if data := errorData(last); len(data) > 0 {
		dl.SetExtension(wire.ExtErrorData, base64.StdEncoding.EncodeToString(data))
	} else {
		dl.SetExtension(wire.ExtErrorData, nil)
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
