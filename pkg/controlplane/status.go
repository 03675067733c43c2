package controlplane

import (
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/wire"
)

// withStatus returns a copy of o with its status computed from the compiled
// contract and the data plane's acknowledgements.
func (s *Server) withStatus(o apis.Object) apis.Object {
	o = apis.DeepCopy(o)
	compiled, _ := s.pub.current()
	m := o.GetObjectMeta()
	switch t := o.(type) {
	case *apis.Broker:
		st := &t.Status
		st.ObservedGeneration = m.Generation
		st.Topic = wire.BrokerTopic(m.Namespace, m.Name)
		st.Address = &apis.Addressable{Name: "http", URL: s.opts.BrokerURL(m.Namespace, m.Name)}
		conds := []apis.Condition{
			cond("Addressable", true, "", ""),
			cond("TopicReady", true, "", "topic "+st.Topic),
		}
		ok, reason, msg := s.pub.readiness(m.UID, wire.RoleIngress)
		conds = append(conds, cond("IngressReady", ok, reason, msg))
		st.Conditions = withReady(conds)
	case *apis.Trigger:
		st := &t.Status
		st.ObservedGeneration = m.Generation
		res, found := compiled.Triggers[m.Namespace+"/"+m.Name]
		if !found {
			// Not compiled yet (the contract lags the state by a moment).
			st.Conditions = []apis.Condition{cond("Ready", false, "NotInContract", "waiting for the contract to include this trigger")}
			st.Conditions[0].Status = apis.ConditionUnknown
			return o
		}
		st.SubscriberURI, st.DeadLetterSinkURI = res.SubscriberURI, res.DeadLetterURI
		conds := []apis.Condition{}
		if res.BrokerExists {
			conds = append(conds, cond("BrokerReady", true, "", ""))
		} else {
			conds = append(conds, cond("BrokerReady", false, compile.ReasonBrokerDoesNotExist, res.Message))
		}
		switch res.Reason {
		case compile.ReasonSubscriberResolve, compile.ReasonDeadLetterResolve, compile.ReasonInvalidDelivery:
			conds = append(conds, cond("SubscriberResolved", false, res.Reason, res.Message))
		default:
			conds = append(conds, cond("SubscriberResolved", true, "", ""))
		}
		if res.Reason == "" {
			ok, reason, msg := s.pub.readiness(m.UID, wire.RoleDispatcher)
			conds = append(conds, cond("DataPlaneReady", ok, reason, msg))
			reason, msg = s.pub.problems(m.UID)
			conds = append(conds, cond("DeliveryHealthy", reason == "", reason, msg))
		}
		st.Conditions = withReady(conds)
	}
	return o
}

func cond(typ string, ok bool, reason, msg string) apis.Condition {
	c := apis.Condition{Type: typ, Status: apis.ConditionTrue, Reason: reason, Message: msg}
	if !ok {
		c.Status = apis.ConditionFalse
	}
	return c
}

// withReady prepends Ready: True when every condition is, else the first
// failing condition's reason and message.
func withReady(conds []apis.Condition) []apis.Condition {
	ready := apis.Condition{Type: "Ready", Status: apis.ConditionTrue}
	for _, c := range conds {
		if c.Status != apis.ConditionTrue {
			ready.Status, ready.Reason, ready.Message = c.Status, c.Reason, c.Message
			break
		}
	}
	return append([]apis.Condition{ready}, conds...)
}
