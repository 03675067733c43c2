package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/propagation"
	"golang.org/x/net/http/httpguts"

	"github.com/weft-dev/weft/internal/gopool"
)

// The fast path sends attempts with fasthttp rather than net/http: at a
// thousand triggers, net/http's client machinery (a write goroutine and a
// read goroutine per connection, with a hand-off to each per request) was
// most of the dispatcher's CPU. It is the default; a Sender built
// WithHTTPClient, or started with a proxy configured in the environment
// (fasthttp has no proxy support), uses net/http.
//
// It keeps net/http's observable behaviour: the same request line, headers
// (names as net/http writes them, trace context, Basic auth from the URL's
// user info, Referer on redirects), 307/308 redirects only (checkRedirect),
// the same errors (*url.Error, context errors when the attempt's context
// ends), the same body limits, and a request whose keep-alive connection the
// server had closed retried once. Differences: HTTP/1.1 only (net/http
// negotiates HTTP/2 with TLS servers that offer it), User-Agent "weft"
// rather than "Go-http-client/1.1", no "Accept-Encoding: gzip" (so no
// transparent decompression), response headers limited to
// fastReadBufferSize, and at most fastMaxConnsPerHost connections per host
// (a burst past that waits for one, within the attempt's timeout).

const (
	// fastUserAgent is the fast path's User-Agent.
	fastUserAgent = "weft"
	// fastMaxConnsPerHost bounds the connections to one host; the default
	// net/http client keeps up to as many idle ones.
	fastMaxConnsPerHost = 4096
	// fastIdleTimeout closes a keep-alive connection idle that long, as the
	// default net/http client does.
	fastIdleTimeout = 90 * time.Second
	// fastReadBufferSize is the per-request read buffer, which bounds a
	// response's headers: as large as the headers the ingress accepts by
	// default, so any reply the broker would take can be read.
	fastReadBufferSize = 64 << 10
	// fastDialTimeout and fastTLSHandshakeTimeout are net/http's defaults
	// (http.DefaultTransport); the attempt's deadline may cut them short.
	fastDialTimeout         = 30 * time.Second
	fastTLSHandshakeTimeout = 10 * time.Second
	// maxRedirects is how many requests one attempt makes at most
	// (checkRedirect: nine redirects followed).
	maxRedirects = 10
	// maxBodySlurp is how much of a followed redirect's body is read so that
	// its connection can be reused (as net/http does).
	maxBodySlurp = 2 << 10
)

// proxyEnv are the variables that give net/http's client a proxy
// (http.ProxyFromEnvironment); NO_PROXY alone gives none, it only exempts
// hosts from one.
var proxyEnv = [...]string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"}

