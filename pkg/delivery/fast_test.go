package delivery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"go.opentelemetry.io/otel/trace"
)

// paths are the two ways a Sender sends: WithHTTPClient's net/http client,
// and the default fast path.
var paths = []string{"net/http", "fast"}

// pathSender is a test Sender sending through path, whatever the
// environment's proxy settings.
func pathSender(t *testing.T, path string, opts ...Option) *Sender {
	t.Helper()
	for _, k := range proxyEnv {
		t.Setenv(k, "")
	}
	if path == "net/http" {
		opts = append(opts, WithHTTPClient(newHTTPClient()))
	}
	s := newTestSender(t, opts...)
	if (s.clients.fast != nil) != (path == "fast") {
		t.Fatalf("%s sender: fast client %v", path, s.clients.fast)
	}
	return s
}

// replyHeaders make a response claim to carry a binary-mode reply event.
func replyHeaders(w http.ResponseWriter) {
	w.Header().Set("Ce-Specversion", "1.0")
	w.Header().Set("Ce-Id", "r")
	w.Header().Set("Ce-Source", "/s")
	w.Header().Set("Ce-Type", "t")
}

func TestNewSenderProxyEnvUsesNetHTTP(t *testing.T) {
	for _, k := range proxyEnv {
		t.Run(k, func(t *testing.T) {
			for _, k := range proxyEnv {
				t.Setenv(k, "")
			}
			if s := newTestSender(t); s.clients.fast == nil {
				t.Fatal("no proxy configured: want the fast path")
			}
			t.Setenv(k, "http://proxy.example:3128")
			if s := newTestSender(t); s.clients.fast != nil {
				t.Errorf("%s set: want the net/http path", k)
			}
		})
	}
	// WithNetHTTP asks for net/http.
	t.Run("WithNetHTTP", func(t *testing.T) {
		for _, k := range proxyEnv {
			t.Setenv(k, "")
		}
		if s := newTestSender(t, WithNetHTTP()); s.clients.fast != nil {
			t.Error("WithNetHTTP: want the net/http path")
		}
	})
	// NO_PROXY alone configures no proxy: the fast path stays.
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		t.Run(k, func(t *testing.T) {
			for _, k := range proxyEnv {
				t.Setenv(k, "")
			}
			t.Setenv(k, "localhost,.svc.cluster.local")
			if s := newTestSender(t); s.clients.fast == nil {
				t.Errorf("only %s set: want the fast path", k)
			}
		})
	}
}

