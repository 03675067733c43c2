package cekafka

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/ceformat"
	"github.com/weft-dev/weft/pkg/ceheader"
)

// StructuredContentType is the content-type header of a structured-mode
// record: the JSON event format.
const StructuredContentType = "application/cloudevents+json"

// WriteStructuredRecord writes e into r for topic in structured content
// mode (Kafka binding §3.3): the value is e in the JSON event format, the
// content-type header is application/cloudevents+json, and the key is the
// partitionkey extension as in binary mode (nil when absent). Every field of
// r is reset and r.Headers' capacity reused, as WriteRecord does.
//
// The encoding is exact and binary safe: attributes are written in the
// same canonical string forms as the binary headers (ToRecord), Integer and
// Boolean extensions as JSON numbers and booleans; data under a JSON media
// type (ceformat.IsJSONMediaType) that is a valid JSON value goes into
// "data" as its exact bytes, any other data into "data_base64" (in 0.3:
// "data" as a base64 string with datacontentencoding base64). An extension
// named like a JSON format member (data, data_base64, datacontentencoding)
// cannot be carried and is refused with ErrInvalidAttribute.
//
// WriteStructuredRecord does not validate e.
func WriteStructuredRecord(r *kgo.Record, topic string, e *event.Event) error {
	if e == nil || e.Context == nil {
		return ErrNoContext
	}
	hdrs := r.Headers[:0]
	*r = kgo.Record{Topic: topic}
	w := jsonWriter{buf: make([]byte, 0, 256+len(e.DataEncoded)*4/3)}
	var (
		dct  *string
		exts map[string]any
		v03  bool
	)
	w.buf = append(w.buf, '{')
	switch ec := e.Context.(type) {
	case *event.EventContextV1:
		dct, exts = ec.DataContentType, ec.Extensions
		w.str("specversion", event.CloudEventsVersionV1)
		w.str("id", ec.ID)
		w.uriRef("source", &ec.Source)
		w.str("type", ec.Type)
		if ec.Subject != nil {
			w.str("subject", *ec.Subject)
		}
		if ec.DataContentType != nil {
			w.str("datacontenttype", *ec.DataContentType)
		}
		if ec.DataSchema != nil {
			w.uriRef("dataschema", &types.URIRef{URL: ec.DataSchema.URL})
		}
		if ec.Time != nil && !ec.Time.IsZero() {
			w.str("time", ec.Time.UTC().Format(time.RFC3339Nano))
		}
	case *event.EventContextV03:
		v03 = true
		dct, exts = ec.DataContentType, ec.Extensions
		w.str("specversion", event.CloudEventsVersionV03)
		w.str("id", ec.ID)
		w.uriRef("source", &ec.Source)
		w.str("type", ec.Type)
		if ec.Subject != nil {
			w.str("subject", *ec.Subject)
		}
		if ec.DataContentType != nil {
			w.str("datacontenttype", *ec.DataContentType)
		}
		if ec.SchemaURL != nil {
			w.uriRef("schemaurl", ec.SchemaURL)
		}
		if ec.Time != nil && !ec.Time.IsZero() {
			w.str("time", ec.Time.UTC().Format(time.RFC3339Nano))
		}
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedSpecVersion, e.SpecVersion())
	}

	names := make([]string, 0, len(exts))
	for name := range exts {
		switch name {
		case "data", "data_base64", "datacontentencoding":
			return fmt.Errorf("%w: extension %q cannot be carried by the JSON event format", ErrInvalidAttribute, name)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		w.member(name)
		switch v := exts[name].(type) {
		case string:
			w.buf = appendJSONString(w.buf, v)
		case int32:
			w.buf = strconv.AppendInt(w.buf, int64(v), 10)
		case int:
			w.buf = strconv.AppendInt(w.buf, int64(v), 10)
		case int64:
			w.buf = strconv.AppendInt(w.buf, v, 10)
		case bool:
			w.buf = strconv.AppendBool(w.buf, v)
		default:
			s, err := ceheader.AppendValue(nil, v)
			if err != nil {
				return fmt.Errorf("encode extension %s: %w", name, err)
			}
			w.buf = appendJSONString(w.buf, string(s))
		}
	}
	if v, ok := exts[PartitionKeyExtension]; ok {
		// The key is the extension's string form, as in binary mode.
		if s, ok := v.(string); ok {
			if s != "" {
				r.Key = []byte(s)
			}
		} else if b, err := ceheader.AppendValue(nil, v); err == nil && len(b) > 0 {
			r.Key = b
		}
	}

	if data := e.DataEncoded; len(data) > 0 {
		switch {
		case ceformat.IsJSONMediaType(dct) && ceformat.Valid(data):
			w.member("data")
			w.buf = append(w.buf, data...)
		case v03:
			w.str("datacontentencoding", "base64")
			w.member("data")
			w.base64(data)
		default:
			w.member("data_base64")
			w.base64(data)
		}
	}
	w.buf = append(w.buf, '}')

	r.Value = w.buf
	r.Headers = append(hdrs, kgo.RecordHeader{Key: ContentTypeHeader, Value: []byte(StructuredContentType)})
	return nil
}

// jsonWriter appends the members of one JSON object.
type jsonWriter struct {
	buf []byte
	n   int // members written
}

func (w *jsonWriter) member(name string) {
	if w.n > 0 {
		w.buf = append(w.buf, ',')
	}
	w.n++
	w.buf = appendJSONString(w.buf, name)
	w.buf = append(w.buf, ':')
}

func (w *jsonWriter) str(name, v string) {
	w.member(name)
	w.buf = appendJSONString(w.buf, v)
}

func (w *jsonWriter) uriRef(name string, u *types.URIRef) {
	w.str(name, string(ceheader.AppendURIRef(nil, &u.URL)))
}

func (w *jsonWriter) base64(data []byte) {
	w.buf = append(w.buf, '"')
	w.buf = base64.StdEncoding.AppendEncode(w.buf, data)
	w.buf = append(w.buf, '"')
}

// appendJSONString appends s as a JSON string (RFC 8259 §7): quotes,
// backslashes and control characters escaped, everything else as it is
// (s is valid UTF-8: every attribute has been checked).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
