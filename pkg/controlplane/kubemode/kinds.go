package kubemode

import (
	"github.com/weft-dev/weft/pkg/apis"
	eventingv1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1"
	eventingv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1alpha1"
	eventingv1beta2 "github.com/weft-dev/weft/pkg/kube/apis/eventing/v1beta2"
	flowsv1 "github.com/weft-dev/weft/pkg/kube/apis/flows/v1"
	messagingv1 "github.com/weft-dev/weft/pkg/kube/apis/messaging/v1"
	messagingv1beta1 "github.com/weft-dev/weft/pkg/kube/apis/messaging/v1beta1"
	sourcesv1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1"
	sourcesv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1alpha1"
	sourcesv1beta1 "github.com/weft-dev/weft/pkg/kube/apis/sources/v1beta1"
	triggermeshv1alpha1 "github.com/weft-dev/weft/pkg/kube/apis/triggermesh/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kindOps is what the generic reconcilers need to know about one custom
// resource kind other than Broker and Trigger.
type kindOps struct {
	// kind is the manifest kind (InMemoryChannel, say); stored is the kind
	// Weft stores it as (Channel).
	kind, stored string
	newObj       func() client.Object
	newList      func() client.ObjectList
	// toAPI is the object as Weft's resource type (spec only).
	toAPI func(client.Object) apis.Object
	// status points into the object's status: the whole of it (for
	// copying and comparing) and its conditions part.
	status func(client.Object) (whole any, common *apis.Status)
}

// channelKinds are the three channel kinds, in the order a name conflict
// between objects created at the same second is decided.
var channelKinds = []kindOps{
	{
		kind: apis.KindChannel, stored: apis.KindChannel,
		newObj: func() client.Object { return &messagingv1.Channel{} }, newList: func() client.ObjectList { return &messagingv1.ChannelList{} },
		toAPI: func(o client.Object) apis.Object {
			c := o.(*messagingv1.Channel)
			return channelToAPI(apis.KindChannel, &c.ObjectMeta, &c.Spec)
		},
		status: func(o client.Object) (any, *apis.Status) {
			c := o.(*messagingv1.Channel)
			return &c.Status, &c.Status.Status
		},
	},
	{
		kind: apis.KindInMemoryChannel, stored: apis.KindChannel,
		newObj: func() client.Object { return &messagingv1.InMemoryChannel{} }, newList: func() client.ObjectList { return &messagingv1.InMemoryChannelList{} },
		toAPI: func(o client.Object) apis.Object {
			c := o.(*messagingv1.InMemoryChannel)
			return channelToAPI(apis.KindInMemoryChannel, &c.ObjectMeta, &c.Spec)
		},
		status: func(o client.Object) (any, *apis.Status) {
			c := o.(*messagingv1.InMemoryChannel)
			return &c.Status, &c.Status.Status
		},
	},
	{
		kind: apis.KindKafkaChannel, stored: apis.KindChannel,
		newObj: func() client.Object { return &messagingv1beta1.KafkaChannel{} }, newList: func() client.ObjectList { return &messagingv1beta1.KafkaChannelList{} },
		toAPI: func(o client.Object) apis.Object {
			c := o.(*messagingv1beta1.KafkaChannel)
			return channelToAPI(apis.KindKafkaChannel, &c.ObjectMeta, &c.Spec)
		},
		status: func(o client.Object) (any, *apis.Status) {
			c := o.(*messagingv1beta1.KafkaChannel)
			return &c.Status, &c.Status.Status
		},
	},
}

var subscriptionKind = kindOps{
	kind: apis.KindSubscription, stored: apis.KindSubscription,
	newObj: func() client.Object { return &messagingv1.Subscription{} }, newList: func() client.ObjectList { return &messagingv1.SubscriptionList{} },
	toAPI: func(o client.Object) apis.Object { return subscriptionToAPI(o.(*messagingv1.Subscription)) },
	status: func(o client.Object) (any, *apis.Status) {
		s := o.(*messagingv1.Subscription)
		return &s.Status, &s.Status.Status
	},
}

var sequenceKind = kindOps{
	kind: apis.KindSequence, stored: apis.KindSequence,
	newObj: func() client.Object { return &flowsv1.Sequence{} }, newList: func() client.ObjectList { return &flowsv1.SequenceList{} },
	toAPI: func(o client.Object) apis.Object { return sequenceToAPI(o.(*flowsv1.Sequence)) },
	status: func(o client.Object) (any, *apis.Status) {
		s := o.(*flowsv1.Sequence)
		return &s.Status, &s.Status.Status
	},
}

var parallelKind = kindOps{
	kind: apis.KindParallel, stored: apis.KindParallel,
	newObj: func() client.Object { return &flowsv1.Parallel{} }, newList: func() client.ObjectList { return &flowsv1.ParallelList{} },
	toAPI: func(o client.Object) apis.Object { return parallelToAPI(o.(*flowsv1.Parallel)) },
	status: func(o client.Object) (any, *apis.Status) {
		p := o.(*flowsv1.Parallel)
		return &p.Status, &p.Status.Status
	},
}

// kafkaSinkKind is eventing.knative.dev/v1alpha1 KafkaSink: no class, no
// consumer groups, and a topic that outlives it (DeleteKafkaResources keeps
// it), so the generic kindReconciler serves it.
var kafkaSinkKind = kindOps{
	kind: apis.KindKafkaSink, stored: apis.KindKafkaSink,
	newObj: func() client.Object { return &eventingv1alpha1.KafkaSink{} }, newList: func() client.ObjectList { return &eventingv1alpha1.KafkaSinkList{} },
	toAPI: func(o client.Object) apis.Object { return kafkaSinkToAPI(o.(*eventingv1alpha1.KafkaSink)) },
	status: func(o client.Object) (any, *apis.Status) {
		k := o.(*eventingv1alpha1.KafkaSink)
		return &k.Status, &k.Status.Status
	},
}

// kafkaSourceKind is sources.knative.dev/v1beta1 KafkaSource: no class, a
// sink and dead-letter sink to resolve (a referrer, as the flows are), and a
// retry topic on Weft's cluster its finalizer removes (never the source's
// topics or consumer group), so the generic kindReconciler serves it.
var kafkaSourceKind = kindOps{
	kind: apis.KindKafkaSource, stored: apis.KindKafkaSource,
	newObj: func() client.Object { return &sourcesv1beta1.KafkaSource{} }, newList: func() client.ObjectList { return &sourcesv1beta1.KafkaSourceList{} },
	toAPI: func(o client.Object) apis.Object { return kafkaSourceToAPI(o.(*sourcesv1beta1.KafkaSource)) },
	status: func(o client.Object) (any, *apis.Status) {
		k := o.(*sourcesv1beta1.KafkaSource)
		return &k.Status, &k.Status.Status
	},
}

// The sources Weft runs itself: PingSource and HTTPPollerSource in the
// dispatcher fleet, WebhookSource, GitLabSource and GitHubSource in the
// ingress. Each has no class, a sink to resolve (a referrer, as the flows
// are) and an internal topic and consumer group its finalizer removes, so
// the generic kindReconciler serves them. The webhook sources and the
// poller may name Secrets (secrets.go).
var (
	pingSourceKind = kindOps{
		kind: apis.KindPingSource, stored: apis.KindPingSource,
		newObj: func() client.Object { return &sourcesv1.PingSource{} }, newList: func() client.ObjectList { return &sourcesv1.PingSourceList{} },
		toAPI: func(o client.Object) apis.Object { return pingSourceToAPI(o.(*sourcesv1.PingSource)) },
		status: func(o client.Object) (any, *apis.Status) {
			s := o.(*sourcesv1.PingSource)
			return &s.Status, &s.Status.Status
		},
	}
	httpPollerSourceKind = kindOps{
		kind: apis.KindHTTPPollerSource, stored: apis.KindHTTPPollerSource,
		newObj:  func() client.Object { return &triggermeshv1alpha1.HTTPPollerSource{} },
		newList: func() client.ObjectList { return &triggermeshv1alpha1.HTTPPollerSourceList{} },
		toAPI: func(o client.Object) apis.Object {
			return httpPollerSourceToAPI(o.(*triggermeshv1alpha1.HTTPPollerSource))
		},
		status: func(o client.Object) (any, *apis.Status) {
			s := o.(*triggermeshv1alpha1.HTTPPollerSource)
			return &s.Status, &s.Status.Status
		},
	}
	webhookSourceKind = kindOps{
		kind: apis.KindWebhookSource, stored: apis.KindWebhookSource,
		newObj:  func() client.Object { return &triggermeshv1alpha1.WebhookSource{} },
		newList: func() client.ObjectList { return &triggermeshv1alpha1.WebhookSourceList{} },
		toAPI:   func(o client.Object) apis.Object { return webhookSourceToAPI(o.(*triggermeshv1alpha1.WebhookSource)) },
		status: func(o client.Object) (any, *apis.Status) {
			s := o.(*triggermeshv1alpha1.WebhookSource)
			return &s.Status, &s.Status.Status
		},
	}
	gitLabSourceKind = kindOps{
		kind: apis.KindGitLabSource, stored: apis.KindGitLabSource,
		newObj: func() client.Object { return &sourcesv1alpha1.GitLabSource{} }, newList: func() client.ObjectList { return &sourcesv1alpha1.GitLabSourceList{} },
		toAPI: func(o client.Object) apis.Object { return gitLabSourceToAPI(o.(*sourcesv1alpha1.GitLabSource)) },
		status: func(o client.Object) (any, *apis.Status) {
			s := o.(*sourcesv1alpha1.GitLabSource)
			return &s.Status, &s.Status.Status
		},
	}
	gitHubSourceKind = kindOps{
		kind: apis.KindGitHubSource, stored: apis.KindGitHubSource,
		newObj: func() client.Object { return &sourcesv1alpha1.GitHubSource{} }, newList: func() client.ObjectList { return &sourcesv1alpha1.GitHubSourceList{} },
		toAPI: func(o client.Object) apis.Object { return gitHubSourceToAPI(o.(*sourcesv1alpha1.GitHubSource)) },
		status: func(o client.Object) (any, *apis.Status) {
			s := o.(*sourcesv1alpha1.GitHubSource)
			return &s.Status, &s.Status.Status
		},
	}
)

// The registry and policy kinds: eventing.knative.dev/v1beta2 EventType and
// v1alpha1 EventPolicy. Neither has Kafka resources or destinations to
// resolve (an EventType's spec.reference and an EventPolicy's spec.to are
// looked up in the store when their status is computed, which a new
// contract recomputes), so the generic kindReconciler serves them as it
// serves a KafkaSink.
var (
	eventTypeKind = kindOps{
		kind: apis.KindEventType, stored: apis.KindEventType,
		newObj: func() client.Object { return &eventingv1beta2.EventType{} }, newList: func() client.ObjectList { return &eventingv1beta2.EventTypeList{} },
		toAPI: func(o client.Object) apis.Object { return eventTypeToAPI(o.(*eventingv1beta2.EventType)) },
		status: func(o client.Object) (any, *apis.Status) {
			e := o.(*eventingv1beta2.EventType)
			return &e.Status, &e.Status.Status
		},
	}
	eventPolicyKind = kindOps{
		kind: apis.KindEventPolicy, stored: apis.KindEventPolicy,
		newObj: func() client.Object { return &eventingv1alpha1.EventPolicy{} }, newList: func() client.ObjectList { return &eventingv1alpha1.EventPolicyList{} },
		toAPI: func(o client.Object) apis.Object { return eventPolicyToAPI(o.(*eventingv1alpha1.EventPolicy)) },
		status: func(o client.Object) (any, *apis.Status) {
			p := o.(*eventingv1alpha1.EventPolicy)
			return &p.Status, &p.Status.Status
		},
	}
)

// brokerKind and triggerKind are the eventing kinds in the same shape, for
// the code that walks every reconciled kind (reference watches).
var (
	brokerKind = kindOps{
		kind: apis.KindBroker, stored: apis.KindBroker,
		newObj: func() client.Object { return &eventingv1.Broker{} }, newList: func() client.ObjectList { return &eventingv1.BrokerList{} },
		toAPI: func(o client.Object) apis.Object { return brokerToAPI(o.(*eventingv1.Broker)) },
		status: func(o client.Object) (any, *apis.Status) {
			b := o.(*eventingv1.Broker)
			return &b.Status, &b.Status.Status
		},
	}
	triggerKind = kindOps{
		kind: apis.KindTrigger, stored: apis.KindTrigger,
		newObj: func() client.Object { return &eventingv1.Trigger{} }, newList: func() client.ObjectList { return &eventingv1.TriggerList{} },
		toAPI: func(o client.Object) apis.Object { return triggerToAPI(o.(*eventingv1.Trigger)) },
		status: func(o client.Object) (any, *apis.Status) {
			t := o.(*eventingv1.Trigger)
			return &t.Status, &t.Status.Status
		},
	}
)

// storedStatus points into a stored object's status: the whole of it and
// its conditions part (nil, nil for an unknown type).
func storedStatus(o apis.Object) (whole any, common *apis.Status) {
	switch t := o.(type) {
	case *apis.Broker:
		return &t.Status, &t.Status.Status
	case *apis.Trigger:
		return &t.Status, &t.Status.Status
	case *apis.Channel:
		return &t.Status, &t.Status.Status
	case *apis.Subscription:
		return &t.Status, &t.Status.Status
	case *apis.Sequence:
		return &t.Status, &t.Status.Status
	case *apis.Parallel:
		return &t.Status, &t.Status.Status
	case *apis.KafkaSink:
		return &t.Status, &t.Status.Status
	case *apis.KafkaSource:
		return &t.Status, &t.Status.Status
	case *apis.PingSource:
		return &t.Status, &t.Status.Status
	case *apis.HTTPPollerSource:
		return &t.Status, &t.Status.Status
	case *apis.WebhookSource:
		return &t.Status, &t.Status.Status
	case *apis.GitLabSource:
		return &t.Status, &t.Status.Status
	case *apis.GitHubSource:
		return &t.Status, &t.Status.Status
	case *apis.EventType:
		return &t.Status, &t.Status.Status
	case *apis.EventPolicy:
		return &t.Status, &t.Status.Status
	}
	return nil, nil
}
