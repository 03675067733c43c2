package cekafka

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/ceformat"
)

// KafkaSource events: what a KafkaSource's record becomes when it is not a
// CloudEvent, as Knative's KafkaSource makes it.
const (
	// KafkaSourceEventType is the type of such an event.
	KafkaSourceEventType = "dev.knative.kafka.event"
	// KafkaSourceKeyExtension and PartitionKeyExtension carry the record's
	// key (absent for a record without one).
	KafkaSourceKeyExtension = "key"
	// KafkaSourceHeaderPrefix starts the extension of each record header:
	// the prefix and the header's name in lower case without anything but
	// a-z and 0-9.
	KafkaSourceHeaderPrefix = "kafkaheader"
)

// Key types of a KafkaSource (its label
// kafkasources.sources.knative.dev/key-type): how the record key is read.
const (
	KeyTypeString    = "string"     // UTF-8 text (the default, also "")
	KeyTypeInt       = "int"        // 4- or 8-byte big-endian signed integer
	KeyTypeFloat     = "float"      // 4- or 8-byte big-endian IEEE 754
	KeyTypeByteArray = "byte-array" // the bytes, a binary extension
)

// KafkaSource names the KafkaSource a record was read for and how its key
// is typed.
type KafkaSource struct {
	Namespace string
	Name      string
	// KeyType is one of the KeyType constants ("" reads as string).
	KeyType string
}

// EventSource is the source attribute of the events of s read from topic:
// "/apis/v1/namespaces/{ns}/kafkasources/{name}#{topic}".
func (s KafkaSource) EventSource(topic string) string {
	return "/apis/v1/namespaces/" + s.Namespace + "/kafkasources/" + s.Name + "#" + topic
}

// IsCloudEvent says whether r claims to be a CloudEvent: a ce_specversion
// header (binary mode) or a content-type of an event format sdk-go knows,
// such as application/cloudevents+json (structured mode; a batch format is
// not one event). Header names are
// matched case-insensitively, as in FromRecord.
func IsCloudEvent(r *kgo.Record) bool {
	for i := range r.Headers {
		k := r.Headers[i].Key
		switch {
		case len(k) == len(hSpecVersion) && strings.EqualFold(k, hSpecVersion):
			return true
		case len(k) == len(ContentTypeHeader) && strings.EqualFold(k, ContentTypeHeader):
			ct := string(r.Headers[i].Value)
			if len(ct) >= len(format.Prefix) && strings.EqualFold(ct[:len(format.Prefix)], format.Prefix) && isEventFormat(ct) {
				return true
			}
		}
	}
	return false
}

// isEventFormat says whether ct names a format of one event (a batch is not
// one event).
func isEventFormat(ct string) bool {
	f := format.Lookup(ct)
	return f != nil && f != format.JSONBatch
}

// FromSourceRecord decodes a record a KafkaSource read: a CloudEvent
// (IsCloudEvent) as FromRecord does, anything else — a CloudEvent that does
// not decode included, as Knative treats an invalid one — as
// KafkaSourceEvent makes it. It fails only when neither works.
func FromSourceRecord(r *kgo.Record, s KafkaSource) (*event.Event, error) {
	if IsCloudEvent(r) {
		if e, err := FromRecord(r); err == nil {
			return e, nil
		}
	}
	return KafkaSourceEvent(r, s)
}

// KafkaSourceEvent is the event Knative's KafkaSource makes of a record that
// is not a CloudEvent: type dev.knative.kafka.event, source
// s.EventSource(topic), subject "partition:{p}#{offset}", id
// "partition:{p}/offset:{offset}", time the record's timestamp (UTC), the
// extensions key and partitionkey set to the key read as s.KeyType (none
// for a null or empty key), one extension kafkaheader{name} per header (its
// value as UTF-8 text, an invalid sequence replaced by U+FFFD; the last of
// headers with the same extension wins), the content-type header as
// datacontenttype when it is a media type (the last one; otherwise it is only
// in the extension kafkaheadercontenttype), and the value as data.
func KafkaSourceEvent(r *kgo.Record, s KafkaSource) (*event.Event, error) {
	e := event.New()
	e.SetID("partition:" + strconv.Itoa(int(r.Partition)) + "/offset:" + strconv.FormatInt(r.Offset, 10))
	e.SetType(KafkaSourceEventType)
	e.SetSource(s.EventSource(r.Topic))
	e.SetSubject("partition:" + strconv.Itoa(int(r.Partition)) + "#" + strconv.FormatInt(r.Offset, 10))
	if !r.Timestamp.IsZero() && r.Timestamp.UnixMilli() >= 0 {
		e.SetTime(r.Timestamp.UTC())
	}
	if len(r.Key) > 0 {
		k := KeyValue(r.Key, s.KeyType)
		e.SetExtension(KafkaSourceKeyExtension, k)
		e.SetExtension(PartitionKeyExtension, k)
	}
	var ct *string
	for _, h := range r.Headers {
		v := text(h.Value)
		if strings.EqualFold(h.Key, ContentTypeHeader) {
			ct = &v
		}
		e.SetExtension(HeaderExtension(h.Key), v)
	}
	if ct != nil && ceformat.IsMediaType(*ct) {
		// Anything else would make the event invalid: every sink that checks
		// (a Weft broker's ingress does) would refuse it for good.
		e.SetDataContentType(*ct)
	}
	if r.Value != nil {
		e.DataEncoded = r.Value
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: record at partition %d offset %d: %w", ErrInvalidAttribute, r.Partition, r.Offset, err)
	}
	return &e, nil
}

// HeaderExtension is the extension a record header named name becomes:
// KafkaSourceHeaderPrefix and name in lower case, every character other
// than a-z and 0-9 removed.
func HeaderExtension(name string) string {
	var b strings.Builder
	b.Grow(len(KafkaSourceHeaderPrefix) + len(name))
	b.WriteString(KafkaSourceHeaderPrefix)
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// KeyValue reads a record key as keyType, as a CloudEvents extension value:
// a string (UTF-8, an invalid sequence replaced by U+FFFD); an Integer (int32) for an int that fits, else its decimal text;
// a float's shortest decimal text (CloudEvents has no float type); the bytes
// for byte-array (binary, base64 on the wire). A key whose length does not
// fit an int or float (4 or 8 bytes) is passed on as bytes.
func KeyValue(key []byte, keyType string) any {
	switch keyType {
	case KeyTypeInt:
		var n int64
		switch len(key) {
		case 4:
			n = int64(int32(binary.BigEndian.Uint32(key)))
		case 8:
			n = int64(binary.BigEndian.Uint64(key))
		default:
			return key
		}
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return int32(n)
		}
		return strconv.FormatInt(n, 10)
	case KeyTypeFloat:
		switch len(key) {
		case 4:
			return strconv.FormatFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(key))), 'g', -1, 32)
		case 8:
			return strconv.FormatFloat(math.Float64frombits(binary.BigEndian.Uint64(key)), 'g', -1, 64)
		}
		return key
	case KeyTypeByteArray:
		return key
	}
	return text(key)
}

// text reads bytes as UTF-8 text, each invalid sequence replaced by U+FFFD
// as Knative's (Java) KafkaSource decodes them: an attribute must be a
// string of Unicode characters, and no binding carries any other.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