// proxyConfigured reports whether the environment configures an HTTP proxy
// (HTTP_PROXY or HTTPS_PROXY, in either case), which only the net/http path
// honours.
func proxyConfigured() bool {
	for _, k := range proxyEnv {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// fastClient is the fast path's client for one destination CA set. Safe for
// concurrent use.
type fastClient struct {
	c *fasthttp.Client

	// targets holds each destination's fasthttp URI and rendered request
	// line, built once: a trigger's deliveries share their parsed URL
	// (urlCache), so its pointer is the key. Bounded like urlCache.
	targetsMu sync.RWMutex
	targets   map[*neturl.URL]*fastTarget
}

// fastTarget is a destination as the fast path sends to it.
type fastTarget struct {
	uri *fasthttp.URI
	// line is the request line and Host header: "POST <request-URI>
	// HTTP/1.1\r\nHost: <host>\r\n".
	line []byte
	// auth is the Basic credentials of the URL's user info ("" without).
	auth string
}

// target is u as the fast path sends to it, shared (it is only read).
func (fc *fastClient) target(u *neturl.URL) *fastTarget {
	fc.targetsMu.RLock()
	t := fc.targets[u]
	fc.targetsMu.RUnlock()
	if t != nil {
		return t
	}
	t = &fastTarget{uri: targetURI(u)}
	t.line = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\n", t.uri.RequestURI(), u.Host)
	if u.User != nil {
		t.auth = basicAuth(u.User)
	}
	fc.targetsMu.Lock()
	if fc.targets == nil || len(fc.targets) >= maxCachedURLs {
		fc.targets = make(map[*neturl.URL]*fastTarget)
	}
	fc.targets[u] = t
	fc.targetsMu.Unlock()
	return t
}

// newFastClient is a fast client whose https connections trust roots (nil:
// the system's roots).
func newFastClient(roots *x509.CertPool) *fastClient {
	tlsConf := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	return &fastClient{c: &fasthttp.Client{
		Transport:   fastTransport{},
		Name:        fastUserAgent,
		DialTimeout: dialTCP,
		ConfigureClient: func(hc *fasthttp.HostClient) error {
			if hc.IsTLS {
				d, err := tlsDialer(tlsConf, hc.Addr)
				if err != nil {
					return err
				}
				hc.DialTimeout = d
			}
			return nil
		},
		TLSConfig:           tlsConf,
		MaxConnsPerHost:     fastMaxConnsPerHost,
		MaxIdleConnDuration: fastIdleTimeout,
		// A burst past MaxConnsPerHost waits for a connection; the
		// attempt's deadline (DoDeadline) bounds the wait.
		MaxConnWaitTimeout:        time.Hour,
		MaxIdemponentCallAttempts: 2,
		RetryIfErr:                retryClosedConn,
		ReadBufferSize:            fastReadBufferSize,
		DisablePathNormalizing:    true,
		StreamResponseBody:        true,
		ConnPoolStrategy:          fasthttp.LIFO, // as net/http: the most recently used idle connection first
	}}
}

func (fc *fastClient) closeIdle() { fc.c.CloseIdleConnections() }

// dialTCP dials as net/http's default transport does: happy eyeballs, the
// system resolver (no DNS cache), TCP keep-alives every 30s.
func dialTCP(addr string, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 || timeout > fastDialTimeout {
		timeout = fastDialTimeout
	}
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return d.Dial("tcp", addr)
}

// tlsDialer dials addr (host:port) and completes the TLS handshake within
// the dial's timeout (and fastTLSHandshakeTimeout), verifying the server's
// certificate for addr's host against conf's roots.
func tlsDialer(conf *tls.Config, addr string) (fasthttp.DialFuncWithTimeout, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("tls server name of %q: %w", addr, err)
	}
	conf = conf.Clone()
	conf.ServerName = host
	return func(addr string, timeout time.Duration) (net.Conn, error) {
		start := time.Now()
		raw, err := dialTCP(addr, timeout)
		if err != nil {
			return nil, err
		}
		deadline := time.Now().Add(fastTLSHandshakeTimeout)
		if end := start.Add(timeout); timeout > 0 && end.Before(deadline) {
			deadline = end
		}
		conn := tls.Client(raw, conf)
		if err := conn.SetDeadline(deadline); err != nil {
			raw.Close()
			return nil, err
		}
		if err := conn.Handshake(); err != nil {
			raw.Close()
			return nil, err
		}
		if err := conn.SetDeadline(time.Time{}); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}, nil
}

// retryClosedConn retries a request once when the server closed its
// keep-alive connection before answering (as net/http does for a reused
// connection), unless the attempt was abandoned.
func retryClosedConn(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if c, ok := req.UserValue(callKey{}).(*fastCall); ok && c.isAborted() {
		return false, false
	}
	return false, attempts == 1 && (errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed))
}

// callKey is the request user value holding a request's *fastCall.
type callKey struct{}