// TestSendRequestWire compares the request heads the two paths write:
// the same request line and header lines (names' case included), but for
// User-Agent and net/http's Accept-Encoding.
func TestSendRequestWire(t *testing.T) {
	heads := make(chan []string, 4)
	addr := serveConns(t, func(conn net.Conn) {
		br := bufio.NewReader(conn)
		var head []string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line = strings.TrimRight(line, "\r\n"); line == "" {
				break
			}
			head = append(head, line)
		}
		heads <- head
		if strings.HasPrefix(head[0], "POST /redirect ") {
			conn.Write([]byte("HTTP/1.1 307 Temporary Redirect\r\nLocation: /after?z=2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			return
		}
		conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	})
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
	base := "http://user:p%40ss@" + addr
	noData := testEvent()
	if err := noData.SetData("", nil); err != nil {
		t.Fatal(err)
	}
	noData.SetDataContentType("")
	cases := []struct {
		name string
		ev   *event.Event
		url  string
		hops int
	}{
		{"event with data", testEvent(), base + "/a%2Fb/c?x=1&y=%20", 1},
		{"event without data", noData, base + "/a%2Fb/c?x=1&y=%20", 1},
		// The second request of a redirect is built from the first.
		{"redirected", testEvent(), base + "/redirect", 2},
	}
	for _, tc := range cases {
		got := map[string][][]string{}
		for _, path := range paths {
			res, err := pathSender(t, path).Send(ctx, tc.ev, tc.url, Policy{}, nil)
			if err != nil || res.Outcome != OutcomeDelivered {
				t.Fatalf("%s, %s: Send = %+v, %v", tc.name, path, res, err)
			}
			for range tc.hops {
				var head []string
				for _, l := range <-heads {
					if k, _, _ := strings.Cut(l, ":"); k != "User-Agent" && k != "Accept-Encoding" {
						head = append(head, l)
					}
				}
				slices.Sort(head)
				got[path] = append(got[path], head)
			}
		}
		t.Logf("%s: request heads: %q", tc.name, got["fast"])
		for i := range tc.hops {
			if !slices.Equal(got["net/http"][i], got["fast"][i]) {
				t.Errorf("%s: request %d heads differ:\nnet/http: %q\nfast:     %q", tc.name, i+1, got["net/http"][i], got["fast"][i])
			}
		}
	}
}

// TestSendLargeResponseBodies: bodies past what an attempt reads give the
// same outcomes and errors on both paths.
func TestSendLargeResponseBodies(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), (MaxReplyBytes+4096)/16) // over MaxReplyBytes and drainLimit
	tests := map[string]struct {
		respond   func(int, http.ResponseWriter, *http.Request)
		reply     bool
		status    int
		outcome   Outcome
		errSuffix string // of Result.Err's text ("": nil)
	}{
		"2xx over drainLimit, no reply func": {
			respond: func(_ int, w http.ResponseWriter, _ *http.Request) { w.Write(big[:drainLimit*4]) },
			status:  200, outcome: OutcomeDelivered,
		},
		"2xx over MaxReplyBytes, not an event": {
			respond: func(_ int, w http.ResponseWriter, _ *http.Request) { w.Write(big) },
			reply:   true, status: 200, outcome: OutcomeDelivered,
		},
		"2xx reply over MaxReplyBytes": {
			respond: func(_ int, w http.ResponseWriter, _ *http.Request) { replyHeaders(w); w.Write(big) },
			reply:   true, status: 200, outcome: OutcomeDeadLettered,
			errSuffix: "malformed reply event: body over " + strconv.Itoa(MaxReplyBytes) + " bytes",
		},
		"2xx reply of MaxReplyBytes, chunked": {
			respond: func(_ int, w http.ResponseWriter, _ *http.Request) {
				replyHeaders(w)
				w.(http.Flusher).Flush()
				w.Write(big[:MaxReplyBytes])
			},
			reply: true, status: 200, outcome: OutcomeDelivered,
		},
		"500 over drainLimit": {
			respond: func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				w.Write(big[:drainLimit*4])
			},
			status: 500, outcome: OutcomeDeadLettered, errSuffix: "unexpected HTTP status 500",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			for _, path := range paths {
				srv := newServer(t, tt.respond)
				dls := newServer(t, nil)
				var r replies
				fn := ReplyFunc(nil)
				if tt.reply {
					fn = r.fn
				}
				res, err := pathSender(t, path).Send(t.Context(), testEvent(), srv.URL, Policy{DeadLetterURL: dls.URL}, fn)
				if err != nil || res.Outcome != tt.outcome || res.Attempts != 1 || res.StatusCode != tt.status {
					t.Fatalf("%s: Send = %+v, %v; want %v after 1 attempt", path, res, err, tt.outcome)
				}
				switch {
				case tt.errSuffix == "" && res.Err != nil:
					t.Errorf("%s: Result.Err = %v, want none", path, res.Err)
				case tt.errSuffix != "" && (res.Err == nil || !strings.HasSuffix(res.Err.Error(), tt.errSuffix)):
					t.Errorf("%s: Result.Err = %v, want ...%q", path, res.Err, tt.errSuffix)
				}
				if tt.outcome == OutcomeDeadLettered {
					data, _ := base64.StdEncoding.DecodeString(dls.requests()[0].header.Get("Ce-Knativeerrordata"))
					if want := big[:ErrorDataMax]; !bytes.Equal(data, want) {
						t.Errorf("%s: knativeerrordata %d bytes %.16q..., want the body's first %d", path, len(data), data, len(want))
					}
				}
				if got := r.got(); len(got) != 0 && tt.outcome != OutcomeDelivered {
					t.Errorf("%s: %d replies stored", path, len(got))
				}
			}
		})
	}
}

