package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weft-dev/weft/internal/devkafka"
	"github.com/weft-dev/weft/internal/testutil"
	"github.com/weft-dev/weft/pkg/apis"
)

// openStore opens a KafkaStore on cfg and closes it when the test ends.
func openStore(t *testing.T, cfg KafkaStoreConfig) *KafkaStore {
	t.Helper()
	s, err := OpenKafkaStore(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func storeConfig(e *devkafka.Server, topic string) KafkaStoreConfig {
	return KafkaStoreConfig{Kafka: testutil.KafkaConfig(e), Topic: topic}
}

// testBroker is a stored broker in namespace ns labelled v=<v>.
func testBroker(ns, name, v string) *apis.Broker {
	return &apis.Broker{
		TypeMeta:   apis.TypeMeta{APIVersion: apis.EventingV1, Kind: apis.KindBroker},
		ObjectMeta: apis.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"v": v}},
	}
}

// put is a mutation storing b on top of st.
func put(st *State, b *apis.Broker) Mutation {
	return Mutation{Key: KeyOf(b), Object: b, Base: st.VersionOf(KeyOf(b))}
}

// While the follower is in the middle of applying a fetch, Snapshot returns
// at once, and shows none of that fetch's records; afterwards it shows all.
func TestSnapshotNeverBlocksWhileApplying(t *testing.T) {
	e := testutil.StartKafka(t)
	ctx := testCtx(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var enterOnce, releaseOnce sync.Once
	cfg := storeConfig(e, "weft.test.snapshot")
	cfg.onApply = func(r *kgo.Record) {
		if string(r.Key) == "Broker/snap/a" {
			enterOnce.Do(func() { close(entered); <-release })
		}
	}
	s := openStore(t, cfg)
	// Registered after the store's Close, so it runs first: never leave the
	// follower blocked.
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })

	before := s.Snapshot()
	muts := []Mutation{
		put(before, testBroker("snap", "a", "1")),
		put(before, testBroker("snap", "b", "1")),
		put(before, testBroker("snap", "c", "1")),
	}
	committed := make(chan error, 1)
	go func() {
		_, err := s.Commit(ctx, muts)
		committed <- err
	}()
	select {
	case <-entered:
	case err := <-committed:
		t.Fatalf("commit returned before its fetch was applied: %v", err)
	case <-ctx.Done():
		t.Fatal("the follower never applied the commit's records")
	}

	got := make(chan *State, 1)
	go func() { got <- s.Snapshot() }()
	var mid *State
	testutil.Eventually(t, 5*time.Second, "Snapshot to return while a fetch is being applied", func() (bool, string) {
		select {
		case mid = <-got:
			return true, ""
		default:
			return false, "Snapshot is blocked"
		}
	})
	if n := presentOf(mid, muts); n != 0 || mid.Version != before.Version {
		t.Errorf("mid-fetch snapshot at version %d shows %d of the fetch's 3 records; want the state before it (version %d, none)", mid.Version, n, before.Version)
	}

	releaseOnce.Do(func() { close(release) })
	select {
	case err := <-committed:
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("commit did not return")
	}
	after := s.Snapshot()
	if n := presentOf(after, muts); n != len(muts) {
		t.Errorf("after the commit the snapshot shows %d of its %d records", n, len(muts))
	}
}

func presentOf(st *State, muts []Mutation) int {
	var n int
	for _, m := range muts {
		if st.Get(m.Key) != nil {
			n++
		}
	}
	return n
}

// The replay rebuilds the state from the log as it is, whatever wrote it.
func TestReplay(t *testing.T) {
	e := testutil.StartKafka(t)
	broker := func(name, v string) []byte {
		b, err := apis.Marshal(testBroker("r", name, v))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type rec struct {
		key   string
		value []byte // nil: tombstone
	}
	tests := []struct {
		name    string
		records []rec
		want    map[string]string // name -> label v@resourceVersion
		version uint64
	}{
		{"empty log", nil, map[string]string{}, 0},
		{"create update delete", []rec{
			{"Broker/r/a", broker("a", "1")},
			{"Broker/r/b", broker("b", "1")},
			{"Broker/r/a", broker("a", "2")},
			{"Broker/r/b", nil},
			{"Broker/r/c", broker("c", "1")},
		}, map[string]string{"a": "2@3", "c": "1@5"}, 5},
		{"tombstone of an absent key changes nothing", []rec{
			{"Broker/r/a", broker("a", "1")},
			{"Broker/r/zz", nil},
		}, map[string]string{"a": "1@1"}, 1},
		{"undecodable record skipped", []rec{
			{"Broker/r/a", broker("a", "1")},
			{"Broker/r/a", []byte("{not json")},
		}, map[string]string{"a": "1@1"}, 1},
		{"bad key skipped", []rec{
			{"nonsense", broker("x", "1")},
			{"Broker/r/a", broker("a", "1")},
		}, map[string]string{"a": "1@2"}, 2},
		{"deleted and created again", []rec{
			{"Broker/r/a", broker("a", "1")},
			{"Broker/r/a", nil},
			{"Broker/r/a", broker("a", "3")},
		}, map[string]string{"a": "3@3"}, 3},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := storeConfig(e, "weft.test.replay."+strconv.Itoa(i))
			openStore(t, cfg).Close() // creates the topic
			cl := mustClient(t, e)
			for _, r := range tc.records {
				if err := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: cfg.Topic, Partition: 0, Key: []byte(r.key), Value: r.value}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			st := openStore(t, cfg).Snapshot()
			got := map[string]string{}
			for _, o := range st.List("", "") {
				m := o.GetObjectMeta()
				got[m.Name] = m.Labels["v"] + "@" + m.ResourceVersion
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || st.Version != tc.version {
				t.Errorf("replayed %v at version %d, want %v at version %d", got, st.Version, tc.want, tc.version)
			}
		})
	}
}

