package controlplane

import (
	"fmt"
	"strconv"
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
