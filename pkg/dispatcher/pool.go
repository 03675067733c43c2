package dispatcher

import (
	"sync"
	"time"
)

// workerIdle is how long a pool worker waits for more work before it exits.
const workerIdle = 5 * time.Second

// pool runs the lanes' deliveries on goroutines shared by every lane of the
// dispatcher. A worker waits workerIdle for its next task before it exits,
// so its grown stack serves the next delivery whichever trigger it is for:
// with a thousand triggers, goroutines of their own each sat idle long
// enough for the collector to shrink their stacks, and growing them back
// was a twentieth of the dispatcher's CPU. The pool holds no limit of its
// own: each lane bounds its own deliveries in flight.
type pool struct {
	work chan func()
	stop chan struct{}
	once sync.Once
}

func newPool() *pool { return &pool{work: make(chan func()), stop: make(chan struct{})} }

// run runs f on an idle worker, or on a new one when none is idle.
func (p *pool) run(f func()) {
	select {
	case p.work <- f:
	default:
		go p.worker(f)
	}
}

func (p *pool) worker(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(workerIdle)
		select {
		case f = <-p.work:
		case <-idle.C:
			return
		case <-p.stop:
			return
		}
	}
}

// close lets idle workers exit now; running tasks finish. Tasks handed to
// run afterwards still run (on workers of their own).
func (p *pool) close() { p.once.Do(func() { close(p.stop) }) }
