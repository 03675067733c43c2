package ceformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Limits bound what ParseBatch accepts; zero means no limit.
type Limits struct {
	MaxEvents     int   // events in one batch
	MaxEventBytes int64 // bytes of one event's JSON
}

// ParseBatch decodes a body in the JSON batch format (JSON format §4): an
// array of events, each parsed as Parse does. It stops at the first fault,
// naming the event (its index and, when it has one, its id), so a caller
// can refuse the whole batch before storing any of it. sizes holds each
// event's length in bytes. The events' data may alias body.
func ParseBatch(body []byte, lim Limits) (events []*event.Event, sizes []int, err error) {
	raws, ok := splitBatch(body, nil)
	if !ok {
		return parseBatchStream(body, lim)
	}
	if lim.MaxEvents > 0 && len(raws) > lim.MaxEvents {
		return nil, nil, tooLarge("more than %d events in the batch", lim.MaxEvents)
	}
	events, sizes = make([]*event.Event, 0, len(raws)), make([]int, 0, len(raws))
	for i, raw := range raws {
		e, err := parseBatchEvent(i, raw, lim)
		if err != nil {
			return nil, nil, err
		}
		events, sizes = append(events, e), append(sizes, len(raw))
	}
	return events, sizes, nil
}

// parseBatchStream is ParseBatch through encoding/json's Decoder, for
// bodies that are not one valid JSON array: its errors name the fault.
func parseBatchStream(body []byte, lim Limits) ([]*event.Event, []int, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, nil, malformed("malformed batch: want a JSON array of events")
	}
	var events []*event.Event
	var sizes []int
	for i := 0; dec.More(); i++ {
		if lim.MaxEvents > 0 && i == lim.MaxEvents {
			return nil, nil, tooLarge("more than %d events in the batch", lim.MaxEvents)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, malformedBatch(err)
		}
		e, err := parseBatchEvent(i, raw, lim)
		if err != nil {
			return nil, nil, err
		}
		events, sizes = append(events, e), append(sizes, len(raw))
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, malformedBatch(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, malformed("malformed batch: data after the array")
	}
	return events, sizes, nil
}

func malformedBatch(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed("malformed batch: unexpected end of JSON input")
	}
	return malformed("malformed batch: %v", err)
}

// parseBatchEvent parses raw (valid JSON), event i of a batch.
func parseBatchEvent(i int, raw []byte, lim Limits) (*event.Event, error) {
	if lim.MaxEventBytes > 0 && int64(len(raw)) > lim.MaxEventBytes {
		return nil, tooLarge("event %d of the batch is %d bytes, the limit is %d", i, len(raw), lim.MaxEventBytes)
	}
	e, err := parseValid(raw)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			return nil, malformed("event %d of the batch: malformed: %v", i, err)
		}
		return nil, &batchEventError{i: i, id: peekID(raw), err: err}
	}
	return e, nil
}

// batchEventError is the fault of one event of a batch.
type batchEventError struct {
	i   int
	id  string
	err error
}

func (e *batchEventError) Error() string {
	if e.id == "" {
		return fmt.Sprintf("event %d of the batch: %v", e.i, e.err)
	}
	return fmt.Sprintf("event %d of the batch (id %q): %v", e.i, e.id, e.err)
}

func (e *batchEventError) Unwrap() error { return e.err }

// peekID is the id member of raw, a JSON object, if it is a string.
func peekID(raw []byte) string {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return ""
	}
	i = skipSpace(raw, i+1)
	for i < len(raw) && raw[i] == '"' {
		end := stringEnd(raw, i+1)
		name := raw[i+1 : end]
		i = skipSpace(raw, skipSpace(raw, end+1)+1)
		vend := valueEnd(raw, i)
		if string(name) == "id" {
			s, _ := jsonString(raw[i:vend])
			return s
		}
		i = skipSpace(raw, vend)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return ""
}

// splitBatch appends to dst the elements of body, a JSON array, each
// without the white space around it, in one pass: strictly validated by
// Valid, then cut at the commas and brackets outside strings. ok is
// false when body is not valid JSON or not an array.
func splitBatch(body []byte, dst [][]byte) (elems [][]byte, ok bool) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '[' || !Valid(body) {
		return dst, false
	}
	i = skipSpace(body, i+1)
	if body[i] == ']' {
		return dst, true
	}
	start, depth := i, 0
	for ; i < len(body); i++ {
		switch body[i] {
		case '"':
			i = stringEnd(body, i+1)
		case '{', '[':
			depth++
		case '}', ']':
			if depth > 0 {
				depth--
				continue
			}
			return append(dst, trimSpace(body[start:i])), true
		case ',':
			if depth == 0 {
				dst = append(dst, trimSpace(body[start:i]))
				start = skipSpace(body, i+1)
			}
		}
	}
	return dst, false // not reached for valid JSON
}
