package apis

// Knative's Kafka sources and sinks.

// API groups and versions of the sources and sinks kinds.
const (
	EventingV1alpha1 = "eventing.knative.dev/v1alpha1"
)

// Kinds of the sources and sinks resources.
const (
	KindKafkaSink = "KafkaSink"
)

// KafkaSink is eventing.knative.dev/v1alpha1 KafkaSink: an addressable that
// writes every event it accepts to a Kafka topic, on Weft's cluster or
// another.
type KafkaSink struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta      `json:"metadata"`
	Spec       KafkaSinkSpec   `json:"spec"`
	Status     KafkaSinkStatus `json:"status,omitempty"`
}

// KafkaSinkSpec is the KafkaSink's desired state.
//
// +kubebuilder:validation:XValidation:rule="(has(self.bootstrapServers) ? self.bootstrapServers : []) == (has(oldSelf.bootstrapServers) ? oldSelf.bootstrapServers : [])",message="immutable: a KafkaSink keeps writing where it started; delete it and create another to write elsewhere",fieldPath=".bootstrapServers"
type KafkaSinkSpec struct {
	// Topic is the Kafka topic events are written to.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=249
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9._-]+$`
	// +kubebuilder:validation:XValidation:rule="self != '.' && self != '..'",message="must not be \".\" or \"..\""
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="immutable: a KafkaSink keeps writing where it started; delete it and create another to write elsewhere"
	Topic string `json:"topic"`
	// NumPartitions of the topic when Weft creates it (it exists already:
	// left as it is).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	NumPartitions *int32 `json:"numPartitions,omitempty"`
	// ReplicationFactor of the topic when Weft creates it.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ReplicationFactor *int16 `json:"replicationFactor,omitempty"`
	// BootstrapServers of the cluster holding the topic; empty: Weft's own.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=255
	BootstrapServers []string `json:"bootstrapServers,omitempty"`
	// ContentMode is binary (default: ce_ headers, the data as value) or
	// structured (the JSON event format as value).
	// +optional
	// +kubebuilder:validation:Enum=binary;structured
	ContentMode *string `json:"contentMode,omitempty"`
	// Auth names the Secret with the cluster's TLS/SASL settings.
	// +optional
	Auth *KafkaSinkAuth `json:"auth,omitempty"`
}

// KafkaSinkAuth is a KafkaSink's spec.auth.
type KafkaSinkAuth struct {
	// Secret references the Secret holding the credentials.
	// +optional
	Secret *KafkaSinkSecret `json:"secret,omitempty"`
}

// KafkaSinkSecret is spec.auth.secret.
type KafkaSinkSecret struct {
	Ref *SecretReference `json:"ref,omitempty"`
}

// SecretReference names a Secret in the object's namespace.
type SecretReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// Content modes of a KafkaSink.
const (
	ContentModeBinary     = "binary"
	ContentModeStructured = "structured"
)

// KafkaSinkStatus is the KafkaSink's observed state.
type KafkaSinkStatus struct {
	Status  `json:",inline"`
	Address *Addressable `json:"address,omitempty"`
}

func (k *KafkaSink) GetTypeMeta() *TypeMeta     { return &k.TypeMeta }
func (k *KafkaSink) GetObjectMeta() *ObjectMeta { return &k.ObjectMeta }
func (k *KafkaSink) GetConditions() []Condition { return k.Status.Conditions }
