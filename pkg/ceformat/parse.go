package ceformat

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// Parse decodes one event in the JSON event format (CloudEvents 1.0.2 JSON
// format, or 0.3) and checks it as Check does. Unlike sdk-go it is strict
// and order-independent:
//
//   - a member whose value is null is an absent attribute (§2.2), so a
//     REQUIRED one set to null is missing;
//   - data and data_base64 together are refused (§3.1.1: mutually
//     exclusive); data_base64 must be a base64 string;
//   - data under a JSON media type (absent, */json, */*+json, §3.1.2) is kept
//     as the JSON value's exact bytes, a JSON string included: it is never
//     parsed again as a JSON document; under any other media type data must
//     be a JSON string and is kept as its text;
//   - data with no datacontenttype gets datacontenttype application/json, so
//     a binary-mode copy (a Kafka record, a delivery) carries the implied
//     type (§3.1.2, SHOULD);
//   - an extension that is a JSON number must be an Integer: the integer
//     component only, optionally with a minus sign (§2.2), within the
//     signed 32-bit range (core §2.3). 1.5, 1.0 and 1e3 are refused, not
//     truncated nor kept as strings: the type-system mapping has no other
//     CloudEvents type for a JSON number. Objects and arrays are refused;
//   - a member name is valid only as Check's names are, and a name given
//     twice is refused (RFC 8259 leaves duplicates undefined).
//
// Spec version 0.3 is kept as 0.3, not converted to 1.0: Knative's broker
// stores and delivers a 0.3 event as 0.3, and a converted event would reach
// a 0.3 subscriber with attributes it does not know. Its attributes are 0.3's
// (schemaurl, datacontentencoding). With datacontentencoding base64 the data
// must be a base64 string; it is decoded and the attribute dropped, as 1.0
// does with data_base64: the attribute says how a JSON document carries
// binary data, and every binary binding (Kafka record, HTTP delivery)
// carries the bytes themselves (sdk-go's bindings have no
// datacontentencoding at all, and sdk-go's own JSON decoder decodes yet
// keeps the attribute, so its DataAs would decode twice). data_base64 is not
// a 0.3 member and is refused.
//
// The event's data may alias b.
func Parse(b []byte) (*event.Event, error) {
	if !Valid(b) {
		return nil, syntaxError(b)
	}
	return parseValid(b)
}

// syntaxError describes why b is not valid JSON.
func syntaxError(b []byte) error {
	err := json.Unmarshal(b, new(json.RawMessage))
	if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("unexpected end of JSON input")
	}
	return malformed("%v", err)
}

// member is one top-level member of an event object: its raw JSON value.
type member struct {
	name string
	raw  []byte
}

// parseValid is Parse of b known to be valid JSON.
func parseValid(b []byte) (*event.Event, error) {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return nil, malformed("want a JSON object")
	}
	var (
		known   [nKnown][]byte // raw values of the known members; nil: absent
		exts    []member
		extBuf  [8]member
		seenBuf [24]string
	)
	exts = extBuf[:0]
	seen := seenBuf[:0]
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		// A member: "name" : value [,]
		end := stringEnd(b, i+1)
		name, err := unquote(b[i : end+1])
		if err != nil {
			return nil, err
		}
		i = skipSpace(b, end+1) + 1 // the colon
		i = skipSpace(b, i)
		vend := valueEnd(b, i)
		raw := b[i:vend]
		i = skipSpace(b, vend)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		for _, s := range seen {
			if s == name {
				return nil, attrErr(name, "member given twice")
			}
		}
		seen = append(seen, name)
		if k := knownIndex(name); k >= 0 {
			known[k] = raw
			continue
		}
		exts = append(exts, member{name, raw})
	}
	return build(&known, exts)
}

// The members the JSON format gives a meaning (the rest are extensions).
const (
	kSpecVersion = iota
	kID
	kSource
	kType
	kSubject
	kTime
	kDataContentType
	kDataSchema          // 1.0
	kSchemaURL           // 0.3
	kDataContentEncoding // 0.3
	kData
	kDataBase64 // 1.0
	nKnown
)

