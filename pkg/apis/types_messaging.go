package apis

// Knative messaging (Channel, Subscription) and flows (Sequence, Parallel).
//
// Every channel kind Knative users write — Channel, InMemoryChannel and
// KafkaChannel — is one Weft kind, KindChannel, stored under one name per
// namespace: the Go type Channel with TypeMeta.Kind saying which the user
// wrote. They behave the same: a Weft channel is always a durable Kafka topic
// (there is no lossy in-memory mode); KafkaChannel's numPartitions,
// replicationFactor and retentionDuration size that topic.

// API groups and versions of the messaging and flows kinds.
const (
	MessagingV1      = "messaging.knative.dev/v1"
	MessagingV1beta1 = "messaging.knative.dev/v1beta1"
	FlowsV1          = "flows.knative.dev/v1"
)

// Kinds of the messaging and flows resources. KindInMemoryChannel and
// KindKafkaChannel are what a manifest may say; they are stored as
// KindChannel objects.
const (
	KindChannel         = "Channel"
	KindInMemoryChannel = "InMemoryChannel"
	KindKafkaChannel    = "KafkaChannel"
	KindSubscription    = "Subscription"
	KindSequence        = "Sequence"
	KindParallel        = "Parallel"
)

// Channel is messaging.knative.dev/v1 Channel, InMemoryChannel (same
// apiVersion) or messaging.knative.dev/v1beta1 KafkaChannel: TypeMeta.Kind
// says which. Fields that belong to one kind only are invalid on the others.
type Channel struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta    `json:"metadata"`
	Spec       ChannelSpec   `json:"spec"`
	Status     ChannelStatus `json:"status,omitempty"`
}

// ChannelSpec is the union of the specs of Channel, InMemoryChannel and
// KafkaChannel.
type ChannelSpec struct {
	// ChannelTemplate (Channel only) names the kind of channel backing this
	// one; Weft accepts InMemoryChannel and KafkaChannel and, for the latter,
	// sizes the topic from the template's spec.
	// +optional
	ChannelTemplate *ChannelTemplateSpec `json:"channelTemplate,omitempty"`
	// NumPartitions (KafkaChannel only) is the number of partitions of the
	// channel's topic.
	// +optional
	// +kubebuilder:validation:Minimum=1
	NumPartitions *int32 `json:"numPartitions,omitempty"`
	// ReplicationFactor (KafkaChannel only) is the replication factor of the
	// channel's topic.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ReplicationFactor *int16 `json:"replicationFactor,omitempty"`
	// RetentionDuration (KafkaChannel only) is the topic's retention, an
	// ISO-8601 duration (retention.ms).
	// +optional
	RetentionDuration *string `json:"retentionDuration,omitempty"`
	// Delivery is the delivery policy of every Subscription of the channel
	// that has none of its own.
	// +optional
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}

// ChannelTemplateSpec is a Channel's or a flow's spec.channelTemplate.
type ChannelTemplateSpec struct {
	// APIVersion of the channel kind, messaging.knative.dev/v1 or v1beta1.
	APIVersion string `json:"apiVersion"`
	// Kind is InMemoryChannel or KafkaChannel.
	Kind string `json:"kind"`
	// Spec is the backing channel's spec (for KafkaChannel: numPartitions,
	// replicationFactor, retentionDuration, delivery).
	// +optional
	Spec *ChannelTemplateParams `json:"spec,omitempty"`
}

