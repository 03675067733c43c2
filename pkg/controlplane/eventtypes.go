package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weft-dev/weft/pkg/apis"
	weftv1 "github.com/weft-dev/weft/proto/weft/v1"
)

// maxReportedEventTypes bounds one ReportEventTypes request.
const maxReportedEventTypes = 1000

// ReportEventTypes implements weftv1.ContractServiceServer: an ingress
// reports the event types it saw on entries with eventtype_auto_create.
func (p *publisher) ReportEventTypes(ctx context.Context, req *weftv1.ReportEventTypesRequest) (*weftv1.ReportEventTypesResponse, error) {
	if n := len(req.GetEventTypes()); n > maxReportedEventTypes {
		return nil, status.Errorf(codes.InvalidArgument, "event_types: at most %d per report, got %d", maxReportedEventTypes, n)
	}
	if p.registerEventTypes == nil {
		return nil, status.Error(codes.Unimplemented, "this control plane does not register event types")
	}
	n, err := p.registerEventTypes(ctx, req.GetEventTypes())
	if err != nil {
		return nil, toStatus(err)
	}
	return &weftv1.ReportEventTypesResponse{Created: int32(n)}, nil
}

// EventTypeCreator creates an auto-registered EventType where the control
// plane's resources live when it does not store them itself: in Kubernetes
// mode, a custom resource created through the Kubernetes API, owned by its
// Broker or channel. CreateEventType returns created false and no error
// when the EventType exists already. It is called from the ReportEventTypes
// handler, concurrently, with the request's context.
type EventTypeCreator interface {
	CreateEventType(ctx context.Context, et *apis.EventType) (created bool, err error)
}

// SetEventTypeCreator makes ReportEventTypes create EventTypes through c
// rather than the store (a control plane with a read-only resource API
// registers none without one). Call it before Run.
func (s *Server) SetEventTypeCreator(c EventTypeCreator) { s.etCreator.Store(&c) }

// registerEventTypes creates an EventType for each observed (type, source)
// on a Broker or Channel that still exists (same uid) with auto-creation on
// (its annotation, else --eventtype-auto-create), as Knative's
// EventTypeAutoHandler does: named AutoEventTypeName, so that every replica
// and every restart picks the same name, and left alone when it exists.
// Observations that no longer apply are skipped. With an EventTypeCreator
// (Kubernetes mode) the EventTypes are created through it, else in the
// store. It returns how many it created.
func (s *Server) registerEventTypes(ctx context.Context, observed []*weftv1.ObservedEventType) (int, error) {
	var creator EventTypeCreator
	if c := s.etCreator.Load(); c != nil {
		creator = *c
	}
	if s.readOnly != "" && creator == nil {
		// A read-only API with nowhere else to create them.
		return 0, nil
	}
	st := s.store.Snapshot()
	var todo []*apis.EventType
	planned := map[string]bool{}
	for _, ob := range observed {
		et, ok := s.autoEventType(st, ob)
		if !ok || planned[et.ObjectMeta.Namespace+"/"+et.ObjectMeta.Name] {
			continue
		}
		planned[et.ObjectMeta.Namespace+"/"+et.ObjectMeta.Name] = true
		todo = append(todo, et)
	}
	created := 0
	var errs []error
	for _, et := range todo {
		var made bool
		if creator != nil {
			ok, err := creator.CreateEventType(ctx, et)
			if err != nil {
				errs = append(errs, fmt.Errorf("create EventType %s/%s: %w", et.ObjectMeta.Namespace, et.ObjectMeta.Name, err))
				continue
			}
			made = ok
		} else {
			// One apply each: an EventType that another replica created in
			// the meantime is "unchanged" (same name, same spec) and does not
			// hold back the others.
			res, err := s.apply(ctx, []apis.Object{et}, false)
			if err != nil {
				errs = append(errs, fmt.Errorf("create EventType %s/%s: %w", et.ObjectMeta.Namespace, et.ObjectMeta.Name, err))
				continue
			}
			made = len(res) == 1 && res[0].action == ActionCreated
		}
		if made {
			created++
			s.logger.Info("event type registered", "namespace", et.ObjectMeta.Namespace, "name", et.ObjectMeta.Name,
				"type", et.Spec.Type, "source", et.Spec.Source, "reference", et.Spec.Reference.Kind+"/"+et.Spec.Reference.Name)
		}
	}
	return created, errors.Join(errs...)
}

