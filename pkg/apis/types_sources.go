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

// SourcesV1 is the API group and version of PingSource.
const SourcesV1 = "sources.knative.dev/v1"

// KindPingSource is the kind of a PingSource.
const KindPingSource = "PingSource"

// PingSource is sources.knative.dev/v1 PingSource: an event on a cron
// schedule, sent to a sink. Weft runs it in the dispatcher fleet: exactly
// one dispatcher produces each tick into the source's internal topic, and
// the tick is delivered from there like any other event.
type PingSource struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta       `json:"metadata"`
	Spec       PingSourceSpec   `json:"spec"`
	Status     PingSourceStatus `json:"status,omitempty"`
}

// PingSourceSpec is the PingSource's desired state (Knative's field names;
// Knative's PingSource has no spec.delivery, so neither has Weft's).
//
// +kubebuilder:validation:XValidation:rule="!has(self.data) || !has(self.dataBase64) || size(self.data) == 0 || size(self.dataBase64) == 0",message="expected exactly one of data and dataBase64, got both",fieldPath=".dataBase64"
// +kubebuilder:validation:XValidation:rule="!has(self.timezone) || size(self.timezone) == 0 || !self.schedule.trim().matches('^(CRON_)?TZ=')",message="spec.schedule already names a time zone with CRON_TZ= or TZ=; set it in one place",fieldPath=".timezone"
type PingSourceSpec struct {
	// Sink receives the events.
	Sink Destination `json:"sink"`
	// CloudEventOverrides adds extensions to every event.
	// +optional
	CloudEventOverrides *CloudEventOverrides `json:"ceOverrides,omitempty"`
	// Schedule is a cron schedule: five fields, or a descriptor such as
	// "@hourly" or "@every 10m", optionally prefixed with "CRON_TZ=<zone> ".
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.trim().size() > 0",message="required: a cron schedule (e.g. \"*/2 * * * *\", \"@hourly\", \"CRON_TZ=Europe/Paris 0 9 * * 1-5\")"
	Schedule string `json:"schedule,omitempty"`
	// Timezone is the IANA time zone of the schedule (default UTC).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+/-]*$`
	Timezone string `json:"timezone,omitempty"`
	// ContentType is the events' datacontenttype.
	// +optional
	ContentType string `json:"contentType,omitempty"`
	// Data is the events' data, as text.
	// +optional
	Data string `json:"data,omitempty"`
	// DataBase64 is the events' data, base64-encoded (binary data); not
	// together with Data.
	// +optional
	// +kubebuilder:validation:Pattern=`^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`
	DataBase64 string `json:"dataBase64,omitempty"`
}

// CloudEventOverrides is a source's spec.ceOverrides.
type CloudEventOverrides struct {
	// Extensions are set on every event the source sends.
	// +optional
	Extensions map[string]string `json:"extensions,omitempty"`
}

// CloudEventAttributes names the type and source of events a source sends.
type CloudEventAttributes struct {
	Type   string `json:"type,omitempty"`
	Source string `json:"source,omitempty"`
}

// PingSourceStatus is the PingSource's observed state.
type PingSourceStatus struct {
	Status `json:",inline"`
	// SinkURI is the resolved spec.sink.
	SinkURI string `json:"sinkUri,omitempty"`
	// CloudEventAttributes are the attributes of the events sent.
	CloudEventAttributes []CloudEventAttributes `json:"ceAttributes,omitempty"`
}

// PingSourceEventType is the type of every PingSource event.
const PingSourceEventType = "dev.knative.sources.ping"

// PingSourceEventSource is the source attribute of a PingSource's events.
func PingSourceEventSource(namespace, name string) string {
	return "/apis/v1/namespaces/" + namespace + "/pingsources/" + name
}

func (p *PingSource) GetTypeMeta() *TypeMeta     { return &p.TypeMeta }
func (p *PingSource) GetObjectMeta() *ObjectMeta { return &p.ObjectMeta }
func (p *PingSource) GetConditions() []Condition { return p.Status.Conditions }
