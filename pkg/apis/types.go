package apis

import "time"

// API groups and versions Weft accepts, as Knative Eventing names them.
const (
	EventingV1 = "eventing.knative.dev/v1"
)

// Kinds Weft stores.
const (
	KindBroker  = "Broker"
	KindTrigger = "Trigger"
)

// Well-known annotations, as Knative and its Kafka broker spell them.
const (
	// AnnotationDeliveryOrder selects "ordered" or "unordered" delivery for a Trigger.
	AnnotationDeliveryOrder = "kafka.eventing.knative.dev/delivery.order"
	// AnnotationInitialOffset selects "latest" (default) or "earliest" for a new Trigger.
	AnnotationInitialOffset = "weft.dev/initial-offset"
	// AnnotationPartitions overrides the number of partitions of a Broker's topic.
	AnnotationPartitions = "weft.dev/partitions"
	// AnnotationReplicationFactor overrides the replication factor of a Broker's topic.
	AnnotationReplicationFactor = "weft.dev/replication-factor"
	// AnnotationBrokerClass is Knative's broker class annotation; any value is accepted.
	AnnotationBrokerClass = "eventing.knative.dev/broker.class"
	// AnnotationDependency is Knative's Trigger dependency annotation: a JSON
	// object reference (kind, name, apiVersion) the Trigger waits for.
	AnnotationDependency = "knative.dev/dependency"
	// AnnotationInjection is Knative's Trigger annotation asking for the
	// namespace's default Broker: "enabled" or "disabled".
	AnnotationInjection = "eventing.knative.dev/injection"
	// LabelBroker is the label Knative sets on a Trigger to its Broker's name.
	LabelBroker = "eventing.knative.dev/broker"

	// InternalAnnotationPrefix starts the annotations only the control plane
	// sets; a manifest that carries one is invalid.
	InternalAnnotationPrefix = "internal.weft.dev/"
	// AnnotationResolvedRefs holds, on an object the control plane mirrors
	// from Kubernetes, how it resolved the object's references there: JSON
	// {"<field path>": {"uri": "..."} or {"error": "..."}} for
	// "spec.subscriber" and "spec.delivery.deadLetterSink".
	AnnotationResolvedRefs = InternalAnnotationPrefix + "resolved-refs"
)

// ResolvedRef is one entry of AnnotationResolvedRefs: the URL a reference
// resolved to, or why it did not.
type ResolvedRef struct {
	URI   string `json:"uri,omitempty"`
	Error string `json:"error,omitempty"`
}

// TypeMeta is the apiVersion and kind of a document.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// ObjectMeta is the subset of Kubernetes object metadata Weft keeps.
type ObjectMeta struct {
	Name              string            `json:"name,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	UID               string            `json:"uid,omitempty"`
	Generation        int64             `json:"generation,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	CreationTimestamp *time.Time        `json:"creationTimestamp,omitempty"`
}

// KReference names another object, as Knative's duckv1.KReference.
type KReference struct {
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	APIVersion string `json:"apiVersion,omitempty"`
	Group      string `json:"group,omitempty"`
	// Address names one of the referent's addresses (Knative's KReference.Address).
	Address *string `json:"address,omitempty"`
}

// Destination is a ref, a uri, or both (then uri is resolved relative to the ref's URL).
type Destination struct {
	Ref *KReference `json:"ref,omitempty"`
	URI string      `json:"uri,omitempty"`
	// CACerts and Audience are accepted for manifest compatibility.
	CACerts  *string `json:"CACerts,omitempty"`
	Audience *string `json:"audience,omitempty"`
}

// BackoffPolicyType is linear or exponential.
type BackoffPolicyType string

const (
	BackoffPolicyLinear      BackoffPolicyType = "linear"
	BackoffPolicyExponential BackoffPolicyType = "exponential"
)

// DeliverySpec is Knative's delivery policy. Durations are ISO-8601 strings ("PT0.5S").
type DeliverySpec struct {
	DeadLetterSink *Destination       `json:"deadLetterSink,omitempty"`
	Retry          *int32             `json:"retry,omitempty"`
	BackoffPolicy  *BackoffPolicyType `json:"backoffPolicy,omitempty"`
	BackoffDelay   *string            `json:"backoffDelay,omitempty"`
	Timeout        *string            `json:"timeout,omitempty"`
	// RetryAfterMax caps how long a Retry-After header may delay a retry.
	RetryAfterMax *string `json:"retryAfterMax,omitempty"`
	// Format asks for events in structured ("json") or binary ("binary")
	// content mode; nil means no preference.
	Format *FormatType `json:"format,omitempty"`
}

