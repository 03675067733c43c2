package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// Apply actions.
const (
	ActionCreated    = "created"
	ActionConfigured = "configured"
	ActionUnchanged  = "unchanged"
)

// maxCommitAttempts bounds retries when another replica commits concurrently.
const maxCommitAttempts = 8

// api implements weftv1.ControlPlaneServer on a Server.
type api struct {
	weftv1.UnimplementedControlPlaneServer
	s *Server
}

// Apply implements ControlPlaneServer.
func (a api) Apply(ctx context.Context, req *weftv1.ApplyRequest) (*weftv1.ApplyResponse, error) {
	if a.s.readOnly != "" {
		return nil, toStatus(fmt.Errorf("%w: %s", ErrReadOnly, a.s.readOnly))
	}
	objs, err := decodeRequest(req.GetObjects())
	if err != nil {
		return nil, toStatus(err)
	}
	results, err := a.s.apply(ctx, objs, req.GetDryRun())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &weftv1.ApplyResponse{}
	for _, r := range results {
		o, err := a.s.toProto(r.obj)
		if err != nil {
			return nil, toStatus(err)
		}
		resp.Results = append(resp.Results, &weftv1.ApplyResult{Object: o, Action: r.action})
	}
	return resp, nil
}

// decodeRequest decodes, defaults and validates every object, reporting all
// problems with the object's 1-based index.
func decodeRequest(in []*weftv1.Object) ([]apis.Object, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: objects: at least one object is required", apis.ErrInvalid)
	}
	var errs []error
	out := make([]apis.Object, 0, len(in))
	seen := map[Key]int{}
	for i, po := range in {
		o, err := apis.DecodeObject(po.GetJson())
		if err == nil {
			apis.SetDefaults(o)
			err = apis.Validate(o)
		}
		if err != nil {
			me := &apis.ManifestError{Index: i + 1, Kind: po.GetKind(), Name: po.GetName(), Err: err}
			if o != nil {
				me.Kind, me.Name = o.GetTypeMeta().Kind, o.GetObjectMeta().Name
			}
			errs = append(errs, me)
			continue
		}
		k := KeyOf(o)
		if j, dup := seen[k]; dup {
			errs = append(errs, &apis.ManifestError{Index: i + 1, Kind: k.Kind, Name: k.Name,
				Err: fmt.Errorf("%w: metadata.name: %s %s/%s is also object %d of this request", apis.ErrInvalid, k.Kind, k.Namespace, k.Name, j)})
			continue
		}
		seen[k] = i + 1
		out = append(out, o)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

type applied struct {
	obj    apis.Object
	action string
}

// apply stores objs all or nothing (see KafkaStore.Commit), retrying when
// another replica committed in between.
func (s *Server) apply(ctx context.Context, objs []apis.Object, dryRun bool) ([]applied, error) {
	for attempt := 1; ; attempt++ {
		st := s.store.Snapshot()
		muts, results, err := s.plan(st, objs)
		if err != nil || dryRun {
			return results, err
		}
		if err := s.sideEffects(ctx, st, muts); err != nil {
			return nil, err
		}
		next, err := s.store.Commit(ctx, muts)
		if errors.Is(err, ErrConflict) && attempt < maxCommitAttempts {
			s.logger.Debug("apply raced another writer; retrying", "attempt", attempt, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		s.afterCommit(st, muts, next.Version)
		for i := range results {
			if o := next.Get(KeyOf(results[i].obj)); o != nil {
				results[i].obj = o
			}
		}
		return results, nil
	}
}

// plan computes the mutations that store objs on top of st.
func (s *Server) plan(st *State, objs []apis.Object) ([]Mutation, []applied, error) {
	var muts []Mutation
	var results []applied
	var errs []error
	now := time.Now().UTC().Truncate(time.Second)
	for i, in := range objs {
		k := KeyOf(in)
		old := st.Get(k)
		obj := apis.DeepCopy(in)
		if s, ok := obj.(*apis.Secret); ok {
			s.MergeStringData() // stored as Kubernetes stores it: data only
		}
		m := obj.GetObjectMeta()
		fail := func(err error) {
			errs = append(errs, &apis.ManifestError{Index: i + 1, Kind: k.Kind, Name: k.Name, Err: err})
		}
		if rv := m.ResourceVersion; rv != "" {
			if old == nil || old.GetObjectMeta().ResourceVersion != rv {
				cur := "none: it does not exist"
				if old != nil {
					cur = old.GetObjectMeta().ResourceVersion
				}
				fail(fmt.Errorf("%w: metadata.resourceVersion: %s %s/%s is at %s, the request is based on %s; get it again and re-apply",
					ErrStaleVersion, k.Kind, k.Namespace, k.Name, cur, rv))
				continue
			}
		}
		if old == nil {
			m.UID = uuid.NewString()
			defaultOnCreate(obj)
			m.Generation = 1
			m.CreationTimestamp = &now
			m.ResourceVersion = ""
			muts = append(muts, Mutation{Key: k, Object: obj})
			results = append(results, applied{obj: obj, action: ActionCreated})
			continue
		}
		keepOnUpdate(old, obj)
		if err := apis.ValidateUpdate(old, obj); err != nil {
			fail(err)
			continue
		}
		om := old.GetObjectMeta()
		m.UID, m.CreationTimestamp, m.Generation = om.UID, om.CreationTimestamp, om.Generation
		m.ResourceVersion = om.ResourceVersion
		if !sameSpec(old, obj) {
			m.Generation++
		}
		if m.Generation == om.Generation && reflect.DeepEqual(m.Labels, om.Labels) && reflect.DeepEqual(m.Annotations, om.Annotations) {
			results = append(results, applied{obj: old, action: ActionUnchanged})
			continue
		}
		muts = append(muts, Mutation{Key: k, Object: obj, Base: st.VersionOf(k)})
		results = append(results, applied{obj: obj, action: ActionConfigured})
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return muts, results, nil
}

// sameSpec compares the specs of two objects of one kind.
func sameSpec(a, b apis.Object) bool {
	ja, _ := apis.Marshal(apis.SpecOnly(a))
	jb, _ := apis.Marshal(apis.SpecOnly(b))
	return bytes.Equal(ja, jb)
}

// sideEffects prepares Kafka for the mutations before they are committed:
// the topics of new or changed brokers, channels, sequences, parallels and
// KafkaSinks (on the sink's cluster) exist (a grown sequence gets its new step topics), new triggers and
// subscriptions have their start offsets fixed.
func (s *Server) sideEffects(ctx context.Context, st *State, muts []Mutation) error {
	created := map[Key]bool{}
	for _, m := range muts {
		if m.Object == nil {
			continue
		}
		if err := s.ensureTopics(ctx, m.Object); err != nil {
			return err
		}
		created[m.Key] = true
	}
	for _, m := range muts {
		if m.Object == nil || m.Base != 0 {
			continue
		}
		_, _, _, owner, ok := startOf(m.Object)
		if !ok {
			continue
		}
		if err := s.fixStartOffsets(ctx, m.Object, st.Get(owner) != nil || created[owner]); err != nil {
			return err
		}
	}
	return nil
}

// afterCommit schedules the removal of what changed flows no longer use: a
// sequence's dropped steps, a parallel's dropped branches or filters (their
// topics and groups, once the dispatchers stopped running them).
func (s *Server) afterCommit(st *State, muts []Mutation, version uint64) {
	for _, m := range muts {
		if m.Object == nil || m.Base == 0 {
			continue
		}
		old := st.Get(m.Key)
		if old == nil {
			continue
		}
		oldTopics, oldGroups := flowNames(old)
		newTopics, newGroups := flowNames(m.Object)
		topics, groups := withRetry(minus(oldTopics, newTopics)...), minus(oldGroups, newGroups)
		if len(topics)+len(groups) == 0 {
			continue
		}
		s.whenDispatched(m.Key.String(), version, func(ctx context.Context) error {
			return errors.Join(s.deleteTopics(ctx, topics...), s.deleteGroups(ctx, groups...))
		})
	}
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Get implements ControlPlaneServer.
func (a api) Get(ctx context.Context, req *weftv1.GetRequest) (*weftv1.Object, error) {
	k, err := requestKey(req.GetKind(), req.GetNamespace(), req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	o := a.s.store.Snapshot().Get(k)
	if o == nil {
		return nil, toStatus(fmt.Errorf("%w: %s %q in namespace %q", ErrNotFound, k.Kind, k.Name, k.Namespace))
	}
	po, err := a.s.toProto(a.s.withStatus(o))
	return po, toStatus(err)
}

// requestKey resolves a CLI-style kind and defaults the namespace.
func requestKey(kind, namespace, name string) (Key, error) {
	k, err := apis.ResolveKind(kind)
	if err != nil {
		return Key{}, err
	}
	if namespace == "" {
		namespace = "default"
	}
	if name == "" {
		return Key{}, fmt.Errorf("%w: name: must not be empty", apis.ErrInvalid)
	}
	return Key{k, namespace, name}, nil
}

// List implements ControlPlaneServer.
func (a api) List(ctx context.Context, req *weftv1.ListRequest) (*weftv1.ListResponse, error) {
	kind := ""
	if req.GetKind() != "" {
		k, err := apis.ResolveKind(req.GetKind())
		if err != nil {
			return nil, toStatus(err)
		}
		kind = k
	}
	sel, err := parseSelector(req.GetLabelSelector())
	if err != nil {
		return nil, toStatus(fmt.Errorf("%w: %w", apis.ErrInvalid, err))
	}
	st := a.s.store.Snapshot()
	resp := &weftv1.ListResponse{ResourceVersion: strconv.FormatUint(st.Version, 10)}
	for _, o := range st.List(kind, req.GetNamespace()) {
		if !sel.matches(o.GetObjectMeta().Labels) {
			continue
		}
		po, err := a.s.toProto(a.s.withStatus(o))
		if err != nil {
			return nil, toStatus(err)
		}
		resp.Objects = append(resp.Objects, po)
	}
	return resp, nil
}

// Delete implements ControlPlaneServer.
func (a api) Delete(ctx context.Context, req *weftv1.DeleteRequest) (*weftv1.DeleteResponse, error) {
	if a.s.readOnly != "" {
		return nil, toStatus(fmt.Errorf("%w: %s", ErrReadOnly, a.s.readOnly))
	}
	k, err := requestKey(req.GetKind(), req.GetNamespace(), req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	o, err := a.s.delete(ctx, k, req.GetResourceVersion())
	if err != nil {
		return nil, toStatus(err)
	}
	po, err := a.s.toProto(o)
	return &weftv1.DeleteResponse{Object: po}, toStatus(err)
}

func (s *Server) delete(ctx context.Context, k Key, rv string) (apis.Object, error) {
	for attempt := 1; ; attempt++ {
		st := s.store.Snapshot()
		old := st.Get(k)
		if old == nil {
			return nil, fmt.Errorf("%w: %s %q in namespace %q", ErrNotFound, k.Kind, k.Name, k.Namespace)
		}
		if rv != "" && old.GetObjectMeta().ResourceVersion != rv {
			return nil, fmt.Errorf("%w: resource_version: %s %s/%s is at %s, not %s", ErrStaleVersion, k.Kind, k.Namespace, k.Name, old.GetObjectMeta().ResourceVersion, rv)
		}
		next, err := s.store.Commit(ctx, []Mutation{{Key: k, Base: st.VersionOf(k)}})
		if errors.Is(err, ErrConflict) && attempt < maxCommitAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		switch k.Kind {
		case apis.KindKafkaSink:
			// Its topic is the user's data: kept (DeleteKafkaResources).
		case apis.KindSecret, apis.KindEventPolicy:
			// Nothing in Kafka but the state topic.
		case apis.KindBroker, apis.KindChannel:
			if err := s.DeleteKafkaResources(ctx, k); err != nil {
				s.logger.Warn("deleted but its topics were not", "resource", k.String(), "err", err)
			}
		default:
			// Consumer groups (and a flow's topics) go once the
			// dispatchers stopped running the resource.
			s.deleteGroupWhenDispatched(k, next.Version)
		}
		return old, nil
	}
}

// Watch event types, as Kubernetes names them.
const (
	EventAdded    = "ADDED"
	EventModified = "MODIFIED"
	EventDeleted  = "DELETED"
)

// Watch implements ControlPlaneServer with Kubernetes' watch semantics: the
// current matching objects as ADDED, or with a resource_version the changes
// after it; then every change typed by whether the object matched the watch
// before and after it (ADDED, MODIFIED, DELETED: an object whose labels stop
// matching leaves as DELETED), and MODIFIED whenever a watched object's
// computed status changes.
func (a api) Watch(req *weftv1.WatchRequest, stream weftv1.ControlPlane_WatchServer) error {
	from, resume, err := parseWatchVersion(req.GetResourceVersion())
	if err != nil {
		return toStatus(err)
	}
	kind := ""
	if req.GetKind() != "" {
		k, err := apis.ResolveKind(req.GetKind())
		if err != nil {
			return toStatus(err)
		}
		kind = k
	}
	sel, err := parseSelector(req.GetLabelSelector())
	if err != nil {
		return toStatus(fmt.Errorf("%w: %w", apis.ErrInvalid, err))
	}
	match := func(o apis.Object) bool {
		k := KeyOf(o)
		return (kind == "" || k.Kind == kind) && (req.GetNamespace() == "" || k.Namespace == req.GetNamespace()) && sel.matches(o.GetObjectMeta().Labels)
	}
	// Taken before anything is rendered, so that no status change between
	// rendering and waiting goes unnoticed.
	_, statusChanged := a.s.pub.current()
	w := &watcher{s: a.s, stream: stream, current: map[Key]apis.Object{}, sent: map[Key][]byte{}}
	var changes <-chan Change
	if !resume {
		st, ch, cancel := a.s.store.Subscribe()
		defer cancel()
		changes = ch
		for _, o := range st.List("", "") {
			if match(o) {
				if err := w.send(EventAdded, o); err != nil {
					return err
				}
			}
		}
	} else {
		ctx, stop := context.WithTimeout(stream.Context(), a.s.resumeWait)
		st, backlog, ch, cancel, err := a.s.store.Resume(ctx, from)
		stop()
		if err != nil {
			return toStatus(err)
		}
		defer cancel()
		changes = ch
		for _, c := range backlog {
			if typ, o := eventOf(c, match); typ != "" {
				if err := w.send(typ, o); err != nil {
					return err
				}
			}
		}
		// The client has every other watched object as it is in st: so
		// far as status goes, it knows what it would see now.
		for _, o := range st.List("", "") {
			if match(o) {
				if err := w.know(o); err != nil {
					return err
				}
			}
		}
	}
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case c, ok := <-changes:
			if !ok {
				return status.Error(codes.ResourceExhausted, "watch fell too far behind; watch again")
			}
			if typ, o := eventOf(c, match); typ != "" {
				if err := w.send(typ, o); err != nil {
					return err
				}
			}
		case <-statusChanged:
			_, statusChanged = a.s.pub.current()
			for _, o := range w.current {
				if err := w.send(EventModified, o); err != nil {
					return err
				}
			}
		}
	}
}

// eventOf types change c for a watch that matches objects with match
// ("" when the watch does not see it). An object that stops matching is
// DELETED, carrying its previous content with the change's version, as is
// a deleted object.
func eventOf(c Change, match func(apis.Object) bool) (string, apis.Object) {
	was := c.Old != nil && match(c.Old)
	is := c.New != nil && match(c.New)
	switch {
	case is && was:
		return EventModified, c.New
	case is:
		return EventAdded, c.New
	case was:
		gone := apis.DeepCopy(c.Old)
		gone.GetObjectMeta().ResourceVersion = strconv.FormatUint(c.Version, 10)
		return EventDeleted, gone
	}
	return "", nil
}

// parseWatchVersion reads WatchRequest.resource_version: "" and "0"
// (Kubernetes' "any version") start from the current objects, a number
// resumes after that version.
func parseWatchVersion(rv string) (from uint64, resume bool, err error) {
	if rv == "" || rv == "0" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: resource_version: %q is not a resource version: want a ListResponse.resource_version or an object's metadata.resourceVersion (a decimal number), or empty to start from the current objects",
			apis.ErrInvalid, rv)
	}
	return n, true, nil
}

// watcher is one Watch stream's view: the objects it shows and the JSON it
// last sent for each, to report status changes only when they happen.
type watcher struct {
	s       *Server
	stream  weftv1.ControlPlane_WatchServer
	current map[Key]apis.Object
	sent    map[Key][]byte
}

// know puts o in the view as the client already has it: its current
// rendering is what it was last sent, unless an event for it was.
func (w *watcher) know(o apis.Object) error {
	k := KeyOf(o)
	w.current[k] = o
	if _, ok := w.sent[k]; ok {
		return nil
	}
	po, err := w.s.toProto(w.s.withStatus(o))
	if err != nil {
		return err
	}
	w.sent[k] = po.Json
	return nil
}

// send sends an event, keeping the view in step; an ADDED or MODIFIED that
// would repeat what was last sent for the object is skipped.
func (w *watcher) send(typ string, o apis.Object) error {
	k := KeyOf(o)
	if typ == EventDeleted {
		delete(w.current, k)
		delete(w.sent, k)
	} else {
		w.current[k] = o
		o = w.s.withStatus(o)
	}
	po, err := w.s.toProto(o)
	if err != nil {
		return err
	}
	if typ != EventDeleted {
		if bytes.Equal(w.sent[k], po.Json) {
			return nil
		}
		w.sent[k] = po.Json
	}
	return w.stream.Send(&weftv1.WatchEvent{Type: typ, Object: po})
}

// toProto wraps an object for the wire, without the annotations only the
// control plane uses (apis.InternalAnnotationPrefix).
func (s *Server) toProto(o apis.Object) (*weftv1.Object, error) {
	for k := range o.GetObjectMeta().Annotations {
		if strings.HasPrefix(k, apis.InternalAnnotationPrefix) {
			o = apis.DeepCopy(o)
			maps.DeleteFunc(o.GetObjectMeta().Annotations, func(k, _ string) bool {
				return strings.HasPrefix(k, apis.InternalAnnotationPrefix)
			})
			break
		}
	}
	b, err := apis.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", KeyOf(o), err)
	}
	tm, m := o.GetTypeMeta(), o.GetObjectMeta()
	return &weftv1.Object{ApiVersion: tm.APIVersion, Kind: tm.Kind, Namespace: m.Namespace, Name: m.Name, Json: b}, nil
}

// defaultOnCreate fills what is set once, when an object is created, and
// kept by every update (keepOnUpdate): a KafkaSource's spec.consumerGroup,
// knative-kafka-source-<uid> (Knative's prefix and a UUID, as its webhook
// sets it) when the manifest names none. Call it after the uid is set.
func defaultOnCreate(o apis.Object) {
	if k, ok := o.(*apis.KafkaSource); ok && k.Spec.ConsumerGroup == "" {
		k.Spec.ConsumerGroup = apis.KafkaSourceConsumerGroupPrefix + k.ObjectMeta.UID
	}
}

// keepOnUpdate carries over from old what defaultOnCreate set and an update
// leaves unset: a re-applied manifest without spec.consumerGroup keeps the
// source's group (and its committed offsets) rather than failing as an
// immutable change.
func keepOnUpdate(old, new apis.Object) {
	o, ok1 := old.(*apis.KafkaSource)
	n, ok2 := new.(*apis.KafkaSource)
	if ok1 && ok2 && n.Spec.ConsumerGroup == "" {
		n.Spec.ConsumerGroup = o.Spec.ConsumerGroup
	}
}