// ChannelTemplateParams is the spec a channel template may carry.
type ChannelTemplateParams struct {
	// +optional
	// +kubebuilder:validation:Minimum=1
	NumPartitions *int32 `json:"numPartitions,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=1
	ReplicationFactor *int16 `json:"replicationFactor,omitempty"`
	// +optional
	RetentionDuration *string `json:"retentionDuration,omitempty"`
	// +optional
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}

// ChannelStatus is a channel's observed state (Knative's ChannelableStatus).
type ChannelStatus struct {
	Status  `json:",inline"`
	Address *Addressable `json:"address,omitempty"`
	// Subscribers is the status of each Subscription of the channel.
	Subscribers []SubscriberStatus `json:"subscribers,omitempty"`
	// DeadLetterSinkURI is the resolved spec.delivery.deadLetterSink.
	DeadLetterSinkURI string `json:"deadLetterSinkUri,omitempty"`
	// Topic is the Kafka topic backing the channel.
	Topic string `json:"topic,omitempty"`
}

// SubscriberStatus is one subscriber's state in a channel's status.
type SubscriberStatus struct {
	UID                string `json:"uid,omitempty"`
	ObservedGeneration int64  `json:"observedGeneration,omitempty"`
	// Ready is True, False or Unknown.
	Ready   string `json:"ready,omitempty"`
	Message string `json:"message,omitempty"`
}

// Subscription is messaging.knative.dev/v1 Subscription.
type Subscription struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta         `json:"metadata"`
	Spec       SubscriptionSpec   `json:"spec"`
	Status     SubscriptionStatus `json:"status,omitempty"`
}

// SubscriptionSpec is the Subscription's desired state.
type SubscriptionSpec struct {
	// Channel is the channel whose events the Subscription receives, in the
	// Subscription's namespace; immutable.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="immutable: delete the Subscription and create it again to move it to another channel"
	Channel ChannelReference `json:"channel"`
	// Subscriber receives the channel's events; without it, events go
	// straight to reply.
	// +optional
	Subscriber *Destination `json:"subscriber,omitempty"`
	// Reply receives the subscriber's reply events.
	// +optional
	Reply *Destination `json:"reply,omitempty"`
	// Delivery is the Subscription's delivery policy (else the channel's).
	// +optional
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}

// ChannelReference is Subscription.spec.channel (Knative's KReference
// restricted to channels).
type ChannelReference struct {
	// APIVersion of the channel: messaging.knative.dev/v1 (Channel,
	// InMemoryChannel) or messaging.knative.dev/v1beta1 (KafkaChannel).
	// +kubebuilder:validation:MinLength=1
	APIVersion string `json:"apiVersion"`
	// Kind is Channel, InMemoryChannel or KafkaChannel.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Name of the channel.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Namespace must be empty or the Subscription's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SubscriptionStatus is the Subscription's observed state.
type SubscriptionStatus struct {
	Status               `json:",inline"`
	PhysicalSubscription SubscriptionStatusPhysicalSubscription `json:"physicalSubscription,omitempty"`
}

// SubscriptionStatusPhysicalSubscription is where the Subscription's
// destinations resolved to.
type SubscriptionStatusPhysicalSubscription struct {
	SubscriberURI     string `json:"subscriberUri,omitempty"`
	ReplyURI          string `json:"replyUri,omitempty"`
	DeadLetterSinkURI string `json:"deadLetterSinkUri,omitempty"`
}

// Sequence is flows.knative.dev/v1 Sequence.
type Sequence struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta     `json:"metadata"`
	Spec       SequenceSpec   `json:"spec"`
	Status     SequenceStatus `json:"status,omitempty"`
}

// SequenceSpec is the Sequence's desired state.
type SequenceSpec struct {
	// Steps are called in order, each with the previous step's reply.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Steps []SequenceStep `json:"steps"`
	// ChannelTemplate is accepted as on a Channel (it sizes the topics
	// between steps).
	// +optional
	ChannelTemplate *ChannelTemplateSpec `json:"channelTemplate,omitempty"`
	// Reply receives the last step's replies.
	// +optional
	Reply *Destination `json:"reply,omitempty"`
}

// SequenceStep is one step: a destination and its delivery policy.
type SequenceStep struct {
	Destination `json:",inline"`
	// Delivery is the step's delivery policy.
	// +optional
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}

// SequenceStatus is the Sequence's observed state. Weft creates no
// Channel or Subscription objects for a Sequence; the statuses name each
// step's internal channel and subscription as Knative would
// ("{sequence}-kn-sequence-{i}").
type SequenceStatus struct {
	Status               `json:",inline"`
	SubscriptionStatuses []FlowSubscriptionStatus `json:"subscriptionStatuses,omitempty"`
	ChannelStatuses      []FlowChannelStatus      `json:"channelStatuses,omitempty"`
	Address              *Addressable             `json:"address,omitempty"`
}

// FlowReference names an internal step of a flow, as Knative's
// corev1.ObjectReference in flow statuses.
type FlowReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
}

// FlowSubscriptionStatus is the state of one internal subscription of a flow.
type FlowSubscriptionStatus struct {
	Subscription FlowReference `json:"subscription"`
	Ready        Condition     `json:"ready"`
}

// FlowChannelStatus is the state of one internal channel of a flow.
type FlowChannelStatus struct {
	Channel FlowReference `json:"channel"`
	Ready   Condition     `json:"ready"`
	// Topic is the Kafka topic of the internal channel.
	Topic string `json:"topic,omitempty"`
}

// Parallel is flows.knative.dev/v1 Parallel.
type Parallel struct {
	TypeMeta   `json:",inline"`
	ObjectMeta ObjectMeta     `json:"metadata"`
	Spec       ParallelSpec   `json:"spec"`
	Status     ParallelStatus `json:"status,omitempty"`
}

// ParallelSpec is the Parallel's desired state.
type ParallelSpec struct {
	// Branches each receive every event (subject to their filter).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Branches []ParallelBranch `json:"branches"`
	// ChannelTemplate is accepted as on a Channel.
	// +optional
	ChannelTemplate *ChannelTemplateSpec `json:"channelTemplate,omitempty"`
	// Reply receives the replies of branches that have no reply of their own.
	// +optional
	Reply *Destination `json:"reply,omitempty"`
}

// ParallelBranch is one branch of a Parallel.
type ParallelBranch struct {
	// Filter, when set, is called first: a 2xx answer carrying an event
	// passes that event to the subscriber; anything else drops it for this
	// branch.
	// +optional
	Filter *Destination `json:"filter,omitempty"`
	// Subscriber receives the events that pass the filter.
	Subscriber Destination `json:"subscriber"`
	// Reply receives the subscriber's replies (else the Parallel's reply).
	// +optional
	Reply *Destination `json:"reply,omitempty"`
	// Delivery is the branch's delivery policy (filter and subscriber).
	// +optional
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}

// ParallelStatus is the Parallel's observed state; as for a Sequence, the
// statuses name internal channels and subscriptions Knative would create
// ("{parallel}-kn-parallel", "{parallel}-kn-parallel-{i}", ...).
type ParallelStatus struct {
	Status               `json:",inline"`
	IngressChannelStatus FlowChannelStatus      `json:"ingressChannelStatus,omitempty"`
	BranchStatuses       []ParallelBranchStatus `json:"branchStatuses,omitempty"`
	Address              *Addressable           `json:"address,omitempty"`
}

// ParallelBranchStatus is the state of one branch.
type ParallelBranchStatus struct {
	FilterSubscriptionStatus     FlowSubscriptionStatus `json:"filterSubscriptionStatus"`
	FilterChannelStatus          FlowChannelStatus      `json:"filterChannelStatus"`
	SubscriberSubscriptionStatus FlowSubscriptionStatus `json:"subscriberSubscriptionStatus"`
}

func (c *Channel) GetTypeMeta() *TypeMeta          { return &c.TypeMeta }
func (c *Channel) GetObjectMeta() *ObjectMeta      { return &c.ObjectMeta }
func (c *Channel) GetConditions() []Condition      { return c.Status.Conditions }
func (s *Subscription) GetTypeMeta() *TypeMeta     { return &s.TypeMeta }
func (s *Subscription) GetObjectMeta() *ObjectMeta { return &s.ObjectMeta }
func (s *Subscription) GetConditions() []Condition { return s.Status.Conditions }
func (s *Sequence) GetTypeMeta() *TypeMeta         { return &s.TypeMeta }
func (s *Sequence) GetObjectMeta() *ObjectMeta     { return &s.ObjectMeta }
func (s *Sequence) GetConditions() []Condition     { return s.Status.Conditions }
func (p *Parallel) GetTypeMeta() *TypeMeta         { return &p.TypeMeta }
func (p *Parallel) GetObjectMeta() *ObjectMeta     { return &p.ObjectMeta }
func (p *Parallel) GetConditions() []Condition     { return p.Status.Conditions }