// fastCall is one attempt on the fast path: the request runs on another
// goroutine (run, on callWorkers) so that the attempt can return as soon as
// its context ends, as net/http's does; that goroutine releases the request,
// response and connection when fasthttp is done with them.
type fastCall struct {
	fc        *fastClient
	req       *fasthttp.Request
	deadline  time.Time
	wantReply bool
	done      chan struct{} // run is finished (buffered: run never blocks)
	runFunc   func()        // c.run

	// cur is the URL of the current request (redirects change it).
	cur atomic.Pointer[neturl.URL]

	// mu guards conn and aborted: abort interrupts the connection in use.
	mu      sync.Mutex
	conn    net.Conn
	aborted bool

	// rendered: the request is written from head (the rendered request
	// head, Message m's body after it) rather than from req, which carries
	// only its target until a redirect fills it in (materialize). trace
	// holds the trace context fields written into head.
	rendered bool
	head     []byte
	m        *Message
	trace    []string // name, value, ...

	// Written by run before done, read after it. hops counts requests made;
	// next is a redirect to follow; err is a failure without a final
	// response.
	hops       int
	next       *neturl.URL
	basicAuth  bool // req has an Authorization header from cur's user info
	err        error
	bodyPrefix []byte
	bodyErr    error

	// The final response, written before phase is set to phaseBody and not
	// after: status, header (only when need > 0) and need, how much of the
	// body the attempt reads (0: none; it is drained).
	phase  atomic.Int32
	status int
	header http.Header
	need   int
}

const phaseBody = 1 // the final response's header is read; its body is being read

var callPool = sync.Pool{New: func() any {
	c := &fastCall{done: make(chan struct{}, 1)}
	c.runFunc = c.run // bound once: a method value made per call is an allocation
	return c
}}

// callWorkers runs the calls: a worker keeps the stack a round trip grew
// (fasthttp's connection set-up goes deep) for the next call, where a
// goroutine per call grew one every time.
var callWorkers = gopool.New(0)

// errNoHost is net/http's error for a redirect to a URL without a host (a
// destination without one is refused before any attempt: urlCache.parse).
var errNoHost = errors.New("http: no Host in request URL")

// aLongTimeAgo is a deadline that interrupts a connection's I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

// post sends m to u (one attempt, redirects followed) with the trace context
// prop injects from ctx, bounded by deadline and ctx. It returns the final
// status and, when the attempt needs more of the response (a failure status,
// or a 2xx that claims to carry a reply event and wantReply), the response
// with its headers and the start of its body; for a 2xx that needs nothing
// more the response is nil. Errors are net/http's: a *url.Error, wrapping
// ctx's error when ctx ended and context.DeadlineExceeded when deadline
// passed.
//
// The deadline needs no timer of its own (a context with a timeout was a
// twentieth of the dispatcher's CPU at a thousand triggers): every phase of
// the call is bounded by it (the wait for a connection and the dial by the
// time left, each read and write by the connection's deadline).
func (fc *fastClient) post(ctx context.Context, deadline time.Time, prop propagation.TextMapPropagator, m *Message, u *neturl.URL, wantReply bool) (int, *http.Response, error) {
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c := callPool.Get().(*fastCall)
	req := fasthttp.AcquireRequest()
	dst := fc.target(u)
	tail, err := m.headTail()
	if err != nil {
		fasthttp.ReleaseRequest(req)
		callPool.Put(c)
		return 0, nil, &neturl.Error{Op: "Post", URL: urlErrorString(u), Err: err}
	}
	// The first request is written from its rendered head: the request
	// line and Host, the trace context, Basic auth, then the Message's own
	// fields. req only routes it (fasthttp picks the connection by its
	// URI) until a redirect fills it in (materialize).
	setTargetURI(req, dst.uri, u.Host)
	req.Header.SetMethod(http.MethodPost)
	c.render(ctx, prop, dst, tail)
	c.m, c.rendered = m, true
	c.fc, c.req, c.deadline, c.wantReply = fc, req, deadline, wantReply
	c.cur.Store(u)
	req.SetUserValue(callKey{}, c)
	callWorkers.Go(c.runFunc)

	select {
	case <-c.done:
	case <-ctx.Done():
		c.abort()
		if c.phase.Load() != phaseBody {
			// The call may still be dialling: it is left to finish on its
			// own (and c to the garbage collector).
			return 0, nil, &neturl.Error{Op: "Post", URL: urlErrorString(c.cur.Load()), Err: ctx.Err()}
		}
		// Only body reads are left, and abort interrupted them: wait for
		// the partial body, as net/http's reader would have it.
		<-c.done
	}
	status, resp, err := c.result(ctx)
	c.reset()
	callPool.Put(c)
	return status, resp, err
}

