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
	// AnnotationDeliveryOrder selects "ordered" or "unordered" delivery for a
	// Trigger or a Subscription.
	AnnotationDeliveryOrder = "kafka.eventing.knative.dev/delivery.order"
	// AnnotationInitialOffset selects "latest" (default) or "earliest" for a new
	// Trigger or Subscription.
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

// KReference names another object, as Knative's duckv1.KReference. kind,
// name and apiVersion are required, as Knative's CRD requires them.
//
// +kubebuilder:validation:XValidation:rule="!has(self.group) || size(self.group) == 0 || !has(self.apiVersion) || self.apiVersion.startsWith(self.group + '/')",message="must be the group of apiVersion; set only apiVersion",fieldPath=".group"
type KReference struct {
	// Kind of the referent, e.g. Service.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Namespace of the referent; empty means the namespace of the object
	// holding the reference.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$`
	Namespace string `json:"namespace,omitempty"`
	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// APIVersion of the referent: a version ("v1") or group/version
	// ("serving.knative.dev/v1").
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-z0-9]+$`
	APIVersion string `json:"apiVersion,omitempty"`
	// Group of the referent; when set, it must be apiVersion's group.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group,omitempty"`
	// Address names one of the referent's addresses (Knative's KReference.Address).
	// +optional
	Address *string `json:"address,omitempty"`
}

// BrokerReference is a Trigger's spec.brokerRef: a KReference to a Broker in
// the Trigger's namespace. Knative's CRD requires none of its fields: kind,
// apiVersion and group, when set, must name a Broker, and name must equal
// spec.broker.
type BrokerReference struct {
	// Kind is Broker or empty.
	// +optional
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self == 'Broker'",message="must be Broker"
	Kind string `json:"kind"`
	// Namespace must be empty or the Trigger's namespace: Brokers in other
	// namespaces are not supported.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$`
	Namespace string `json:"namespace,omitempty"`
	// Name of the Broker.
	// +optional
	Name string `json:"name"`
	// APIVersion is eventing.knative.dev/v1 or empty.
	// +optional
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self == 'eventing.knative.dev/v1'",message="must be eventing.knative.dev/v1"
	APIVersion string `json:"apiVersion,omitempty"`
	// Group is eventing.knative.dev or empty.
	// +optional
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self == 'eventing.knative.dev'",message="must be eventing.knative.dev"
	Group string `json:"group,omitempty"`
	// Address names one of the Broker's addresses.
	// +optional
	Address *string `json:"address,omitempty"`
}

// Destination is a ref, a uri, or both (then uri is resolved relative to the ref's URL).
//
// +kubebuilder:validation:XValidation:rule="has(self.ref) || (has(self.uri) && size(self.uri) > 0)",message="expected ref, uri, or both (a ref and a uri relative to it); got neither"
// +kubebuilder:validation:XValidation:rule="has(self.ref) || !has(self.uri) || size(self.uri) == 0 || (isURL(self.uri) && size(url(self.uri).getScheme()) > 0 && size(url(self.uri).getHost()) > 0)",message="must be an absolute URL with a scheme and a host (e.g. http://display.default.svc.cluster.local/) when ref is not set; a relative URI needs a ref to resolve against",fieldPath=".uri"
// +kubebuilder:validation:XValidation:rule="!has(self.ref) || !has(self.uri) || !self.uri.matches('^[a-zA-Z][-a-zA-Z0-9+.]*:')",message="must be relative (e.g. /events) when ref is set: it is resolved against the ref's address; remove ref to use an absolute URL",fieldPath=".uri"
type Destination struct {
	// Ref points to an Addressable (or a Service) whose URL receives the events.
	// +optional
	Ref *KReference `json:"ref,omitempty"`
	// URI is an absolute URL, or, with ref, a URI relative to the ref's URL.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	URI string `json:"uri,omitempty"`
	// CACerts are PEM CA certificates trusted, besides the dispatcher's
	// roots, when delivering to an https destination.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	// +kubebuilder:validation:XValidation:rule="self.contains('-----BEGIN CERTIFICATE-----')",message="must be one or more PEM-encoded certificates (-----BEGIN CERTIFICATE-----)"
	CACerts *string `json:"CACerts,omitempty"`
	// Audience is the OIDC audience of the destination (accepted for
	// manifest compatibility).
	// +optional
	Audience *string `json:"audience,omitempty"`
}

// BackoffPolicyType is linear or exponential.
//
// +kubebuilder:validation:Enum=linear;exponential
type BackoffPolicyType string

const (
	BackoffPolicyLinear      BackoffPolicyType = "linear"
	BackoffPolicyExponential BackoffPolicyType = "exponential"
)

