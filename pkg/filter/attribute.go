package filter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// attrKind names the context attribute an attr reads; attrExtension reads the
// extension of the same name.
type attrKind uint8

const (
	attrExtension attrKind = iota
	attrSpecVersion
	attrID
	attrSource
	attrType
	attrSubject
	attrTime
	attrDataSchema
	attrDataContentType
)

var contextAttrs = map[string]attrKind{
	"specversion":     attrSpecVersion,
	"id":              attrID,
	"source":          attrSource,
	"type":            attrType,
	"subject":         attrSubject,
	"time":            attrTime,
	"dataschema":      attrDataSchema,
	"datacontenttype": attrDataContentType,
}

// attr is a compiled reference to one event attribute. Names are
// case-sensitive: "Type" is an extension name, not the type attribute.
type attr struct {
	name string
	kind attrKind
}

func newAttr(name string) attr {
	return attr{name: name, kind: contextAttrs[name]}
}

// scratchSize sizes the stack buffer that non-string values are formatted
// into; an RFC 3339 time with nanoseconds and a zone offset takes 35 bytes.
// Longer values still work, but allocate.
const scratchSize = 64

// value is the canonical string form of an attribute: either s, for values the
// event stores as strings (no copy), or b, for values formatted into the
// caller's scratch buffer (no allocation either).
type value struct {
	s string
	b []byte
}

func (v value) equal(want string) bool {
	if v.b != nil {
		return string(v.b) == want
	}
	return v.s == want
}

func (v value) hasPrefix(p string) bool {
	if v.b != nil {
		return len(v.b) >= len(p) && string(v.b[:len(p)]) == p
	}
	return len(v.s) >= len(p) && v.s[:len(p)] == p
}

func (v value) hasSuffix(p string) bool {
	if v.b != nil {
		return len(v.b) >= len(p) && string(v.b[len(v.b)-len(p):]) == p
	}
	return len(v.s) >= len(p) && v.s[len(v.s)-len(p):] == p
}

func strValue(s string) (value, bool) { return value{s: s}, s != "" }

func bytesValue(b []byte) (value, bool) { return value{b: b}, len(b) > 0 }

// lookup returns the canonical string form of the attribute on e, formatting
// non-string values into buf (passed with length 0). ok is false when the
// attribute is absent; as in Knative, an attribute whose value is the empty
// string counts as absent (optional context attributes read as "" when unset).
//
// Context attributes are read as sdk-go stores them; time is RFC 3339 with
// nanoseconds in the event's own offset, like Knative's broker and CESQL.
// Extensions use sdk-go's canonical string form (types.Format): integers in
// decimal, booleans as "true"/"false", timestamps in UTC, binary as base64.
func (a attr) lookup(e *event.Event, buf []byte) (value, bool) {
	if e == nil || e.Context == nil {
		return value{}, false
	}
	ec, ok := e.Context.(*event.EventContextV1)
	if !ok || ec == nil {
		return a.lookupAny(e.Context, buf)
	}
	switch a.kind {
	case attrSpecVersion:
		return strValue(event.CloudEventsVersionV1)
	case attrID:
		return strValue(ec.ID)
	case attrSource:
		return strValue(ec.Source.String())
	case attrType:
		return strValue(ec.Type)
	case attrSubject:
		if ec.Subject == nil {
			return value{}, false
		}
		return strValue(*ec.Subject)
	case attrTime:
		if ec.Time == nil || ec.Time.IsZero() {
			return value{}, false
		}
		return bytesValue(ec.Time.AppendFormat(buf, time.RFC3339Nano))
	case attrDataSchema:
		if ec.DataSchema == nil {
			return value{}, false
		}
		return strValue(ec.DataSchema.String())
	case attrDataContentType:
		if ec.DataContentType == nil {
			return value{}, false
		}
		return strValue(*ec.DataContentType)
	default:
		v, ok := ec.Extensions[a.name]
		if !ok {
			return value{}, false
		}
		return extensionValue(v, buf)
	}
}

// lookupAny reads the attribute through the EventContext interface, for
// contexts other than v1 (CloudEvents 0.3). GetExtensions copies the map, so
// this path allocates for extensions.
func (a attr) lookupAny(ec event.EventContext, buf []byte) (value, bool) {
	switch a.kind {
	case attrSpecVersion:
		return strValue(ec.GetSpecVersion())
	case attrID:
		return strValue(ec.GetID())
	case attrSource:
		return strValue(ec.GetSource())
	case attrType:
		return strValue(ec.GetType())
	case attrSubject:
		return strValue(ec.GetSubject())
	case attrTime:
		t := ec.GetTime()
		if t.IsZero() {
			return value{}, false
		}
		return bytesValue(t.AppendFormat(buf, time.RFC3339Nano))
	case attrDataSchema:
		return strValue(ec.GetDataSchema())
	case attrDataContentType:
		return strValue(ec.GetDataContentType())
	default:
		v, ok := ec.GetExtensions()[a.name]
		if !ok {
			return value{}, false
		}
		return extensionValue(v, buf)
	}
}

func extensionValue(v any, buf []byte) (value, bool) {
	switch v := v.(type) {
	case string:
		return strValue(v)
	case bool:
		if v {
			return strValue("true")
		}
		return strValue("false")
	case int32:
		return bytesValue(strconv.AppendInt(buf, int64(v), 10))
	case types.Timestamp:
		return bytesValue(v.UTC().AppendFormat(buf, time.RFC3339Nano))
	default:
		s, err := types.Format(v)
		if err != nil {
			return value{}, false
		}
		return strValue(s)
	}
}

// cond is one attribute test of a filter: the attribute and the operand.
type cond struct {
	attr
	want string
}

// compileConds turns an attribute map into a deterministic list of tests,
// context attributes first (cheapest to read), then by name.
func compileConds(m map[string]string) []cond {
	out := make([]cond, 0, len(m))
	for name, want := range m {
		out = append(out, cond{attr: newAttr(name), want: want})
	}
	slices.SortFunc(out, func(a, b cond) int {
		if ax, bx := a.kind == attrExtension, b.kind == attrExtension; ax != bx {
			if ax {
				return 1
			}
			return -1
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// checkOperands rejects empty attribute names and values in the exact, prefix
// and suffix dialects, as Knative's constructors for them do.
func checkOperands(m map[string]string) error {
	for name, want := range m {
		if name == "" || want == "" {
			return fmt.Errorf("%w: %q: %q", ErrEmptyAttribute, name, want)
		}
	}
	return nil
}