// closingServer is a raw HTTP/1.1 server that reads each request whole and
// answers the first answered requests of each connection with 200 and
// keep-alive, then closes the connection at the next request without
// answering it (as a server does when its idle timeout and a client's
// request cross). answered 0 closes at every request. It counts the
// requests it answered and those it dropped.
func closingServer(t *testing.T, answered int) (url string, served, dropped *atomic.Int32) {
	served, dropped = new(atomic.Int32), new(atomic.Int32)
	addr := serveConns(t, func(conn net.Conn) {
		br := bufio.NewReader(conn)
		for n := 0; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if n >= answered {
				dropped.Add(1)
				return
			}
			served.Add(1)
			conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
		}
	})
	return "http://" + addr, served, dropped
}

// serveConns is a raw TCP server on loopback, until the test ends: handle
// serves each connection on a goroutine of its own, which closes it after.
// It returns the server's address.
func serveConns(t *testing.T, handle func(net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				handle(conn)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSendServerClosesKeepAlive: on the fast path, a keep-alive connection
// the server closed costs no failed attempt: the request is sent again, once,
// on a new connection. (net/http mostly drops such a connection before
// reusing it, when its background read sees the close; a POST that loses
// that race fails with EOF, as net/http retries a POST only when none of it
// was written.)
func TestSendServerClosesKeepAlive(t *testing.T) {
	url, served, dropped := closingServer(t, 1)
	s := pathSender(t, "fast")
	for i := range 5 {
		res, err := s.Send(t.Context(), testEvent(), url, Policy{}, nil)
		if err != nil || res.Outcome != OutcomeDelivered || res.Attempts != 1 {
			t.Fatalf("send %d: %+v, %v; want delivered at the first attempt", i, res, err)
		}
	}
	// Each send but the first met the previous one's connection closed.
	if s, d := served.Load(), dropped.Load(); s != 5 || d != 4 {
		t.Errorf("server answered %d requests and dropped %d, want 5 and 4", s, d)
	}
}

// TestSendServerClosesAtOnce: a server closing every connection without
// answering fails the attempt with net/http's error; the fast path sends the
// request twice (the retry for a closed keep-alive connection), not more.
// TestSendURLWithoutHost: a destination that parses without a host (user
// info cut short by a '#') is refused before any attempt, on both paths:
// no attempt could reach anything.
func TestSendURLWithoutHost(t *testing.T) {
	for _, path := range paths {
		res, err := pathSender(t, path).Send(t.Context(), testEvent(), "http://#@h.example:8080/x", Policy{Retry: 2}, nil)
		if err != nil || res.Outcome != OutcomeDropped || res.Attempts != 1 || res.StatusCode != 0 || !errors.Is(res.Err, ErrInvalidRequest) {
			t.Errorf("%s: Send = %+v, %v; want dropped after 1 attempt, an invalid request", path, res, err)
		}
		if want := `invalid delivery request: url "http://#@h.example:8080/x": no host`; errText(res.Err) != want {
			t.Errorf("%s: Result.Err = %q, want %q", path, errText(res.Err), want)
		}
	}
}

func TestSendServerClosesAtOnce(t *testing.T) {
	errs := map[string]string{}
	for _, path := range paths {
		url, _, dropped := closingServer(t, 0)
		res, err := pathSender(t, path).Send(t.Context(), testEvent(), url, Policy{}, nil)
		if err != nil || res.Outcome != OutcomeDropped || res.Attempts != 1 {
			t.Fatalf("%s: Send = %+v, %v; want dropped after 1 attempt", path, res, err)
		}
		want := int32(1)
		if path == "fast" {
			want = 2
		}
		if got := dropped.Load(); got != want {
			t.Errorf("%s: server got %d requests, want %d", path, got, want)
		}
		errs[path] = strings.Replace(errText(res.Err), url, "URL", 1)
	}
	if errs["net/http"] != errs["fast"] || errs["fast"] != `Post "URL": EOF` {
		t.Errorf("errors: net/http %q, fast %q; want both Post \"URL\": EOF", errs["net/http"], errs["fast"])
	}
}

// stallingServer answers code with header set, writes the first 10 of 100
// promised body bytes, signals started, and stalls until the client goes,
// then signals gone.
func stallingServer(t *testing.T, code int, header func(http.ResponseWriter)) (srv *server, started, gone chan struct{}) {
	started, gone = make(chan struct{}, 16), make(chan struct{}, 16)
	srv = newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if header != nil {
			header(w)
		}
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(code)
		w.Write([]byte("0123456789"))
		w.(http.Flusher).Flush()
		started <- struct{}{}
		<-r.Context().Done()
		gone <- struct{}{}
	})
	return srv, started, gone
}

