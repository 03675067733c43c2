package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadResult is what a load generator saw: every id answered 202, and the
// count of other answers by status ("error" for no answer at all).
type loadResult struct {
	mu       sync.Mutex
	acked    map[string]bool
	statuses map[string]int
	// ackedAt counts 202s per target URL.
	ackedAt map[string]int
	sent    atomic.Int64
}

func newLoadResult() *loadResult {
	return &loadResult{acked: map[string]bool{}, statuses: map[string]int{}, ackedAt: map[string]int{}}
}

var loadClient = &http.Client{Timeout: 20 * time.Second}

// postLoadEvent posts one binary-mode event and records the answer.
func (res *loadResult) postLoadEvent(url, id, typ string) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"n":1}`))
	req.Header.Set("Ce-Id", id)
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Type", typ)
	req.Header.Set("Ce-Source", "e2e")
	req.Header.Set("Content-Type", "application/json")
	res.sent.Add(1)
	resp, err := loadClient.Do(req)
	res.mu.Lock()
	switch {
	case err != nil:
		res.statuses["error"]++
	case resp.StatusCode == http.StatusAccepted:
		res.acked[id] = true
		res.ackedAt[url]++
	default:
		res.statuses[fmt.Sprint(resp.StatusCode)]++
	}
	res.mu.Unlock()
	if resp != nil {
		resp.Body.Close()
	}
}

// snapshot returns the ids acknowledged so far, the 202s per URL and the
// other answers.
func (res *loadResult) snapshot() (acked map[string]bool, ackedAt, statuses map[string]int) {
	res.mu.Lock()
	defer res.mu.Unlock()
	acked = make(map[string]bool, len(res.acked))
	for id := range res.acked {
		acked[id] = true
	}
	ackedAt, statuses = map[string]int{}, map[string]int{}
	for k, v := range res.ackedAt {
		ackedAt[k] = v
	}
	for k, v := range res.statuses {
		statuses[k] = v
	}
	return acked, ackedAt, statuses
}

// runLoad posts n events with unique ids from workers goroutines.
func runLoad(t *testing.T, url, prefix string, n, workers int) *loadResult {
	res := newLoadResult()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				res.postLoadEvent(url, fmt.Sprintf("%s-%05d", prefix, i), "load")
			}
		}()
	}
	wg.Wait()
	return res
}

// steadyLoad posts events with unique ids until stopped: each worker posts
// one event every pace, round-robin over urls.
type steadyLoad struct {
	*loadResult
	stop chan struct{}
	wg   sync.WaitGroup
}

func startSteadyLoad(urls []string, prefix, typ string, workers int, pace time.Duration) *steadyLoad {
	l := &steadyLoad{loadResult: newLoadResult(), stop: make(chan struct{})}
	var next atomic.Int64
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(pace)
			defer tick.Stop()
			for {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				i := next.Add(1) - 1
				l.postLoadEvent(urls[int(i)%len(urls)], fmt.Sprintf("%s-%06d", prefix, i), typ)
			}
		}()
	}
	return l
}

// Stop ends the load and waits for the requests in flight to be answered.
func (l *steadyLoad) Stop() {
	close(l.stop)
	l.wg.Wait()
}

// faultRow is one line of a fault table.
type faultRow struct {
	Scenario                                         string
	Sent, Acked, Errors, Delivered, Duplicates, Lost int
	Others                                           string
}

// tally compares what the load saw with what a subscriber received:
// deliveries maps each id with the scenario's prefix to its count.
func tally(scenario string, res *loadResult, deliveries map[string]int) faultRow {
	acked, _, statuses := res.snapshot()
	row := faultRow{Scenario: scenario, Sent: int(res.sent.Load()), Acked: len(acked)}
	var others []string
	for k, v := range statuses {
		row.Errors += v
		others = append(others, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(others)
	row.Others = strings.Join(others, " ")
	for _, n := range deliveries {
		row.Delivered++
		row.Duplicates += n - 1
	}
	for id := range acked {
		if deliveries[id] == 0 {
			row.Lost++
		}
	}
	return row
}

// missing counts the acknowledged ids not delivered yet.
func missing(acked map[string]bool, deliveries map[string]int) int {
	n := 0
	for id := range acked {
		if deliveries[id] == 0 {
			n++
		}
	}
	return n
}

func faultTable(rows []faultRow) string {
	var b strings.Builder
	b.WriteString("| scenario | sent | acknowledged (202) | other answers | delivered (distinct) | duplicates | lost |\n|---|---:|---:|---|---:|---:|---:|\n")
	for _, r := range rows {
		others := r.Others
		if others == "" {
			others = "none"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %d | %d | %d |\n", r.Scenario, r.Sent, r.Acked, others, r.Delivered, r.Duplicates, r.Lost)
	}
	return b.String()
}