// Subscribe's state and channel follow each other exactly, whenever it is
// called: the first change is the one right after the state, and each change's
// Old is the object the previous ones left (no gap, no overlap).
func TestSubscribeNoGapNoOverlap(t *testing.T) {
	e := testutil.StartKafka(t)
	ctx := testCtx(t)
	s := openStore(t, storeConfig(e, "weft.test.subscribe"))

	type sub struct {
		st      *State
		changes <-chan Change
	}
	var subs []sub
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			st, ch, cancel := s.Subscribe()
			t.Cleanup(cancel)
			subs = append(subs, sub{st, ch})
			// Subscribe again once the state moved on.
			for {
				s.mu.Lock()
				moved := s.moved
				s.mu.Unlock()
				if s.Snapshot().Version != st.Version {
					break
				}
				select {
				case <-moved:
				case <-stop:
					return
				}
			}
		}
	}()
	const commits = 30
	for i := 0; i < commits; i++ {
		st := s.Snapshot()
		name := "k" + strconv.Itoa(i%4)
		m := put(st, testBroker("sub", name, strconv.Itoa(i)))
		if i%5 == 4 {
			m = Mutation{Key: m.Key, Base: m.Base} // delete
			if m.Base == 0 {
				continue
			}
		}
		if _, err := s.Commit(ctx, []Mutation{m}); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	final := s.Snapshot()
	if len(subs) < 2 {
		t.Fatalf("only %d subscriptions", len(subs))
	}
	for i, sb := range subs {
		objs := map[Key]apis.Object{}
		for _, o := range sb.st.List("", "") {
			objs[KeyOf(o)] = o
		}
		v := sb.st.Version
		for v < final.Version {
			var c Change
			select {
			case c = <-sb.changes:
			case <-ctx.Done():
				t.Fatalf("subscription %d (from version %d): no change after version %d, want up to %d", i, sb.st.Version, v, final.Version)
			}
			o := c.Old
			if o == nil {
				o = c.New
			}
			k := KeyOf(o)
			if c.Version <= v || objs[k] != c.Old {
				t.Fatalf("subscription %d (from version %d): change at version %d on %s after version %d: old %v, want %v",
					i, sb.st.Version, c.Version, k, v, c.Old, objs[k])
			}
			if c.New == nil {
				delete(objs, k)
			} else {
				objs[k] = c.New
			}
			v = c.Version
		}
		for _, o := range final.List("", "") {
			if objs[KeyOf(o)] != o {
				t.Errorf("subscription %d: %s differs from the final state", i, KeyOf(o))
			}
		}
		if len(objs) != len(final.List("", "")) {
			t.Errorf("subscription %d: %d objects, final state has %d", i, len(objs), len(final.List("", "")))
		}
	}
}

// commitEach commits one change per broker in order and returns the state
// after each.
func commitEach(t *testing.T, s *KafkaStore, brokers ...*apis.Broker) []*State {
	t.Helper()
	var out []*State
	for _, b := range brokers {
		st, err := s.Commit(testCtx(t), []Mutation{put(s.Snapshot(), b)})
		if err != nil {
			t.Fatalf("commit %s: %v", KeyOf(b), err)
		}
		out = append(out, st)
	}
	return out
}

func versionsOf(cs []Change) []uint64 {
	var out []uint64
	for _, c := range cs {
		out = append(out, c.Version)
	}
	return out
}

