// Package gopool runs short tasks on goroutines that outlive them.
//
// A goroutine starts with a small stack and grows it by copying as the task
// goes deeper (an HTTP round trip does); one that exits gives the grown
// stack back, and the next task grows a new one. At tens of thousands of
// tasks a second (a delivery each) the copying, and the goroutine
// creation, were a measurable share of the dispatcher's CPU. A Pool keeps
// each worker, with its stack, for the next task for a while.
//
// Handing a task over costs a mutex and a send on the worker's own channel:
// an idle worker waits on that channel alone, with no timer of its own
// (a select over a shared channel, a timer and a stop channel, reset per
// task, cost more than the stack it saved). One cleaner goroutine, running
// only while the pool has idle workers, retires those idle too long.
package gopool

import (
	"sync"
	"time"
)

// DefaultIdle is how long a worker waits for its next task before it exits.
const DefaultIdle = 5 * time.Second

// Pool runs tasks on idle workers, starting a worker when none is idle. It
// holds no limit of its own: callers bound their own concurrency. The zero
// value is not usable; see New.
type Pool struct {
	idle time.Duration

	mu       sync.Mutex
	ready    []*worker // idle workers, the longest idle first
	cleaning bool      // the cleaner runs
	closed   bool
	stop     chan struct{} // closed by Close: ends the cleaner
}

type worker struct {
	tasks chan func() // a nil task retires the worker; never more than one queued
	since time.Time   // idle since (while in ready)
}

// New is a pool whose workers exit after idle without a task (DefaultIdle
// when idle <= 0); a worker idle that long exits within another idle.
func New(idle time.Duration) *Pool {
	if idle <= 0 {
		idle = DefaultIdle
	}
	return &Pool{idle: idle, stop: make(chan struct{})}
}

// Go runs f on the most recently idle worker, or on a new one when none is
// idle. It never blocks.
func (p *Pool) Go(f func()) {
	p.mu.Lock()
	n := len(p.ready)
	if n == 0 {
		p.mu.Unlock()
		go p.work(&worker{tasks: make(chan func(), 1)}, f)
		return
	}
	w := p.ready[n-1]
	p.ready[n-1] = nil
	p.ready = p.ready[:n-1]
	p.mu.Unlock()
	w.tasks <- f
}

func (p *Pool) work(w *worker, f func()) {
	for f != nil {
		f()
		if !p.park(w) {
			return
		}
		f = <-w.tasks
	}
}

// park makes w idle; false when the pool is closed (w exits).
func (p *Pool) park(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	w.since = time.Now()
	p.ready = append(p.ready, w)
	if !p.cleaning {
		p.cleaning = true
		go p.clean()
	}
	return true
}

// clean retires, every idle, the workers idle that long, and ends when
// none is left idle or the pool closes.
func (p *Pool) clean() {
	t := time.NewTicker(p.idle)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-p.stop:
			return
		}
		p.mu.Lock()
		cut := time.Now().Add(-p.idle)
		n := 0
		for n < len(p.ready) && !p.ready[n].since.After(cut) {
			p.ready[n].tasks <- nil // buffered, and an idle worker's is empty
			p.ready[n] = nil
			n++
		}
		p.ready = append(p.ready[:0], p.ready[n:]...)
		if len(p.ready) == 0 {
			p.cleaning = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// Close lets idle workers exit now; running tasks finish and their workers
// exit. Tasks handed to Go afterwards still run (on workers of their own).
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	close(p.stop)
	for i, w := range p.ready {
		w.tasks <- nil
		p.ready[i] = nil
	}
	p.ready = nil
}
