package filter

import (
	"net/url"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Builders for contract filters.

func kv(pairs []string) map[string]string {
	if len(pairs)%2 != 0 {
		panic("odd number of key/value arguments")
	}
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

func exactF(pairs ...string) *weftv1.Filter {
	return &weftv1.Filter{Dialect: &weftv1.Filter_Exact{Exact: &weftv1.Attributes{Attributes: kv(pairs)}}}
}

func prefixF(pairs ...string) *weftv1.Filter {
	return &weftv1.Filter{Dialect: &weftv1.Filter_Prefix{Prefix: &weftv1.Attributes{Attributes: kv(pairs)}}}
}

func suffixF(pairs ...string) *weftv1.Filter {
	return &weftv1.Filter{Dialect: &weftv1.Filter_Suffix{Suffix: &weftv1.Attributes{Attributes: kv(pairs)}}}
}

func allF(fs ...*weftv1.Filter) *weftv1.Filter {
	return &weftv1.Filter{Dialect: &weftv1.Filter_All{All: &weftv1.FilterList{Filters: fs}}}
}

func anyF(fs ...*weftv1.Filter) *weftv1.Filter {
	return &weftv1.Filter{Dialect: &weftv1.Filter_Any{Any: &weftv1.FilterList{Filters: fs}}}
}

func notF(f *weftv1.Filter) *weftv1.Filter {
	return &weftv1.Filter{Dialect: &weftv1.Filter_Not{Not: f}}
}

func cesqlF(expr string) *weftv1.Filter {
	return &weftv1.Filter{Dialect: &weftv1.Filter_Cesql{Cesql: expr}}
}

// Builders for sdk-go events.

const (
	testID     = "evt-0001"
	testSource = "https://weft.dev/sources/orders"
	testType   = "dev.weft.order.created"
)

var testTime = time.Date(2024, 6, 11, 9, 30, 15, 123456789, time.UTC)

type eventOption func(tb testing.TB, e *event.Event)

// newEvent builds a valid CloudEvents 1.0 event with id, source and type set
// and applies opts.
func newEvent(tb testing.TB, opts ...eventOption) *event.Event {
	tb.Helper()
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(testID)
	e.SetSource(testSource)
	e.SetType(testType)
	for _, o := range opts {
		o(tb, &e)
	}
	if err := e.Validate(); err != nil {
		tb.Fatalf("invalid test event: %v", err)
	}
	return &e
}

func withType(t string) eventOption {
	return func(_ testing.TB, e *event.Event) { e.SetType(t) }
}

func withSubject(s string) eventOption {
	return func(_ testing.TB, e *event.Event) { e.SetSubject(s) }
}

func withTime(t time.Time) eventOption {
	return func(_ testing.TB, e *event.Event) { e.SetTime(t) }
}

func withDataSchema(s string) eventOption {
	return func(_ testing.TB, e *event.Event) { e.SetDataSchema(s) }
}

func withData(contentType string, data any) eventOption {
	return func(tb testing.TB, e *event.Event) {
		if err := e.SetData(contentType, data); err != nil {
			tb.Fatalf("set data: %v", err)
		}
	}
}

func withExt(name string, v any) eventOption {
	return func(tb testing.TB, e *event.Event) {
		if err := e.Context.SetExtension(name, v); err != nil {
			tb.Fatalf("set extension %s: %v", name, err)
		}
	}
}

// asV03 converts the event to a CloudEvents 0.3 context, which takes the
// generic (interface) attribute path.
func asV03() eventOption {
	return func(_ testing.TB, e *event.Event) { e.Context = e.Context.AsV03() }
}

func mustURI(tb testing.TB, s string) types.URI {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return types.URI{URL: *u}
}
