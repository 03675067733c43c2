package dispatcher

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/weft-dev/weft/pkg/cekafka"
	"github.com/weft-dev/weft/pkg/wire"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// An HTTPPollerSource's polls are made by exactly one dispatcher: the member
// of the fleet's group that owns partition 0 of the source's one-partition
// topic, like a PingSource's ticks (ping.go). While it owns it, its reader
// runs a poller:
//
//   - on gaining the partition, the poller reads the topic's last record and
//     its wire.HeaderPollTime, the last successful poll made by anyone, and
//     waits until one interval after it (at once when that is past or the
//     topic is empty) — so a takeover never polls twice within one interval;
//   - each poll is one HTTP request (the source's method, headers, basic
//     authentication, TLS settings) with a timeout below the interval
//     (pollTimeout). A 2xx response's body (at most maxPollBody) becomes
//     one event: the source's type and source, time = when the request was
//     sent, id derived from the source's uid and that time, datacontenttype
//     the response's Content-Type, the ceOverrides extensions. It is
//     produced as one record (header and key = the poll time) acks=all,
//     retried until stored or the partition is lost; the next poll is one
//     interval after this one was sent;
//   - a failed poll (a network error, a non-2xx status, a body too large)
//     produces nothing: it is logged and retried with exponential backoff
//     and jitter, capped at the interval, and reported as an EgressProblem
//     (reason ReasonPollFailed, under the source's uid) so the source's
//     status shows it, until a poll succeeds;
//   - on losing the partition the poller stops (an unfinished request is
//     abandoned, its event never produced) and is waited for before the
//     partition moves on (revocation).
//
// A poll whose record could not be stored before the partition moved is
// not known to the next owner, which may poll again within that interval;
// its event is then delivered once, from the next owner's record.

// ReasonPollFailed is the HTTPPollerSource condition reason for an
// endpoint whose polls fail.
const ReasonPollFailed = "PollFailed"

const (
	// maxPollBody bounds a response body: the event is one Kafka record,
	// which the topic's max.message.bytes (Kafka's default: 1 MiB) bounds.
	maxPollBody = 1<<20 - 64<<10
	// maxPollTimeout caps a request's timeout (pollTimeout).
	maxPollTimeout = time.Minute
)

// errBodyTooLarge fails a poll whose response body exceeds maxPollBody.
var errBodyTooLarge = fmt.Errorf("response body larger than %d bytes", maxPollBody)

// pollPlan is an HTTPPollerSource's compiled poll.
type pollPlan struct {
	spec     *weftv1.HTTPPoller
	uid      string
	interval time.Duration
	roots    *x509.CertPool // the system's roots plus the source's CA; nil: the system's
}

func compilePoller(in *weftv1.Ingress) (*pollPlan, error) {
	p := in.GetPoller()
	if p == nil {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: HTTPPollerSource %s/%s: %s", ErrInvalidContract, in.GetNamespace(), in.GetName(), fmt.Sprintf(format, args...))
	}
	if p.GetIntervalMs() <= 0 {
		return nil, bad("interval_ms %d: must be positive", p.GetIntervalMs())
	}
	u, err := url.Parse(p.GetEndpoint())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("endpoint %q: not an http or https URL", p.GetEndpoint())
	}
	if p.GetMethod() == "" {
		return nil, bad("no method")
	}
	plan := &pollPlan{spec: p, uid: in.GetUid(), interval: time.Duration(p.GetIntervalMs()) * time.Millisecond}
	if ca := p.GetCaCertificate(); ca != "" {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM([]byte(ca)) {
			return nil, bad("ca_certificate: no PEM certificate")
		}
		plan.roots = roots
	}
	return plan, nil
}

// same says whether q polls exactly as p does.
func (p *pollPlan) same(q *pollPlan) bool {
	return p != nil && q != nil && p.uid == q.uid && proto.Equal(p.spec, q.spec)
}

// pollTimeout is a request's timeout: four fifths of the interval, at most
// maxPollTimeout, so a slow endpoint never makes two requests overlap.
func pollTimeout(interval time.Duration) time.Duration {
	return min(interval*4/5, maxPollTimeout)
}

