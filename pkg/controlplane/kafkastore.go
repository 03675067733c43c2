package controlplane

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/kafka"
)

// KafkaStoreConfig configures the Kafka-backed store.
type KafkaStoreConfig struct {
	Kafka kafka.Config
	// Topic is the compacted state topic (one partition: one total order).
	Topic string
	// ReplicationFactor of the state topic when it is created (-1: broker default).
	ReplicationFactor int16
	// TransactionalID is shared by every control-plane replica of one
	// installation: each commit fences the others, so two replicas can never
	// commit on top of a state they did not see.
	TransactionalID string
	Logger          *slog.Logger
	// History is how many recent changes the store keeps so that watchers
	// can resume (Resume); default DefaultHistory.
	History int

	// onApply, when set (tests only), is called by the follower for each
	// data record of a live fetch, after applying it to the fetch's private
	// copy of the state and before the fetch is published.
	onApply func(*kgo.Record)
}

// KafkaStore keeps the state in a compacted, single-partition Kafka topic.
//
// The log is the state machine: a record's key is Key.String(), its value the
// stored object (JSON; nil is a tombstone), its offset the resourceVersion.
// Every commit is one Kafka transaction. Inside it, the store first produces
// its records, then (with its transaction still open, so the last stable
// offset sits at its first record) reads the log up to that record and checks
// every mutation's Base against that exact state; it commits only if they all
// hold, else aborts. Because all replicas share one transactional ID, a replica
// that initialised its producer fences every earlier one: two commits can never
// interleave, and only validated records are ever committed — which keeps the
// log safe to compact.
//
// One goroutine (follow) reads the log. It decodes each fetch and applies it
// to a private copy of the state map (one copy per fetch that changes
// something), then publishes the new State with one atomic store: Snapshot
// never waits, and a State never shows part of a fetch. The initial replay
// applies its fetches in place to a map nobody else sees yet, so it costs
// O(records), and publishes once at the end.
type KafkaStore struct {
	cfg    KafkaStoreConfig
	logger *slog.Logger
	reader *kgo.Client

	writeMu sync.Mutex
	writer  *kgo.Client // transactional; nil until first commit or after a fence

	// state is the current State, immutable once stored. Only the follower
	// stores it, under mu, so that Subscribe's state and channel agree;
	// Snapshot loads it without locking.
	state atomic.Pointer[State]

	// mu guards what follows. It is held briefly (to publish an applied
	// fetch, to subscribe or resume), never while decoding records or
	// copying the state map.
	mu  sync.Mutex
	pos int64 // next offset to read
	// markers are the most recent transaction markers read, oldest first:
	// how a commit whose EndTxn answer was lost really ended.
	markers []txnMarker
	moved   chan struct{} // closed and replaced whenever pos moves
	subs    map[int]chan Change
	nextID  int
	closed  bool
	// history holds the latest changes read live (never the replay's: the
	// log may have been compacted), for Resume.
	history changeRing

	cancel context.CancelFunc
	done   chan struct{}
}

const subscriberBuffer = 4096

// DefaultHistory is how many recent changes a KafkaStore keeps for Resume
// unless KafkaStoreConfig.History says otherwise.
const DefaultHistory = 4096