// TestSendTimeoutDuringBody: an attempt timing out while it reads the body
// ends as on net/http: a failure keeps its status and the body's start, a
// reply fails to be read, a body only drained does not matter.
func TestSendTimeoutDuringBody(t *testing.T) {
	tests := map[string]struct {
		code    int
		header  func(http.ResponseWriter)
		reply   bool
		outcome Outcome
		err     string // Result.Err's text
		data    string // knativeerrordata
	}{
		"failure": {code: 500, outcome: OutcomeDeadLettered, err: "unexpected HTTP status 500", data: "0123456789"},
		"reply": {code: 200, header: replyHeaders, reply: true, outcome: OutcomeDeadLettered,
			err: "read reply: context deadline exceeded", data: "read reply: context deadline exceeded"},
		"drained":       {code: 200, outcome: OutcomeDelivered},
		"not an event":  {code: 200, reply: true, outcome: OutcomeDelivered},
		"rejected, 400": {code: 400, outcome: OutcomeDeadLettered, err: "unexpected HTTP status 400", data: "0123456789"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			for _, path := range paths {
				srv, _, _ := stallingServer(t, tt.code, tt.header)
				dls := newServer(t, nil)
				var r replies
				fn := ReplyFunc(nil)
				if tt.reply {
					fn = r.fn
				}
				p := Policy{Timeout: 100 * time.Millisecond, DeadLetterURL: dls.URL}
				res, err := pathSender(t, path).Send(t.Context(), testEvent(), srv.URL, p, fn)
				if err != nil || res.Outcome != tt.outcome || res.Attempts != 1 || res.StatusCode != tt.code {
					t.Fatalf("%s: Send = %+v, %v; want %v after 1 attempt, status %d", path, res, err, tt.outcome, tt.code)
				}
				if got := errText(res.Err); got != tt.err {
					t.Errorf("%s: Result.Err = %q, want %q", path, got, tt.err)
				}
				if tt.outcome == OutcomeDeadLettered {
					data, _ := base64.StdEncoding.DecodeString(dls.requests()[0].header.Get("Ce-Knativeerrordata"))
					if string(data) != tt.data {
						t.Errorf("%s: knativeerrordata %q, want %q", path, data, tt.data)
					}
				}
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestSendCancelDuringBody: cancelling once the response has started returns
// at once with the context's error, and the server sees the request
// abandoned.
func TestSendCancelDuringBody(t *testing.T) {
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			srv, started, gone := stallingServer(t, 200, replyHeaders)
			ctx, cancel := context.WithCancel(t.Context())
			var cancelledAt atomic.Int64
			go func() {
				<-started
				cancelledAt.Store(time.Now().UnixNano())
				cancel()
			}()
			var r replies
			res, err := pathSender(t, path).Send(ctx, testEvent(), srv.URL, Policy{Retry: 3}, r.fn)
			returned := time.Now()
			if !errors.Is(err, context.Canceled) || res.Outcome != 0 || res.Attempts != 1 {
				t.Fatalf("Send = %+v, %v; want context.Canceled after 1 attempt", res, err)
			}
			// Whether the client had the response's header when the cancel
			// came is a race on both paths.
			if (res.StatusCode != 200 || errText(res.Err) != "read reply: context canceled") &&
				(res.StatusCode != 0 || !errors.Is(res.Err, context.Canceled)) {
				t.Errorf("Result = %+v; want status 200 and the reply's read error, or no status and the request's", res)
			}
			if el := returned.Sub(time.Unix(0, cancelledAt.Load())); el > time.Second {
				t.Errorf("Send returned %v after the cancel", el)
			}
			select {
			case <-gone:
			case <-time.After(5 * time.Second):
				t.Errorf("the server did not see the request abandoned")
			}
		})
	}
}

// TestSendRedirectChains: the same requests, headers and outcome on both
// paths for redirect loops, malformed Locations and redirects to another
// server.
func TestSendRedirectChains(t *testing.T) {
	type hop struct{ path, referer string }
	run := func(t *testing.T, path string, respond func(int, http.ResponseWriter, *http.Request)) ([]hop, Result) {
		srv := newServer(t, respond)
		res, err := pathSender(t, path).Send(t.Context(), testEvent(), srv.URL+"/start", Policy{}, nil)
		if err != nil {
			t.Fatalf("%s: Send: %v", path, err)
		}
		var hops []hop
		for _, r := range srv.requests() {
			if string(r.body) != `{"hello":"world"}` {
				t.Errorf("%s: request to %s has body %q", path, r.path, r.body)
			}
			hops = append(hops, hop{r.path, strings.TrimPrefix(r.header.Get("Referer"), srv.URL)})
		}
		return hops, res
	}
	tests := map[string]func(int, http.ResponseWriter, *http.Request){
		"307 loop": func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/hop"+strconv.Itoa(n+1))
			w.WriteHeader(http.StatusTemporaryRedirect)
		},
		"308 then 200": func(n int, w http.ResponseWriter, r *http.Request) {
			if n < 3 {
				w.Header().Set("Location", "hop"+strconv.Itoa(n+1)+"?q=1")
				w.WriteHeader(http.StatusPermanentRedirect)
			}
		},
		"bad Location":            redirectTo("http://[::1", http.StatusFound),
		"Location without a host": redirectTo("http:///x", http.StatusTemporaryRedirect),
		"Location to ftp":         redirectTo("ftp://host/x", http.StatusTemporaryRedirect),
		"302 not followed":        redirectTo("/elsewhere", http.StatusFound),
	}
	for name, respond := range tests {
		t.Run(name, func(t *testing.T) {
			hops := map[string][]hop{}
			results := map[string]Result{}
			for _, path := range paths {
				hops[path], results[path] = run(t, path, respond)
			}
			if !slices.Equal(hops["net/http"], hops["fast"]) {
				t.Errorf("requests differ:\nnet/http: %v\nfast:     %v", hops["net/http"], hops["fast"])
			}
			nh, fast := results["net/http"], results["fast"]
			// Error texts name the servers, which differ: compare past them.
			if nh.Outcome != fast.Outcome || nh.StatusCode != fast.StatusCode || nh.Attempts != fast.Attempts ||
				stripServer(errText(nh.Err)) != stripServer(errText(fast.Err)) {
				t.Errorf("results differ:\nnet/http: %+v\nfast:     %+v", nh, fast)
			}
		})
	}
}

