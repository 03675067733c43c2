package controlplane

import (
	"github.com/weft-dev/weft/pkg/apis"
	"github.com/weft-dev/weft/pkg/controlplane/compile"
	"github.com/weft-dev/weft/pkg/wire"
)

// sourceShape is what a source kind's status shows besides SinkProvided
// and Deployed (every dispatcher runs the egress delivering its events).
type sourceShape struct {
	// kind names the source in "not in the contract yet".
	kind string
	// secrets: the kind reads Secrets (SecretsProvided).
	secrets bool
	// ingress: the ingress serves it too (IngressReady).
	ingress bool
	// health, when set, is the condition carrying the dispatchers' problem
	// reports (DeliveryHealthy, PollHealthy).
	health string
	// needs says what must resolve before it runs ("spec.sink").
	needs string
}

// sourceConditions are the sink URI and conditions of a source whose
// compiled egress is res (found: the contract holds it). Compile failures
// show on SinkProvided (a sink, dead-letter sink or delivery that does not
// resolve) or SecretsProvided (ReasonSecretResolve); either way the source
// is not run, so Deployed is Unknown.
func (s *Server) sourceConditions(res compile.EgressResolution, found bool, sh sourceShape) (string, []apis.Condition) {
	if !found {
		return "", notCompiled(sh.kind)
	}
	notRun := func(reason string) apis.Condition {
		return apis.Condition{Type: "Deployed", Status: apis.ConditionUnknown, Reason: reason, Message: "not run until " + sh.needs + " resolve"}
	}
	var conds []apis.Condition
	switch res.Reason {
	case "":
		conds = append(conds, cond("SinkProvided", true, "", ""))
		if sh.secrets {
			conds = append(conds, cond("SecretsProvided", true, "", ""))
		}
	case compile.ReasonSecretResolve:
		return res.SubscriberURI, withReady([]apis.Condition{
			cond("SinkProvided", true, "", ""),
			cond("SecretsProvided", false, res.Reason, res.Message),
			notRun("SecretsNotProvided"),
		})
	default:
		return res.SubscriberURI, withReady([]apis.Condition{cond("SinkProvided", false, res.Reason, res.Message), notRun("SinkNotProvided")})
	}
	if sh.ingress {
		ok, reason, msg := s.pub.readiness(res.UID, wire.RoleIngress)
		conds = append(conds, cond("IngressReady", ok, reason, msg))
	}
	ok, reason, msg := s.pub.readiness(res.UID, wire.RoleDispatcher)
	conds = append(conds, cond("Deployed", ok, reason, msg))
	if sh.health != "" {
		reason, msg := s.pub.problems(res.UID)
		conds = append(conds, cond(sh.health, reason == "", reason, msg))
	}
	return res.SubscriberURI, withReady(conds)
}