// DeliverySpec is Knative's delivery policy. Durations are ISO-8601 strings
// ("PT0.5S"); the schema's pattern is ParseDuration's grammar.
type DeliverySpec struct {
	// DeadLetterSink receives the events that could not be delivered.
	// +optional
	DeadLetterSink *Destination `json:"deadLetterSink,omitempty"`
	// Retry is the number of retries after the first attempt.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Retry *int32 `json:"retry,omitempty"`
	// BackoffPolicy is linear (backoffDelay × retry) or exponential
	// (backoffDelay × 2^retry).
	// +optional
	BackoffPolicy *BackoffPolicyType `json:"backoffPolicy,omitempty"`
	// BackoffDelay is the base delay between retries, an ISO-8601 duration.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^-?P(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$`
	// +kubebuilder:validation:XValidation:rule="!self.endsWith('P') && !self.endsWith('T')",message="no value after P or T; an ISO-8601 duration looks like PT0.5S, PT10S, PT1M30S, PT2H or P1D"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-') || !self.matches('[1-9]')",message="must not be negative"
	BackoffDelay *string `json:"backoffDelay,omitempty"`
	// Timeout is how long one delivery attempt may take, an ISO-8601
	// duration greater than zero.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^-?P(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$`
	// +kubebuilder:validation:XValidation:rule="!self.endsWith('P') && !self.endsWith('T')",message="no value after P or T; an ISO-8601 duration looks like PT0.5S, PT10S, PT1M30S, PT2H or P1D"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-') && self.matches('[1-9]')",message="must be greater than zero"
	Timeout *string `json:"timeout,omitempty"`
	// RetryAfterMax caps how long a Retry-After header may delay a retry, an
	// ISO-8601 duration.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^-?P(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$`
	// +kubebuilder:validation:XValidation:rule="!self.endsWith('P') && !self.endsWith('T')",message="no value after P or T; an ISO-8601 duration looks like PT0.5S, PT10S, PT1M30S, PT2H or P1D"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-') || !self.matches('[1-9]')",message="must not be negative"
	RetryAfterMax *string `json:"retryAfterMax,omitempty"`
	// Format asks for events in structured ("json") or binary ("binary")
	// content mode; nil means no preference.
	// +optional
	Format *FormatType `json:"format,omitempty"`
}

// FormatType is Knative's DeliverySpec.Format: the CloudEvents HTTP content mode.
//
// +kubebuilder:validation:Enum=json;binary
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
	// +optional
	Config *KReference `json:"config,omitempty"`
	// Delivery is the delivery policy of every Trigger of the Broker that
	// has none of its own.
	// +optional
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
//
// +kubebuilder:validation:XValidation:rule="!has(self.brokerRef) || (has(self.brokerRef.name) && self.brokerRef.name == self.broker)",message="must equal spec.broker, which defaults to \"default\": set spec.broker to the Broker's name",fieldPath=".brokerRef.name"
type TriggerSpec struct {
	// Broker is the name of the Broker, in the Trigger's namespace, whose
	// events the Trigger receives. It defaults to "default" and cannot be
	// changed: delete the Trigger and create it again to move it.
	// +optional
	// +kubebuilder:default=default
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="immutable: delete the Trigger and create it again to move it to another Broker"
	Broker string `json:"broker"`
	// BrokerRef is accepted for compatibility with newer Knative manifests.
	// +optional
	BrokerRef *BrokerReference `json:"brokerRef,omitempty"`
	// Filter is the legacy filter: exact matches on attributes.
	// +optional
	Filter *TriggerFilter `json:"filter,omitempty"`
	// Filters are Knative's Subscriptions API filters; an event must pass
	// every entry. The API server checks each entry's dialect and values;
	// the control plane also checks attribute names, nested entries and
	// CESQL. (The bounds on entries and attributes keep the cost of the
	// schema's CEL rules within the API server's budget.)
	// +optional
	// +kubebuilder:validation:MaxItems=256
	Filters []SubscriptionsAPIFilter `json:"filters,omitempty"`
	// Subscriber receives the events that pass the filters.
	Subscriber Destination `json:"subscriber"`
	// Delivery is the Trigger's delivery policy (else the Broker's).
	// +optional
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}

// TriggerFilter is the legacy exact-match filter on attributes.
type TriggerFilter struct {
	// Attributes maps CloudEvents attribute names to the value each must
	// equal.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-z][a-z0-9]*$'))",message="invalid CloudEvents attribute name: must start with a lowercase letter and contain only lowercase letters and digits (e.g. type, source, myextension)"
	Attributes map[string]string `json:"attributes,omitempty"`
}

// SubscriptionsAPIFilter is one entry of Trigger.spec.filters: exactly one dialect.
//
// +kubebuilder:validation:XValidation:rule="[has(self.all) && size(self.all) > 0, has(self.any) && size(self.any) > 0, has(self.not), has(self.exact) && size(self.exact) > 0, has(self.prefix) && size(self.prefix) > 0, has(self.suffix) && size(self.suffix) > 0, has(self.cesql) && size(self.cesql) > 0].filter(x, x).size() == 1",message="expected exactly one of all, any, not, exact, prefix, suffix, cesql (all and any need at least one expression, exact, prefix and suffix at least one attribute; put several expressions in an all or any list)"
type SubscriptionsAPIFilter struct {
	// All passes when every nested expression passes. Nested entries are
	// validated by the control plane, not by the API server's schema (a CRD
	// schema cannot be recursive).
	// +optional
	// +kubebuilder:validation:items:Type=object
	// +kubebuilder:validation:items:XPreserveUnknownFields
	All []SubscriptionsAPIFilter `json:"all,omitempty"`
	// Any passes when at least one nested expression passes.
	// +optional
	// +kubebuilder:validation:items:Type=object
	// +kubebuilder:validation:items:XPreserveUnknownFields
	Any []SubscriptionsAPIFilter `json:"any,omitempty"`
	// Not passes when the nested expression does not.
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Not *SubscriptionsAPIFilter `json:"not,omitempty"`
	// Exact passes when each named attribute equals its value.
	// +optional
	// +kubebuilder:validation:MaxProperties=256
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) > 0)",message="values must not be empty"
	Exact map[string]string `json:"exact,omitempty"`
	// Prefix passes when each named attribute starts with its value.
	// +optional
	// +kubebuilder:validation:MaxProperties=256
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) > 0)",message="values must not be empty"
	Prefix map[string]string `json:"prefix,omitempty"`
	// Suffix passes when each named attribute ends with its value.
	// +optional
	// +kubebuilder:validation:MaxProperties=256
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) > 0)",message="values must not be empty"
	Suffix map[string]string `json:"suffix,omitempty"`
	// CESQL is a CloudEvents SQL expression the event must satisfy
	// (parsed by the control plane).
	// +optional
	CESQL string `json:"cesql,omitempty"`
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
