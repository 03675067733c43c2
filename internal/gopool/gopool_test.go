package gopool

import (
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// goroutines is the number of goroutines beyond base once every goroutine
// of the bubble is blocked: the pool's workers, and its cleaner while any
// worker is idle.
func goroutines(base int) int {
	synctest.Wait()
	return runtime.NumGoroutine() - base
}

// goWaiting hands p n tasks that wait for release, counting them as they
// start and finish.
func goWaiting(p *Pool, n int, release <-chan struct{}, started, finished *atomic.Int32) {
	for range n {
		p.Go(func() {
			started.Add(1)
			<-release
			finished.Add(1)
		})
	}
}

func TestWorkerServesTheNextTaskThenExitsWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = time.Second
		p := New(idle)
		base := runtime.NumGoroutine()
		var ran atomic.Int32
		p.Go(func() { ran.Add(1) })
		if n := goroutines(base); n != 2 || ran.Load() != 1 {
			t.Fatalf("after one task: %d goroutines, %d tasks ran; want an idle worker and the cleaner, 1 task", n, ran.Load())
		}
		time.Sleep(idle / 2)
		p.Go(func() { ran.Add(1) })
		if n := goroutines(base); n != 2 || ran.Load() != 2 {
			t.Fatalf("after a second task: %d goroutines, %d tasks ran; want the same worker and the cleaner, 2 tasks", n, ran.Load())
		}
		// The cleaner's first round, idle after the first task, finds the
		// worker idle only half that long: it stays.
		time.Sleep(idle / 2)
		if n := goroutines(base); n != 2 {
			t.Fatalf("%s after its last task: %d goroutines, want 2", idle/2, n)
		}
		// The next round finds it idle longer than idle: the worker exits,
		// and the cleaner with it (nothing left idle).
		time.Sleep(idle)
		if n := goroutines(base); n != 0 {
			t.Fatalf("%s after its last task: %d goroutines, want 0", idle+idle/2, n)
		}
		// The pool starts over.
		p.Go(func() { ran.Add(1) })
		if n := goroutines(base); n != 2 || ran.Load() != 3 {
			t.Fatalf("a task after the pool emptied: %d goroutines, %d tasks ran; want 2 and 3", n, ran.Load())
		}
		p.Close()
		if n := goroutines(base); n != 0 {
			t.Fatalf("after Close: %d goroutines, want 0", n)
		}
	})
}

func TestGoNeverWaitsForABusyWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(time.Second)
		base := runtime.NumGoroutine()
		release := make(chan struct{})
		var started, finished atomic.Int32
		goWaiting(p, 3, release, &started, &finished)
		if n := goroutines(base); n != 3 || started.Load() != 3 {
			t.Fatalf("3 blocking tasks: %d goroutines, %d started; want 3 workers and 3", n, started.Load())
		}
		close(release)
		if n := goroutines(base); n != 4 {
			t.Fatalf("after the tasks: %d goroutines, want 3 idle workers and the cleaner", n)
		}
		// Three more tasks go to the three idle workers.
		for range 3 {
			p.Go(func() { started.Add(1) })
		}
		if n := goroutines(base); n != 4 || started.Load() != 6 {
			t.Fatalf("3 more tasks: %d goroutines, %d started; want 4 and 6", n, started.Load())
		}
		p.Close()
		if n := goroutines(base); n != 0 {
			t.Fatalf("after Close: %d goroutines, want 0 (idle workers and the cleaner exit at once)", n)
		}
		// A task handed over after Close still runs, and its worker exits.
		done := make(chan struct{})
		p.Go(func() { close(done) })
		<-done
		if n := goroutines(base); n != 0 {
			t.Fatalf("a task after Close left %d goroutines, want 0", n)
		}
		p.Close() // twice is harmless
	})
}

func TestCloseWhileTasksRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(time.Second)
		base := runtime.NumGoroutine()
		release := make(chan struct{})
		var started, finished atomic.Int32
		goWaiting(p, 2, release, &started, &finished)
		p.Close()
		if n := goroutines(base); n != 2 {
			t.Fatalf("Close with 2 tasks running: %d goroutines, want the 2 workers", n)
		}
		close(release)
		if n := goroutines(base); n != 0 || finished.Load() != 2 {
			t.Fatalf("after the tasks: %d goroutines, %d finished; want 0 and 2", n, finished.Load())
		}
	})
}