// result is the attempt's outcome once run is done.
func (c *fastCall) result(ctx context.Context) (int, *http.Response, error) {
	if c.err != nil {
		err := c.err
		if cerr := c.ctxErr(ctx); cerr != nil {
			err = cerr
		} else if errors.Is(err, fasthttp.ErrConnectionClosed) {
			err = io.EOF // net/http's error for a connection closed before the response
		}
		return 0, nil, &neturl.Error{Op: "Post", URL: urlErrorString(c.cur.Load()), Err: err}
	}
	if c.need == 0 {
		return c.status, nil, nil
	}
	bodyErr := c.bodyErr
	if bodyErr != nil {
		if cerr := c.ctxErr(ctx); cerr != nil {
			bodyErr = cerr // net/http's body reads fail with the context's error
		}
	}
	return c.status, &http.Response{
		StatusCode: c.status,
		Header:     c.header,
		Body:       &prefixBody{r: bytes.NewReader(c.bodyPrefix), err: bodyErr},
	}, nil
}

// ctxErr is ctx's error, or DeadlineExceeded when the call's deadline has
// passed.
func (c *fastCall) ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *fastCall) reset() {
	c.fc, c.req, c.deadline, c.wantReply = nil, nil, time.Time{}, false
	c.rendered, c.head, c.m, c.trace = false, c.head[:0], nil, c.trace[:0]
	c.cur.Store(nil)
	c.conn, c.aborted = nil, false
	c.hops, c.next, c.basicAuth, c.err = 0, nil, false, nil
	c.bodyPrefix, c.bodyErr = nil, nil
	c.phase.Store(0)
	c.status, c.header, c.need = 0, nil, 0
}

// run makes the requests (the first and any redirects) and releases them.
func (c *fastCall) run() {
	req := c.req
	resp := fasthttp.AcquireResponse()
	for {
		c.hops++
		err := c.fc.c.DoDeadline(req, resp, c.deadline)
		if err == nil {
			err = c.err // a malformed Location (fastTransport)
		}
		if err != nil {
			c.err = err
			break
		}
		if c.next == nil {
			break // the final response, handled by fastTransport
		}
		if err := c.redirect(req); err != nil {
			c.err = err
			break
		}
	}
	fasthttp.ReleaseResponse(resp)
	fasthttp.ReleaseRequest(req)
	c.done <- struct{}{}
}

// redirect points req at c.next, as net/http's client builds a redirect's
// request: the same method, body and headers, a Referer, and Basic auth from
// the new URL's user info only.
func (c *fastCall) redirect(req *fasthttp.Request) error {
	prev, next := c.cur.Load(), c.next
	if c.rendered {
		c.materialize(req, prev)
	}
	c.next = nil
	c.cur.Store(next)
	switch {
	case next.Scheme != "http" && next.Scheme != "https":
		return fmt.Errorf("unsupported protocol scheme %q", next.Scheme)
	case next.Host == "":
		return errNoHost
	}
	setTarget(req, next)
	req.Header.Del("Referer")
	if ref := refererForURL(prev, next); ref != "" {
		req.Header.Set("Referer", ref)
	}
	if c.basicAuth {
		req.Header.Del("Authorization")
	}
	c.basicAuth = setBasicAuth(req, next)
	return nil
}

// render writes c's request head: dst's request line and Host, the trace
// context prop injects from ctx, Basic auth from dst's user info, then tail
// (the Message's fields, headTail).
func (c *fastCall) render(ctx context.Context, prop propagation.TextMapPropagator, dst *fastTarget, tail []byte) {
	c.head = append(c.head[:0], dst.line...)
	prop.Inject(ctx, headCarrier{c})
	if dst.auth != "" {
		c.head = appendField(c.head, "Authorization", dst.auth)
		c.basicAuth = true
	}
	c.head = append(c.head, tail...)
}

