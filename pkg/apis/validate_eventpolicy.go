package apis

import (
	"fmt"
	"slices"
	"strings"
)

// eventPolicyTargets are the addressables an EventPolicy's spec.to may
// name, by "group/kind", with the kind each is stored as.
var eventPolicyTargets = map[string]string{
	"eventing.knative.dev/" + KindBroker:           KindBroker,
	"messaging.knative.dev/" + KindChannel:         KindChannel,
	"messaging.knative.dev/" + KindInMemoryChannel: KindChannel,
	"messaging.knative.dev/" + KindKafkaChannel:    KindChannel,
	"flows.knative.dev/" + KindSequence:            KindSequence,
	"flows.knative.dev/" + KindParallel:            KindParallel,
	"eventing.knative.dev/" + KindKafkaSink:        KindKafkaSink,
}

// eventPolicyTargetNames is how messages list them.
const eventPolicyTargetNames = "Broker (eventing.knative.dev/v1), Channel, InMemoryChannel (messaging.knative.dev/v1), KafkaChannel (messaging.knative.dev/v1beta1), Sequence, Parallel (flows.knative.dev/v1) or KafkaSink (eventing.knative.dev/v1alpha1)"

// EventPolicyTargetKind is the stored kind of the addressable an
// EventPolicy's spec.to names by apiVersion and kind (KindBroker for
// eventing.knative.dev/v1 Broker, KindChannel for every channel kind, ...);
// ok is false for a kind Weft does not serve.
func EventPolicyTargetKind(apiVersion, kind string) (string, bool) {
	group, _, _ := strings.Cut(apiVersion, "/")
	k, ok := eventPolicyTargets[group+"/"+kind]
	return k, ok
}

// validateEventPolicy checks an EventPolicy as Knative's webhook does (one
// of ref and selector per target, one of ref and sub per sender, '*' only
// at the end of a sub), and what Weft can enforce: targets of the kinds it
// serves, senders that are ServiceAccounts, filters as a Trigger's.
func validateEventPolicy(errs *errorList, p *EventPolicy) {
	s := &p.Spec
	for i, t := range s.To {
		path := fmt.Sprintf("spec.to[%d]", i)
		switch {
		case t.Ref == nil && t.Selector == nil:
			errs.add(path, "", "expected exactly one of ref and selector, got neither (e.g. ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default})")
		case t.Ref != nil && t.Selector != nil:
			errs.add(path, "", "expected exactly one of ref and selector, got both")
		case t.Ref != nil:
			validateEventPolicyTarget(errs, path+".ref", t.Ref.APIVersion, t.Ref.Kind, true)
			if t.Ref.Name == "" {
				errs.add(path+".ref.name", "", "required: the name of the addressable in the policy's namespace")
			} else if prob := dns1123Subdomain(t.Ref.Name); prob != "" {
				errs.add(path+".ref.name", t.Ref.Name, "%s", prob)
			}
		default:
			validateEventPolicySelector(errs, path+".selector", t.Selector)
		}
	}
	for i, f := range s.From {
		path := fmt.Sprintf("spec.from[%d]", i)
		switch {
		case f.Ref == nil && f.Sub == nil:
			errs.add(path, "", "expected exactly one of ref and sub, got neither (e.g. sub: system:serviceaccount:team-a:*, or ref: {apiVersion: v1, kind: ServiceAccount, name: sender})")
		case f.Ref != nil && f.Sub != nil:
			errs.add(path, "", "expected exactly one of ref and sub, got both")
		case f.Sub != nil:
			sub := *f.Sub
			switch i := strings.IndexByte(sub, '*'); {
			case sub == "":
				errs.add(path+".sub", "", "must not be empty: an OIDC subject, or a prefix ending in '*'")
			case i >= 0 && i < len(sub)-1:
				errs.add(path+".sub", sub, "'*' is only allowed as the last character (a prefix match)")
			}
		default:
			r := f.Ref
			if r.APIVersion != CoreV1 || r.Kind != KindServiceAccount {
				errs.add(path+".ref", r.APIVersion+" "+r.Kind, "must be a ServiceAccount (apiVersion v1, kind ServiceAccount): Weft resolves only service accounts to OIDC subjects; name other senders with sub")
			}
			if r.Name == "" {
				errs.add(path+".ref.name", "", "required: the ServiceAccount's name")
			} else if prob := dns1123Subdomain(r.Name); prob != "" {
				errs.add(path+".ref.name", r.Name, "%s", prob)
			}
			if r.Namespace != "" {
				if prob := dns1123Label(r.Namespace); prob != "" {
					errs.add(path+".ref.namespace", r.Namespace, "%s", prob)
				}
			}
		}
	}
	for i := range s.Filters {
		validateFilter(errs, fmt.Sprintf("spec.filters[%d]", i), &s.Filters[i])
	}
}

// validateEventPolicyTarget checks the apiVersion and kind of a target;
// required: both must be set (a ref), else they may both be empty (a
// selector of any kind).
func validateEventPolicyTarget(errs *errorList, path, apiVersion, kind string, required bool) {
	switch {
	case kind == "" && apiVersion == "" && !required:
		return
	case kind == "":
		errs.add(path+".kind", "", "required: one of %s", eventPolicyTargetNames)
		return
	case apiVersion == "":
		errs.add(path+".apiVersion", "", "required with kind %s (e.g. %s)", kind, DefaultAPIVersion(kind))
		return
	}
	if _, ok := EventPolicyTargetKind(apiVersion, kind); !ok {
		errs.add(path+".kind", apiVersion+" "+kind, "Weft enforces EventPolicies on %s", eventPolicyTargetNames)
	}
}

func validateEventPolicySelector(errs *errorList, path string, s *EventPolicySelector) {
	validateEventPolicyTarget(errs, path, s.APIVersion, s.Kind, false)
	for _, k := range sortedKeys(s.MatchLabels) {
		p := path + ".matchLabels[" + k + "]"
		if prob := qualifiedName(k); prob != "" {
			errs.add(p, "", "invalid label key: %s", prob)
		}
		if prob := labelValue(s.MatchLabels[k]); prob != "" {
			errs.add(p, s.MatchLabels[k], "%s", prob)
		}
	}
	ops := []string{LabelSelectorOpIn, LabelSelectorOpNotIn, LabelSelectorOpExists, LabelSelectorOpDoesNotExist}
	for i, r := range s.MatchExpressions {
		p := fmt.Sprintf("%s.matchExpressions[%d]", path, i)
		if prob := qualifiedName(r.Key); prob != "" {
			errs.add(p+".key", r.Key, "invalid label key: %s", prob)
		}
		switch {
		case !slices.Contains(ops, r.Operator):
			errs.add(p+".operator", r.Operator, "must be one of %s", strings.Join(ops, ", "))
		case (r.Operator == LabelSelectorOpIn || r.Operator == LabelSelectorOpNotIn) && len(r.Values) == 0:
			errs.add(p+".values", "", "required (at least one value) with operator %s", r.Operator)
		case (r.Operator == LabelSelectorOpExists || r.Operator == LabelSelectorOpDoesNotExist) && len(r.Values) > 0:
			errs.add(p+".values", "", "must be empty with operator %s", r.Operator)
		}
	}
}
