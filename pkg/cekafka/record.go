package cekafka

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/ceformat"
	"github.com/weft-dev/weft/pkg/ceheader"
)

const (
	// HeaderPrefix prefixes every context attribute and extension header.
	HeaderPrefix = "ce_"
	// ContentTypeHeader carries datacontenttype in binary mode (and the
	// event format in structured mode).
	ContentTypeHeader = "content-type"
	// PartitionKeyExtension is the extension whose value becomes the key.
	PartitionKeyExtension = "partitionkey"
)

const (
	hSpecVersion = HeaderPrefix + "specversion"
	hID          = HeaderPrefix + "id"
	hSource      = HeaderPrefix + "source"
	hType        = HeaderPrefix + "type"
	hSubject     = HeaderPrefix + "subject"
	hTime        = HeaderPrefix + "time"
	hDataSchema  = HeaderPrefix + "dataschema"
	hDataCT      = HeaderPrefix + "datacontenttype"
)

// prefixedSpecs resolves "ce_"-prefixed attribute names for every spec
// version sdk-go knows (the path for events that are not 1.0).
var prefixedSpecs = spec.WithPrefix(HeaderPrefix)

// ToRecord encodes e as a record for topic in binary content mode: a ce_
// header per context attribute and extension in its canonical string form
// (ceheader.AppendValue: time in RFC 3339 UTC, a URI as the string it was
// parsed from), as plain UTF-8 — the Kafka binding has no percent-encoding,
// unlike HTTP's ce- headers — the data as the value, datacontenttype as the
// content-type header, and the partitionkey extension as the key (nil when
// absent, so records spread over partitions).
//
// An event whose datacontenttype is itself a CloudEvents format
// (application/cloudevents+json, say: an event carrying an event) cannot be
// carried in binary mode: a reader takes such a content-type header for a
// structured-mode record (Kafka binding §3) and would decode the data as
// the event. ToRecord writes that event in structured mode instead
// (WriteStructuredRecord), which carries it exactly.
//
// ToRecord does not validate e (call e.Validate first when it comes from an
// untrusted source). The record's value aliases e.DataEncoded.
func ToRecord(topic string, e *event.Event) (*kgo.Record, error) {
	r := new(kgo.Record)
	if err := WriteRecord(r, topic, e); err != nil {
		return nil, err
	}
	return r, nil
}

// WriteRecord is ToRecord into an existing record: every field of r is reset
// and r.Headers' capacity is reused, so a caller may recycle records once
// their produce promise has run.
func WriteRecord(r *kgo.Record, topic string, e *event.Event) error {
	if e == nil || e.Context == nil {
		return ErrNoContext
	}
	if dct := e.DataContentType(); len(dct) >= len(format.Prefix) && strings.EqualFold(dct[:len(format.Prefix)], format.Prefix) && format.Lookup(dct) != nil {
		return WriteStructuredRecord(r, topic, e)
	}
	w := recordWriter{hdrs: r.Headers[:0]}
	*r = kgo.Record{Topic: topic}
	var err error
	if ec, ok := e.Context.(*event.EventContextV1); ok {
		err = w.writeV1(ec)
	} else {
		err = w.writeGeneric(e.Context)
	}
	if err != nil {
		return err
	}
	r.Headers = w.hdrs
	r.Key = w.key
	if len(e.DataEncoded) > 0 {
		r.Value = e.DataEncoded
	}
	return nil
}

// recordWriter appends header values into one arena so a record costs one
// allocation for all its header values rather than one per header. A value
// slice is capped at its own length, so appending to it never overwrites a
// neighbour; if the arena grows, earlier values keep pointing at the old
// array, which stays valid.
type recordWriter struct {
	arena []byte
	hdrs  []kgo.RecordHeader
	key   []byte
}

func (w *recordWriter) add(key string, start int) []byte {
	v := w.arena[start:len(w.arena):len(w.arena)]
	w.hdrs = append(w.hdrs, kgo.RecordHeader{Key: key, Value: v})
	return v
}

func (w *recordWriter) str(key, v string) []byte {
	start := len(w.arena)
	w.arena = append(w.arena, v...)
	return w.add(key, start)
}