// appendField appends the header field line "name: value" to b.
func appendField(b []byte, name, value string) []byte {
	return append(append(append(append(b, name...), ": "...), value...), "\r\n"...)
}

// writtenFromHeader reports whether net/http writes a request header's
// field name from the header itself: Host, Content-Length,
// Transfer-Encoding and Trailer it writes from the request.
func writtenFromHeader(name string) bool {
	switch name {
	case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
		return false
	}
	return true
}

// materialize makes req the request the rendered head described (sent to
// prev), so that a redirect can change it: the Message's header and body,
// the trace context written, Basic auth from prev's user info.
func (c *fastCall) materialize(req *fasthttp.Request, prev *neturl.URL) {
	c.rendered = false
	setRequest(req, c.m, targetURI(prev), prev.Host)
	for i := 0; i+1 < len(c.trace); i += 2 {
		req.Header.Set(c.trace[i], c.trace[i+1])
	}
	c.basicAuth = setBasicAuth(req, prev)
}

// attach records the connection the call uses, interrupting it at once if
// the call was abandoned.
func (c *fastCall) attach(conn net.Conn) {
	c.mu.Lock()
	c.conn = conn
	if c.aborted {
		_ = conn.SetDeadline(aLongTimeAgo)
	}
	c.mu.Unlock()
}

// detach forgets the connection before it is pooled or closed.
func (c *fastCall) detach() {
	c.mu.Lock()
	c.conn = nil
	c.mu.Unlock()
}

// abort interrupts the call's I/O: its connection fails at once and is
// closed (the server sees the request abandoned, as with net/http).
func (c *fastCall) abort() {
	c.mu.Lock()
	c.aborted = true
	if c.conn != nil {
		_ = c.conn.SetDeadline(aLongTimeAgo)
	}
	c.mu.Unlock()
}

func (c *fastCall) isAborted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aborted
}

// onResponse handles a response whose header is read: a redirect to follow
// (c.next), a malformed Location (c.err), or the final response, whose body
// it reads as far as the attempt needs and drains up to drainLimit. It
// reports whether the whole body was read, so that the connection can be
// reused.
func (c *fastCall) onResponse(resp *fasthttp.Response) (bodyRead bool) {
	code := resp.StatusCode()
	body := resp.BodyStream()
	if resp.Header.ContentLength() == 0 {
		body = nil
	}
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		// net/http's Client.do: a Location that does not parse fails the
		// request, whether or not checkRedirect would follow it.
		if loc := resp.Header.Peek("Location"); len(loc) > 0 {
			next, err := c.cur.Load().Parse(string(loc))
			if err != nil {
				c.err = fmt.Errorf("failed to parse Location header %q: %v", loc, err)
				return body == nil
			}
			if (code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect) && c.hops < maxRedirects {
				c.next = next
				return discard(body, maxBodySlurp)
			}
		}
	}

	c.status = code
	switch {
	case code < 200 || code > 299:
		c.need = ErrorDataMax // readFailure
	case c.wantReply && claimsEvent(&resp.Header):
		c.need = MaxReplyBytes + 1 // readReply
	}
	if c.need > 0 {
		c.header = httpHeader(&resp.Header)
	}
	c.phase.Store(phaseBody)
	if c.need == 0 || body == nil {
		return discard(body, drainLimit)
	}
	var eof bool
	c.bodyPrefix, c.bodyErr, eof = readPrefix(body, c.need, resp.Header.ContentLength())
	switch {
	case c.bodyErr != nil:
		return false
	case eof:
		return true
	}
	return discard(body, drainLimit)
}

// claimsEvent reports a response header that makes readReply read the body:
// a ce-specversion, or a Content-Type of the application/cloudevents family
// (every event format sdk-go knows, and Weft registers no other).
func claimsEvent(h *fasthttp.ResponseHeader) bool {
	if len(h.Peek("Ce-Specversion")) > 0 {
		return true
	}
	ct := h.ContentType()
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	const family = "application/cloudevents"
	return len(ct) >= len(family) && strings.EqualFold(string(ct[:len(family)]), family)
}

