package apis

// DefaultNamespace is the namespace of an object that names none.
const DefaultNamespace = "default"

// SetDefaults fills what Knative's defaulting webhook fills, and no more:
//   - apiVersion and kind when empty; metadata.namespace "default" when empty;
//   - KReferences without a namespace (subscriber, deadLetterSink, Broker
//     spec.config) get the object's namespace;
//   - a Trigger without spec.filter gets an empty one (pass everything), and
//     the label eventing.knative.dev/broker naming its Broker;
//   - a Trigger that names its Broker only with spec.brokerRef gets spec.broker
//     set to brokerRef.name, so consumers read spec.broker alone;
//   - KReferences of Channels, Subscriptions, Sequences and Parallels
//     (subscriber, reply, steps, filters, dead-letter sinks, channelTemplate
//     delivery) get the object's namespace; a Subscription's empty
//     spec.subscriber or spec.reply ({}) is dropped, as Knative treats it as
//     unset. A Channel's kind stays what the manifest says (InMemoryChannel
//     stays InMemoryChannel); a Subscription's spec.channel and the
//     channelTemplates are left as they are;
//   - a KafkaSink without spec.contentMode gets binary;
//   - a PingSource's spec.sink ref gets the object's namespace;
//   - a Secret gets type Opaque when it has none (its stringData is merged
//     into data when the control plane stores it: Secret.MergeStringData).
//   - an HTTPPollerSource's spec.sink ref gets the object's namespace, and
//     an empty spec.method GET.
//   - so does a WebhookSource's, GitLabSource's and GitHubSource's.
//   - a KafkaSource gets consumers 1, initialOffset latest, ordering
//     ordered and its refs' namespaces (defaultKafkaSource).
//   - an EventPolicy's spec.from refs get the policy's namespace.
//   - an EventType of v1beta3 becomes v1beta2, its type, source and schema
//     taken from spec.attributes when unset; spec.reference gets the
//     object's namespace (defaultEventType).
//
// Broker spec.delivery is left as it is. SetDefaults is idempotent; nil or
// unknown objects are left alone.
func SetDefaults(o Object) {
	switch x := o.(type) {
	case *Broker:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindBroker)
		ns := x.ObjectMeta.Namespace
		if x.Spec.Config != nil && x.Spec.Config.Namespace == "" {
			x.Spec.Config.Namespace = ns
		}
		defaultDelivery(x.Spec.Delivery, ns)
	case *Trigger:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindTrigger)
		ns := x.ObjectMeta.Namespace
		s := &x.Spec
		if s.Broker == "" && s.BrokerRef != nil {
			s.Broker = s.BrokerRef.Name
		}
		if s.Filter == nil {
			s.Filter = &TriggerFilter{}
		}
		defaultDestination(&s.Subscriber, ns)
		defaultDelivery(s.Delivery, ns)
		if s.Broker != "" && labelValue(s.Broker) == "" {
			if x.ObjectMeta.Labels == nil {
				x.ObjectMeta.Labels = map[string]string{}
			}
			x.ObjectMeta.Labels[LabelBroker] = s.Broker
		}
	case *Channel:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindChannel)
		ns := x.ObjectMeta.Namespace
		defaultDelivery(x.Spec.Delivery, ns)
		defaultTemplate(x.Spec.ChannelTemplate, ns)
	case *Subscription:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindSubscription)
		ns := x.ObjectMeta.Namespace
		// Knative treats an empty subscriber or reply ({}) as unset.
		if isEmptyDestination(x.Spec.Subscriber) {
			x.Spec.Subscriber = nil
		}
		if isEmptyDestination(x.Spec.Reply) {
			x.Spec.Reply = nil
		}
		defaultDestination(x.Spec.Subscriber, ns)
		defaultDestination(x.Spec.Reply, ns)
		defaultDelivery(x.Spec.Delivery, ns)
	case *Sequence:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindSequence)
		ns := x.ObjectMeta.Namespace
		for i := range x.Spec.Steps {
			defaultDestination(&x.Spec.Steps[i].Destination, ns)
			defaultDelivery(x.Spec.Steps[i].Delivery, ns)
		}
		defaultDestination(x.Spec.Reply, ns)
		defaultTemplate(x.Spec.ChannelTemplate, ns)
	case *Parallel:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindParallel)
		ns := x.ObjectMeta.Namespace
		for i := range x.Spec.Branches {
			b := &x.Spec.Branches[i]
			defaultDestination(b.Filter, ns)
			defaultDestination(&b.Subscriber, ns)
			defaultDestination(b.Reply, ns)
			defaultDelivery(b.Delivery, ns)
		}
		defaultDestination(x.Spec.Reply, ns)
		defaultTemplate(x.Spec.ChannelTemplate, ns)
	case *KafkaSink:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindKafkaSink)
		if x.Spec.ContentMode == nil {
			m := ContentModeBinary
			x.Spec.ContentMode = &m
		}
	case *PingSource:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindPingSource)
		defaultDestination(&x.Spec.Sink, x.ObjectMeta.Namespace)
	case *Secret:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindSecret)
		defaultSecret(x)
	case *HTTPPollerSource:
		if x == nil {
			return
		}
		defaultHTTPPollerSource(x)
	case *WebhookSource:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindWebhookSource)
		defaultDestination(&x.Spec.Sink, x.ObjectMeta.Namespace)
	case *GitLabSource:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindGitLabSource)
		defaultDestination(&x.Spec.Sink, x.ObjectMeta.Namespace)
	case *GitHubSource:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindGitHubSource)
		defaultDestination(&x.Spec.Sink, x.ObjectMeta.Namespace)
	case *KafkaSource:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindKafkaSource)
		defaultKafkaSource(x)
	case *EventPolicy:
		if x == nil {
			return
		}
		defaultMeta(&x.TypeMeta, &x.ObjectMeta, KindEventPolicy)
		for i := range x.Spec.From {
			if r := x.Spec.From[i].Ref; r != nil && r.Namespace == "" {
				r.Namespace = x.ObjectMeta.Namespace
			}
		}
	case *EventType:
		if x == nil {
			return
		}
		defaultEventType(x)
	}
}