func knownIndex(name string) int {
	switch name {
	case "specversion":
		return kSpecVersion
	case "id":
		return kID
	case "source":
		return kSource
	case "type":
		return kType
	case "subject":
		return kSubject
	case "time":
		return kTime
	case "datacontenttype":
		return kDataContentType
	case "dataschema":
		return kDataSchema
	case "schemaurl":
		return kSchemaURL
	case "datacontentencoding":
		return kDataContentEncoding
	case "data":
		return kData
	case "data_base64":
		return kDataBase64
	}
	return -1
}

func isNull(raw []byte) bool { return len(raw) == 4 && string(raw) == "null" }

// stringAttr reads a String-typed attribute: absent or null is (nil), any
// JSON type other than a string is a fault.
func stringAttr(f *faults, name string, raw []byte) *string {
	if raw == nil || isNull(raw) {
		return nil
	}
	if raw[0] != '"' {
		f.add(name, "MUST be a JSON string")
		return nil
	}
	s, err := unquote(raw)
	if err != nil {
		f.add(name, err.Error())
		return nil
	}
	if !utf8.ValidString(s) {
		f.add(name, notUTF8)
		return nil
	}
	return &s
}

// notUTF8 is the fault of a String attribute that is not UTF-8: a String is
// a sequence of Unicode characters (core §2.3), and no binding could carry
// it (the Kafka and HTTP bindings refuse such header values).
const notUTF8 = "MUST be a string of Unicode characters (valid UTF-8)"

func build(known *[nKnown][]byte, exts []member) (*event.Event, error) {
	var f faults
	sv := stringAttr(&f, "specversion", known[kSpecVersion])
	if sv == nil {
		if len(f) == 0 {
			f.add("specversion", "REQUIRED")
		}
		return nil, f.err()
	}
	var v03 bool
	switch *sv {
	case V1:
	case V03:
		v03 = true
	default:
		return nil, attrErr("specversion", fmt.Sprintf("must be 1.0 or 0.3, not %q", *sv))
	}

	var id, typ string
	if p := stringAttr(&f, "id", known[kID]); p != nil {
		id = *p
	}
	if p := stringAttr(&f, "type", known[kType]); p != nil {
		typ = *p
	}
	var source types.URIRef
	if p := stringAttr(&f, "source", known[kSource]); p != nil && *p != "" {
		if u := types.ParseURIRef(*p); u != nil {
			source = *u
		} else {
			f.add("source", fmt.Sprintf("%q is not a URI-reference", *p))
		}
	}
	subject := stringAttr(&f, "subject", known[kSubject])
	var tm *types.Timestamp
	if p := stringAttr(&f, "time", known[kTime]); p != nil {
		t, err := types.ParseTime(*p)
		if err != nil {
			f.add("time", fmt.Sprintf("%q is not an RFC 3339 timestamp", *p))
		} else {
			tm = &types.Timestamp{Time: t}
		}
	}
	dct := stringAttr(&f, "datacontenttype", known[kDataContentType])

	e := &event.Event{}
	var (
		ec1  *event.EventContextV1
		ec03 *event.EventContextV03
		dce  *string
	)
	if v03 {
		ec03 = &event.EventContextV03{ID: id, Source: source, Type: typ, Subject: subject, Time: tm, DataContentType: dct}
		if p := stringAttr(&f, "schemaurl", known[kSchemaURL]); p != nil {
			if u := types.ParseURIRef(*p); u != nil && *p != "" {
				ec03.SchemaURL = u
			} else {
				f.add("schemaurl", "if present, MUST be a non-empty URI-reference")
			}
		}
		dce = stringAttr(&f, "datacontentencoding", known[kDataContentEncoding])
		ec03.DataContentEncoding = dce
		// 1.0's members are extensions in 0.3 (dataschema a valid one,
		// data_base64 refused for its name).
		exts = addMember(exts, "dataschema", known[kDataSchema])
		exts = addMember(exts, "data_base64", known[kDataBase64])
		e.Context = ec03
	} else {
		ec1 = &event.EventContextV1{ID: id, Source: source, Type: typ, Subject: subject, Time: tm, DataContentType: dct}
		if p := stringAttr(&f, "dataschema", known[kDataSchema]); p != nil {
			if u, err := url.Parse(*p); err == nil && absoluteURI(u) {
				ec1.DataSchema = &types.URI{URL: *u}
			} else {
				f.add("dataschema", "if present, MUST be a non-empty absolute URI")
			}
		}
		// 0.3's members are extensions in 1.0.
		exts = addMember(exts, "schemaurl", known[kSchemaURL])
		exts = addMember(exts, "datacontentencoding", known[kDataContentEncoding])
		e.Context = ec1
	}

	var extMap map[string]any
	for _, m := range exts {
		if !ValidName(m.name) {
			f.add(m.name, "attribute names MUST consist of lower-case letters a-z and digits 0-9")
			continue
		}
		v, ok := extensionValue(&f, m.name, m.raw)
		if !ok {
			continue
		}
		if extMap == nil {
			extMap = make(map[string]any, len(exts)+2) // room for the ingress's two
		}
		extMap[m.name] = v
	}
	if v03 {
		ec03.Extensions = extMap
	} else {
		ec1.Extensions = extMap
	}

	// Check the attributes set so far (required ones, media type, ...).
	if err := Check(e); err != nil {
		var ae *AttrError
		if errors.As(err, &ae) {
			f = append(f, ae.faults...)
		}
	}
	if len(f) > 0 {
		return nil, dedupe(f).err()
	}
	if err := setData(e, known[kData], known[kDataBase64], dct, dce, v03); err != nil {
		return nil, err
	}
	return e, nil
}

