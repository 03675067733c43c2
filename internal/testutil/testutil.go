// Package testutil holds what Weft's tests share, written once: polling for
// a condition, a synchronized buffer, HTTP helpers, a logger writing to the
// test log, and a Kafka-protocol server on a real loopback port.
package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/pkg/observability"
)

// Run runs run (a component's Run) on a goroutine with a context of its own
// until stop is called or, at the latest, the test ends; stop cancels that
// context, waits for run to return and reports an error it returned as a
// test error headed what. Only stop's first call does anything. It returns
// the context run got and stop.
func Run(t testing.TB, what string, run func(context.Context) error) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", what, err)
		}
	})
	t.Cleanup(stop)
	return ctx, stop
}

// PollInterval is how often Eventually checks its condition.
const PollInterval = 10 * time.Millisecond

// Eventually polls cond until it reports true, and fails the test when
// timeout passes first, naming what it waited for and the last detail cond
// gave (what may be empty when the detail says it all). Eventually-consistent state (status, deliveries, offsets) is read
// this way, never once and never after a sleep.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, detail string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			switch {
			case what == "":
				t.Fatalf("timed out after %s: %s", timeout, detail)
			case detail == "":
				t.Fatalf("timed out after %s waiting for %s", timeout, what)
			default:
				t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, detail)
			}
		}
		<-tick.C
	}
}

// SyncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Get fetches url and returns the status code and body, failing the test
// when there is no answer.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// Logger returns a logger writing to the test's log (shown when the test
// fails, or with -v) at the level WEFT_TEST_LOG names (debug, info, warn or
// error; default warn). Lines logged after the test ended are dropped.
func Logger(t testing.TB) *slog.Logger {
	t.Helper()
	level := os.Getenv("WEFT_TEST_LOG")
	if level == "" {
		level = "warn"
	}
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	l, err := observability.NewLogger(w, observability.LogConfig{Format: "text", Level: level})
	if err != nil {
		t.Fatalf("WEFT_TEST_LOG: %v", err)
	}
	return l
}

// testWriter forwards to t.Log until the test's cleanups run.
type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// JSON renders v as JSON for test messages.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
