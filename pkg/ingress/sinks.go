package ingress

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/kafka"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Content modes of a KafkaSink's records (weftv1.Ingress.content_mode).
const (
	contentModeBinary     = "binary"
	contentModeStructured = "structured"
)

// target is the Kafka cluster an entry's records go to: Weft's own, or
// another cluster a KafkaSink names.
type target struct {
	cl    *kgo.Client
	state *atomic.Int32 // kafkaUnknown, kafkaUp, kafkaDown
	name  string        // "" for Weft's cluster, else the seeds
}

// cluster is the producer of one other Kafka cluster, shared by every
// KafkaSink with the same set of bootstrap servers and the same credentials
// (spec.auth.secret).
type cluster struct {
	target
	stateV atomic.Int32
	stop   context.CancelFunc
}

// clusters owns the producers of other Kafka clusters: created when a
// contract first names a set of bootstrap servers, closed (after flushing at
// most flushTimeout) when a later contract no longer does, and all of them
// on close. Each has a goroutine checking reachability, owned by wg. Safe
// for concurrent use.
type clusters struct {
	newClient    func(seeds []string, auth *weftv1.KafkaAuth) (*kgo.Client, error)
	interval     time.Duration
	flushTimeout time.Duration
	logger       *slog.Logger

	mu     sync.Mutex
	byKey  map[string]*cluster
	closed bool
	wg     sync.WaitGroup
}

// get returns the producer of the cluster key names (kafka.ClusterKey of seeds
// and auth), creating it the first time.
func (cs *clusters) get(key string, seeds []string, auth *weftv1.KafkaAuth) (*cluster, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c := cs.byKey[key]; c != nil {
		return c, nil
	}
	if cs.closed {
		return nil, ErrDraining
	}
	cl, err := cs.newClient(seeds, auth)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &cluster{stop: stop}
	c.target = target{cl: cl, state: &c.stateV, name: key}
	if cs.byKey == nil {
		cs.byKey = map[string]*cluster{}
	}
	cs.byKey[key] = c
	cs.logger.Info("kafka sink cluster: producer created", "bootstrap_servers", key)
	cs.wg.Go(func() { cs.watch(ctx, c) })
	return c, nil
}

// keep closes every producer whose key is not in used.
func (cs *clusters) keep(used map[string]bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for key, c := range cs.byKey {
		if !used[key] {
			delete(cs.byKey, key)
			cs.retire(c)
		}
	}
}

// retire stops c's watcher and closes its producer once its buffered
// records are answered (requests still waiting on them get their answer),
// at most flushTimeout. Called with mu held.
func (cs *clusters) retire(c *cluster) {
	c.stop()
	cs.logger.Info("kafka sink cluster: producer closed", "bootstrap_servers", c.name)
	cs.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cs.flushTimeout)
		defer cancel()
		_ = c.cl.Flush(ctx)
		c.cl.Close()
	})
}

// flush waits for every producer's buffered records, until ctx ends.
func (cs *clusters) flush(ctx context.Context) {
	cs.mu.Lock()
	list := make([]*cluster, 0, len(cs.byKey))
	for _, c := range cs.byKey {
		list = append(list, c)
	}
	cs.mu.Unlock()
	for _, c := range list {
		if err := c.cl.Flush(ctx); err != nil {
			cs.logger.Warn("drain timeout: sink records still buffered", "bootstrap_servers", c.name, "err", err)
		}
	}
}

// close closes every producer and waits for the goroutines.
func (cs *clusters) close() {
	cs.mu.Lock()
	cs.closed = true
	for key, c := range cs.byKey {
		delete(cs.byKey, key)
		c.stop()
		c.cl.Close()
	}
	cs.mu.Unlock()
	cs.wg.Wait()
}

// keys lists the clusters with a producer, sorted.
func (cs *clusters) keys() []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make([]string, 0, len(cs.byKey))
	for k := range cs.byKey {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// watch tracks whether c is reachable, so requests to a cluster that is
// down are refused at once instead of waiting ProduceTimeout each.
func (cs *clusters) watch(ctx context.Context, c *cluster) {
	t := time.NewTicker(cs.interval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, max(cs.interval, time.Second))
		err := c.cl.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if c.state.Swap(kafkaDown) != kafkaDown {
				cs.logger.Warn("kafka sink cluster unreachable; refusing its events until it returns", "bootstrap_servers", c.name, "err", kafka.Explain(c.cl, err))
			}
		} else if c.state.Swap(kafkaUp) != kafkaUp {
			cs.logger.Info("kafka sink cluster reachable", "bootstrap_servers", c.name)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