func addMember(exts []member, name string, raw []byte) []member {
	if raw == nil {
		return exts
	}
	return append(exts, member{name, raw})
}

// dedupe drops repeated faults (a fault found both while decoding and by
// Check).
func dedupe(f faults) faults {
	out := f[:0]
	for i, s := range f {
		dup := false
		for _, t := range f[:i] {
			if t == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// extensionValue maps an extension's JSON value to a CloudEvents type (JSON
// format §2.2): a string is a String (a URI, Timestamp or Binary extension
// is carried as its string form), true/false a Boolean, a number an
// Integer when it is one; null is absent (ok false, no fault).
func extensionValue(f *faults, name string, raw []byte) (any, bool) {
	switch raw[0] {
	case '"':
		s, err := unquote(raw)
		if err != nil {
			f.add(name, err.Error())
			return nil, false
		}
		if !utf8.ValidString(s) {
			f.add(name, notUTF8)
			return nil, false
		}
		return s, true
	case 't':
		return true, true
	case 'f':
		return false, true
	case 'n':
		return nil, false
	case '{', '[':
		f.add(name, "an attribute value MUST be a string, a boolean or an integer, not a JSON object or array")
		return nil, false
	}
	// A number. Only the integer component, optionally with a minus sign.
	digits := raw
	if digits[0] == '-' {
		digits = digits[1:]
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			f.add(name, fmt.Sprintf("%s is not an Integer: a JSON number for an attribute MUST be a whole number without fraction or exponent", raw))
			return nil, false
		}
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		f.add(name, fmt.Sprintf("%s is not an Integer: MUST be within the signed 32-bit range", raw))
		return nil, false
	}
	return int32(n), true
}

var applicationJSON = "application/json"

// setData sets e's data from the data or data_base64 member (JSON format
// §3.1.2).
func setData(e *event.Event, data, data64 []byte, dct, dce *string, v03 bool) error {
	if data64 != nil && isNull(data64) {
		data64 = nil // not an attribute, but null cannot be base64 data
	}
	if data != nil && data64 != nil {
		return attrErr("data_base64", "data and data_base64 MUST NOT both be present")
	}
	if data64 != nil {
		s, ok := jsonString(data64)
		if !ok {
			return attrErr("data_base64", "MUST be a JSON string of base64")
		}
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return attrErr("data_base64", "is not valid base64 (RFC 4648)")
		}
		e.DataBase64 = true
		if len(d) > 0 {
			e.DataEncoded = d
		}
		return nil
	}
	if data == nil {
		return nil
	}
	if v03 && dce != nil {
		s, ok := jsonString(data)
		if !ok {
			return attrErr("data", "with datacontentencoding base64, MUST be a JSON string of base64")
		}
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return attrErr("data", "with datacontentencoding base64, is not valid base64 (RFC 4648)")
		}
		// Decoded, and the attribute dropped: it describes how this JSON
		// document carries the data, not the event (see Parse).
		e.Context.(*event.EventContextV03).DataContentEncoding = nil
		e.DataBase64 = true
		if len(d) > 0 {
			e.DataEncoded = d
		}
		return nil
	}
	if IsJSONMediaType(dct) {
		// The JSON value itself, a string included (never parsed again).
		e.DataEncoded = data
		if dct == nil {
			e.SetDataContentType(applicationJSON)
		}
		return nil
	}
	s, ok := jsonString(data)
	if !ok {
		return attrErr("data", fmt.Sprintf("MUST be a JSON string when datacontenttype %q is not JSON (use data_base64 for binary data)", *dct))
	}
	if len(s) > 0 {
		e.DataEncoded = []byte(s)
	}
	return nil
}

