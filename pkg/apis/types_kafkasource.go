package apis

// SourcesV1beta1 is the API group and version of KafkaSource (Knative's
// storage version; Knative also serves it as v1, Weft serves v1beta1 only).
const SourcesV1beta1 = "sources.knative.dev/v1beta1"

// KindKafkaSource is the kind of a KafkaSource.
const KindKafkaSource = "KafkaSource"

// KafkaSource is sources.knative.dev/v1beta1 KafkaSource: the records of
// topics on a Kafka cluster (Weft's or another), sent as events to a sink.
// Weft runs it in the dispatcher fleet: the replicas divide the topics'
// partitions among themselves, and commit spec.consumerGroup on the
// source's cluster once a record's event was delivered (or dead-lettered).
type KafkaSource struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta        `json:"metadata"`
	Spec       KafkaSourceSpec   `json:"spec"`
	Status     KafkaSourceStatus `json:"status,omitempty"`
}

// KafkaSourceSpec is the KafkaSource's desired state (Knative's field
// names: SourceSpec, KafkaAuthSpec and the consumer settings inline).
//
// +kubebuilder:validation:XValidation:rule="has(self.consumerGroup) == has(oldSelf.consumerGroup) && (!has(self.consumerGroup) || self.consumerGroup == oldSelf.consumerGroup)",message="immutable: the source's committed offsets are in its consumer group; delete the KafkaSource and create another to use another group",fieldPath=".consumerGroup"
type KafkaSourceSpec struct {
	// Consumers is how many consumers Knative would run (default 1). Weft
	// stores and reports it; its dispatcher replicas divide the partitions
	// among themselves whatever its value.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Consumers *int32 `json:"consumers,omitempty"`
	// BootstrapServers of the cluster holding the topics (host:port).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=255
	BootstrapServers []string `json:"bootstrapServers"`
	// Net is how to connect to the cluster (TLS and SASL); Weft accepts the
	// shape but cannot enable either yet.
	// +optional
	Net *KafkaNetSpec `json:"net,omitempty"`
	// Topics are read (they exist already: Weft never creates or deletes
	// them).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:items:MaxLength=249
	// +kubebuilder:validation:items:Pattern=`^[a-zA-Z0-9._-]+$`
	Topics []string `json:"topics"`
	// ConsumerGroup is the group whose offsets are committed on the source's
	// cluster (default knative-kafka-source-<uuid>, set once when the source
	// is created). Immutable.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	ConsumerGroup string `json:"consumerGroup,omitempty"`
	// InitialOffset is where a consumer group without committed offsets
	// starts: earliest or latest (default).
	// +optional
	// +kubebuilder:validation:Enum=earliest;latest
	InitialOffset string `json:"initialOffset,omitempty"`
	// Delivery is the retry and dead-letter policy (default: retry 10,
	// exponential, PT0.3S, timeout PT600S).
	// +optional
	Delivery *DeliverySpec `json:"delivery,omitempty"`
	// Ordering is ordered (default: one event in flight per partition) or
	// unordered.
	// +optional
	// +kubebuilder:validation:Enum=ordered;unordered
	Ordering *string `json:"ordering,omitempty"`
	// Sink receives the events.
	Sink Destination `json:"sink"`
	// CloudEventOverrides adds extensions to every event.
	// +optional
	CloudEventOverrides *CloudEventOverrides `json:"ceOverrides,omitempty"`
}

// KafkaNetSpec is a KafkaSource's spec.net (Knative's KafkaNetSpec).
type KafkaNetSpec struct {
	// +optional
	SASL *KafkaSASLSpec `json:"sasl,omitempty"`
	// +optional
	TLS *KafkaTLSSpec `json:"tls,omitempty"`
}

// KafkaSASLSpec is spec.net.sasl.
type KafkaSASLSpec struct {
	// Enable authenticates with SASL (User, Password and Type).
	// +optional
	Enable bool `json:"enable,omitempty"`
	// User, Password and Type (the SASL mechanism: PLAIN, SCRAM-SHA-256,
	// SCRAM-SHA-512) are read from Secrets.
	// +optional
	User *SecretValueFromSource `json:"user,omitempty"`
	// +optional
	Password *SecretValueFromSource `json:"password,omitempty"`
	// +optional
	Type *SecretValueFromSource `json:"type,omitempty"`
}

// KafkaTLSSpec is spec.net.tls.
type KafkaTLSSpec struct {
	// Enable connects with TLS: CACert (PEM) is added to the system
	// roots; Cert and Key are a client certificate.
	// +optional
	Enable bool `json:"enable,omitempty"`
	// +optional
	Cert *SecretValueFromSource `json:"cert,omitempty"`
	// +optional
	Key *SecretValueFromSource `json:"key,omitempty"`
	// +optional
	CACert *SecretValueFromSource `json:"caCert,omitempty"`
}

// Values of a KafkaSource's spec.initialOffset and spec.ordering.
const (
	KafkaOffsetEarliest = "earliest"
	KafkaOffsetLatest   = "latest"
	KafkaOrdered        = "ordered"
	KafkaUnordered      = "unordered"
)

// KafkaSourceConsumerGroupPrefix starts the consumer group Knative (and
// Weft) give a KafkaSource without spec.consumerGroup, followed by a UUID.
const KafkaSourceConsumerGroupPrefix = "knative-kafka-source-"

// LabelKafkaKeyType is the KafkaSource label saying how record keys are
// read: string (default), int, float or byte-array.
const LabelKafkaKeyType = "kafkasources.sources.knative.dev/key-type"

// KafkaKeyTypes are the values LabelKafkaKeyType accepts.
var KafkaKeyTypes = []string{"string", "int", "float", "byte-array"}

// KafkaSourceStatus is the KafkaSource's observed state.
type KafkaSourceStatus struct {
	Status `json:",inline"`
	// SinkURI is the resolved spec.sink.
	SinkURI string `json:"sinkUri,omitempty"`
	// CloudEventAttributes are the attributes of the events made of records
	// that are not CloudEvents: one entry per topic.
	CloudEventAttributes []CloudEventAttributes `json:"ceAttributes,omitempty"`
	// Consumers is spec.consumers.
	Consumers int32 `json:"consumers,omitempty"`
}

// KafkaSourceEventType is the type of the event a record that is not a
// CloudEvent becomes.
const KafkaSourceEventType = "dev.knative.kafka.event"

// KafkaSourceEventSource is the source attribute of the events a
// KafkaSource makes of topic's records that are not CloudEvents.
func KafkaSourceEventSource(namespace, name, topic string) string {
	return "/apis/v1/namespaces/" + namespace + "/kafkasources/" + name + "#" + topic
}

// KafkaSourceAttributes are the ceAttributes of a KafkaSource: one per
// topic, in spec order.
func KafkaSourceAttributes(k *KafkaSource) []CloudEventAttributes {
	out := make([]CloudEventAttributes, 0, len(k.Spec.Topics))
	for _, t := range k.Spec.Topics {
		out = append(out, CloudEventAttributes{Type: KafkaSourceEventType, Source: KafkaSourceEventSource(k.ObjectMeta.Namespace, k.ObjectMeta.Name, t)})
	}
	return out
}

func (k *KafkaSource) GetTypeMeta() *TypeMeta     { return &k.TypeMeta }
func (k *KafkaSource) GetObjectMeta() *ObjectMeta { return &k.ObjectMeta }
func (k *KafkaSource) GetConditions() []Condition { return k.Status.Conditions }
