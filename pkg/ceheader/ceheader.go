// Package ceheader writes CloudEvents attribute values as header values and
// reads them back: the canonical string of each attribute type (shared by
// the HTTP and Kafka bindings) and the HTTP binding's ce- headers with the
// percent-encoding of HTTP protocol binding 1.0.2 §3.1.3.2.
package ceheader

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// ErrBadEncoding is returned for a header value whose quoting or
// percent-encoding is malformed, or that does not decode to UTF-8.
var ErrBadEncoding = errors.New("malformed header value")

// AppendValue appends the canonical string of an attribute value of any
// type of the CloudEvents type system: Boolean "true"/"false", Integer in
// decimal, Binary in base64 (RFC 4648 §4, padded), URI and URI-reference as
// the string they were parsed from (AppendURIRef), Timestamp in RFC 3339 UTC
// with the fraction it has, String as is.
func AppendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return append(dst, v...), nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case []byte:
		return base64.StdEncoding.AppendEncode(dst, v), nil
	case types.Timestamp:
		return v.UTC().AppendFormat(dst, time.RFC3339Nano), nil
	case *types.Timestamp:
		return v.UTC().AppendFormat(dst, time.RFC3339Nano), nil
	case time.Time:
		return v.UTC().AppendFormat(dst, time.RFC3339Nano), nil
	case types.URIRef:
		return AppendURIRef(dst, &v.URL), nil
	case *types.URIRef:
		return AppendURIRef(dst, &v.URL), nil
	case types.URI:
		return AppendURIRef(dst, &v.URL), nil
	case *types.URI:
		return AppendURIRef(dst, &v.URL), nil
	case url.URL:
		return AppendURIRef(dst, &v), nil
	case *url.URL:
		return AppendURIRef(dst, v), nil
	}
	s, err := types.Format(v)
	if err != nil {
		return dst, err
	}
	return append(dst, s...), nil
}

// AppendURIRef appends u as the string it was parsed from: unlike
// url.URL.String, a path or fragment is written as it came (RawPath,
// RawFragment) rather than re-escaped, so "/a b" stays "/a b" and "/ü" stays
// "/ü". What url.Parse itself changes cannot be restored: the scheme is
// lower-cased, an empty fragment ("#" at the end) is dropped, and escapes in
// the user information and host are normalised.
func AppendURIRef(dst []byte, u *url.URL) []byte {
	start := len(dst)
	if u.Scheme != "" {
		dst = append(append(dst, u.Scheme...), ':')
	}
	if u.Opaque != "" {
		dst = append(dst, u.Opaque...)
	} else {
		// The authority as url.URL.String writes it.
		if (u.Scheme != "" || u.Host != "" || u.User != nil) && !(u.OmitHost && u.Host == "" && u.User == nil) {
			if u.Host != "" || u.Path != "" || u.User != nil {
				dst = append(dst, "//"...)
			}
			if u.User != nil {
				dst = append(append(dst, u.User.String()...), '@')
			}
			if hostNeedsEscape(u.Host) {
				// A host that decoded to bytes url.URL.String escapes
				// ("%80"): written as it does, so the header stays UTF-8
				// and reads back the same (found by FuzzFromRecord).
				return append(dst[:start], u.String()...)
			}
			dst = append(dst, u.Host...)
		}
		if u.RawPath != "" {
			dst = append(dst, u.RawPath...)
		} else {
			dst = append(dst, u.EscapedPath()...)
		}
	}
	if u.ForceQuery || u.RawQuery != "" {
		dst = append(append(dst, '?'), u.RawQuery...)
	}
	if u.Fragment != "" || u.RawFragment != "" {
		dst = append(dst, '#')
		if u.RawFragment != "" {
			dst = append(dst, u.RawFragment...)
		} else {
			dst = append(dst, u.EscapedFragment()...)
		}
	}
	return dst
}

// URIRefString is AppendURIRef as a string.
func URIRefString(u *url.URL) string {
	var buf [128]byte
	return string(AppendURIRef(buf[:0], u))
}