func (w *recordWriter) writeV1(ec *event.EventContextV1) error {
	// Size the arena for the common case: string attributes, an RFC 3339
	// time, a source about as long as its path and host, short extensions.
	n := 3 + len(ec.ID) + len(ec.Type) + 40 + len(ec.Source.Scheme) + len(ec.Source.Host) +
		len(ec.Source.Path) + len(ec.Source.Opaque) + len(ec.Source.RawQuery) + len(ec.Source.Fragment)
	nh := 4
	if ec.Subject != nil {
		n += len(*ec.Subject)
		nh++
	}
	if ec.DataContentType != nil {
		n += len(*ec.DataContentType)
		nh++
	}
	if ec.Time != nil {
		nh++
	}
	if ec.DataSchema != nil {
		n += 32
		nh++
	}
	for _, v := range ec.Extensions {
		if s, ok := v.(string); ok {
			n += len(s)
		} else {
			n += 32
		}
		nh++
	}
	w.arena = make([]byte, 0, n)
	if cap(w.hdrs) < nh {
		w.hdrs = make([]kgo.RecordHeader, 0, nh)
	}

	w.str(hSpecVersion, event.CloudEventsVersionV1)
	w.str(hID, ec.ID)
	start := len(w.arena)
	w.arena = ceheader.AppendURIRef(w.arena, &ec.Source.URL)
	w.add(hSource, start)
	w.str(hType, ec.Type)
	if ec.Subject != nil {
		w.str(hSubject, *ec.Subject)
	}
	if ec.Time != nil && !ec.Time.IsZero() {
		start := len(w.arena)
		w.arena = ec.Time.UTC().AppendFormat(w.arena, time.RFC3339Nano)
		w.add(hTime, start)
	}
	if ec.DataSchema != nil {
		start := len(w.arena)
		w.arena = ceheader.AppendURIRef(w.arena, &ec.DataSchema.URL)
		w.add(hDataSchema, start)
	}
	if ec.DataContentType != nil {
		w.str(ContentTypeHeader, *ec.DataContentType)
	}
	return w.extensions(ec.Extensions)
}

// extensions writes the extensions sorted by name, so equal events encode to
// equal records.
func (w *recordWriter) extensions(exts map[string]any) error {
	if len(exts) == 0 {
		return nil
	}
	var buf [16]string
	names := buf[:0]
	for name := range exts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		start := len(w.arena)
		switch v := exts[name].(type) {
		case string:
			w.arena = append(w.arena, v...)
		case int32:
			w.arena = strconv.AppendInt(w.arena, int64(v), 10)
		case bool:
			w.arena = strconv.AppendBool(w.arena, v)
		case []byte:
			w.arena = base64.StdEncoding.AppendEncode(w.arena, v)
		case types.Timestamp:
			w.arena = v.UTC().AppendFormat(w.arena, time.RFC3339Nano)
		default:
			var err error
			if w.arena, err = ceheader.AppendValue(w.arena, v); err != nil {
				return fmt.Errorf("encode extension %s: %w", name, err)
			}
		}
		val := w.add(extensionHeader(name), start)
		if name == PartitionKeyExtension && len(val) > 0 {
			w.key = val
		}
	}
	return nil
}

// writeGeneric encodes contexts of other spec versions (0.3) through
// sdk-go's attribute table.
func (w *recordWriter) writeGeneric(ec event.EventContext) error {
	v := prefixedSpecs.Version(ec.GetSpecVersion())
	if v == nil {
		return fmt.Errorf("%w: %q", ErrUnsupportedSpecVersion, ec.GetSpecVersion())
	}
	for _, attr := range v.Attributes() {
		val := attr.Get(ec)
		if val == nil || types.IsZero(val) {
			continue
		}
		b, err := ceheader.AppendValue(nil, val)
		if err != nil {
			return fmt.Errorf("encode %s: %w", attr.Name(), err)
		}
		s := string(b)
		if attr.Kind() == spec.DataContentType {
			w.str(ContentTypeHeader, s)
		} else {
			w.str(attr.PrefixedName(), s)
		}
	}
	return w.extensions(ec.GetExtensions())
}

// extensionHeader returns "ce_"+name, from a small bounded cache so the
// extensions Knative and Weft add to every event cost no allocation.
func extensionHeader(name string) string {
	if h, ok := extHeaders.Load(name); ok {
		return h.(string)
	}
	h := HeaderPrefix + name
	if extHeadersN.Add(1) <= maxCachedExtHeaders {
		extHeaders.Store(name, h)
	}
	return h
}

const maxCachedExtHeaders = 1024

var (
	extHeaders  sync.Map // extension name -> "ce_"+name
	extHeadersN atomic.Int64
)

