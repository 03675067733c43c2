package controlplane

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/weft-dev/weft/pkg/apis"
)

// Key identifies one resource.
type Key struct {
	Kind, Namespace, Name string
}

func (k Key) String() string { return k.Kind + "/" + k.Namespace + "/" + k.Name }

// ParseKey is the inverse of Key.String.
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return Key{}, fmt.Errorf("parse state key %q: want kind/namespace/name", s)
	}
	return Key{parts[0], parts[1], parts[2]}, nil
}

// KeyOf returns the key of o.
func KeyOf(o apis.Object) Key {
	m := o.GetObjectMeta()
	return Key{apis.KindOf(o), m.Namespace, m.Name}
}

// Mutation is one change in an atomic commit.
type Mutation struct {
	Key Key
	// Object is the new stored object (status is not stored); nil deletes.
	Object apis.Object
	// Base is the version of Key the mutation was computed from (0: absent).
	// The commit fails with ErrConflict unless every Base is still current.
	Base uint64
}

// State is an immutable view of every stored resource at one version.
// Objects in it must not be modified: DeepCopy before changing one.
type State struct {
	// Version is the position in the state log this view includes (all
	// records before it applied). It increases with every change.
	Version uint64
	objects map[Key]apis.Object
}

// Get returns the object at k (nil when absent).
func (s *State) Get(k Key) apis.Object { return s.objects[k] }

// VersionOf returns the resourceVersion of k as a number (0 when absent).
func (s *State) VersionOf(k Key) uint64 {
	o := s.objects[k]
	if o == nil {
		return 0
	}
	return parseRV(o.GetObjectMeta().ResourceVersion)
}

// List returns the objects of kind in namespace ("" any), sorted by namespace and name.
func (s *State) List(kind, namespace string) []apis.Object {
	var out []apis.Object
	for k, o := range s.objects {
		if (kind == "" || k.Kind == kind) && (namespace == "" || k.Namespace == namespace) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := KeyOf(out[i]), KeyOf(out[j])
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

// Change is one applied mutation, as watchers see it.
type Change struct {
	// Old is nil on creation; New is nil on deletion.
	Old, New apis.Object
	Version  uint64
}

// Store holds the desired state. Implementations: the Kafka-backed store
// (a compacted topic); a Kubernetes-backed one can feed the same service.
//
// All methods are safe for concurrent use. Snapshot, Subscribe, Ready and a
// subscription's cancel func never wait on I/O or on the store applying
// changes; Commit blocks until its outcome is known or ctx ends.
type Store interface {
	// Snapshot returns the current state. It never blocks, and the State
	// it returns never shows part of a commit.
	Snapshot() *State
	// Commit applies mutations all or nothing. It returns ErrConflict when a
	// Base is stale (recompute from a new Snapshot and retry), and returns
	// only once Snapshot reflects the commit.
	Commit(ctx context.Context, muts []Mutation) (*State, error)
	// Subscribe returns a state, a channel of every change after it in log
	// order (no gap, no overlap), and a cancel func that closes the channel.
	// A subscriber that falls more than a buffer behind has its channel
	// closed and must subscribe again; so do subscribers when the store is
	// closed.
	Subscribe() (*State, <-chan Change, func())
	// Resume is Subscribe for a watcher that has seen the state at version
	// from. Besides the state and the channel, it returns the backlog: every
	// change after from up to that state, in log order. The backlog is not
	// queued on the channel, so it cannot overflow it. Resume waits until
	// the store has read up to from or ctx ends (then ErrUnavailable), and
	// returns ErrVersionTooOld when changes after from are no longer kept:
	// the store keeps a bounded history of the changes it followed live,
	// never those of the log it replayed when it opened.
	Resume(ctx context.Context, from uint64) (*State, []Change, <-chan Change, func(), error)
	// Ready returns nil while the store serves current state.
	Ready() error
	// Close stops the store and closes every subscriber's channel.
	Close()
}