// needsEncoding reports the bytes §3.1.3.2 percent-encodes: space, '"',
// '%', and anything outside printable ASCII (U+0021..U+007E; every byte of
// a multi-byte UTF-8 sequence is >= 0x80).
func needsEncoding(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '"' || c == '%'
}

const upperHex = "0123456789ABCDEF"

// Encode percent-encodes s as an HTTP header value (§3.1.3.2): space,
// double quote, percent and every byte outside printable ASCII become %XX
// (upper-case hex) of the UTF-8 bytes; the rest is kept. It returns s
// itself, without allocating, when nothing needs encoding.
func Encode(s string) string {
	i := 0
	for i < len(s) && !needsEncoding(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	return string(appendEncoded(make([]byte, 0, len(s)+16), s, i))
}

// AppendEncode appends Encode(s) to dst.
func AppendEncode(dst []byte, s string) []byte { return appendEncoded(dst, s, 0) }

func appendEncoded(dst []byte, s string, from int) []byte {
	dst = append(dst, s[:from]...)
	for i := from; i < len(s); i++ {
		c := s[i]
		if needsEncoding(c) {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// Decode reads an HTTP header value into the attribute string (§3.1.3.2):
// a value in double quotes is first unquoted (RFC 7230 §3.2.6, backslash
// escapes), then a single round of percent-decoding is made, accepting
// lower-case hex and needless escapes; the result must be UTF-8 (an
// overlong or truncated sequence such as "%C0%A0" is refused). A malformed
// escape ("%zz", "%4") is refused. It returns v itself, without allocating,
// when it holds no escape and no quotes.
func Decode(v string) (string, error) {
	if strings.IndexByte(v, '%') < 0 && (len(v) < 2 || v[0] != '"') {
		if !utf8.ValidString(v) {
			return "", fmt.Errorf("%w: not UTF-8", ErrBadEncoding)
		}
		return v, nil
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var err error
		if v, err = unquote(v[1 : len(v)-1]); err != nil {
			return "", err
		}
	}
	if strings.IndexByte(v, '%') < 0 {
		if !utf8.ValidString(v) {
			return "", fmt.Errorf("%w: not UTF-8", ErrBadEncoding)
		}
		return v, nil
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
			end := min(i+3, len(v))
			return "", fmt.Errorf("%w: bad percent-escape %q", ErrBadEncoding, v[i:end])
		}
		b = append(b, unhex(v[i+1])<<4|unhex(v[i+2]))
		i += 2
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%w: percent-escapes do not decode to UTF-8", ErrBadEncoding)
	}
	return string(b), nil
}

// unquote undoes the backslash escapes of a quoted-string's contents.
func unquote(s string) (string, error) {
	if strings.IndexByte(s, '\\') < 0 {
		if strings.IndexByte(s, '"') >= 0 {
			return "", fmt.Errorf("%w: unescaped '\"' in a quoted string", ErrBadEncoding)
		}
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) {
				return "", fmt.Errorf("%w: quoted string ends in '\\'", ErrBadEncoding)
			}
			i++
			b = append(b, s[i])
		case '"':
			return "", fmt.Errorf("%w: unescaped '\"' in a quoted string", ErrBadEncoding)
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// Prefix prefixes every attribute header but datacontenttype's.
const Prefix = "Ce-"

// Header names of the CloudEvents 1.0 attributes, canonical.
const (
	HeaderSpecVersion = "Ce-Specversion"
	HeaderID          = "Ce-Id"
	HeaderSource      = "Ce-Source"
	HeaderType        = "Ce-Type"
	HeaderSubject     = "Ce-Subject"
	HeaderTime        = "Ce-Time"
	HeaderDataSchema  = "Ce-Dataschema"
	HeaderContentType = "Content-Type"
)

// WriteHTTP writes ev's attributes and extensions into h as a binary-mode
// message: a Ce- header per attribute (datacontenttype as Content-Type) in
// its canonical string, percent-encoded (Encode). The body is ev.Data().
func WriteHTTP(h http.Header, ev *event.Event) error {
	if ev == nil || ev.Context == nil {
		return errors.New("event has no context")
	}
	ec, ok := ev.Context.(*event.EventContextV1)
	if !ok {
		return writeGeneric(h, ev.Context)
	}
	h[HeaderSpecVersion] = specV1
	h[HeaderID] = []string{Encode(ec.ID)}
	h[HeaderSource] = []string{Encode(URIRefString(&ec.Source.URL))}
	h[HeaderType] = []string{Encode(ec.Type)}
	if ec.Subject != nil {
		h[HeaderSubject] = []string{Encode(*ec.Subject)}
	}
	if ec.Time != nil && !ec.Time.IsZero() {
		h[HeaderTime] = []string{ec.Time.UTC().Format(time.RFC3339Nano)}
	}
	if ec.DataSchema != nil {
		h[HeaderDataSchema] = []string{Encode(URIRefString(&ec.DataSchema.URL))}
	}
	if ec.DataContentType != nil {
		h[HeaderContentType] = []string{*ec.DataContentType}
	}
	return writeExtensions(h, ec.Extensions)
}

var specV1 = []string{event.CloudEventsVersionV1}

func writeExtensions(h http.Header, exts map[string]any) error {
	var buf [64]byte
	for name, v := range exts {
		if v == nil {
			continue
		}
		var s string
		if str, ok := v.(string); ok {
			s = Encode(str)
		} else {
			raw, err := AppendValue(buf[:0], v)
			if err != nil {
				return fmt.Errorf("encode extension %s: %w", name, err)
			}
			s = string(AppendEncode(nil, string(raw)))
		}
		h[ExtensionHeader(name)] = []string{s}
	}
	return nil
}

// writeGeneric writes contexts of other spec versions (0.3) through sdk-go's
// attribute table.
func writeGeneric(h http.Header, ec event.EventContext) error {
	v := spec.VS.Version(ec.GetSpecVersion())
	if v == nil {
		return fmt.Errorf("unsupported specversion %q", ec.GetSpecVersion())
	}
	for _, attr := range v.Attributes() {
		val := attr.Get(ec)
		if val == nil || types.IsZero(val) {
			continue
		}
		raw, err := AppendValue(nil, val)
		if err != nil {
			return fmt.Errorf("encode %s: %w", attr.Name(), err)
		}
		if attr.Kind() == spec.DataContentType {
			h[HeaderContentType] = []string{string(raw)}
			continue
		}
		h[textproto.CanonicalMIMEHeaderKey(Prefix+attr.Name())] = []string{Encode(string(raw))}
	}
	return writeExtensions(h, ec.GetExtensions())
}

// ExtensionHeader returns the canonical header name of extension name
// ("Ce-" and the name, first letter upper-case), from a small bounded cache
// so the extensions on every event cost no allocation.
func ExtensionHeader(name string) string {
	if h, ok := extHeaders.Load(name); ok {
		return h.(string)
	}
	h := textproto.CanonicalMIMEHeaderKey(Prefix + name)
	if extHeadersN.Add(1) <= maxCachedExtHeaders {
		extHeaders.Store(name, h)
	}
	return h
}

const maxCachedExtHeaders = 1024

var (
	extHeaders  sync.Map
	extHeadersN atomic.Int64
)

// DecodeHeader returns h with every Ce- header value decoded (Decode): h
// itself when no value needs it, otherwise a copy. The error names the
// header.
func DecodeHeader(h http.Header) (http.Header, error) {
	var out http.Header
	for k, vs := range h {
		if !strings.HasPrefix(k, Prefix) {
			continue
		}
		for i, v := range vs {
			d, err := Decode(v)
			if err != nil {
				return nil, fmt.Errorf("header %s: %w", strings.ToLower(k), err)
			}
			if d == v {
				continue
			}
			if out == nil {
				out = h.Clone()
			}
			out[k][i] = d
		}
	}
	if out == nil {
		return h, nil
	}
	return out, nil
}

// hostNeedsEscape reports whether url.URL.String would percent-encode a
// byte of host (anything but letters, digits and the characters RFC 3986
// allows unencoded in a host, as net/url's encodeHost mode does).
func hostNeedsEscape(host string) bool {
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:[]<>\"", c) >= 0:
		default:
			return true
		}
	}
	return false
}