// FromRecord decodes a record written by any CloudEvents Kafka binding:
// binary mode (ce_ headers), or structured mode when the content-type header
// is an event format such as application/cloudevents+json. Header names are
// matched case-insensitively. Extensions come back as strings, as in every
// binary binding. The event's data aliases r.Value.
func FromRecord(r *kgo.Record) (*event.Event, error) {
	var ct, sv []byte
	var hasSV bool
	for i := range r.Headers {
		switch k := r.Headers[i].Key; {
		case len(k) == len(ContentTypeHeader) && strings.EqualFold(k, ContentTypeHeader):
			ct = r.Headers[i].Value
		case len(k) == len(hSpecVersion) && strings.EqualFold(k, hSpecVersion):
			sv, hasSV = r.Headers[i].Value, true
		}
	}
	if len(ct) >= len(format.Prefix) && strings.EqualFold(string(ct[:len(format.Prefix)]), format.Prefix) {
		if f := format.Lookup(string(ct)); f == format.JSON {
			// The JSON format by Weft's strict rules, as at the ingress.
			e, err := ceformat.Parse(r.Value)
			if err != nil {
				return nil, fmt.Errorf("decode structured %s record: %w", f.MediaType(), err)
			}
			return e, nil
		} else if f != nil {
			e := new(event.Event)
			if err := f.Unmarshal(r.Value, e); err != nil {
				return nil, fmt.Errorf("decode structured %s record: %w", f.MediaType(), err)
			}
			return e, nil
		}
	}
	if !hasSV {
		return nil, ErrNotCloudEvent
	}
	if string(sv) == event.CloudEventsVersionV1 {
		return fromRecordV1(r)
	}
	return fromRecordGeneric(r, string(sv), string(ct))
}

// v1Event holds an event and its context in one allocation.
type v1Event struct {
	e  event.Event
	ec event.EventContextV1
}

func fromRecordV1(r *kgo.Record) (*event.Event, error) {
	// Convert every relevant header value into one string, then slice it.
	total, exts := 0, 0
	for i := range r.Headers {
		k := r.Headers[i].Key
		if hasPrefixFold(k, HeaderPrefix) || strings.EqualFold(k, ContentTypeHeader) {
			total += len(r.Headers[i].Value)
			if !isV1Attribute(strings.ToLower(k)) {
				exts++
			}
		}
	}
	var sb strings.Builder
	sb.Grow(total)
	for i := range r.Headers {
		k := r.Headers[i].Key
		if hasPrefixFold(k, HeaderPrefix) || strings.EqualFold(k, ContentTypeHeader) {
			sb.Write(r.Headers[i].Value)
		}
	}
	all := sb.String()
	if !utf8.ValidString(all) {
		// Kafka binding §3.2.3: header values are UTF-8 strings.
		for i := range r.Headers {
			k := r.Headers[i].Key
			if (hasPrefixFold(k, HeaderPrefix) || strings.EqualFold(k, ContentTypeHeader)) && !utf8.Valid(r.Headers[i].Value) {
				return nil, fmt.Errorf("%w: header %s is not UTF-8", ErrInvalidAttribute, k)
			}
		}
	}

	h := new(v1Event)
	h.e.Context = &h.ec
	ec := &h.ec
	if exts > 0 {
		ec.Extensions = make(map[string]any, exts)
	}
	var ct, dct *string
	hasSource := false
	off := 0
	for i := range r.Headers {
		k := r.Headers[i].Key
		isCT := strings.EqualFold(k, ContentTypeHeader)
		if !isCT && !hasPrefixFold(k, HeaderPrefix) {
			continue
		}
		v := all[off : off+len(r.Headers[i].Value)]
		off += len(v)
		if isCT {
			if v != "" {
				ct = ptr(v)
			}
			continue
		}
		k = strings.ToLower(k)
		switch k {
		case hSpecVersion:
		case hID:
			ec.ID = v
		case hSource:
			u := types.ParseURIRef(v)
			if u == nil {
				return nil, fmt.Errorf("%w: source %q is not a URI-reference", ErrInvalidAttribute, v)
			}
			if strings.TrimSpace(u.String()) == "" {
				// "//" parses to an empty reference: missing, as
				// Validate sees it (FuzzFromRecord).
				return nil, fmt.Errorf("%w: source is missing (%q is empty as a URI-reference)", ErrInvalidAttribute, v)
			}
			ec.Source, hasSource = *u, true
		case hType:
			ec.Type = v
		case hSubject:
			// Empty is absent, as the sdk-go bindings read it (an empty
			// subject is not a valid one).
			// (A later header wins, so an empty one clears an earlier one.)
			ec.Subject = nil
			if v != "" {
				ec.Subject = ptr(v)
			}
		case hTime:
			t, err := types.ParseTime(v)
			if err != nil {
				return nil, fmt.Errorf("%w: time %q: %w", ErrInvalidAttribute, v, err)
			}
			ec.Time = &types.Timestamp{Time: t}
		case hDataSchema:
			u := types.ParseURI(v)
			if u == nil || u.Scheme == "" || (u.Opaque == "" && u.Host == "" && u.Path == "") {
				// Core §3.1.1: an absolute URI (ceformat.Check's rule).
				return nil, fmt.Errorf("%w: dataschema %q is not an absolute URI", ErrInvalidAttribute, v)
			}
			ec.DataSchema = u
		case hDataCT:
			dct = ptr(v)
		default:
			name := k[len(HeaderPrefix):]
			if !event.IsExtensionNameValid(name) {
				return nil, fmt.Errorf("%w: %q is not a valid extension name", ErrInvalidAttribute, name)
			}
			ec.Extensions[name] = v
		}
	}
	if ct != nil {
		ec.DataContentType = ct
	} else if dct != nil {
		ec.DataContentType = dct
	}
	if ec.DataContentType != nil && !ceformat.IsMediaType(*ec.DataContentType) {
		// Core §3.1.1 (ceformat.Check's rule): every sink that checks would
		// refuse the event.
		return nil, fmt.Errorf("%w: datacontenttype %q is not an RFC 2046 media type", ErrInvalidAttribute, *ec.DataContentType)
	}
	if len(r.Value) > 0 {
		h.e.DataEncoded = r.Value
	}
	if err := checkRequired(ec.ID, hasSource, ec.Type); err != nil {
		return nil, err
	}
	return &h.e, nil
}