// Resume hands back exactly the changes after a version while the bounded
// history holds them, and refuses versions it cannot serve.
func TestResume(t *testing.T) {
	e := testutil.StartKafka(t)
	ctx := testCtx(t)
	cfg := storeConfig(e, "weft.test.resume")
	cfg.History = 3
	s := openStore(t, cfg)
	sts := commitEach(t, s, testBroker("h", "a", "1"), testBroker("h", "b", "1"), testBroker("h", "a", "2"), testBroker("h", "c", "1"), testBroker("h", "b", "2"))
	v := func(i int) uint64 { return sts[i].Version }

	tests := []struct {
		name    string
		from    uint64
		want    []uint64 // backlog versions
		wantErr error
	}{
		{"the last change", v(3), []uint64{v(4)}, nil},
		{"the oldest kept version", v(1), []uint64{v(2), v(3), v(4)}, nil},
		{"current", v(4), nil, nil},
		{"between two changes", v(3) + 1, []uint64{v(4)}, nil},
		{"trimmed from the history", v(0), nil, ErrVersionTooOld},
		{"before the store opened", 0, nil, ErrVersionTooOld},
		{"beyond any offset", 1 << 63, nil, ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, backlog, ch, cancel, err := s.Resume(ctx, tc.from)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Resume(%d): %v, want %v", tc.from, err, tc.wantErr)
			}
			if err != nil {
				if errors.Is(err, ErrVersionTooOld) && !strings.Contains(err.Error(), "oldest version this replica can resume from is "+strconv.FormatUint(v(1), 10)) {
					t.Errorf("error %q does not name the oldest resumable version %d", err, v(1))
				}
				return
			}
			defer cancel()
			if fmt.Sprint(versionsOf(backlog)) != fmt.Sprint(tc.want) || st.Version != v(4) {
				t.Errorf("Resume(%d): backlog %v and state %d, want %v and %d", tc.from, versionsOf(backlog), st.Version, tc.want, v(4))
			}
			select {
			case c := <-ch:
				t.Errorf("a change on the channel before any commit: %d", c.Version)
			default:
			}
		})
	}

	// A second store replays the log: its history starts after the replay.
	s2 := openStore(t, cfg)
	if _, _, _, _, err := s2.Resume(ctx, v(3)); !errors.Is(err, ErrVersionTooOld) {
		t.Errorf("Resume into the replayed log: %v, want ErrVersionTooOld", err)
	}
	if _, backlog, _, cancel, err := s2.Resume(ctx, v(4)); err != nil || len(backlog) != 0 {
		t.Errorf("Resume at the replayed version: %v, backlog %v", err, versionsOf(backlog))
	} else {
		cancel()
	}
}

// Resume waits for a version the store has not read yet, then returns the
// changes after it, split between backlog and channel with no gap and no
// overlap; it gives up when ctx ends.
func TestResumeAhead(t *testing.T) {
	e := testutil.StartKafka(t)
	ctx := testCtx(t)
	s := openStore(t, storeConfig(e, "weft.test.resume-ahead"))
	base := s.Snapshot().Version
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if _, _, _, _, err := s.Resume(short, base+100); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), strconv.FormatUint(base+100, 10)) {
		t.Errorf("Resume ahead with an ended context: %v, want ErrUnavailable naming the version", err)
	}

	type resumed struct {
		backlog []Change
		ch      <-chan Change
		cancel  func()
		err     error
	}
	done := make(chan resumed, 1)
	from := base + 5
	go func() {
		_, backlog, ch, cancel, err := s.Resume(ctx, from)
		done <- resumed{backlog, ch, cancel, err}
	}()
	sts := commitEach(t, s, testBroker("f", "a", "1"), testBroker("f", "a", "2"), testBroker("f", "a", "3"), testBroker("f", "a", "4"), testBroker("f", "a", "5"))
	var r resumed
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("Resume still waiting after the store passed its version")
	}
	if r.err != nil {
		t.Fatalf("Resume(%d): %v", from, r.err)
	}
	defer r.cancel()
	var want, got []uint64
	for _, st := range sts {
		if st.Version > from {
			want = append(want, st.Version)
		}
	}
	got = versionsOf(r.backlog)
	for len(got) < len(want) {
		select {
		case c := <-r.ch:
			got = append(got, c.Version)
		case <-ctx.Done():
			t.Fatalf("got changes %v, want %v", got, want)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes after %d: %v, want %v", from, got, want)
	}
}

// A backlog longer than the subscriber buffer is handed over whole and does
// not drop the subscription.
func TestResumeBacklogBeyondBuffer(t *testing.T) {
	e := testutil.StartKafka(t)
	ctx := testCtx(t)
	cfg := storeConfig(e, "weft.test.resume-big")
	cfg.History = 2 * subscriberBuffer
	s := openStore(t, cfg)
	before := s.Snapshot()
	n := subscriberBuffer + 100
	muts := make([]Mutation, n)
	for i := range muts {
		muts[i] = put(before, testBroker("big", "b"+strconv.Itoa(i), "1"))
	}
	if _, err := s.Commit(ctx, muts); err != nil {
		t.Fatal(err)
	}
	_, backlog, ch, cancel, err := s.Resume(ctx, before.Version)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if len(backlog) != n {
		t.Fatalf("backlog of %d changes, want %d", len(backlog), n)
	}
	commitEach(t, s, testBroker("big", "after", "1"))
	select {
	case c, ok := <-ch:
		if !ok || c.New == nil || c.New.GetObjectMeta().Name != "after" {
			t.Fatalf("after the backlog: %+v (open %v), want the next change", c, ok)
		}
	case <-ctx.Done():
		t.Fatal("no change after the backlog")
	}
}
