package apis

// Knative's EventType registry: which event types flow through which
// broker or channel.

// EventingV1beta2 and EventingV1beta3 are the API versions of EventType
// Weft accepts (v1beta2 is the one it serves; v1beta3's spec.attributes is
// accepted too).
const (
	EventingV1beta2 = "eventing.knative.dev/v1beta2"
	EventingV1beta3 = "eventing.knative.dev/v1beta3"
)

// KindEventType is the kind of an EventType.
const KindEventType = "EventType"

// EventType is eventing.knative.dev/v1beta2 EventType: a type of event
// offered on a broker or channel (spec.reference), with its source, schema
// and description.
type EventType struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta      `json:"metadata"`
	Spec       EventTypeSpec   `json:"spec"`
	Status     EventTypeStatus `json:"status,omitempty"`
}

// EventTypeSpec is the EventType's desired state (v1beta2's fields, and
// v1beta3's attributes).
//
// +kubebuilder:validation:XValidation:rule="(has(self.type) && size(self.type) > 0) || (has(self.attributes) && self.attributes.exists(a, a.name == 'type' && has(a.value) && size(a.value) > 0))",message="required: the CloudEvents type of the events (e.g. dev.knative.samples.helloworld), or a v1beta3 spec.attributes entry named type",fieldPath=".type"
// +kubebuilder:validation:XValidation:rule="!has(self.reference) || self.reference.kind in ['Broker', 'Channel', 'InMemoryChannel', 'KafkaChannel']",message="must be Broker (eventing.knative.dev/v1), Channel or InMemoryChannel (messaging.knative.dev/v1), or KafkaChannel (messaging.knative.dev/v1beta1): an EventType is offered on a broker or a channel",fieldPath=".reference.kind"
// +kubebuilder:validation:XValidation:rule="!has(self.type) || !has(self.attributes) || size(self.type) == 0 || self.attributes.all(a, a.name != 'type' || !has(a.value) || size(a.value) == 0 || a.value == self.type)",message="spec.attributes' type must equal spec.type",fieldPath=".attributes"
// +kubebuilder:validation:XValidation:rule="!has(self.source) || !has(self.attributes) || size(self.source) == 0 || self.attributes.all(a, a.name != 'source' || !has(a.value) || size(a.value) == 0 || a.value == self.source)",message="spec.attributes' source must equal spec.source",fieldPath=".attributes"
type EventTypeSpec struct {
	// Type is the CloudEvents type (v1beta2; required there).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Type string `json:"type,omitempty"`
	// Source is the CloudEvents source, a URI reference.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^\S*$`
	Source string `json:"source,omitempty"`
	// Schema is a URI of the events' data schema.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^\S*$`
	Schema string `json:"schema,omitempty"`
	// SchemaData is the schema itself (deprecated in Knative, accepted).
	// +optional
	SchemaData string `json:"schemaData,omitempty"`
	// Reference is the Broker or Channel the type is offered on.
	// +optional
	Reference *KReference `json:"reference,omitempty"`
	// Description says what the events are.
	// +optional
	Description string `json:"description,omitempty"`
	// Attributes (v1beta3) describe the events' CloudEvents attributes,
	// type and source among them.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Attributes []EventAttributeDefinition `json:"attributes,omitempty"`
}

// EventAttributeDefinition is one of v1beta3's spec.attributes.
type EventAttributeDefinition struct {
	// Name is a CloudEvents attribute name.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9]*$`
	Name     string `json:"name"`
	Required bool   `json:"required"`
	// +kubebuilder:validation:MaxLength=2048
	Value string `json:"value,omitempty"`
}

// EventTypeStatus is the EventType's observed state.
type EventTypeStatus struct {
	Status `json:",inline"`
}

func (e *EventType) GetTypeMeta() *TypeMeta     { return &e.TypeMeta }
func (e *EventType) GetObjectMeta() *ObjectMeta { return &e.ObjectMeta }
func (e *EventType) GetConditions() []Condition { return e.Status.Conditions }
