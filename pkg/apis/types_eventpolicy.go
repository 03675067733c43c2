package apis

// EventPolicy: who may send to Weft's addressables, as Knative Eventing's
// eventing.knative.dev/v1alpha1 EventPolicy. It is enforced only when the
// control plane runs with OIDC authentication on (--oidc-authentication,
// Knative's authentication-oidc feature): senders then present an OIDC
// token for the addressable's audience.

// EventingV1alpha1 (eventing.knative.dev/v1alpha1) is declared with
// KafkaSink; EventPolicy shares it.

// KindEventPolicy is the kind of an EventPolicy.
const KindEventPolicy = "EventPolicy"

// KindServiceAccount is the one kind spec.from[].ref may name.
const KindServiceAccount = "ServiceAccount"

// ServiceAccountSubject is the OIDC subject of a Kubernetes service account's
// tokens: "system:serviceaccount:{namespace}:{name}".
func ServiceAccountSubject(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// EventPolicy says which senders (spec.from) may send which events
// (spec.filters) to which addressables (spec.to) of its namespace.
type EventPolicy struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta        `json:"metadata"`
	Spec       EventPolicySpec   `json:"spec"`
	Status     EventPolicyStatus `json:"status,omitempty"`
}

// EventPolicySpec is an EventPolicy's desired state.
type EventPolicySpec struct {
	// To lists the addressables the policy applies to, in its namespace;
	// empty: every addressable of the namespace.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	To []EventPolicySpecTo `json:"to,omitempty"`
	// From lists the senders admitted: service accounts by ref, or OIDC
	// subjects (a trailing "*" matches any suffix); empty: every
	// authenticated sender.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	From []EventPolicySpecFrom `json:"from,omitempty"`
	// Filters every admitted event must pass (the dialects of a Trigger's
	// spec.filters); empty: every event.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	Filters []SubscriptionsAPIFilter `json:"filters,omitempty"`
}

// EventPolicySpecTo names the policy's targets: a ref or a selector.
//
// +kubebuilder:validation:XValidation:rule="has(self.ref) != has(self.selector)",message="expected exactly one of ref and selector (e.g. ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default})"
type EventPolicySpecTo struct {
	// Ref names one addressable.
	// +optional
	Ref *EventPolicyToReference `json:"ref,omitempty"`
	// Selector selects addressables of a kind by their labels.
	// +optional
	Selector *EventPolicySelector `json:"selector,omitempty"`
}

// EventPolicySpecFrom names admitted senders: a ref or a subject.
//
// +kubebuilder:validation:XValidation:rule="has(self.ref) != has(self.sub)",message="expected exactly one of ref and sub (e.g. sub: system:serviceaccount:team-a:*, or ref: {apiVersion: v1, kind: ServiceAccount, name: sender})"
type EventPolicySpecFrom struct {
	// Ref names a ServiceAccount (apiVersion v1); its tokens' subject is
	// system:serviceaccount:{namespace}:{name}.
	// +optional
	Ref *EventPolicyFromReference `json:"ref,omitempty"`
	// Sub is an OIDC subject; a trailing "*" matches any suffix
	// ("system:serviceaccount:team-a:*").
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^[^*]*\*?$`
	Sub *string `json:"sub,omitempty"`
}

// EventPolicyToReference names an addressable in the policy's namespace.
//
// +kubebuilder:validation:XValidation:rule="has(self.apiVersion) && ((self.apiVersion.startsWith('eventing.knative.dev/') && self.kind in ['Broker', 'KafkaSink']) || (self.apiVersion.startsWith('messaging.knative.dev/') && self.kind in ['Channel', 'InMemoryChannel', 'KafkaChannel']) || (self.apiVersion.startsWith('flows.knative.dev/') && self.kind in ['Sequence', 'Parallel']))",message="Weft enforces EventPolicies on Broker (eventing.knative.dev/v1), Channel, InMemoryChannel (messaging.knative.dev/v1), KafkaChannel (messaging.knative.dev/v1beta1), Sequence, Parallel (flows.knative.dev/v1) or KafkaSink (eventing.knative.dev/v1alpha1); apiVersion and kind are required",fieldPath=".kind"
type EventPolicyToReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// EventPolicyFromReference names a sender; namespace defaults to the
// policy's.
//
// +kubebuilder:validation:XValidation:rule="has(self.apiVersion) && self.apiVersion == 'v1' && self.kind == 'ServiceAccount'",message="must be a ServiceAccount (apiVersion v1, kind ServiceAccount): Weft resolves only service accounts to OIDC subjects; name other senders with sub"
type EventPolicyFromReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// EventPolicySelector is Knative's: a Kubernetes label selector inline
// with the apiVersion and kind it selects.
type EventPolicySelector struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	// MatchLabels: every label must be present with this value.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	// MatchExpressions: every requirement must hold.
	// +optional
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is Kubernetes': key, operator In, NotIn,
// Exists or DoesNotExist, and the values In and NotIn compare with.
type LabelSelectorRequirement struct {
	Key string `json:"key"`
	// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Label selector operators.
const (
	LabelSelectorOpIn           = "In"
	LabelSelectorOpNotIn        = "NotIn"
	LabelSelectorOpExists       = "Exists"
	LabelSelectorOpDoesNotExist = "DoesNotExist"
)

// Matches reports whether labels satisfy the selector (kind aside): every
// matchLabels entry and every matchExpressions requirement. An empty
// selector matches everything.
func (s *EventPolicySelector) Matches(labels map[string]string) bool {
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		v, ok := labels[r.Key]
		in := false
		for _, x := range r.Values {
			if ok && v == x {
				in = true
			}
		}
		switch r.Operator {
		case LabelSelectorOpIn:
			if !in {
				return false
			}
		case LabelSelectorOpNotIn:
			if in {
				return false
			}
		case LabelSelectorOpExists:
			if !ok {
				return false
			}
		case LabelSelectorOpDoesNotExist:
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// EventPolicyStatus is an EventPolicy's observed state.
type EventPolicyStatus struct {
	Status `json:",inline"`
	// From lists the OIDC subjects spec.from resolved to.
	From []string `json:"from,omitempty"`
}

func (p *EventPolicy) GetTypeMeta() *TypeMeta     { return &p.TypeMeta }
func (p *EventPolicy) GetObjectMeta() *ObjectMeta { return &p.ObjectMeta }
func (p *EventPolicy) GetConditions() []Condition { return p.Status.Conditions }

// Subjects are the OIDC subjects spec.from admits, in order: a
// ServiceAccount ref becomes system:serviceaccount:{ns}:{name} (ns: the
// ref's, else the policy's), a sub is kept as written. Call after
// validation.
func (p *EventPolicy) Subjects() []string {
	var out []string
	for _, f := range p.Spec.From {
		switch {
		case f.Ref != nil:
			ns := f.Ref.Namespace
			if ns == "" {
				ns = p.ObjectMeta.Namespace
			}
			out = append(out, ServiceAccountSubject(ns, f.Ref.Name))
		case f.Sub != nil:
			out = append(out, *f.Sub)
		}
	}
	return out
}
