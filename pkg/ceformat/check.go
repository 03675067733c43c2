package ceformat

import (
	"fmt"
	"math"
	"mime"
	"net/url"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// Spec versions Weft accepts. A 0.3 event is kept as 0.3 end to end (see
// Parse): Knative's broker stores and delivers it that way.
const (
	V1  = event.CloudEventsVersionV1
	V03 = event.CloudEventsVersionV03
)

// Check applies the CloudEvents 1.0.2 (or 0.3) attribute rules to e, however
// it was decoded (a binary-mode request, a reply, a record), where sdk-go's
// own Validate is lenient: required attributes present and non-empty,
// optional ones non-empty when present, datacontenttype an RFC 2046 media
// type, dataschema an absolute URI, extension names of lower-case letters
// and digits only, extension values of a CloudEvents type (an Integer a
// signed 32-bit whole number). The error names every faulty attribute and
// matches ErrInvalid.
func Check(e *event.Event) error {
	var f faults
	switch ec := e.Context.(type) {
	case *event.EventContextV1:
		checkCommon(&f, ec.ID, &ec.Source, ec.Type, ec.Subject, ec.DataContentType)
		if ec.DataSchema != nil && !absoluteURI(&ec.DataSchema.URL) {
			f.add("dataschema", "if present, MUST be a non-empty absolute URI")
		}
		checkExtensions(&f, ec.Extensions)
	case *event.EventContextV03:
		checkCommon(&f, ec.ID, &ec.Source, ec.Type, ec.Subject, ec.DataContentType)
		if ec.SchemaURL != nil && emptyURL(&ec.SchemaURL.URL) {
			f.add("schemaurl", "if present, MUST be a non-empty URI-reference")
		}
		if ec.DataContentEncoding != nil && *ec.DataContentEncoding != event.Base64 {
			f.add("datacontentencoding", `if present, MUST be "base64"`)
		}
		checkExtensions(&f, ec.Extensions)
	case nil:
		f.add("specversion", "REQUIRED")
	default:
		f.add("specversion", fmt.Sprintf("must be 1.0 or 0.3, not %q", e.SpecVersion()))
	}
	return f.err()
}

func checkCommon(f *faults, id string, source *types.URIRef, typ string, subject, dct *string) {
	// Whitespace-only counts as empty: the sdk-go bindings every reader
	// of a stored record uses trim id and type, so such an event could be
	// stored but never read back (found by FuzzIngressRequest).
	if strings.TrimSpace(id) == "" {
		f.add("id", "MUST be a non-empty string (not only white space)")
	}
	if emptyURL(&source.URL) {
		f.add("source", "REQUIRED")
	}
	if strings.TrimSpace(typ) == "" {
		f.add("type", "MUST be a non-empty string (not only white space)")
	}
	if subject != nil && *subject == "" {
		f.add("subject", "if present, MUST be a non-empty string")
	}
	if dct != nil {
		if reason := mediaTypeFault(*dct); reason != "" {
			f.add("datacontenttype", reason)
		}
	}
}

func checkExtensions(f *faults, exts map[string]any) {
	for name, v := range exts {
		if !ValidName(name) {
			f.add(name, "attribute names MUST consist of lower-case letters a-z and digits 0-9")
			continue
		}
		switch v := v.(type) {
		case string, bool, int32, []byte, types.URI, types.URIRef, types.Timestamp, *types.URI, *types.URIRef, *types.Timestamp:
		case int:
			if v < math.MinInt32 || v > math.MaxInt32 {
				f.add(name, "an Integer MUST be within the signed 32-bit range")
			}
		case int64:
			if v < math.MinInt32 || v > math.MaxInt32 {
				f.add(name, "an Integer MUST be within the signed 32-bit range")
			}
		default:
			f.add(name, fmt.Sprintf("a %T is not a CloudEvents type", v))
		}
	}
}

// ValidName reports a valid attribute name: CloudEvents 1.0.2 §3.1.1
// requires lower-case letters a-z and digits 0-9 (MUST). Its "SHOULD NOT
// exceed 20 characters" is advice to producers and is not enforced: Knative
// and sdk-go accept longer names, and refusing them would lose events.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func emptyURL(u *url.URL) bool {
	return u.Scheme == "" && u.Opaque == "" && u.Host == "" && u.Path == "" && u.RawQuery == "" &&
		u.Fragment == "" && u.User == nil && !u.ForceQuery && !u.OmitHost
}

// absoluteURI: RFC 3986 §4.3, a scheme and a non-empty remainder.
func absoluteURI(u *url.URL) bool {
	return u.Scheme != "" && (u.Opaque != "" || u.Host != "" || u.Path != "")
}

// IsMediaType reports whether s is an RFC 2046 media type (type/subtype with
// optional parameters), as Check requires of datacontenttype.
func IsMediaType(s string) bool { return mediaTypeFault(s) == "" }

// mediaTypeFault is why s is not an RFC 2046 media type (type/subtype with
// optional parameters), or "" when it is one.
func mediaTypeFault(s string) string {
	if s == "" {
		return "if present, MUST be a non-empty RFC 2046 media type"
	}
	if simpleMediaType(s) {
		return ""
	}
	mt, _, err := mime.ParseMediaType(s)
	if err != nil || !strings.Contains(mt, "/") {
		return fmt.Sprintf("%q is not an RFC 2046 media type (type/subtype[; parameters])", s)
	}
	return ""
}

// simpleMediaType is the fast path of mediaTypeFault: type/subtype of
// lower-case token characters, no parameters (application/json,
// text/plain, application/vnd.x+json).
func simpleMediaType(s string) bool {
	slash := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == '_':
		case c == '/' && slash < 0 && i > 0:
			slash = i
		default:
			return false
		}
	}
	return slash > 0 && slash < len(s)-1
}

// IsJSONMediaType reports a media type that declares JSON-formatted data
// (JSON format §3.1.1): after removing parameters, */json or */*+json, case
// insensitive. An absent one (dct nil) counts as application/json.
func IsJSONMediaType(dct *string) bool {
	if dct == nil {
		return true
	}
	mt := *dct
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.TrimSpace(mt)
	slash := strings.IndexByte(mt, '/')
	if slash < 0 {
		return false
	}
	sub := mt[slash+1:]
	return strings.EqualFold(sub, "json") || (len(sub) > 5 && strings.EqualFold(sub[len(sub)-5:], "+json"))
}
