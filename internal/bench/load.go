package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode is how events are posted.
type Mode string

// Modes of the CloudEvents HTTP binding.
const (
	Binary     Mode = "binary"
	Structured Mode = "structured"
	Batch      Mode = "batch"
)

// Load is one load profile against one or more URLs.
type Load struct {
	URLs        []string
	Mode        Mode
	Connections int
	Duration    time.Duration
	// Payload is the size of each event's data in bytes.
	Payload int
	// Types is the number of distinct event types (type-00, type-01, ...).
	Types int
	// BatchSize is events per request in batch mode.
	BatchSize int
	// Rate caps events per second across all connections (0: as fast as answered).
	Rate int
	// RunID prefixes every event id.
	RunID string
}

// LoadResult is what the load generator saw.
type LoadResult struct {
	Elapsed  time.Duration
	Requests int
	// Acked are the ids answered 202.
	Acked    []string
	Statuses map[string]int
	// Sent is when the load started.
	Start time.Time
}

// AcceptedPerSec is events answered 202 per second.
func (r *LoadResult) AcceptedPerSec() float64 {
	return float64(len(r.Acked)) / r.Elapsed.Seconds()
}

// Errors renders the non-202 answers, e.g. "503×12 error×1".
func (r *LoadResult) Errors() string {
	var parts []string
	for k, v := range r.Statuses {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// eventID encodes the send time, so a subscriber computes the end-to-end
// latency without a shared table: {run}-{worker}-{seq}-{unixnano}.
func eventID(run string, worker, seq int, sent time.Time) string {
	return run + "-" + strconv.Itoa(worker) + "-" + strconv.Itoa(seq) + "-" + strconv.FormatInt(sent.UnixNano(), 10)
}

func sentAt(id string) (time.Time, bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// payload is Payload bytes of JSON: {"d":"xxxx..."}.
func payload(n int) []byte {
	if n < 8 {
		n = 8
	}
	b := make([]byte, 0, n)
	b = append(b, `{"d":"`...)
	for len(b) < n-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// Run drives the load until Duration has passed and every request in flight
// is answered.
func (l Load) Run(ctx context.Context) (*LoadResult, error) {
	if len(l.URLs) == 0 || l.Connections < 1 || l.Duration <= 0 {
		return nil, fmt.Errorf("load: need URLs, connections >= 1 and a duration")
	}
	if l.Types < 1 {
		l.Types = 1
	}
	if l.Mode == Batch && l.BatchSize < 1 {
		l.BatchSize = 100
	}
	data := payload(l.Payload)
	client := newClient(l.Connections)
	defer client.CloseIdleConnections()
	type workerResult struct {
		acked    []string
		statuses map[string]int
		requests int
	}
	results := make([]workerResult, l.Connections)
	start := time.Now()
	deadline := start.Add(l.Duration)
	var perWorkerInterval time.Duration
	if l.Rate > 0 {
		perReq := 1
		if l.Mode == Batch {
			perReq = l.BatchSize
		}
		perWorkerInterval = time.Duration(float64(time.Second) * float64(l.Connections*perReq) / float64(l.Rate))
	}
	var wg sync.WaitGroup
	for w := 0; w < l.Connections; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			res := &results[w]
			res.statuses = map[string]int{}
			var body bytes.Buffer
			var ids []string
			for seq := 0; ; seq++ {
				now := time.Now()
				if perWorkerInterval > 0 {
					next := start.Add(time.Duration(seq) * perWorkerInterval)
					if d := next.Sub(now); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
						now = time.Now()
					}
				}
				if now.After(deadline) || ctx.Err() != nil {
					return
				}
				url := l.URLs[(w+seq)%len(l.URLs)]
				typ := fmt.Sprintf("type-%02d", (w*7919+seq)%l.Types)
				body.Reset()
				ids = ids[:0]
				req, err := l.request(url, typ, data, &body, &ids, w, seq, now)
				if err != nil {
					res.statuses["error"]++
					continue
				}
				resp, err := client.Do(req.WithContext(ctx))
				res.requests++
				if err != nil {
					res.statuses["error"]++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					res.acked = append(res.acked, ids...)
				} else {
					res.statuses[strconv.Itoa(resp.StatusCode)] += len(ids)
				}
			}
		}(w)
	}
	wg.Wait()
	out := &LoadResult{Elapsed: time.Since(start), Statuses: map[string]int{}, Start: start}
	if out.Elapsed > l.Duration {
		out.Elapsed = l.Duration // requests answered after the deadline were sent within it
	}
	for _, r := range results {
		out.Acked = append(out.Acked, r.acked...)
		out.Requests += r.requests
		for k, v := range r.statuses {
			out.Statuses[k] += v
		}
	}
	return out, nil
}

// request builds one request: a binary or structured event, or a batch.
func (l Load) request(url, typ string, data []byte, body *bytes.Buffer, ids *[]string, w, seq int, now time.Time) (*http.Request, error) {
	switch l.Mode {
	case Binary, "":
		id := eventID(l.RunID, w, seq, now)
		*ids = append(*ids, id)
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		h := req.Header
		h["Ce-Id"] = []string{id}
		h["Ce-Specversion"] = []string{"1.0"}
		h["Ce-Type"] = []string{typ}
		h["Ce-Source"] = []string{"weft-bench"}
		h["Content-Type"] = []string{"application/json"}
		return req, nil
	case Structured:
		id := eventID(l.RunID, w, seq, now)
		*ids = append(*ids, id)
		writeStructured(body, id, typ, data)
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body.Bytes()))
		if err != nil {
			return nil, err
		}
		req.Header["Content-Type"] = []string{"application/cloudevents+json"}
		return req, nil
	case Batch:
		body.WriteByte('[')
		for i := 0; i < l.BatchSize; i++ {
			if i > 0 {
				body.WriteByte(',')
			}
			id := eventID(l.RunID, w, seq*l.BatchSize+i, now)
			*ids = append(*ids, id)
			writeStructured(body, id, typ, data)
		}
		body.WriteByte(']')
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body.Bytes()))
		if err != nil {
			return nil, err
		}
		req.Header["Content-Type"] = []string{"application/cloudevents-batch+json"}
		return req, nil
	}
	return nil, fmt.Errorf("unknown mode %q", l.Mode)
}

func writeStructured(b *bytes.Buffer, id, typ string, data []byte) {
	b.WriteString(`{"specversion":"1.0","id":"`)
	b.WriteString(id)
	b.WriteString(`","type":"`)
	b.WriteString(typ)
	b.WriteString(`","source":"weft-bench","datacontenttype":"application/json","data":`)
	b.Write(data)
	b.WriteByte('}')
}