// stripServer drops the http://127.0.0.1:port of an error text.
func stripServer(s string) string {
	i := strings.Index(s, "http://127.0.0.1:")
	if i < 0 {
		return s
	}
	j := i + len("http://127.0.0.1:")
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[:i] + "SERVER" + stripServer(s[j:])
}

// BenchmarkSendMessage is SendMessage at two of a dispatcher's
// concurrencies, 32 and 1,000 senders (the consume → POST floor's 32
// workers, and a fetch fanned out to a thousand triggers), with 1 KiB
// events, a reply func and a local net/http server answering 200 with no
// body; net/http (WithHTTPClient) against the fast path. cpu-ns/op is the
// process's CPU time (getrusage) per delivery, the server's share
// included: on loopback most of it is the kernel's, and it grows with the
// connections in play (1.2 to 1.5 times from 32 to 1,000 on 2 cores), which
// ns/op, a wall time, hides once the CPU is saturated.
func BenchmarkSendMessage(b *testing.B) {
	srv := newServer(b, nil)
	ev := testEvent()
	if err := ev.SetData("application/json", map[string]string{"data": strings.Repeat("x", 1024-11)}); err != nil {
		b.Fatal(err)
	}
	m := NewMessage(ev)
	if len(m.body) != 1024 {
		b.Fatalf("body is %d bytes, want 1024", len(m.body))
	}
	for _, path := range paths {
		for _, senders := range []int{32, 1000} {
			b.Run(fmt.Sprintf("%s/senders-%d", strings.ReplaceAll(path, "/", "-"), senders), func(b *testing.B) {
				for _, k := range proxyEnv {
					b.Setenv(k, "")
				}
				var opts []Option
				if path == "net/http" {
					opts = append(opts, WithHTTPClient(newHTTPClient()))
				}
				s := newTestSender(b, opts...)
				var r replies
				b.SetParallelism(max(1, senders/runtime.GOMAXPROCS(0)))
				// One send per sender first, so the measured ones run over
				// established connections, as a busy dispatcher's do.
				var wg sync.WaitGroup
				for range senders {
					wg.Go(func() {
						if _, err := s.SendMessage(context.Background(), m, srv.URL, Policy{Retry: 3}, r.fn); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
				b.ReportAllocs()
				cpu0 := processCPU()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						res, err := s.SendMessage(context.Background(), m, srv.URL, Policy{Retry: 3}, r.fn)
						if err != nil || res.Outcome != OutcomeDelivered {
							b.Errorf("SendMessage = %+v, %v", res, err)
							return
						}
					}
				})
				b.StopTimer()
				if cpu := processCPU() - cpu0; cpu > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}

// redirectTo answers every request with code and Location loc.
func redirectTo(loc string, code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", loc)
		w.WriteHeader(code)
	}
}

// One Message sent at once to several destinations by many goroutines (a
// record fanned out to many triggers) reaches each destination, at its own
// path and query, with the Message's header and body every time: the fast
// path's per-Message header and per-destination URI are shared and only
// copied from.
func TestFastConcurrentSendsOfOneMessage(t *testing.T) {
	s := pathSender(t, "fast")
	type got struct{ path, query, id, body string }
	seen := make(chan got, 256)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- got{r.URL.Path, r.URL.RawQuery, r.Header.Get("Ce-Id"), string(b)}
	}))
	t.Cleanup(srv.Close)
	m := NewMessage(testEvent())
	dests := []string{srv.URL + "/a?x=1", srv.URL + "/b/c", srv.URL + "/d%2Fe"}
	var wg sync.WaitGroup
	const per = 40
	for i := range per * len(dests) {
		wg.Go(func() {
			res, err := s.SendMessage(context.Background(), m, dests[i%len(dests)], Policy{}, nil)
			if err != nil || res.Outcome != OutcomeDelivered {
				t.Errorf("send %d: %v, %v", i, res.Outcome, err)
			}
		})
	}
	wg.Wait()
	close(seen)
	counts := map[string]int{}
	for g := range seen {
		if g.id != "evt-1" || g.body != `{"hello":"world"}` {
			t.Errorf("%s: id %q, body %q", g.path, g.id, g.body)
		}
		counts[g.path+"?"+g.query]++
	}
	want := map[string]int{"/a?x=1": per, "/b/c?": per, "/d/e?": per}
	if !maps.Equal(counts, want) {
		t.Errorf("requests per destination %v, want %v", counts, want)
	}
}