// httpClient is the client of the plan's requests: its own transport (the
// source's TLS settings), no cookies, no shared connections.
func (p *pollPlan) httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{
		InsecureSkipVerify: p.spec.GetSkipVerify(), //nolint:gosec // the source's spec.skipVerify asks for it
		RootCAs:            p.roots,
		MinVersion:         tls.VersionTLS12,
	}
	return &http.Client{Transport: tr, Timeout: pollTimeout(p.interval)}
}

// pollResult is one successful poll.
type pollResult struct {
	body        []byte
	contentType string
}

// poll sends one request and reads a 2xx response; anything else is an
// error saying what went wrong.
func (p *pollPlan) poll(ctx context.Context, cl *http.Client) (pollResult, error) {
	sp := p.spec
	req, err := http.NewRequestWithContext(ctx, sp.GetMethod(), sp.GetEndpoint(), nil)
	if err != nil {
		return pollResult{}, err
	}
	for k, v := range sp.GetHeaders() {
		req.Header.Set(k, v)
	}
	if u := sp.GetBasicAuthUsername(); u != "" {
		req.SetBasicAuth(u, sp.GetBasicAuthPassword())
	}
	resp, err := cl.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the method and URL are in the message already
		}
		return pollResult{}, fmt.Errorf("%s %s: %w", sp.GetMethod(), sp.GetEndpoint(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody+1))
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return pollResult{}, fmt.Errorf("%s %s: %s", sp.GetMethod(), sp.GetEndpoint(), resp.Status)
	case err != nil:
		return pollResult{}, fmt.Errorf("%s %s: read the response: %w", sp.GetMethod(), sp.GetEndpoint(), err)
	case len(body) > maxPollBody:
		return pollResult{}, fmt.Errorf("%s %s: %w", sp.GetMethod(), sp.GetEndpoint(), errBodyTooLarge)
	}
	return pollResult{body: body, contentType: resp.Header.Get("Content-Type")}, nil
}

// event is the event of the poll sent at at.
func (p *pollPlan) event(at time.Time, res pollResult) *event.Event {
	sp := p.spec
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(uuid.NewSHA1(uuid.NameSpaceURL, []byte(p.uid+"/poll/"+at.UTC().Format(time.RFC3339Nano))).String())
	e.SetType(sp.GetType())
	e.SetSource(sp.GetSource())
	e.SetTime(at)
	if res.contentType != "" {
		e.SetDataContentType(res.contentType)
	}
	if len(res.body) > 0 {
		e.DataEncoded = res.body
	}
	for k, v := range sp.GetExtensions() {
		e.SetExtension(k, v)
	}
	return &e
}

// pollerOf is the HTTPPollerSource poll among specs (nil for a retry topic).
func pollerOf(specs []*egressSpec, retry bool) *pollPlan {
	if retry {
		return nil
	}
	for _, s := range specs {
		if s.poll != nil {
			return s.poll
		}
	}
	return nil
}

// pollerTask is a reader's poller: the plan of its topic's source (nil:
// none) and, while the reader owns partition 0, the running poller.
type pollerTask struct {
	plan atomic.Pointer[pollPlan]

	mu     sync.Mutex // guards cancel and done
	cancel context.CancelFunc
	done   chan struct{}

	problem atomic.Pointer[pollFailure] // nil while polls succeed
}

// pollFailure is a poller's current failure.
type pollFailure struct {
	err      error
	since    time.Time
	attempts int
}

// startPoller runs the poller of the reader's HTTPPollerSource while the
// reader owns partition 0; idempotent.
func (r *reader) startPoller() {
	pt := &r.poller
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.cancel != nil || pt.plan.Load() == nil {
		return
	}
	ctx, cancel := context.WithCancel(r.workCtx)
	done := make(chan struct{})
	pt.cancel, pt.done = cancel, done
	go func() {
		defer close(done)
		r.runPoller(ctx)
	}()
}

// stopPoller stops the poller and waits for it: a poll in flight is
// abandoned, its record either stored or never produced, when it returns.
func (r *reader) stopPoller() {
	pt := &r.poller
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.cancel == nil {
		return
	}
	pt.cancel()
	<-pt.done
	pt.cancel, pt.done = nil, nil
	pt.problem.Store(nil) // the next owner reports its own
}

// polling says whether the reader runs its poller.
func (r *reader) polling() bool {
	r.poller.mu.Lock()
	defer r.poller.mu.Unlock()
	return r.poller.cancel != nil
}

