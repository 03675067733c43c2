package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/kafka"
)

// peerTTL is how long a replica's report of a data-plane process counts
// without being refreshed; replicas refresh every peerTTL/3.
const peerTTL = 30 * time.Second

// peerEntry is what a replica reports about one data-plane stream it serves.
type peerEntry struct {
	ProcessID string    `json:"processId"`
	Role      string    `json:"role"`
	Acked     uint64    `json:"acked"`
	Problems  []problem `json:"problems,omitempty"`
	ExpiresAt int64     `json:"expiresAt"` // unix milliseconds
}

// peers shares the data-plane processes each replica serves through a
// compacted topic, so that every replica computes readiness from every
// connected process, not only its own. Keys are "{replica}/{stream}".
type peers struct {
	replica  string
	topic    string
	cl       *kgo.Client
	logger   *slog.Logger
	onRemote func()

	mu     sync.Mutex
	remote map[string]peerEntry
	dirty  map[string]*peerEntry // local changes to publish (nil: tombstone)
	local  map[string]peerEntry
	kick   chan struct{}
}

func openPeers(ctx context.Context, kcfg kafka.Config, topic, replica string, rf int16, logger *slog.Logger, onRemote func()) (*peers, error) {
	adm, err := kcfg.NewClient(nil)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	if rf == 0 {
		rf = -1
	}
	resp, err := kadm.NewClient(adm).CreateTopic(ctx, 1, rf, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return nil, fmt.Errorf("create data-plane topic %s: %w", topic, err)
	}
	cl, err := kcfg.NewClient(logger,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	return &peers{
		replica: replica, topic: topic, cl: cl, logger: logger, onRemote: onRemote,
		remote: map[string]peerEntry{}, dirty: map[string]*peerEntry{}, local: map[string]peerEntry{},
		kick: make(chan struct{}, 1),
	}, nil
}

// set records a local stream's state (nil: it ended) for publishing.
func (p *peers) set(stream int64, e *peerEntry) {
	key := fmt.Sprintf("%s/%d", p.replica, stream)
	p.mu.Lock()
	if e == nil {
		delete(p.local, key)
	} else {
		p.local[key] = *e
	}
	p.dirty[key] = e
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// live returns the processes other replicas currently report.
func (p *peers) live() []peerEntry {
	now := time.Now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]peerEntry, 0, len(p.remote))
	for _, e := range p.remote {
		if e.ExpiresAt > now {
			out = append(out, e)
		}
	}
	return out
}

// run publishes local changes and refreshes, and reads the others' reports.
func (p *peers) run(ctx context.Context) error {
	defer p.cl.Close()
	go p.read(ctx)
	refresh := time.NewTicker(peerTTL / 3)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			p.tombstoneAll()
			return nil
		case <-refresh.C:
			p.mu.Lock()
			for k, e := range p.local {
				e := e
				p.dirty[k] = &e
			}
			p.mu.Unlock()
		case <-p.kick:
		}
		p.flush(ctx)
	}
}

func (p *peers) flush(ctx context.Context) {
	p.mu.Lock()
	dirty := p.dirty
	p.dirty = map[string]*peerEntry{}
	p.mu.Unlock()
	for k, e := range dirty {
		r := &kgo.Record{Key: []byte(k), Partition: 0}
		if e != nil {
			e.ExpiresAt = time.Now().Add(peerTTL).UnixMilli()
			r.Value, _ = json.Marshal(e)
		}
		p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil && ctx.Err() == nil {
				p.logger.Debug("publish data-plane report", "key", k, "err", err)
			}
		})
	}
}

func (p *peers) tombstoneAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.mu.Lock()
	var recs []*kgo.Record
	for k := range p.local {
		recs = append(recs, &kgo.Record{Key: []byte(k), Partition: 0})
	}
	p.mu.Unlock()
	if len(recs) > 0 {
		_ = p.cl.ProduceSync(ctx, recs...).FirstErr()
	}
}

func (p *peers) read(ctx context.Context) {
	prefix := p.replica + "/"
	for {
		fs := p.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		changed := false
		fs.EachRecord(func(r *kgo.Record) {
			k := string(r.Key)
			if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
				return // our own reports
			}
			p.mu.Lock()
			if r.Value == nil {
				delete(p.remote, k)
			} else {
				var e peerEntry
				if err := json.Unmarshal(r.Value, &e); err == nil {
					p.remote[k] = e
				}
			}
			p.mu.Unlock()
			changed = true
		})
		if changed && p.onRemote != nil {
			p.onRemote()
		}
	}
}
