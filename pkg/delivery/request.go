package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/weft-dev/weft/pkg/ceheader"
)

// Message is an event encoded for delivery: its binary-mode HTTP header
// (ce- headers percent-encoded per HTTP binding 1.0.2 §3.1.3.2, Content-Type
// from datacontenttype; see ceheader.WriteHTTP) and body, encoded once
// and shared, read-only, by every destination and attempt that sends it. A
// dispatcher fanning one record out to many triggers encodes it once.
type Message struct {
	ev     *event.Event
	header http.Header // never modified once built
	body   []byte
	err    error // the encoding failed: every send fails permanently with it

	// head is header as the fast path writes it (headTail), rendered once
	// by the first fast send and copied by every later one.
	headOnce sync.Once
	head     renderedHead
}

// NewMessage encodes ev for delivery to subscribers (who are asked for a
// reply: "Prefer: reply"). ev must not be modified afterwards. An event
// that cannot be encoded gives a Message whose sends fail permanently.
func NewMessage(ev *event.Event) *Message { return newMessage(ev, true) }

func newMessage(ev *event.Event, preferReply bool) *Message {
	m := &Message{ev: ev}
	h := make(http.Header, 10)
	if err := ceheader.WriteHTTP(h, ev); err != nil {
		m.err = fmt.Errorf("%w: encode event %q: %w", ErrInvalidRequest, ev.ID(), err)
		return m
	}
	m.body = ev.Data()
	if preferReply {
		h["Prefer"] = hdrPreferReply
	}
	m.header = h
	return m
}

var hdrPreferReply = []string{"reply"}

// Event is the event m encodes.
func (m *Message) Event() *event.Event { return m.ev }

// urlCache holds destinations parsed once: every delivery to a trigger's
// subscriber reuses its parsed URL. Bounded: past maxCachedURLs entries it
// starts over.
type urlCache struct {
	mu sync.RWMutex
	m  map[string]*url.URL
}

const maxCachedURLs = 1 << 14

// parse returns target parsed as a POST destination (http or https).
func (c *urlCache) parse(target string) (*url.URL, error) {
	c.mu.RLock()
	u, ok := c.m[target]
	c.mu.RUnlock()
	if ok {
		return u, nil
	}
	// http.NewRequest's own parsing and checks, once.
	req, err := http.NewRequest(http.MethodPost, target, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%w: url %q: scheme must be http or https", ErrInvalidRequest, target)
	}
	if req.URL.Host == "" {
		// No attempt could reach anything (net/http's client would fail
		// each with "no Host in request URL").
		return nil, fmt.Errorf("%w: url %q: no host", ErrInvalidRequest, target)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedURLs {
		c.m = make(map[string]*url.URL)
	}
	c.m[target] = req.URL
	c.mu.Unlock()
	return req.URL, nil
}

// attemptRequest is one attempt's POST of m to u, bound to ctx. Its header
// is m's, shared until the trace context is written into it (see
// injected); nothing else writes to a request's header or URL.
func attemptRequest(ctx context.Context, m *Message, u *url.URL) *http.Request {
	req := &http.Request{
		Method:     http.MethodPost,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     m.header,
		Host:       u.Host,
	}
	req = req.WithContext(ctx)
	if len(m.body) == 0 {
		req.Body = http.NoBody
		return req
	}
	body := m.body
	req.ContentLength = int64(len(body))
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return req
}

// injected is a propagation carrier over a request's shared header: the
// first write clones it, so the trace context of one attempt never reaches
// another's request.
type injected struct {
	req    *http.Request
	cloned bool
}

func (c *injected) Get(key string) string { return c.req.Header.Get(key) }

func (c *injected) Set(key, value string) {
	if !c.cloned {
		c.req.Header, c.cloned = c.req.Header.Clone(), true
	}
	c.req.Header.Set(key, value)
}

func (c *injected) Keys() []string {
	keys := make([]string, 0, len(c.req.Header))
	for k := range c.req.Header {
		keys = append(keys, k)
	}
	return keys
}

// drainClose reads what is left of body, up to drainLimit, so the
// connection can be reused, and closes it. A body longer than that costs a
// connection rather than an unbounded read.
func drainClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	_ = body.Close()
}