// OpenKafkaStore creates the state topic if needed, replays it, and keeps
// following it until Close. It returns once the replay reached the end the
// log had when it started; ctx bounds the replay only.
func OpenKafkaStore(ctx context.Context, cfg KafkaStoreConfig) (*KafkaStore, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Topic == "" {
		return nil, errors.New("open state store: empty topic")
	}
	if cfg.TransactionalID == "" {
		cfg.TransactionalID = "weft.controlplane." + cfg.Topic
	}
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	adm, err := cfg.Kafka.NewClient(nil)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	end, err := ensureStateTopic(ctx, kadm.NewClient(adm), cfg.Topic, cfg.ReplicationFactor)
	if err != nil {
		return nil, err
	}
	reader, err := cfg.Kafka.NewClient(cfg.Logger,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	s := &KafkaStore{
		cfg:     cfg,
		logger:  cfg.Logger.With("component", "state-store", "topic", cfg.Topic),
		reader:  reader,
		moved:   make(chan struct{}),
		subs:    map[int]chan Change{},
		history: changeRing{buf: make([]Change, cfg.History)},
		done:    make(chan struct{}),
	}
	if err := s.replay(ctx, end); err != nil {
		reader.Close()
		return nil, fmt.Errorf("replay state topic %s to offset %d: %w", cfg.Topic, end, err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.follow(rctx)
	s.logger.Info("state replayed", "resources", len(s.Snapshot().objects), "version", s.Snapshot().Version, "offset", end)
	return s, nil
}

// replay reads the log up to at least end into a map no one else sees yet,
// applying every fetch in place, and publishes the result once.
func (s *KafkaStore) replay(ctx context.Context, end int64) error {
	st := &State{objects: map[Key]apis.Object{}}
	var pos int64
	for pos < end {
		fs := s.reader.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: read the state log to offset %d (at %d): %w", ErrUnavailable, end, pos, err)
		}
		fs.EachError(func(t string, p int32, err error) {
			s.logger.Warn("read state topic", "err", err)
		})
		f := s.applyFetch(fs, st, false)
		st.objects, st.Version = f.objects, f.version
		s.addMarkers(f.markers)
		if f.last >= 0 {
			pos = f.last + 1
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Store(st)
	s.pos = pos
	// Watchers can resume from here on: every later change is read live.
	s.history.from = st.Version
	return nil
}

// ensureStateTopic creates the topic (compacted, one partition) when missing
// and returns its last stable offset.
func ensureStateTopic(ctx context.Context, adm *kadm.Client, topic string, rf int16) (int64, error) {
	if rf == 0 {
		rf = -1
	}
	resp, err := adm.CreateTopic(ctx, 1, rf, map[string]*string{
		"cleanup.policy":        kadm.StringPtr("compact"),
		"min.compaction.lag.ms": kadm.StringPtr("60000"),
	}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("create state topic %s: %w", topic, err)
	}
	offs, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("list state topic end: %w", err)
	}
	o, ok := offs.Lookup(topic, 0)
	if !ok {
		return 0, fmt.Errorf("list state topic end: no partition 0 in %s", topic)
	}
	if o.Err != nil {
		return 0, fmt.Errorf("list state topic end: %w", o.Err)
	}
	return o.Offset, nil
}

// follow applies the log to the in-memory state until ctx ends.
func (s *KafkaStore) follow(ctx context.Context) {
	defer close(s.done)
	for {
		fs := s.reader.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			s.logger.Warn("read state topic", "err", err)
		})
		// Only this goroutine stores state: what it loads stays current
		// while the fetch is applied outside the lock.
		f := s.applyFetch(fs, s.state.Load(), true)
		if f.last >= 0 {
			s.publish(f)
		}
	}
}

// fetched is one fetch applied on top of a State.
type fetched struct {
	objects map[Key]apis.Object
	version uint64
	changes []Change // live fetches only
	markers []txnMarker
	last    int64 // offset of the fetch's last record; -1 when it had none
}

// applyFetch applies the records of fs on top of base. When live, base is
// shared: its map is copied once, at the first record that changes it, and
// the changes are collected for subscribers. Otherwise (the replay, which no
// one else sees) base's map is changed in place and no changes are kept.
func (s *KafkaStore) applyFetch(fs kgo.Fetches, base *State, live bool) fetched {
	f := fetched{objects: base.objects, version: base.Version, last: -1}
	private := !live
	fs.EachRecord(func(r *kgo.Record) {
		f.last = r.Offset
		if r.Attrs.IsControl() {
			// Key: version int16, type int16 (0 abort, 1 commit).
			if len(r.Key) >= 4 {
				f.markers = append(f.markers, txnMarker{pid: r.ProducerID, offset: r.Offset, commit: binary.BigEndian.Uint16(r.Key[2:4]) == 1})
			}
			return
		}
		k, obj, ok := s.decodeRecord(r)
		if !ok {
			return
		}
		old := f.objects[k]
		if old == nil && obj == nil {
			return
		}
		if !private {
			f.objects = maps.Clone(f.objects)
			private = true
		}
		if obj == nil {
			delete(f.objects, k)
		} else {
			f.objects[k] = obj
		}
		f.version = uint64(r.Offset) + 1
		if live {
			f.changes = append(f.changes, Change{Old: old, New: obj, Version: f.version})
			if s.cfg.onApply != nil {
				s.cfg.onApply(r)
			}
		}
	})
	return f
}

// decodeRecord decodes a data record into its key and object (nil for a
// tombstone); ok is false for a record to skip.
func (s *KafkaStore) decodeRecord(r *kgo.Record) (k Key, obj apis.Object, ok bool) {
	k, err := ParseKey(string(r.Key))
	if err != nil {
		s.logger.Error("skip state record with a bad key", "offset", r.Offset, "err", err)
		return Key{}, nil, false
	}
	if r.Value == nil {
		return k, nil, true
	}
	obj, err = apis.DecodeObject(r.Value)
	if err != nil {
		s.logger.Error("skip undecodable state record", "offset", r.Offset, "key", k, "err", err)
		return Key{}, nil, false
	}
	// resourceVersion is offset+1, so that 0 always means "absent".
	obj.GetObjectMeta().ResourceVersion = strconv.FormatInt(r.Offset+1, 10)
	return k, obj, true
}

// publish makes an applied fetch current: the new State (when the fetch
// changed anything), the read position, and the changes for subscribers,
// all under one critical section so that Subscribe sees either none or all
// of it.
func (s *KafkaStore) publish(f fetched) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(f.changes) > 0 {
		s.state.Store(&State{Version: f.version, objects: f.objects})
	}
	s.addMarkersLocked(f.markers)
	s.pos = f.last + 1
	close(s.moved)
	s.moved = make(chan struct{})
	for _, c := range f.changes {
		s.history.add(c)
	}
subs:
	for id, ch := range s.subs {
		for _, c := range f.changes {
			select {
			case ch <- c:
			default:
				s.logger.Warn("state subscriber too slow; dropping it", "subscriber", id)
				close(ch)
				delete(s.subs, id)
				continue subs
			}
		}
	}
}

