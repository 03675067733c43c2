package ingress_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/weft-dev/weft/internal/cmdutil"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/ingress"
	"github.com/weft-dev/weft/pkg/kafka"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// runIngress runs an Ingress with cfg on ln (nil: a port of its own)
// serving a broker default/{name} for each name, each with its topic;
// the test's end stops it.
func runIngress(t *testing.T, kcfg kafka.Config, cfg ingress.Config, ln net.Listener, names ...string) *ingress.Ingress {
	t.Helper()
	_, adm := adminFor(t, kcfg)
	contract := contractOf(1)
	for _, n := range names {
		topic := "weft.broker.default." + n
		createTopic(t, adm, topic, 1)
		contract.Ingresses = append(contract.Ingresses, brokerEntry("default", n, topic))
	}
	// Kafka is checked once, at start: a ping slowed down by the load of
	// the test (1,000 connections, -race) must not turn it "unreachable".
	cfg.KafkaCheckInterval = time.Minute
	opts := []ingress.Option{ingress.WithLogger(testutil.Logger(t))}
	if ln != nil {
		opts = append(opts, ingress.WithListener(ln))
	}
	in, err := ingress.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.ApplyContract(context.Background(), contract); err != nil {
		t.Fatal(err)
	}
	run(t, in)
	testutil.Eventually(t, 10*time.Second, "ingress ready", func() (bool, string) {
		err := in.Ready()
		return err == nil, fmt.Sprint(err)
	})
	return in
}

// A slowloris (1,000 connections sending their headers one byte a second)
// does not keep a normal client from storing events meanwhile, and the
// server closes every one of those connections once its header timeout
// has passed.
func TestSlowloris(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	cfg := testConfig(kcfg)
	const headerTimeout = 5 * time.Second
	cfg.ReadHeaderTimeout = headerTimeout
	in := runIngress(t, kcfg, cfg, nil, "slow")
	addr := in.Addr().String()

	const attackers = 1000
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var (
		wg       sync.WaitGroup
		closed   atomic.Int64             // connections the server closed
		heldFor  [attackers]time.Duration // from dial to the server's close (0: never closed)
		dialErrs atomic.Int64
	)
	// One byte a second of headers that never end.
	header := "POST /default/slow HTTP/1.1\r\nHost: weft\r\nX-Slow: "
	attack := func(i int, conn net.Conn, dialed time.Time) {
		defer conn.Close()
		buf := make([]byte, 1)
		for n := 0; ctx.Err() == nil; n++ {
			b := byte('a')
			if n < len(header) {
				b = header[n]
			}
			if _, err := conn.Write([]byte{b}); err != nil {
				heldFor[i] = time.Since(dialed)
				closed.Add(1)
				return
			}
			// Wait a second for the server to say or do anything.
			conn.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := conn.Read(buf); !isTimeout(err) {
				// EOF or reset: the server closed the connection (it
				// answers a header timeout with nothing).
				heldFor[i] = time.Since(dialed)
				closed.Add(1)
				return
			}
		}
	}
	start := time.Now()
	sem := make(chan struct{}, 50)
	var dials sync.WaitGroup
	for i := range attackers {
		sem <- struct{}{}
		dials.Go(func() {
			defer func() { <-sem }()
			dialed := time.Now() // before the server can start its timer
			conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				dialErrs.Add(1)
				return
			}
			wg.Go(func() { attack(i, conn, dialed) })
		})
	}
	dials.Wait()
	if n := dialErrs.Load(); n > 0 {
		t.Fatalf("%d of %d attack connections could not be made", n, attackers)
	}
	t.Logf("%d attack connections open in %v", attackers, time.Since(start).Round(time.Millisecond))

	// A normal client meanwhile: every event 202, each within a bound.
	const events, bound = 50, 2 * time.Second
	client := &http.Client{Timeout: 10 * time.Second}
	var slowest time.Duration
	for i := range events {
		t0 := time.Now()
		code, _, body, err := binaryPost(context.Background(), client, "http://"+addr+"/default/slow", fmt.Sprintf("e%d", i))
		d := time.Since(t0)
		slowest = max(slowest, d)
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("event %d during the attack: %d %q %v", i, code, body, err)
		}
		if d > bound {
			t.Errorf("event %d took %v during the attack, bound %v", i, d, bound)
		}
	}
	open := attackers - closed.Load()
	t.Logf("%d events stored during the attack, slowest %v; %d attack connections still open then", events, slowest.Round(time.Millisecond), open)
	if open < attackers/2 {
		t.Fatalf("only %d attack connections were open while the client posted: the attack was not on", open)
	}

	// Every attack connection is closed by the server after the header
	// timeout: none is left when the timeout (plus slack for a loaded
	// machine) has passed since the last one was made.
	testutil.Eventually(t, headerTimeout+10*time.Second, "the server closes every slowloris connection", func() (bool, string) {
		n := closed.Load()
		return n == attackers, fmt.Sprintf("%d of %d closed", n, attackers)
	})
	stop()
	wg.Wait()
	var first, last time.Duration
	for i, d := range heldFor {
		if i == 0 || d < first {
			first = d
		}
		last = max(last, d)
	}
	t.Logf("connections held %v to %v", first.Round(time.Millisecond), last.Round(time.Millisecond))
	if first < headerTimeout-200*time.Millisecond {
		t.Errorf("a connection was closed after %v, before the header timeout of %v", first, headerTimeout)
	}
	if limit := headerTimeout + 5*time.Second; last > limit {
		t.Errorf("a connection was held %v, more than the header timeout of %v (limit %v)", last, headerTimeout, limit)
	}
	// And the ingress still serves.
	if code, _, body, err := binaryPost(context.Background(), client, "http://"+addr+"/default/slow", "after"); err != nil || code != http.StatusAccepted {
		t.Fatalf("after the attack: %d %q %v", code, body, err)
	}
}