// updatePoller takes the topic's new egresses: a source gone stops the
// poller; a changed one restarts it, from the last poll.
func (r *reader) updatePoller(specs []*egressSpec) {
	np := pollerOf(specs, r.retry)
	if np == nil {
		r.poller.plan.Store(nil)
		r.stopPoller()
		return
	}
	if old := r.poller.plan.Load(); old.same(np) {
		return // keep the running poller
	}
	r.poller.plan.Store(np)
	r.stopPoller()
	if r.ownsPingPartition() {
		r.startPoller()
	}
}

func (r *reader) runPoller(ctx context.Context) {
	plan := r.poller.plan.Load()
	var last time.Time
	for attempt := 0; ; attempt++ {
		var err error
		last, err = r.lastRecordTime(ctx, wire.HeaderPollTime)
		if err == nil {
			break
		}
		r.logger.Warn("read the last poll of an HTTPPollerSource", "err", err)
		if !sleep(ctx, min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second)) {
			return
		}
	}
	cl := plan.httpClient()
	defer cl.CloseIdleConnections()
	next := time.Now()
	if !last.IsZero() {
		next = last.Add(plan.interval)
	}
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     min(time.Second, plan.interval/4),
		RandomizationFactor: 0.2,
		Multiplier:          2,
		MaxInterval:         plan.interval,
	}
	r.logger.Info("running HTTPPollerSource", "endpoint", plan.spec.GetEndpoint(), "interval", plan.interval, "last_poll", last, "next_poll", next)
	for {
		if !sleep(ctx, time.Until(next)) {
			return
		}
		at := time.Now()
		res, err := plan.poll(ctx, cl)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			f := &pollFailure{err: err, since: at, attempts: 1}
			if prev := r.poller.problem.Load(); prev != nil {
				f.since, f.attempts = prev.since, prev.attempts+1
			}
			r.poller.problem.Store(f)
			wait := min(bo.NextBackOff(), plan.interval)
			r.logger.Warn("HTTPPollerSource poll failed", "err", err, "attempts", f.attempts, "retry_in", wait)
			next = time.Now().Add(wait)
			continue
		}
		if r.poller.problem.Swap(nil) != nil {
			r.logger.Info("HTTPPollerSource polls succeed again", "endpoint", plan.spec.GetEndpoint())
		}
		bo.Reset()
		if !r.producePoll(ctx, plan, at, res) {
			return
		}
		next = at.Add(plan.interval)
	}
}

// producePoll writes the poll's record, retrying until it is stored (true)
// or ctx ends (false).
func (r *reader) producePoll(ctx context.Context, plan *pollPlan, at time.Time, res pollResult) bool {
	ts := at.UTC().Format(time.RFC3339Nano)
	for attempt := 0; ; attempt++ {
		rec, err := cekafka.ToRecord(r.topic, plan.event(at, res))
		if err != nil {
			r.logger.Error("encode an HTTPPollerSource event", "err", err)
			return true // not retryable; the next poll goes on
		}
		rec.Key = []byte(ts)
		rec.Partition = 0
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: wire.HeaderPollTime, Value: []byte(ts)})
		err = r.d.producer.ProduceSync(ctx, rec).FirstErr()
		if err == nil {
			r.logger.Debug("HTTPPollerSource poll stored", "poll_time", ts, "bytes", len(res.body))
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		r.logger.Warn("produce an HTTPPollerSource event", "poll_time", ts, "err", err)
		if !sleep(ctx, min(time.Duration(attempt+1)*100*time.Millisecond, 2*time.Second)) {
			return false
		}
	}
}

// pollProblems are the failures of the pollers this dispatcher runs, one
// per source (under its uid, the uid of its egress).
func (d *Dispatcher) pollProblems() []*weftv1.EgressProblem {
	var out []*weftv1.EgressProblem
	for _, r := range d.readerList() {
		f := r.poller.problem.Load()
		plan := r.poller.plan.Load()
		if f == nil || plan == nil {
			continue
		}
		out = append(out, &weftv1.EgressProblem{
			Uid:    plan.uid,
			Reason: ReasonPollFailed,
			Message: fmt.Sprintf("%v (%d failed attempt(s) since %s; retried at most every %s)",
				f.err, f.attempts, f.since.UTC().Format(time.RFC3339), plan.interval),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Uid < out[j].Uid })
	return out
}