func (s *KafkaStore) addMarkers(ms []txnMarker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addMarkersLocked(ms)
}

func (s *KafkaStore) addMarkersLocked(ms []txnMarker) {
	for _, m := range ms {
		if len(s.markers) >= maxMarkers {
			s.markers = append(s.markers[:0], s.markers[maxMarkers/2:]...)
		}
		s.markers = append(s.markers, m)
	}
}

// waitPos blocks until every record before off has been applied.
func (s *KafkaStore) waitPos(ctx context.Context, off int64) error {
	pos, err := s.awaitPos(ctx, off)
	switch {
	case errors.Is(err, errStoreClosed):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case err != nil:
		return fmt.Errorf("%w: read the state log to offset %d (at %d): %w", ErrUnavailable, off, pos, err)
	}
	return nil
}

var errStoreClosed = errors.New("store closed")

// awaitPos blocks until every record before off has been applied, and
// returns the read position; the error is ctx's or errStoreClosed.
func (s *KafkaStore) awaitPos(ctx context.Context, off int64) (int64, error) {
	for {
		s.mu.Lock()
		pos, moved := s.pos, s.moved
		s.mu.Unlock()
		if pos >= off {
			return pos, nil
		}
		select {
		case <-ctx.Done():
			return pos, ctx.Err()
		case <-s.done:
			return pos, errStoreClosed
		case <-moved:
		}
	}
}

// Ready reports whether the store still follows the log.
func (s *KafkaStore) Ready() error {
	select {
	case <-s.done:
		return fmt.Errorf("%w: no longer reading %s", ErrUnavailable, s.cfg.Topic)
	default:
		return nil
	}
}