// FormatType is Knative's DeliverySpec.Format: the CloudEvents HTTP content mode.
type FormatType string

const (
	DeliveryFormatJSON   FormatType = "json"
	DeliveryFormatBinary FormatType = "binary"
)

// Condition is one status condition.
type Condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"` // "True", "False", "Unknown"
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=date-time
	LastTransitionTime *time.Time `json:"lastTransitionTime,omitempty"`
}

// Condition status values.
const (
	ConditionTrue    = "True"
	ConditionFalse   = "False"
	ConditionUnknown = "Unknown"
)

// Addressable is an HTTP address.
type Addressable struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// Status is what every resource reports.
type Status struct {
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
	Conditions         []Condition `json:"conditions,omitempty"`
}

// Broker is eventing.knative.dev/v1 Broker.
type Broker struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta   `json:"metadata"`
	Spec       BrokerSpec   `json:"spec"`
	Status     BrokerStatus `json:"status,omitempty"`
}

// BrokerSpec is the Broker's desired state.
type BrokerSpec struct {
	// Config is accepted for compatibility (Knative points it at a ConfigMap).
	Config   *KReference   `json:"config,omitempty"`
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}

// BrokerStatus is the Broker's observed state.
type BrokerStatus struct {
	Status  `json:",inline"`
	Address *Addressable `json:"address,omitempty"`
	// Topic is the Kafka topic backing the broker.
	Topic string `json:"topic,omitempty"`
}

// Trigger is eventing.knative.dev/v1 Trigger.
type Trigger struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta    `json:"metadata"`
	Spec       TriggerSpec   `json:"spec"`
	Status     TriggerStatus `json:"status,omitempty"`
}

// TriggerSpec is the Trigger's desired state.
type TriggerSpec struct {
	Broker string `json:"broker"`
	// BrokerRef is accepted for compatibility with newer Knative manifests.
	BrokerRef  *KReference              `json:"brokerRef,omitempty"`
	Filter     *TriggerFilter           `json:"filter,omitempty"`
	Filters    []SubscriptionsAPIFilter `json:"filters,omitempty"`
	Subscriber Destination              `json:"subscriber"`
	Delivery   *DeliverySpec            `json:"delivery,omitempty"`
}

// TriggerFilter is the legacy exact-match filter on attributes.
type TriggerFilter struct {
	Attributes map[string]string `json:"attributes,omitempty"`
}

// SubscriptionsAPIFilter is one entry of Trigger.spec.filters: exactly one dialect.
type SubscriptionsAPIFilter struct {
	// Nested entries are validated by the control plane, not by the API
	// server's schema (a CRD schema cannot be recursive).
	// +kubebuilder:validation:items:Type=object
	// +kubebuilder:validation:items:XPreserveUnknownFields
	All []SubscriptionsAPIFilter `json:"all,omitempty"`
	// +kubebuilder:validation:items:Type=object
	// +kubebuilder:validation:items:XPreserveUnknownFields
	Any []SubscriptionsAPIFilter `json:"any,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Not    *SubscriptionsAPIFilter `json:"not,omitempty"`
	Exact  map[string]string       `json:"exact,omitempty"`
	Prefix map[string]string       `json:"prefix,omitempty"`
	Suffix map[string]string       `json:"suffix,omitempty"`
	CESQL  string                  `json:"cesql,omitempty"`
}

// TriggerStatus is the Trigger's observed state.
type TriggerStatus struct {
	Status            `json:",inline"`
	SubscriberURI     string `json:"subscriberUri,omitempty"`
	DeadLetterSinkURI string `json:"deadLetterSinkUri,omitempty"`
}

// Object is any resource Weft stores.
type Object interface {
	GetTypeMeta() *TypeMeta
	GetObjectMeta() *ObjectMeta
	// GetConditions returns the status conditions for printing.
	GetConditions() []Condition
}

func (b *Broker) GetTypeMeta() *TypeMeta      { return &b.TypeMeta }
func (b *Broker) GetObjectMeta() *ObjectMeta  { return &b.ObjectMeta }
func (b *Broker) GetConditions() []Condition  { return b.Status.Conditions }
func (t *Trigger) GetTypeMeta() *TypeMeta     { return &t.TypeMeta }
func (t *Trigger) GetObjectMeta() *ObjectMeta { return &t.ObjectMeta }
func (t *Trigger) GetConditions() []Condition { return t.Status.Conditions }