// httpHeader is h as net/http would have parsed it (canonical names, values
// in order).
func httpHeader(h *fasthttp.ResponseHeader) http.Header {
	hh := make(http.Header, h.Len())
	for k, v := range h.All() {
		key := http.CanonicalHeaderKey(string(k))
		hh[key] = append(hh[key], string(v))
	}
	return hh
}

// readPrefix reads body up to limit bytes (sized by contentLength when
// known). eof reports that the body ended; err is a read error other than
// the body's end.
func readPrefix(body io.Reader, limit, contentLength int) (b []byte, err error, eof bool) {
	size := 512
	if contentLength >= 0 {
		size = contentLength
	}
	b = make([]byte, 0, max(1, min(size, limit)))
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
			b = b[:len(b):min(cap(b), limit)]
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil, true
		}
		if err != nil {
			return b, err, false
		}
	}
	return b, nil, false
}

// discard reads what is left of body, up to limit bytes, and reports
// whether it ended (nil: no body).
func discard(body io.Reader, limit int64) bool {
	if body == nil {
		return true
	}
	n, err := io.CopyN(io.Discard, body, limit+1)
	return n <= limit && errors.Is(err, io.EOF)
}

// prefixBody is the body of a response the fast path read: the bytes read,
// then the error that stopped the read (EOF when none did).
type prefixBody struct {
	r   *bytes.Reader
	err error
}

func (b *prefixBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF && b.err != nil {
		err = b.err
	}
	return n, err
}

func (b *prefixBody) Close() error { return nil }

// fastTransport is fasthttp's transport reduced to what an attempt needs,
// with its connection exposed to abort and its response body consumed here:
// the connection is back in the pool (or closed) before the call returns.
type fastTransport struct{}