// Snapshot implements Store: one atomic load, never a lock.
func (s *KafkaStore) Snapshot() *State {
	return s.state.Load()
}

// Subscribe implements Store.
func (s *KafkaStore) Subscribe() (*State, <-chan Change, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribeLocked()
}

func (s *KafkaStore) subscribeLocked() (*State, <-chan Change, func()) {
	ch := make(chan Change, subscriberBuffer)
	if s.closed {
		close(ch)
		return s.state.Load(), ch, func() {}
	}
	id := s.nextID
	s.nextID++
	s.subs[id] = ch
	return s.state.Load(), ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c, ok := s.subs[id]; ok {
			close(c)
			delete(s.subs, id)
		}
	}
}

// Resume implements Store. Version from is caught up with once the log is
// read up to offset from (a version is an offset plus one).
func (s *KafkaStore) Resume(ctx context.Context, from uint64) (*State, []Change, <-chan Change, func(), error) {
	if from > math.MaxInt64 {
		return nil, nil, nil, nil, fmt.Errorf("%w: resource_version %d is newer than any state version", ErrUnavailable, from)
	}
	if pos, err := s.awaitPos(ctx, int64(from)); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%w: resource_version %d is newer than this replica's state, read up to version %d: %w", ErrUnavailable, from, pos, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, errStoreClosed)
	}
	backlog, ok := s.history.after(from)
	if !ok {
		return nil, nil, nil, nil, fmt.Errorf("%w: resource_version %d: the oldest version this replica can resume from is %d; list again and watch from the list's resource_version",
			ErrVersionTooOld, from, s.history.from)
	}
	st, ch, cancel := s.subscribeLocked()
	return st, backlog, ch, cancel, nil
}

// changeRing keeps the latest changes, oldest first: every change after
// version from.
type changeRing struct {
	buf   []Change
	start int // index of the oldest
	n     int
	from  uint64
}

func (r *changeRing) at(i int) Change { return r.buf[(r.start+i)%len(r.buf)] }

func (r *changeRing) add(c Change) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = c
		r.n++
		return
	}
	r.from = r.buf[r.start].Version
	r.buf[r.start] = c
	r.start = (r.start + 1) % len(r.buf)
}

// after returns the kept changes with a version above v, oldest first; ok
// is false when some of them are no longer kept.
func (r *changeRing) after(v uint64) (out []Change, ok bool) {
	if v < r.from {
		return nil, false
	}
	i := sort.Search(r.n, func(i int) bool { return r.at(i).Version > v })
	out = make([]Change, 0, r.n-i)
	for ; i < r.n; i++ {
		out = append(out, r.at(i))
	}
	return out, true
}