func fromRecordGeneric(r *kgo.Record, sv, ct string) (*event.Event, error) {
	v := prefixedSpecs.Version(sv)
	if v == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedSpecVersion, sv)
	}
	e := event.New(sv)
	for i := range r.Headers {
		k := strings.ToLower(r.Headers[i].Key)
		if !strings.HasPrefix(k, HeaderPrefix) || k == hSpecVersion {
			continue
		}
		val := string(r.Headers[i].Value)
		if !utf8.ValidString(val) {
			return nil, fmt.Errorf("%w: header %s is not UTF-8", ErrInvalidAttribute, r.Headers[i].Key)
		}
		if attr := v.Attribute(k); attr != nil {
			if err := attr.Set(e.Context, val); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInvalidAttribute, attr.Name(), err)
			}
			continue
		}
		name := k[len(HeaderPrefix):]
		if !ceformat.ValidName(name) {
			// As the 1.0 path refuses it (an empty name: header "ce_").
			return nil, fmt.Errorf("%w: %q is not a valid extension name", ErrInvalidAttribute, name)
		}
		if err := e.Context.SetExtension(name, val); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidAttribute, err)
		}
	}
	if ct != "" {
		if !ceformat.IsMediaType(ct) {
			return nil, fmt.Errorf("%w: datacontenttype %q is not an RFC 2046 media type", ErrInvalidAttribute, ct)
		}
		if err := e.Context.SetDataContentType(ct); err != nil {
			return nil, fmt.Errorf("%w: datacontenttype: %w", ErrInvalidAttribute, err)
		}
	}
	if len(r.Value) > 0 {
		e.DataEncoded = r.Value
	}
	if err := checkRequired(e.ID(), e.Source() != "", e.Type()); err != nil {
		return nil, err
	}
	return &e, nil
}

func checkRequired(id string, hasSource bool, typ string) error {
	// White space alone is missing, as the sdk-go bindings and
	// ceformat.Check see it.
	switch {
	case strings.TrimSpace(id) == "":
		return fmt.Errorf("%w: id is missing", ErrInvalidAttribute)
	case !hasSource:
		return fmt.Errorf("%w: source is missing", ErrInvalidAttribute)
	case strings.TrimSpace(typ) == "":
		return fmt.Errorf("%w: type is missing", ErrInvalidAttribute)
	}
	return nil
}

// ptr returns a pointer to a copy of s, so the loop variable it came from
// stays on the stack.
func ptr(s string) *string { return &s }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isV1Attribute(lowerKey string) bool {
	switch lowerKey {
	case hSpecVersion, hID, hSource, hType, hSubject, hTime, hDataSchema, hDataCT, ContentTypeHeader:
		return true
	}
	return false
}

// AttributeHeaders returns a lookup of the raw ce_ header values of r by
// attribute name (case-insensitive; the last header wins, as in FromRecord),
// for deciding on a record before decoding it. ok is false, and there is no
// lookup, when r is not a CloudEvents 1.0 binary-mode record.
func AttributeHeaders(r *kgo.Record) (lookup func(name string) (string, bool), ok bool) {
	for i := range r.Headers {
		if k := r.Headers[i].Key; hasPrefixFold(k, HeaderPrefix) && strings.EqualFold(k[len(HeaderPrefix):], "specversion") {
			ok = string(r.Headers[i].Value) == "1.0"
		}
	}
	if !ok {
		return nil, false
	}
	return func(name string) (string, bool) {
		val, found := "", false
		for i := range r.Headers {
			k := r.Headers[i].Key
			if len(k) == len(HeaderPrefix)+len(name) && hasPrefixFold(k, HeaderPrefix) && strings.EqualFold(k[len(HeaderPrefix):], name) {
				val, found = string(r.Headers[i].Value), true
			}
		}
		return val, found
	}, true
}