// autoEventType is the EventType to create for ob, or false when there is
// none to create: its owner is gone, replaced or not auto-creating, the
// EventType exists already, or it would not be valid.
func (s *Server) autoEventType(st *State, ob *weftv1.ObservedEventType) (*apis.EventType, bool) {
	var kind string
	switch ob.GetKind() {
	case apis.KindBroker, apis.KindChannel:
		kind = ob.GetKind()
	default:
		return nil, false
	}
	owner := st.Get(Key{kind, ob.GetNamespace(), ob.GetName()})
	if owner == nil {
		return nil, false
	}
	om := owner.GetObjectMeta()
	if om.UID != ob.GetIngressUid() || !apis.EventTypeAutoCreate(om.Annotations, s.opts.EventTypeAutoCreate) {
		return nil, false
	}
	name := apis.AutoEventTypeName(om.Name, om.Namespace, ob.GetType(), ob.GetSource())
	if st.Get(Key{apis.KindEventType, om.Namespace, name}) != nil {
		return nil, false
	}
	tm := owner.GetTypeMeta()
	ownerRef, _ := json.Marshal(apis.OwnerReference{APIVersion: tm.APIVersion, Kind: tm.Kind, Name: om.Name, UID: om.UID})
	et := &apis.EventType{
		TypeMeta: apis.TypeMeta{APIVersion: apis.EventingV1beta2, Kind: apis.KindEventType},
		ObjectMeta: apis.ObjectMeta{
			Name: name, Namespace: om.Namespace,
			Labels:      map[string]string{apis.LabelEventTypeAutoCreated: "true"},
			Annotations: map[string]string{apis.AnnotationOwnerReference: string(ownerRef)},
		},
		Spec: apis.EventTypeSpec{
			Type: ob.GetType(), Source: ob.GetSource(), Schema: ob.GetSchema(),
			Reference:   &apis.KReference{APIVersion: tm.APIVersion, Kind: tm.Kind, Name: om.Name, Namespace: om.Namespace},
			Description: apis.AutoEventTypeDescription,
			// As Knative's auto-created v1beta3 EventTypes.
			Attributes: []apis.EventAttributeDefinition{
				{Name: "type", Value: ob.GetType(), Required: true},
				{Name: "source", Value: ob.GetSource(), Required: true},
				{Name: "schemadata", Value: ob.GetSchema(), Required: true},
				{Name: "specversion", Value: "1.0", Required: true},
				{Name: "id", Required: false},
			},
		},
	}
	apis.SetDefaults(et)
	if err := apis.Validate(et); err != nil {
		s.logger.Warn("observed event type not registered: not a valid EventType", "namespace", om.Namespace, "reference", om.Name,
			"type", ob.GetType(), "source", ob.GetSource(), "err", err)
		return nil, false
	}
	return et, true
}

// eventTypeStatus fills an EventType's status as Knative's reconciler does:
// ReferenceExists True when spec.reference names an existing Broker or
// channel (or is not set: reason ReferenceNotSet), else False with a reason
// naming the missing kind (BrokerDoesNotExist, ChannelDoesNotExist).
func (s *Server) eventTypeStatus(e *apis.EventType) {
	m := &e.ObjectMeta
	st := &e.Status
	st.ObservedGeneration = m.Generation
	r := e.Spec.Reference
	if r == nil {
		st.Conditions = withReady([]apis.Condition{cond("ReferenceExists", true, "ReferenceNotSet", "spec.reference is not set")})
		return
	}
	ns := r.Namespace
	if ns == "" {
		ns = m.Namespace
	}
	kind, reason := apis.KindBroker, "BrokerDoesNotExist"
	if r.Kind != apis.KindBroker {
		kind, reason = apis.KindChannel, "ChannelDoesNotExist"
	}
	if s.store.Snapshot().Get(Key{kind, ns, r.Name}) == nil {
		st.Conditions = withReady([]apis.Condition{cond("ReferenceExists", false, reason,
			fmt.Sprintf("%s %q in spec.reference does not exist in namespace %q", r.Kind, r.Name, ns))})
		return
	}
	st.Conditions = withReady([]apis.Condition{cond("ReferenceExists", true, "", "")})
}