// isTimeout reports whether err is a timeout (not data, EOF or a reset).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// countingListener counts the bytes the server reads from its connections
// and the connections it closed.
type countingListener struct {
	net.Listener
	read   atomic.Int64
	closed atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Close() error {
	c.once.Do(func() { c.l.closed.Add(1) })
	return c.Conn.Close()
}

// A body over the limit is refused 413 as soon as the limit is passed,
// without the server reading (or holding) the rest: the test streams an
// endless body, never held in memory, and counts what the server read.
func TestHugeBody(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	cfg := testConfig(kcfg)
	cfg.MaxEventBytes = 64 << 10
	cfg.MaxBatchBytes = 256 << 10
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	in := runIngress(t, kcfg, cfg, cl, "huge")
	addr := in.Addr().String()

	const binary = "Ce-Specversion: 1.0\r\nCe-Id: 1\r\nCe-Source: /t\r\nCe-Type: t\r\nContent-Type: application/octet-stream\r\n"
	const slack = 16 << 10 // headers, chunk framing, the server's 4 KiB read buffer
	for _, tc := range []struct {
		name, headers, prefix string
		declared              bool // Content-Length (huge) rather than chunked
		limit                 int64
	}{
		{"binary chunked", binary, "", false, cfg.MaxEventBytes},
		{"binary declared", binary, "", true, cfg.MaxEventBytes},
		{"structured chunked", "Content-Type: application/cloudevents+json\r\n", `{"specversion":"1.0","id":"1","source":"/t","type":"t","data":"`, false, cfg.MaxEventBytes},
		{"structured declared", "Content-Type: application/cloudevents+json\r\n", `{"specversion":"1.0","id":"1","source":"/t","type":"t","data":"`, true, cfg.MaxEventBytes},
		{"batch chunked", "Content-Type: application/cloudevents-batch+json\r\n", `[{"specversion":"1.0","id":"1","source":"/t","type":"t","data":"`, false, cfg.MaxBatchBytes},
		{"batch declared", "Content-Type: application/cloudevents-batch+json\r\n", `[{"specversion":"1.0","id":"1","source":"/t","type":"t","data":"`, true, cfg.MaxBatchBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readBefore, closedBefore := cl.read.Load(), cl.closed.Load()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			framing := "Transfer-Encoding: chunked\r\n"
			if tc.declared {
				framing = "Content-Length: 10737418240\r\n" // 10 GiB
			}
			if _, err := io.WriteString(conn, "POST /default/huge HTTP/1.1\r\nHost: weft\r\n"+tc.headers+framing+"\r\n"); err != nil {
				t.Fatal(err)
			}
			// Stream the body until the server stops taking it (at most
			// 1 GiB, so the test ends even if it never did).
			var sent atomic.Int64
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer func() { stop(); conn.Close(); wg.Wait() }()
			wg.Go(func() {
				chunk := []byte(strings.Repeat("x", 32<<10))
				first := []byte(tc.prefix + string(chunk[len(tc.prefix):]))
				for i := 0; ctx.Err() == nil && sent.Load() < 1<<30; i++ {
					c := chunk
					if i == 0 {
						c = first
					}
					if !tc.declared {
						if _, err := fmt.Fprintf(conn, "%x\r\n", len(c)); err != nil {
							return
						}
					}
					n, err := conn.Write(c)
					sent.Add(int64(n))
					if err != nil {
						return
					}
					if !tc.declared {
						if _, err := io.WriteString(conn, "\r\n"); err != nil {
							return
						}
					}
				}
			})
			start := time.Now()
			conn.SetReadDeadline(start.Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the answer: %v (the server read %d bytes)", err, cl.read.Load()-readBefore)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "too large") {
				t.Fatalf("answer %d %q, want 413 too large", resp.StatusCode, body)
			}
			if took > 5*time.Second {
				t.Errorf("413 took %v", took)
			}
			// The server closes the connection rather than reading the
			// rest of the body.
			testutil.Eventually(t, 10*time.Second, "the server closes the connection", func() (bool, string) {
				return cl.closed.Load() > closedBefore, ""
			})
			read := cl.read.Load() - readBefore
			t.Logf("413 after %v: %q; server read %d bytes (limit %d), client had sent %d", took.Round(time.Millisecond), strings.TrimSpace(string(body)), read, tc.limit, sent.Load())
			limit := tc.limit + slack
			if tc.declared {
				limit = slack // refused on its Content-Length, before reading the body
			}
			if read > limit {
				t.Errorf("the server read %d bytes of a request over the limit of %d: want at most %d", read, tc.limit, limit)
			}
		})
	}
}