// Commit implements Store (see KafkaStore for the protocol).
func (s *KafkaStore) Commit(ctx context.Context, muts []Mutation) (*State, error) {
	if len(muts) == 0 {
		return s.Snapshot(), nil
	}
	recs := make([]*kgo.Record, len(muts))
	for i, m := range muts {
		r := &kgo.Record{Topic: s.cfg.Topic, Partition: 0, Key: []byte(m.Key.String())}
		if m.Object != nil {
			stored := apis.DeepCopy(m.Object)
			stored.GetObjectMeta().ResourceVersion = ""
			apis.ClearStatus(stored)
			b, err := apis.Marshal(stored)
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", m.Key, err)
			}
			r.Value = b
		}
		recs[i] = r
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	w, err := s.writerLocked()
	if err != nil {
		return nil, err
	}
	if err := w.BeginTransaction(); err != nil {
		s.dropWriterLocked()
		return nil, fmt.Errorf("%w: begin transaction: %w", ErrUnavailable, err)
	}
	res := w.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		s.abortLocked(ctx, w)
		if isFenced(err) {
			return nil, fmt.Errorf("%w: another replica committed: %w", ErrConflict, err)
		}
		return nil, fmt.Errorf("%w: produce state records: %w", ErrUnavailable, err)
	}
	first, lastOff := recs[0].Offset, recs[0].Offset
	for _, r := range recs {
		first, lastOff = min(first, r.Offset), max(lastOff, r.Offset)
	}
	// Our open transaction holds the last stable offset at `first`: reading
	// up to it gives exactly the state our records follow.
	if err := s.waitPos(ctx, first); err != nil {
		s.abortLocked(ctx, w)
		return nil, err
	}
	st := s.Snapshot()
	for _, m := range muts {
		if cur := st.VersionOf(m.Key); cur != m.Base {
			s.abortLocked(ctx, w)
			return nil, fmt.Errorf("%w: %s is at version %d, not %d", ErrConflict, m.Key, cur, m.Base)
		}
	}
	if err := w.EndTransaction(ctx, kgo.TryCommit); err != nil {
		s.dropWriterLocked()
		// The transaction ends one way or the other (a fencing replica
		// aborts it, the coordinator times it out): its marker says how.
		committed, merr := s.waitMarker(ctx, recs[0].ProducerID, lastOff)
		if merr != nil {
			return nil, fmt.Errorf("%w: %w (and %w)", ErrUnknownOutcome, err, merr)
		}
		if !committed {
			return nil, fmt.Errorf("%w: transaction aborted: %w", ErrConflict, err)
		}
	}
	if err := s.waitPos(ctx, lastOff+1); err != nil {
		return nil, fmt.Errorf("%w: committed but not yet read back: %w", ErrUnknownOutcome, err)
	}
	return s.Snapshot(), nil
}

// txnMarker is a transaction's end as the log records it.
type txnMarker struct {
	pid    int64
	offset int64
	commit bool
}

// maxMarkers bounds the markers kept; a waiting commit looks only at the
// few written since its own records.
const maxMarkers = 1024

// waitMarker waits for the marker ending producer pid's transaction whose
// last record is at lastOff, and reports whether it committed. A
// transactional ID has one open transaction at a time, so the first marker
// of pid after lastOff is the one.
func (s *KafkaStore) waitMarker(ctx context.Context, pid int64, lastOff int64) (bool, error) {
	for {
		s.mu.Lock()
		var found *txnMarker
		for i := range s.markers {
			if m := s.markers[i]; m.pid == pid && m.offset > lastOff {
				found = &m
				break
			}
		}
		moved := s.moved
		s.mu.Unlock()
		if found != nil {
			return found.commit, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("wait for the transaction marker after offset %d: %w", lastOff, ctx.Err())
		case <-s.done:
			return false, fmt.Errorf("%w: store closed", ErrUnavailable)
		case <-moved:
		}
	}
}

func (s *KafkaStore) writerLocked() (*kgo.Client, error) {
	if s.writer != nil {
		return s.writer, nil
	}
	w, err := s.cfg.Kafka.NewClient(s.cfg.Logger,
		kgo.TransactionalID(s.cfg.TransactionalID),
		kgo.TransactionTimeout(30*time.Second),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	s.writer = w
	return w, nil
}

func (s *KafkaStore) dropWriterLocked() {
	if s.writer != nil {
		s.writer.Close()
		s.writer = nil
	}
}

func (s *KafkaStore) abortLocked(ctx context.Context, w *kgo.Client) {
	if err := w.AbortBufferedRecords(ctx); err != nil {
		s.dropWriterLocked()
		return
	}
	if err := w.EndTransaction(ctx, kgo.TryAbort); err != nil {
		s.dropWriterLocked()
	}
}

func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.InvalidProducerIDMapping) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// Close implements Store.
func (s *KafkaStore) Close() {
	s.cancel()
	<-s.done
	s.reader.Close()
	s.writeMu.Lock()
	s.dropWriterLocked()
	s.writeMu.Unlock()
	s.mu.Lock()
	s.closed = true
	for id, ch := range s.subs {
		close(ch)
		delete(s.subs, id)
	}
	s.mu.Unlock()
}

func parseRV(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}