// defaultKafkaSource fills a KafkaSource's defaults as Knative's webhook
// does: consumers 1, initialOffset latest, ordering ordered, the sink's and
// dead-letter sink's ref namespace. spec.consumerGroup is not set here: the
// control plane sets knative-kafka-source-<uuid> once, when it creates the
// source, and keeps it on every update (SetDefaults runs on each apply).
// The default delivery (retry 10, exponential, PT0.3S, timeout PT600S) is
// applied when compiling, as Knative's reconciler does, so spec.delivery
// stays as written.
func defaultKafkaSource(k *KafkaSource) {
	s := &k.Spec
	if s.Consumers == nil {
		one := int32(1)
		s.Consumers = &one
	}
	if s.InitialOffset == "" {
		s.InitialOffset = KafkaOffsetLatest
	}
	if s.Ordering == nil {
		o := KafkaOrdered
		s.Ordering = &o
	}
	defaultDestination(&s.Sink, k.ObjectMeta.Namespace)
	defaultDelivery(s.Delivery, k.ObjectMeta.Namespace)
}

func defaultTemplate(t *ChannelTemplateSpec, ns string) {
	if t != nil && t.Spec != nil {
		defaultDelivery(t.Spec.Delivery, ns)
	}
}

func defaultMeta(tm *TypeMeta, m *ObjectMeta, kind string) {
	if tm.Kind == "" {
		tm.Kind = kind
	}
	if tm.APIVersion == "" {
		tm.APIVersion = DefaultAPIVersion(tm.Kind)
	}
	if m.Namespace == "" {
		m.Namespace = DefaultNamespace
	}
}

func defaultDestination(d *Destination, ns string) {
	if d != nil && d.Ref != nil && d.Ref.Namespace == "" {
		d.Ref.Namespace = ns
	}
}

func defaultDelivery(ds *DeliverySpec, ns string) {
	if ds != nil {
		defaultDestination(ds.DeadLetterSink, ns)
	}
}