// A broker over its rate limit answers 429 with Retry-After and stores
// nothing; under it every event is stored; another broker is unaffected.
func TestRateLimit(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	cfg := testConfig(kcfg)
	const perSecond, burst = 10, 5
	cfg.RateLimitPerBroker, cfg.RateLimitBurst = perSecond, burst
	in := runIngress(t, kcfg, cfg, nil, "limited", "other")
	base := "http://" + in.Addr().String()
	_, adm := adminFor(t, kcfg)
	limited := newTopicReader(t, kcfg, adm, "weft.broker.default.limited")
	other := newTopicReader(t, kcfg, adm, "weft.broker.default.other")
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path, id string) (int, http.Header, string) {
		t.Helper()
		code, h, body, err := binaryPost(context.Background(), client, base+path, id)
		if err != nil {
			t.Fatal(err)
		}
		return code, h, body
	}
	batch := func(path string, n int) (int, http.Header, string) {
		t.Helper()
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"specversion":"1.0","id":"batch-%d","source":"/t","type":"t"}`, i)
		}
		b.WriteString("]")
		resp, err := client.Post(base+path, "application/cloudevents-batch+json", strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}

	// Under the limit: paced below the rate, every event is stored.
	tick := time.NewTicker(time.Second / (perSecond / 2))
	defer tick.Stop()
	var stored []string
	for i := range 10 {
		<-tick.C
		id := fmt.Sprintf("paced-%d", i)
		if code, _, body := post("/default/limited", id); code != http.StatusAccepted {
			t.Fatalf("paced event %d at half the rate: %d %q", i, code, body)
		}
		stored = append(stored, id)
	}
	tick.Stop()

	// Over it: 3x the bucket at once. The bucket's events pass, the rest
	// get 429 + Retry-After and are not stored.
	type answer struct {
		id, body string
		code     int
		h        http.Header
	}
	answers := make(chan answer, 3*burst)
	var wg sync.WaitGroup
	for i := range 3 * burst {
		wg.Go(func() {
			id := fmt.Sprintf("burst-%d", i)
			code, h, body, err := binaryPost(context.Background(), client, base+"/default/limited", id)
			if err != nil {
				code, body = -1, err.Error()
			}
			answers <- answer{id, body, code, h}
		})
	}
	wg.Wait()
	close(answers)
	var refused int
	for a := range answers {
		switch a.code {
		case http.StatusAccepted:
			stored = append(stored, a.id)
		case http.StatusTooManyRequests:
			refused++
			if ra := a.h.Get("Retry-After"); ra != "1" {
				t.Errorf("429 Retry-After = %q, want 1 (a token frees in 1/%d s, rounded up)", ra, perSecond)
			}
			if !strings.Contains(a.body, "rate limit reached") {
				t.Errorf("429 body %q", a.body)
			}
		default:
			t.Fatalf("%s: %d %q", a.id, a.code, a.body)
		}
	}
	if refused < burst {
		t.Errorf("%d of %d simultaneous events refused, want at least %d", refused, 3*burst, burst)
	}
	// A batch takes one token per event: larger than the bucket, it could
	// never pass (413); within it but over what is left, 429.
	if code, _, body := batch("/default/limited", burst+1); code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "rate-limit burst of 5") {
		t.Errorf("batch over the burst: %d %q, want 413 naming the burst", code, body)
	}
	if code, h, body := batch("/default/limited", burst); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Errorf("batch right after the burst: %d %q (Retry-After %q), want 429", code, body, h.Get("Retry-After"))
	}
	// The other broker has its own bucket.
	for i := range burst {
		if code, _, body := post("/default/other", fmt.Sprintf("other-%d", i)); code != http.StatusAccepted {
			t.Errorf("the other broker, event %d: %d %q", i, code, body)
		}
	}
	// Once tokens are back, events pass again.
	testutil.Eventually(t, 5*time.Second, "the limited broker accepts again", func() (bool, string) {
		code, _, body := post("/default/limited", "later")
		if code == http.StatusAccepted {
			stored = append(stored, "later")
		}
		return code == http.StatusAccepted, body
	})

	got := idsOf(t, limited.next())
	slices.Sort(got)
	slices.Sort(stored)
	if !slices.Equal(got, stored) {
		t.Errorf("limited broker stored\n %v\nwant (the 202s only)\n %v", got, stored)
	}
	if got := idsOf(t, other.next()); len(got) != burst {
		t.Errorf("other broker stored %v, want %d events", got, burst)
	}
}

// A broker's own rate limit (its weft.dev/rate-limit annotations, carried
// by the contract) takes the place of the process's for that broker only.
// A contract that changes it starts a new bucket; one that keeps it keeps
// the bucket as it is; one that drops it gives the broker the process's
// limit again. Refused events are not stored.
func TestBrokerOwnRateLimit(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	cfg := testConfig(kcfg)
	// Rates of a token every 100 s: no bucket refills during the test.
	cfg.RateLimitPerBroker, cfg.RateLimitBurst = 0.01, 1
	in := runIngress(t, kcfg, cfg, nil, "own", "other")
	base := "http://" + in.Addr().String()
	_, adm := adminFor(t, kcfg)
	stored := newTopicReader(t, kcfg, adm, "weft.broker.default.own")
	apply := func(version uint64, own *weftv1.RateLimit) {
		t.Helper()
		e := brokerEntry("default", "own", "weft.broker.default.own")
		e.RateLimit = own
		c := contractOf(version, e, brokerEntry("default", "other", "weft.broker.default.other"))
		if err := in.ApplyContract(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	sent := 0
	// post sends n events one after the other and counts the 202s and 429s.
	post := func(path string, n int) (accepted, refused int) {
		t.Helper()
		for range n {
			sent++
			code, _, body, err := binaryPost(context.Background(), http.DefaultClient, base+path, fmt.Sprintf("e-%d", sent))
			switch {
			case err != nil:
				t.Fatal(err)
			case code == http.StatusAccepted:
				accepted++
			case code == http.StatusTooManyRequests:
				refused++
			default:
				t.Fatalf("POST %s: %d %q", path, code, body)
			}
		}
		return accepted, refused
	}
	check := func(what, path string, n, wantAccepted int) int {
		t.Helper()
		if a, r := post(path, n); a != wantAccepted || r != n-wantAccepted {
			t.Errorf("%s: %d accepted, %d refused of %d; want %d accepted", what, a, r, n, wantAccepted)
		}
		return wantAccepted
	}

	ownAccepted := 0
	apply(2, &weftv1.RateLimit{EventsPerSecond: 0.01, Burst: 3})
	ownAccepted += check("own limit, burst 3", "/default/own", 5, 3)
	check("the other broker, the process's limit (burst 1)", "/default/other", 3, 1)
	apply(3, &weftv1.RateLimit{EventsPerSecond: 0.01, Burst: 3})
	ownAccepted += check("the same limit applied again keeps the empty bucket", "/default/own", 2, 0)
	apply(4, &weftv1.RateLimit{EventsPerSecond: 0.01, Burst: 6})
	ownAccepted += check("a changed limit, burst 6, is a new bucket", "/default/own", 8, 6)
	apply(5, nil)
	ownAccepted += check("without its own limit, the process's again", "/default/own", 3, 1)

	if got := len(stored.next()); got != ownAccepted {
		t.Errorf("the broker's topic holds %d events, want the %d accepted", got, ownAccepted)
	}
}

// Retry-After is the whole seconds, rounded up, until the refused events'
// tokens are back.
func TestRateLimitRetryAfter(t *testing.T) {
	srv := testutil.StartKafka(t)
	kcfg := testutil.KafkaConfig(srv)
	cfg := testConfig(kcfg)
	cfg.RateLimitPerBroker = 0.4 // a token every 2.5s
	in := runIngress(t, kcfg, cfg, nil, "slow")
	url := "http://" + in.Addr().String() + "/default/slow"
	if code, _, body, err := binaryPost(context.Background(), http.DefaultClient, url, "first"); err != nil || code != http.StatusAccepted {
		t.Fatalf("first event: %d %q %v", code, body, err)
	}
	code, h, body, err := binaryPost(context.Background(), http.DefaultClient, url, "second")
	if err != nil || code != http.StatusTooManyRequests || h.Get("Retry-After") != "3" {
		t.Fatalf("second event: %d %q (Retry-After %q) %v, want 429 with Retry-After 3", code, body, h.Get("Retry-After"), err)
	}
}

func TestServerLimitsConfig(t *testing.T) {
	cfg := ingress.DefaultConfig()
	// Defaults: the largest batch (4 MiB) at the slowest rate (64 KiB/s)
	// after the header timeout; the answer after the produce timeout.
	if got, want := cfg.EffectiveReadTimeout(), 10*time.Second+64*time.Second; got != want {
		t.Errorf("default read timeout %v, want %v", got, want)
	}
	if got, want := cfg.EffectiveWriteTimeout(), 74*time.Second+10*time.Second+5*time.Second; got != want {
		t.Errorf("default write timeout %v, want %v", got, want)
	}
	if cfg.RateLimitPerBroker != 0 {
		t.Errorf("rate limit on by default: %v", cfg.RateLimitPerBroker)
	}
	for _, tc := range []struct {
		flag, want string
		mutate     func(*ingress.Config)
	}{
		{"--read-header-timeout", "must be greater than 0", func(c *ingress.Config) { c.ReadHeaderTimeout = 0 }},
		{"--read-timeout", "at least --read-header-timeout", func(c *ingress.Config) { c.ReadTimeout = time.Second }},
		{"--write-timeout", "at least the read timeout plus --produce-timeout (1m24s)", func(c *ingress.Config) { c.WriteTimeout = time.Minute }},
		{"--min-body-rate", "must be greater than 0", func(c *ingress.Config) { c.MinBodyRate = 0 }},
		{"--idle-timeout", "must be greater than 0", func(c *ingress.Config) { c.IdleTimeout = 0 }},
		{"--max-header-bytes", "at least 4096", func(c *ingress.Config) { c.MaxHeaderBytes = 100 }},
		{"--rate-limit-per-broker", "at least 0", func(c *ingress.Config) { c.RateLimitPerBroker = -1 }},
		{"--rate-limit-per-broker", "finite", func(c *ingress.Config) { c.RateLimitPerBroker = math.Inf(1) }},
		{"--rate-limit-burst", "at least 0", func(c *ingress.Config) { c.RateLimitBurst = -1 }},
	} {
		cfg := ingress.DefaultConfig()
		tc.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.flag+": ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want %q", tc.flag, err, tc.want)
		}
	}

	t.Setenv("WEFT_READ_HEADER_TIMEOUT", "3s")
	t.Setenv("WEFT_RATE_LIMIT_PER_BROKER", "250")
	t.Setenv("WEFT_RATE_LIMIT_BURST", "1000")
	cfg = ingress.DefaultConfig()
	fs := pflag.NewFlagSet("ingress", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse([]string{"--max-header-bytes", "8192", "--read-timeout", "20s"}); err != nil {
		t.Fatal(err)
	}
	if err := cmdutil.ApplyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if cfg.ReadHeaderTimeout != 3*time.Second || cfg.RateLimitPerBroker != 250 || cfg.RateLimitBurst != 1000 ||
		cfg.MaxHeaderBytes != 8192 || cfg.EffectiveReadTimeout() != 20*time.Second || cfg.EffectiveWriteTimeout() != 35*time.Second {
		t.Errorf("flags and env not applied: %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}