func (fastTransport) RoundTrip(hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (retry bool, err error) {
	c, ok := req.UserValue(callKey{}).(*fastCall)
	if !ok {
		return fasthttp.DefaultTransport.RoundTrip(hc, req, resp)
	}
	timeout := time.Until(c.deadline)
	if timeout <= 0 {
		return false, fasthttp.ErrTimeout
	}
	cc, err := hc.AcquireConn(timeout, req.ConnectionClose())
	if err != nil {
		return false, err
	}
	conn := cc.Conn()
	if err := conn.SetDeadline(c.deadline); err != nil {
		hc.CloseConn(cc)
		return true, err
	}
	c.attach(conn)

	bw := hc.AcquireWriter(conn)
	if c.rendered {
		_, err = bw.Write(c.head)
		if err == nil {
			_, err = bw.Write(c.m.body)
		}
	} else {
		err = req.Write(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		c.detach()
		hc.CloseConn(cc)
		return true, err
	}

	br := hc.AcquireReader(conn)
	if err := resp.ReadLimitBody(br, 0); err != nil { // StreamBody: the header only
		hc.ReleaseReader(br)
		c.detach()
		hc.CloseConn(cc)
		return true, err
	}
	bodyRead := c.onResponse(resp)
	reusable := bodyRead && !resp.ConnectionClose() && !req.ConnectionClose() && resp.Header.ContentLength() != -2
	_ = resp.CloseBodyStream()
	hc.ReleaseReader(br)
	c.detach()
	if reusable {
		hc.ReleaseConn(cc)
	} else {
		hc.CloseConn(cc)
	}
	return false, nil
}

// setRequest makes req the POST of m to uri (host: the URL's host as it
// is): m's header fields (headTail checked them) and its body.
func setRequest(req *fasthttp.Request, m *Message, uri *fasthttp.URI, host string) {
	h := &req.Header
	h.DisableNormalizing()
	h.SetNoDefaultContentType(true)
	h.SetMethod(http.MethodPost)
	for k, vs := range m.header {
		if !writtenFromHeader(k) {
			continue
		}
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	setTargetURI(req, uri, host)
	req.SetBodyRaw(m.body) // never modified (Message)
}

// setTarget points req at u: its connection, request line and Host header
// (u.Host as it is, as net/http sends it).
func setTarget(req *fasthttp.Request, u *neturl.URL) { setTargetURI(req, targetURI(u), u.Host) }

// setTargetURI points req at uri, with host (the URL's host as it is) as
// its Host header.
func setTargetURI(req *fasthttp.Request, uri *fasthttp.URI, host string) {
	req.SetURI(uri)
	req.Header.SetHost(host)
	req.UseHostHeader = true
}

// targetURI is u as fasthttp's URI.
func targetURI(u *neturl.URL) *fasthttp.URI {
	uri := &fasthttp.URI{DisablePathNormalizing: true}
	uri.SetScheme(u.Scheme)
	uri.SetHost(u.Host)
	path := u.Opaque
	if path == "" {
		path = u.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	uri.SetPath(path)
	uri.SetQueryString(u.RawQuery)
	return uri
}

// setBasicAuth sets Basic authorization from u's user info, unless req has
// an Authorization header already (net/http's Client.send), and reports
// whether it did.
func setBasicAuth(req *fasthttp.Request, u *neturl.URL) bool {
	if u.User == nil || len(req.Header.Peek("Authorization")) > 0 {
		return false
	}
	req.Header.Set("Authorization", basicAuth(u.User))
	return true
}

// basicAuth is the Authorization value of user's credentials.
func basicAuth(user *neturl.Userinfo) string {
	password, _ := user.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user.Username()+":"+password))
}

// refererForURL is net/http's Referer for a redirect from prev to next:
// none from https to http, and no user info.
func refererForURL(prev, next *neturl.URL) string {
	if prev.Scheme == "https" && next.Scheme == "http" {
		return ""
	}
	ref := prev.String()
	if prev.User != nil {
		ref = strings.Replace(ref, prev.User.String()+"@", "", 1)
	}
	return ref
}

// urlErrorString is u as net/http's client errors show it: the password
// masked.
func urlErrorString(u *neturl.URL) string {
	if _, ok := u.User.Password(); ok {
		return strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1)
	}
	return u.String()
}

// renderedHead is a Message's header as the fast path writes it after the
// request line, Host, trace context and Basic auth.
type renderedHead struct {
	tail []byte
	err  error
}

// headTail renders, once, the end of m's request head: each field of its
// header as net/http writes it (names as they are, values checked as
// net/http checks them), Content-Length, the fast path's User-Agent, and the
// blank line. A Message's header holds only its event's fields
// (ceheader.WriteHTTP) and Prefer, none of which the head writes itself.
func (m *Message) headTail() ([]byte, error) {
	m.headOnce.Do(func() {
		size := 64
		for k, vs := range m.header {
			for _, v := range vs {
				size += len(k) + len(v) + 4
			}
		}
		b := make([]byte, 0, size)
		for k, vs := range m.header {
			if !httpguts.ValidHeaderFieldName(k) {
				m.head.err = fmt.Errorf("net/http: invalid header field name %q", k)
				return
			}
			if !writtenFromHeader(k) {
				continue
			}
			for _, v := range vs {
				if !httpguts.ValidHeaderFieldValue(v) {
					m.head.err = fmt.Errorf("net/http: invalid header field value for %q", k)
					return
				}
				b = appendField(b, k, v)
			}
		}
		m.head.tail = fmt.Appendf(b, "Content-Length: %d\r\nUser-Agent: %s\r\n\r\n", len(m.body), fastUserAgent)
	})
	return m.head.tail, m.head.err
}

// headCarrier is a propagation carrier writing into a call's rendered
// head (and remembering what it wrote, for materialize). Keys are
// canonical, as http.Header.Set makes them; nothing is there to Get.
type headCarrier struct{ c *fastCall }

func (hc headCarrier) Get(string) string { return "" }

func (hc headCarrier) Set(key, value string) {
	key = canonicalKey(key)
	hc.c.head = appendField(hc.c.head, key, value)
	hc.c.trace = append(hc.c.trace, key, value)
}

func (hc headCarrier) Keys() []string { return nil }

// canonicalKey is http.CanonicalHeaderKey, without allocating for the W3C
// propagators' keys.
func canonicalKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	}
	return http.CanonicalHeaderKey(key)
}