func jsonString(raw []byte) (string, bool) {
	if raw[0] != '"' {
		return "", false
	}
	s, err := unquote(raw)
	return s, err == nil
}

// unquote decodes a JSON string literal (raw, valid JSON, quotes
// included). Bytes that are not UTF-8 are kept as they are rather than
// replaced (encoding/json would replace them with U+FFFD, silently changing
// the data).
func unquote(raw []byte) (string, error) {
	in := raw[1 : len(raw)-1]
	i := bytes.IndexByte(in, '\\')
	if i < 0 {
		return string(in), nil
	}
	out := make([]byte, 0, len(in))
	for {
		out = append(out, in[:i]...)
		in = in[i:]
		if len(in) < 2 {
			return "", malformed("bad escape in string")
		}
		switch c := in[1]; c {
		case '"', '\\', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := unicodeEscape(in)
			if n == 0 {
				return "", malformed("bad \\u escape in string")
			}
			out = utf8.AppendRune(out, r)
			in = in[n:]
			goto next
		default:
			return "", malformed("bad escape in string")
		}
		in = in[2:]
	next:
		if i = bytes.IndexByte(in, '\\'); i < 0 {
			return string(append(out, in...)), nil
		}
	}
}

// unicodeEscape decodes a \uXXXX escape at the start of in, joining a
// surrogate pair; n is the bytes used (0: not an escape).
func unicodeEscape(in []byte) (r rune, n int) {
	hex4 := func(b []byte) rune {
		if len(b) < 4 {
			return -1
		}
		v, err := strconv.ParseUint(string(b[:4]), 16, 16)
		if err != nil {
			return -1
		}
		return rune(v)
	}
	r = hex4(in[2:])
	if r < 0 {
		return 0, 0
	}
	if utf16.IsSurrogate(r) {
		if len(in) >= 12 && in[6] == '\\' && in[7] == 'u' {
			if r2 := hex4(in[8:]); r2 >= 0 {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// stringEnd is the index of the quote closing the string whose contents
// start at i (b is valid JSON).
func stringEnd(b []byte, i int) int {
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		bs := 0
		for k := i - 1; b[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return i
		}
		i++
	}
}

// valueEnd is the index just past the JSON value starting at i (b is valid
// JSON).
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i+1) + 1
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i+1)
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
